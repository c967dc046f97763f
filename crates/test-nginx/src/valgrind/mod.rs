//! Memory checking: nginx under valgrind's memcheck (`TEST_NGINX_USE_VALGRIND`).
//!
//! How a block runs in this mode:
//!
//! * nginx is started as `valgrind --tool=memcheck ... nginx -p <prefix> ...`, with the same
//!   configuration as without valgrind (`master_process on`): valgrind keeps instrumenting a
//!   process across `fork()` (only `exec` needs `--trace-children`), so the workers, where the
//!   module's request code runs, are checked as well as the master; each process writes its own
//!   report, `<prefix>/valgrind.<pid>.log`.
//! * nginx is stopped with SIGQUIT and the runner waits for the master to exit; the master only
//!   exits once every worker has, so every process has finished its leak check and written its
//!   report by then (a report without its final `ERROR SUMMARY` line fails the block).
//! * A block fails on any memcheck error (invalid read/write/free, use of an uninitialised
//!   value, overlapping copy, fishy malloc argument, a process killed by a signal...) whatever
//!   code it is in, and on a *definitely lost* block whose allocation stack has a frame of the
//!   module (see [`Valgrind::module_frames`]). Definite leaks of nginx itself are not failures:
//!   nginx frees some memory only at exit through pool destruction, and some never.
//! * Known false positives of nginx and the crypto libraries are suppressed by
//!   `crates/test-nginx/valgrind.supp` (each entry says why), plus upstream's
//!   `<workspace>/valgrind.suppress` if it exists.
//! * Start-up, stop and request timeouts are multiplied by [`SLOWDOWN`] (valgrind runs nginx
//!   20-50 times slower), except an explicit `TEST_NGINX_TIMEOUT`, which is taken literally.
//! * `--- must_die` blocks run without valgrind (as upstream: nothing to check in a process
//!   that refuses to start), and blocks with `--- no_valgrind` or `--- no_check_leak` are
//!   skipped (for blocks that cannot work under valgrind: timing-sensitive ones, or ones that
//!   expect a worker to crash).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::nginx::{self, Error};
use crate::run::{FailKind, Failure};

mod report;

pub use report::{failures, parse_log, Record, RecordKind};

/// valgrind's exit code when it found errors (`--error-exitcode`); any value nginx itself
/// never exits with.
pub const ERROR_EXIT_CODE: i32 = 99;

/// Factor applied to start-up, stop and request timeouts under valgrind.
pub const SLOWDOWN: f64 = 20.0;

/// Settings of the memory-checking mode.
#[derive(Debug, Clone)]
pub struct Valgrind {
    /// The valgrind executable.
    pub binary: PathBuf,
    /// Extra options (the non-numeric value of `TEST_NGINX_USE_VALGRIND`, split on whitespace).
    pub extra_args: Vec<String>,
    /// Suppression files passed with `--suppressions=`.
    pub suppressions: Vec<PathBuf>,
    /// Substrings that mark a stack frame as the module's: a definitely-lost block is a failure
    /// only when one of its allocation frames contains one of them.
    pub module_frames: Vec<String>,
}

/// Whether `TEST_NGINX_USE_VALGRIND` asks for valgrind: set, not empty and not `0` (Perl truth,
/// as upstream).
pub fn requested() -> Option<String> {
    std::env::var("TEST_NGINX_USE_VALGRIND")
        .ok()
        .filter(|v| !v.trim().is_empty() && v.trim() != "0")
}

impl Valgrind {
    /// The mode as `TEST_NGINX_USE_VALGRIND` asks: `None` when unset, empty or `0`; with a
    /// number, the default options; any other value adds its words to the default options
    /// (upstream replaces its options with them; here the defaults stay, since the report
    /// checks depend on them). [`crate::suite::run_suite`] adds the file names of the loaded
    /// `.so` files to [`Valgrind::module_frames`].
    pub fn from_env() -> Result<Option<Valgrind>, Error> {
        let Some(value) = requested() else {
            return Ok(None);
        };
        let value = value.trim();
        let extra_args = if value.bytes().all(|c| c.is_ascii_digit()) {
            Vec::new()
        } else {
            value.split_whitespace().map(str::to_string).collect()
        };
        let binary = find_in_path("valgrind").ok_or_else(|| {
            Error("TEST_NGINX_USE_VALGRIND is set but valgrind is not in PATH (apt-get install valgrind)".into())
        })?;
        Ok(Some(Valgrind {
            binary,
            extra_args,
            suppressions: default_suppressions(),
            module_frames: default_module_frames(&[]),
        }))
    }

    /// Adds the file names of loaded `.so` files to [`Valgrind::module_frames`] (a frame
    /// without debug information shows its object's path).
    pub fn add_module_objects(&mut self, modules: &[PathBuf]) {
        for m in modules {
            if let Some(n) = m.file_name() {
                let n = n.to_string_lossy().into_owned();
                if !self.module_frames.contains(&n) {
                    self.module_frames.push(n);
                }
            }
        }
    }

    /// The command that starts nginx under valgrind: `valgrind <options> --log-file=...`; the
    /// nginx binary and its arguments follow.
    pub fn command(&self, prefix: &Path) -> Vec<OsString> {
        let mut c: Vec<OsString> = vec![self.binary.clone().into()];
        for a in [
            "--tool=memcheck",
            "--leak-check=full",
            // possibly-lost and reachable blocks are nginx's pools and caches: not reported
            "--show-leak-kinds=definite",
            // so that the exit code and the ERROR SUMMARY count errors and definite leaks only
            "--errors-for-leak-kinds=definite",
            &format!("--error-exitcode={ERROR_EXIT_CODE}"),
            // deep enough to reach the module's frames from allocator and std internals
            "--num-callers=64",
            // nginx dlclose()s modules at exit, before the leak check: keep their symbols
            "--keep-debuginfo=yes",
            // full source paths, so that frames of the workspace's own sources are recognised
            "--fullpath-after=",
            // each report comes with a ready-made suppression, for false positives
            "--gen-suppressions=all",
        ] {
            c.push(a.into());
        }
        for s in &self.suppressions {
            let mut a = OsString::from("--suppressions=");
            a.push(s);
            c.push(a);
        }
        let mut log = OsString::from("--log-file=");
        log.push(prefix.join("valgrind.%p.log"));
        c.push(log);
        c.extend(self.extra_args.iter().map(OsString::from));
        c
    }

    /// Reads the reports of a stopped nginx in `prefix` (`master` is the master's pid) and
    /// returns the failures they show.
    pub fn check_prefix(&self, prefix: &Path, master: i32) -> Vec<Failure> {
        let mut logs: Vec<(i32, PathBuf)> = fs::read_dir(prefix)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let pid = name
                            .strip_prefix("valgrind.")?
                            .strip_suffix(".log")?
                            .parse::<i32>()
                            .ok()?;
                        Some((pid, e.path()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        logs.sort();
        if logs.is_empty() {
            return vec![Failure {
                kind: FailKind::Valgrind,
                message: format!(
                    "no valgrind report (valgrind.<pid>.log) in {}: did nginx run under valgrind?",
                    prefix.display()
                ),
            }];
        }
        let mut reports = Vec::new();
        for (pid, path) in &logs {
            let text = match fs::read(path) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => {
                    return vec![Failure {
                        kind: FailKind::Valgrind,
                        message: format!("cannot read {}: {e}", path.display()),
                    }]
                }
            };
            let role = if *pid == master { "master" } else { "worker" };
            let shown = path
                .strip_prefix(prefix)
                .unwrap_or(path)
                .display()
                .to_string();
            reports.push((format!("{role} {pid} ({shown})"), text));
        }
        let refs: Vec<(&str, &str)> = reports
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        failures(&refs, &self.module_frames)
    }

    /// A one-line description for the start of a run.
    pub fn describe(&self) -> String {
        let supp: Vec<String> = self
            .suppressions
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "valgrind: nginx runs under {} --tool=memcheck{}; timeouts x{SLOWDOWN}; suppressions: {}; reports: <prefix>/valgrind.<pid>.log",
            self.binary.display(),
            if self.extra_args.is_empty() {
                String::new()
            } else {
                format!(" {}", self.extra_args.join(" "))
            },
            if supp.is_empty() {
                "none".into()
            } else {
                supp.join(", ")
            }
        )
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The in-tree suppression file, and upstream's `valgrind.suppress` at the workspace root.
pub fn default_suppressions() -> Vec<PathBuf> {
    [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("valgrind.supp"),
        nginx::workspace_root().join("valgrind.suppress"),
    ]
    .into_iter()
    .filter(|p| p.is_file())
    .collect()
}

/// What marks a frame as the module's: its crate names (`ngx_http_jwt_module` is the cdylib's
/// crate name, `jwt_core` its library, `ngx_jwt` the package), the file names of the loaded
/// `.so` files (frames without debug information show their object), and the workspace's own
/// source trees (frames show full paths, see `--fullpath-after=`).
pub fn default_module_frames(modules: &[PathBuf]) -> Vec<String> {
    let root = nginx::workspace_root();
    let mut v: Vec<String> = ["ngx_http_jwt_module", "jwt_core", "ngx_jwt"]
        .into_iter()
        .map(str::to_string)
        .collect();
    for m in modules {
        if let Some(n) = m.file_name() {
            let n = n.to_string_lossy().into_owned();
            if !v.contains(&n) {
                v.push(n);
            }
        }
    }
    v.push(format!("{}/src/", root.display()));
    v.push(format!("{}/crates/jwt-core/", root.display()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let v = Valgrind {
            binary: PathBuf::from("/usr/bin/valgrind"),
            extra_args: vec!["--track-origins=yes".into()],
            suppressions: vec![PathBuf::from("/s.supp")],
            module_frames: default_module_frames(&[]),
        };
        let c: Vec<String> = v
            .command(Path::new("/pre"))
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert_eq!(c[0], "/usr/bin/valgrind");
        assert!(c.contains(&"--suppressions=/s.supp".to_string()));
        assert!(c.contains(&"--log-file=/pre/valgrind.%p.log".to_string()));
        assert_eq!(c.last().map(String::as_str), Some("--track-origins=yes"));
    }
}
