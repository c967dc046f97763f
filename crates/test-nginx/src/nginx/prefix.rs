//! The prefix directory of one nginx: `conf/`, `logs/`, `html/` and the files in it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Error;

/// Creates `prefix/{conf,logs,html}` (removing an old prefix first).
pub fn make_prefix(prefix: &Path) -> Result<(), Error> {
    if prefix.exists() {
        fs::remove_dir_all(prefix)
            .map_err(|e| Error(format!("remove {}: {e}", prefix.display())))?;
    }
    for d in ["conf", "logs", "html"] {
        fs::create_dir_all(prefix.join(d))
            .map_err(|e| Error(format!("mkdir {}/{d}: {e}", prefix.display())))?;
    }
    Ok(())
}

/// Writes a file under `prefix/html`, creating directories.
pub fn write_html_file(prefix: &Path, name: &str, content: &[u8]) -> Result<PathBuf, Error> {
    let path = prefix.join("html").join(name);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error(format!("mkdir {}: {e}", dir.display())))?;
    }
    fs::write(&path, content).map_err(|e| Error(format!("write {}: {e}", path.display())))?;
    Ok(path)
}

/// Sets a file's mtime from a `touch -t` style date `[[CC]YY]MMDDhhmm[.ss]` (UTC).
pub fn set_mtime(path: &Path, date: &str) -> Result<(), Error> {
    let bad = || {
        Error(format!(
            "bad user_files date {date:?} (want CCYYMMDDhhmm[.ss])"
        ))
    };
    let (main, secs) = match date.split_once('.') {
        Some((m, s)) => (m, s.parse::<u64>().map_err(|_| bad())?),
        None => (date, 0),
    };
    if !main.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (year, rest) = match main.len() {
        12 => (main[..4].parse::<i64>().map_err(|_| bad())?, &main[4..]),
        10 => {
            let yy: i64 = main[..2].parse().map_err(|_| bad())?;
            (if yy < 69 { 2000 + yy } else { 1900 + yy }, &main[2..])
        }
        _ => return Err(bad()),
    };
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (mon, day, hh, mm) = (
        num(&rest[0..2])?,
        num(&rest[2..4])?,
        num(&rest[4..6])?,
        num(&rest[6..8])?,
    );
    // days from civil (Howard Hinnant's algorithm)
    let y = if mon <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (mon + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let t = days * 86400 + hh * 3600 + mm * 60 + secs as i64;
    let when = std::time::UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    let f = fs::File::options()
        .write(true)
        .open(path)
        .map_err(|e| Error(format!("{}: {e}", path.display())))?;
    f.set_modified(when)
        .map_err(|e| Error(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtime_dates() {
        let d = std::env::temp_dir().join(format!("tn-mtime-{}", std::process::id()));
        fs::write(&d, b"x").unwrap();
        set_mtime(&d, "202001020304.05").unwrap();
        let m = fs::metadata(&d).unwrap().modified().unwrap();
        let secs = m.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 1577934245);
        assert!(set_mtime(&d, "yesterday").is_err());
        let _ = fs::remove_file(&d);
    }
}
