//! Build script of the module.
//!
//! Two jobs:
//! 1. pass nginx's feature/os/version cfg flags on to the module (as ngx's own build script does),
//! 2. record where the nginx this module is built for lives, in
//!    `target/<profile>/ngx-jwt-build.env`, so tests and scripts never glob hashed
//!    `target/**/nginx-sys-*/` directories (only for the cdylib: not in nginx's own build,
//!    see `config`, which builds without the `export-modules` feature).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const BUILD_ENV_FILE: &str = "ngx-jwt-build.env";

fn main() {
    forward_nginx_cfg();
    // Without `export-modules` nginx's own build (`config`) is linking the crate as a static
    // library, possibly in the same target directory as the cdylib: leave the cdylib's record.
    if env::var_os("CARGO_FEATURE_EXPORT_MODULES").is_none() {
        return;
    }
    if let Err(e) = export_nginx_paths() {
        println!("cargo::warning=could not record the nginx build paths: {e}");
    }
}

/// nginx-sys detects the features and OS of the nginx it builds against; ngx's code is compiled
/// with matching `cfg`s, and so is ours.
fn forward_nginx_cfg() {
    println!("cargo::rerun-if-env-changed=DEP_NGINX_FEATURES_CHECK");
    let features_check = env::var("DEP_NGINX_FEATURES_CHECK").unwrap_or_else(|_| "any()".into());
    println!("cargo::rustc-check-cfg=cfg(ngx_feature, values({features_check}))");
    println!("cargo::rerun-if-env-changed=DEP_NGINX_FEATURES");
    if let Ok(features) = env::var("DEP_NGINX_FEATURES") {
        for feature in features.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            println!("cargo::rustc-cfg=ngx_feature=\"{feature}\"");
        }
    }
    println!("cargo::rerun-if-env-changed=DEP_NGINX_OS_CHECK");
    let os_check = env::var("DEP_NGINX_OS_CHECK").unwrap_or_else(|_| "any()".into());
    println!("cargo::rustc-check-cfg=cfg(ngx_os, values({os_check}))");
    println!("cargo::rerun-if-env-changed=DEP_NGINX_OS");
    if let Ok(os) = env::var("DEP_NGINX_OS") {
        println!("cargo::rustc-cfg=ngx_os=\"{os}\"");
    }
    // Struct layouts that changed between the nginx versions ngx supports (1.22 and later).
    const VERSION_CFGS: &[(u64, &str)] = &[(1_023_000, "nginx1_23_0")];
    println!("cargo::rerun-if-env-changed=DEP_NGINX_VERSION_NUMBER");
    let version: u64 = env::var("DEP_NGINX_VERSION_NUMBER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for (since, cfg) in VERSION_CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if version >= *since {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// Writes `NGINX_BUILD_DIR`, `NGINX_BINARY` and `NGINX_VERSION` next to the built `.so`.
fn export_nginx_paths() -> Result<(), String> {
    println!("cargo::rerun-if-env-changed=DEP_NGINX_BUILD_DIR");
    println!("cargo::rerun-if-env-changed=DEP_NGINX_VERSION");
    let build_dir = env::var("DEP_NGINX_BUILD_DIR").map_err(|_| "DEP_NGINX_BUILD_DIR unset")?;
    let version = env::var("DEP_NGINX_VERSION").unwrap_or_default();
    let version = version.trim_start_matches("nginx/");
    let binary = Path::new(&build_dir).join("nginx");

    println!("cargo::rustc-env=NGX_JWT_NGINX_BUILD_DIR={build_dir}");
    println!("cargo::rustc-env=NGX_JWT_NGINX_VERSION={version}");

    let contents = format!(
        "NGINX_BUILD_DIR={build_dir}\nNGINX_BINARY={}\nNGINX_VERSION={version}\n",
        binary.display()
    );
    let target = profile_dir()?.join(BUILD_ENV_FILE);
    // Rewrite only on change so that the file's mtime means something.
    if fs::read_to_string(&target).ok().as_deref() != Some(contents.as_str()) {
        fs::write(&target, contents).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// `OUT_DIR` is `target/<profile>/build/<pkg>-<hash>/out`; the `.so` lands in `target/<profile>`.
fn profile_dir() -> Result<PathBuf, String> {
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|_| "OUT_DIR unset")?);
    out_dir
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("unexpected OUT_DIR layout: {}", out_dir.display()))
}
