//! Finding the workspace, nginx, the module, and the run's work directory.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;

/// Name of the module's shared object in `target/<profile>`.
pub const MODULE_FILE: &str = "libngx_http_jwt_module.so";
/// Name of the file the module's build script writes in `target/<profile>`.
pub const BUILD_ENV_FILE: &str = "ngx-jwt-build.env";

/// Where nginx and the module are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The nginx binary.
    pub nginx: PathBuf,
    /// Modules to load (`load_module`), absolute paths.
    pub modules: Vec<PathBuf>,
    /// `target/<profile>` of the running test executable.
    pub profile_dir: PathBuf,
    /// `target/`.
    pub target_dir: PathBuf,
    /// `NGINX_VERSION` from the build env file, if known.
    pub nginx_version: Option<String>,
    /// `nginx -V` output (used to omit temp path directives of modules that are not built).
    pub nginx_v: String,
}

/// Which modules to load when `TEST_NGINX_LOAD_MODULES` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultModules {
    /// The built `libngx_http_jwt_module.so` (must exist).
    Jwt,
    /// None.
    None,
}

/// The workspace root (this crate lives in `<root>/crates/test-nginx`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.parent().and_then(Path::parent).unwrap_or(here);
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// `target/<profile>` of the running executable (`target/<profile>/deps/<exe>`).
pub fn profile_dir() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe().map_err(|e| Error(format!("current_exe: {e}")))?;
    let dir = exe
        .parent()
        .ok_or_else(|| Error("executable has no parent directory".into()))?;
    let dir = if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    Ok(dir.to_path_buf())
}

fn read_build_env(profile: &Path) -> HashMap<String, String> {
    let mut m = HashMap::new();
    if let Ok(t) = fs::read_to_string(profile.join(BUILD_ENV_FILE)) {
        for line in t.lines() {
            if let Some((k, v)) = line.split_once('=') {
                m.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    m
}

/// Finds nginx and the modules to load: the nginx binary is `TEST_NGINX_BINARY`, else
/// `NGINX_BINARY` of `target/<profile>/ngx-jwt-build.env`; modules are
/// `TEST_NGINX_LOAD_MODULES` (space-separated, may be empty), else per `default`.
pub fn paths(default: DefaultModules) -> Result<Paths, Error> {
    let profile = profile_dir()?;
    let env_file = read_build_env(&profile);
    let hint = "run `cargo build --release` (the module's build) first";
    let nginx = match std::env::var_os("TEST_NGINX_BINARY").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env_file.get("NGINX_BINARY").ok_or_else(|| {
            Error(format!(
                "nginx not found: no TEST_NGINX_BINARY and no NGINX_BINARY in {}; {hint}",
                profile.join(BUILD_ENV_FILE).display()
            ))
        })?),
    };
    if !nginx.is_file() {
        return Err(Error(format!(
            "nginx binary {} does not exist; {hint}",
            nginx.display()
        )));
    }
    let root = workspace_root();
    let modules: Vec<PathBuf> = match std::env::var("TEST_NGINX_LOAD_MODULES") {
        Ok(v) => v
            .split_whitespace()
            .map(|m| {
                let p = PathBuf::from(m);
                if p.is_absolute() {
                    p
                } else {
                    root.join(p)
                }
            })
            .collect(),
        Err(_) => match default {
            DefaultModules::Jwt => vec![profile.join(MODULE_FILE)],
            DefaultModules::None => vec![],
        },
    };
    for m in &modules {
        if !m.is_file() {
            return Err(Error(format!(
                "module {} does not exist; {hint}",
                m.display()
            )));
        }
    }
    let nginx_v = Command::new(&nginx)
        .arg("-V")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
        })
        .map_err(|e| Error(format!("cannot run {} -V: {e}", nginx.display())))?;
    let target_dir = profile.parent().unwrap_or(&profile).to_path_buf();
    Ok(Paths {
        nginx,
        modules,
        profile_dir: profile,
        target_dir,
        nginx_version: env_file.get("NGINX_VERSION").cloned(),
        nginx_v,
    })
}

/// A warning if the default module `.so` is older than the sources it is built from
/// (`cargo test -p test-nginx` does not rebuild it).
pub fn stale_module_warning(paths: &Paths) -> Option<String> {
    if std::env::var_os("TEST_NGINX_LOAD_MODULES").is_some() {
        return None;
    }
    let so = paths.modules.iter().find(|m| m.ends_with(MODULE_FILE))?;
    let built = fs::metadata(so).and_then(|m| m.modified()).ok()?;
    let root = workspace_root();
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![
        root.join("src"),
        root.join("build.rs"),
        root.join("Cargo.toml"),
        root.join("crates/jwt-core"),
    ];
    while let Some(p) = stack.pop() {
        let Ok(md) = fs::metadata(&p) else { continue };
        if md.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == "tests") {
                continue;
            }
            if let Ok(rd) = fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if p.extension().is_some_and(|e| e == "rs" || e == "toml") {
            if let Ok(t) = md.modified() {
                if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                    newest = Some((t, p));
                }
            }
        }
    }
    let (t, p) = newest?;
    (t > built).then(|| {
        format!(
            "WARNING: {} is older than {}: run `cargo build --release` to test the current code",
            so.display(),
            p.strip_prefix(&root).unwrap_or(&p).display()
        )
    })
}

/// A per-process directory `target/test-nginx/<label>-<pid>/`; those of earlier runs with the
/// same label (dead processes) are removed when it is created.
pub fn work_dir(paths: &Paths, label: &str) -> Result<PathBuf, Error> {
    let base = match std::env::var_os("TEST_NGINX_WORK_DIR") {
        Some(d) => PathBuf::from(d),
        None => paths.target_dir.join("test-nginx"),
    };
    fs::create_dir_all(&base).map_err(|e| Error(format!("mkdir {}: {e}", base.display())))?;
    if let Ok(rd) = fs::read_dir(&base) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((_, pid)) = name.rsplit_once('-').filter(|(l, _)| *l == label) {
                if let Ok(pid) = pid.parse::<i32>() {
                    if pid != std::process::id() as i32
                        && !Path::new(&format!("/proc/{pid}")).exists()
                    {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
    }
    let dir = base.join(format!("{label}-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| Error(format!("mkdir {}: {e}", dir.display())))?;
    Ok(dir)
}
