//! Locating nginx and the module, rendering nginx.conf, and controlling nginx processes.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::http::{self, ReadUntil, Request, Response};

/// The error type of this crate's API: a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

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

// ---------------------------------------------------------------------------------------------
// ports

fn used_ports() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A port reserved in this process (released on drop).
#[derive(Debug)]
pub struct PortGuard(u16);

impl PortGuard {
    /// The port number.
    pub fn port(&self) -> u16 {
        self.0
    }
}

impl Drop for PortGuard {
    fn drop(&mut self) {
        used_ports()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Picks a free port on 127.0.0.1 (bind to port 0, release), never one in use by another test
/// of this process.
pub fn alloc_port() -> Result<PortGuard, Error> {
    for _ in 0..100 {
        let l = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error(format!("bind 127.0.0.1:0: {e}")))?;
        let port = l.local_addr().map_err(|e| Error(e.to_string()))?.port();
        drop(l);
        if used_ports()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return Ok(PortGuard(port));
        }
    }
    Err(Error("could not find a free port".into()))
}

// ---------------------------------------------------------------------------------------------
// variables

/// `$TEST_NGINX_*` substitution, as upstream's `expand_env_in_text`: each `$TEST_NGINX_NAME`
/// (`[_A-Z0-9]+`) is replaced by the block's own value (`vars`), a `TEST_NGINX_RAND_PORT_N`
/// (a fresh free port per block), or the process environment; unset names are an error.
pub fn expand_vars(
    text: &str,
    vars: &HashMap<String, String>,
    env: &HashMap<String, String>,
    rand_ports: &mut HashMap<String, PortGuard>,
) -> Result<String, String> {
    const P: &str = "$TEST_NGINX_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(P) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .bytes()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            .count();
        let name = &after[..len];
        let value = if let Some(v) = vars.get(name) {
            v.clone()
        } else if name.starts_with("TEST_NGINX_RAND_PORT_")
            && name["TEST_NGINX_RAND_PORT_".len()..]
                .bytes()
                .all(|c| c.is_ascii_digit())
        {
            if !rand_ports.contains_key(name) {
                rand_ports.insert(name.to_string(), alloc_port().map_err(|e| e.0)?);
            }
            rand_ports[name].port().to_string()
        } else if let Some(v) = env.get(name) {
            v.clone()
        } else {
            return Err(format!(
                "${name} is used but not defined (no environment variable {name})"
            ));
        };
        out.push_str(&value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `TEST_NGINX_*` variables of the process environment.
pub fn env_snapshot() -> HashMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("TEST_NGINX_"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// config

/// Everything that goes into a generated nginx.conf.
#[derive(Debug, Clone)]
pub struct ConfParts {
    pub modules: Vec<PathBuf>,
    pub env: Vec<String>,
    pub main: String,
    pub post_main: String,
    pub http: String,
    pub server: String,
    pub server_name: String,
    pub log_level: String,
    pub workers: u32,
    pub worker_connections: u32,
    pub root_location: bool,
    /// A comment line (e.g. which test the file belongs to).
    pub comment: String,
}

impl Default for ConfParts {
    fn default() -> Self {
        ConfParts {
            modules: Vec::new(),
            env: Vec::new(),
            main: String::new(),
            post_main: String::new(),
            http: String::new(),
            server: String::new(),
            server_name: "localhost".into(),
            log_level: "debug".into(),
            workers: 1,
            worker_connections: 64,
            root_location: true,
            comment: String::new(),
        }
    }
}

fn has_directive(conf: &str, name: &str) -> bool {
    conf.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split([';', '{', '}']))
        .any(|stmt| stmt.split_whitespace().next() == Some(name))
}

/// Renders nginx.conf in the layout of Test::Nginx's template.
pub fn render_conf(p: &ConfParts, prefix: &Path, port: u16, nginx_v: &str) -> String {
    let pre = prefix.display();
    let mut c = String::new();
    if !p.comment.is_empty() {
        c.push_str(&format!("# {}\n", p.comment));
    }
    for m in &p.modules {
        c.push_str(&format!("load_module {};\n", m.display()));
    }
    c.push_str(&format!(
        "worker_processes {};\ndaemon off;\nmaster_process on;\nerror_log {pre}/logs/error.log {};\npid {pre}/logs/nginx.pid;\n",
        p.workers, p.log_level
    ));
    for e in &p.env {
        c.push_str(&format!("env {e};\n"));
    }
    // as upstream: run workers as root when the test runs as root (files stay readable)
    if unsafe { libc::geteuid() } == 0 && !has_directive(&p.main, "user") {
        c.push_str("user root;\n");
    }
    c.push('\n');
    c.push_str(&p.main);
    c.push_str("\n\nhttp {\n");
    c.push_str(&format!("    access_log {pre}/logs/access.log;\n"));
    let temps = [
        ("client_body_temp_path", "client_body_temp", ""),
        (
            "proxy_temp_path",
            "proxy_temp",
            "--without-http_proxy_module",
        ),
        (
            "fastcgi_temp_path",
            "fastcgi_temp",
            "--without-http_fastcgi_module",
        ),
        (
            "uwsgi_temp_path",
            "uwsgi_temp",
            "--without-http_uwsgi_module",
        ),
        ("scgi_temp_path", "scgi_temp", "--without-http_scgi_module"),
    ];
    for (directive, dir, without) in temps {
        if (without.is_empty() || !nginx_v.contains(without)) && !has_directive(&p.http, directive)
        {
            c.push_str(&format!("    {directive} {pre}/{dir};\n"));
        }
    }
    c.push_str("    default_type text/plain;\n    keepalive_timeout 68;\n\n");
    c.push_str(&p.http);
    c.push_str(&format!(
        "\n    server {{\n        listen 127.0.0.1:{port};\n        server_name '{}';\n        client_max_body_size 30M;\n\n",
        p.server_name.replace('\\', "\\\\").replace('\'', "\\'")
    ));
    c.push_str("        # Begin test case config...\n");
    c.push_str(&p.server);
    c.push_str("\n        # End test case config.\n");
    if p.root_location {
        c.push_str(&format!("\n        location / {{\n            root {pre}/html;\n            index index.html index.htm;\n        }}\n"));
    }
    c.push_str("    }\n}\n\n");
    c.push_str(&p.post_main);
    c.push_str(&format!(
        "\n\nevents {{\n    accept_mutex off;\n    worker_connections {};\n}}\n",
        p.worker_connections
    ));
    c
}

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

// ---------------------------------------------------------------------------------------------
// processes

/// How starting nginx went.
#[derive(Debug)]
pub enum Started {
    /// Running (the pid file was written: the listening sockets are bound).
    Running(NginxProcess),
    /// nginx exited during start-up.
    Exited { status: ExitStatus, output: String },
}

/// A running nginx master (in the runner's process group, so Ctrl-C stops it too).
#[derive(Debug)]
pub struct NginxProcess {
    child: Option<Child>,
    pid: i32,
    prefix: PathBuf,
}

/// How stopping nginx went.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Exit status of the master.
    pub status: Option<ExitStatus>,
    /// Problems: did not exit on SIGQUIT, killed by a signal, left processes behind.
    pub problems: Vec<String>,
}

/// Reads nginx's captured stdout/stderr of a prefix.
pub fn read_output(prefix: &Path) -> String {
    fs::read_to_string(prefix.join("nginx.out")).unwrap_or_default()
}

/// Starts `nginx -p prefix -c conf/nginx.conf` and waits until it runs or exits.
pub fn spawn(nginx: &Path, prefix: &Path, startup_timeout: Duration) -> Result<Started, Error> {
    let out = fs::File::create(prefix.join("nginx.out"))
        .map_err(|e| Error(format!("create nginx.out: {e}")))?;
    let err = out.try_clone().map_err(|e| Error(e.to_string()))?;
    let pidfile = prefix.join("logs/nginx.pid");
    let _ = fs::remove_file(&pidfile);
    let mut prefix_arg = prefix.as_os_str().to_owned();
    prefix_arg.push("/");
    let mut child = Command::new(nginx)
        .arg("-p")
        .arg(&prefix_arg)
        .arg("-c")
        .arg("conf/nginx.conf")
        .current_dir(prefix)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| Error(format!("cannot start {}: {e}", nginx.display())))?;
    let pid = child.id() as i32;
    let start = Instant::now();
    let mut sleep = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| Error(e.to_string()))? {
            return Ok(Started::Exited {
                status,
                output: read_output(prefix),
            });
        }
        if let Ok(t) = fs::read_to_string(&pidfile) {
            if t.trim().parse::<i32>().ok() == Some(pid) {
                return Ok(Started::Running(NginxProcess {
                    child: Some(child),
                    pid,
                    prefix: prefix.to_path_buf(),
                }));
            }
        }
        if start.elapsed() > startup_timeout {
            let mut p = NginxProcess {
                child: Some(child),
                pid,
                prefix: prefix.to_path_buf(),
            };
            p.stop(Duration::from_secs(1));
            return Err(Error(format!(
                "nginx did not write its pid file within {:?}; output: {}",
                startup_timeout,
                read_output(prefix)
            )));
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(10));
    }
}

fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

impl NginxProcess {
    /// Master pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The prefix directory.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Whether the master still runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal to the master.
    pub fn signal(&self, sig: i32) -> bool {
        self.child.is_some() && signal(self.pid, sig)
    }

    fn wait_for(&mut self, d: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let end = Instant::now() + d;
        let mut sleep = Duration::from_millis(1);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(sleep);
            sleep = (sleep * 2).min(Duration::from_millis(10));
        }
    }

    /// Graceful stop: SIGQUIT, then SIGTERM, then SIGKILL (master and workers).
    pub fn stop(&mut self, grace: Duration) -> Stopped {
        let mut problems = Vec::new();
        let Some(child) = self.child.as_mut() else {
            return Stopped {
                status: None,
                problems,
            };
        };
        let mut status;
        if let Ok(Some(s)) = child.try_wait() {
            problems.push(format!("nginx master exited before the stop ({s})"));
            status = Some(s);
        } else {
            signal(self.pid, libc::SIGQUIT);
            status = self.wait_for(grace);
            if status.is_none() {
                problems.push(format!("nginx did not exit within {grace:?} of SIGQUIT"));
                signal(self.pid, libc::SIGTERM);
                status = self.wait_for(Duration::from_secs(2));
            }
            if status.is_none() {
                let workers = self.children();
                signal(self.pid, libc::SIGKILL);
                for w in workers {
                    signal(w, libc::SIGKILL);
                }
                status = self.wait_for(Duration::from_secs(2));
            }
        }
        if let Some(s) = status {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = s.signal() {
                if sig != libc::SIGKILL || problems.is_empty() {
                    problems.push(format!("nginx master was killed by signal {sig}"));
                }
            }
        }
        self.child = None;
        Stopped { status, problems }
    }

    /// The pids of the master's children (the workers), from /proc.
    pub fn children(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let Ok(rd) = fs::read_dir("/proc") else {
            return out;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
                // pid (comm) state ppid ...
                if let Some(after) = stat.rfind(')').map(|p| &stat[p + 1..]) {
                    let ppid = after
                        .split_whitespace()
                        .nth(1)
                        .and_then(|s| s.parse::<i32>().ok());
                    if ppid == Some(self.pid) {
                        out.push(pid);
                    }
                }
            }
        }
        out
    }
}

impl Drop for NginxProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            let workers = self.children();
            signal(self.pid, libc::SIGKILL);
            for w in workers {
                signal(w, libc::SIGKILL);
            }
            if let Some(c) = self.child.as_mut() {
                let _ = c.wait();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// work directories

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

// ---------------------------------------------------------------------------------------------
// the API

/// What to run, for [`Nginx::start`]. `main`, `http` and `server` are inserted into the same
/// template as `--- main_config`, `--- http_config` and `--- config`; `$TEST_NGINX_*` variables
/// are substituted in them and in `files` as in `.t` files (`TEST_NGINX_HTML_DIR`,
/// `TEST_NGINX_SERVER_PORT`, `TEST_NGINX_PORT`, `TEST_NGINX_SERVROOT`, `TEST_NGINX_RAND_PORT_N`,
/// or the environment).
#[derive(Debug, Clone)]
pub struct NginxConfig {
    /// Top-level directives (after `load_module`s).
    pub main: String,
    /// Directives in `http {}` before the test `server {}`.
    pub http: String,
    /// Directives in the test `server {}` (which listens on 127.0.0.1:`port()`).
    pub server: String,
    /// Files written under `<prefix>/html/` (relative names; directories are created).
    pub files: Vec<(String, Vec<u8>)>,
    /// Modules to load; `None` = the defaults of [`paths`] with [`DefaultModules::Jwt`].
    pub modules: Option<Vec<PathBuf>>,
    /// error_log level (default `debug`).
    pub log_level: String,
    /// Add `location / { root html; }` (default true, as Test::Nginx).
    pub root_location: bool,
}

impl Default for NginxConfig {
    fn default() -> Self {
        NginxConfig {
            main: String::new(),
            http: String::new(),
            server: String::new(),
            files: Vec::new(),
            modules: None,
            log_level: "debug".into(),
            root_location: true,
        }
    }
}

impl NginxConfig {
    /// A config with the given `server {}` directives.
    pub fn server(server: &str) -> Self {
        NginxConfig {
            server: server.into(),
            ..Default::default()
        }
    }

    /// Adds a file under `html/`.
    pub fn file(mut self, name: &str, content: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.into(), content.into()));
        self
    }
}

/// A running nginx for Rust integration tests. Dropping it kills nginx; its prefix is removed
/// unless the test is panicking (then it is kept and its path printed) or
/// `TEST_NGINX_NO_CLEAN` is set.
///
/// ```no_run
/// use test_nginx::{Nginx, NginxConfig, Request};
/// let mut ngx = Nginx::start(NginxConfig::server("location /t { return 200 'hi'; }")).unwrap();
/// let r = ngx.request(&Request::get("/t")).unwrap();
/// assert_eq!((r.status, r.text().as_str()), (200, "hi"));
/// ngx.reload(Some(NginxConfig::server("location /t { return 200 'new'; }"))).unwrap();
/// let log = ngx.stop().unwrap();
/// assert!(!log.contains("[alert]"));
/// ```
#[derive(Debug)]
pub struct Nginx {
    proc: NginxProcess,
    port: PortGuard,
    rand_ports: HashMap<String, PortGuard>,
    prefix: PathBuf,
    paths: Paths,
    timeout: Duration,
    stopped: bool,
}

static API_SEQ: AtomicUsize = AtomicUsize::new(0);

fn api_work_dir(paths: &Paths) -> Result<PathBuf, Error> {
    static DIR: OnceLock<Result<PathBuf, Error>> = OnceLock::new();
    DIR.get_or_init(|| work_dir(paths, "api")).clone()
}

impl Nginx {
    /// Writes the prefix and starts nginx; returns once it listens.
    pub fn start(cfg: NginxConfig) -> Result<Nginx, Error> {
        let paths = paths(if cfg.modules.is_some() {
            DefaultModules::None
        } else {
            DefaultModules::Jwt
        })?;
        let dir = api_work_dir(&paths)?;
        let prefix = dir.join(format!("nginx-{}", API_SEQ.fetch_add(1, Ordering::SeqCst)));
        make_prefix(&prefix)?;
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = alloc_port()?;
            let mut rand_ports = HashMap::new();
            let conf = Self::render(&cfg, &paths, &prefix, port.port(), &mut rand_ports)?;
            fs::write(prefix.join("conf/nginx.conf"), conf).map_err(|e| Error(e.to_string()))?;
            match spawn(&paths.nginx, &prefix, Duration::from_secs(10))? {
                Started::Running(proc) => {
                    return Ok(Nginx {
                        proc,
                        port,
                        rand_ports,
                        prefix,
                        paths,
                        timeout: Duration::from_secs(5),
                        stopped: false,
                    })
                }
                Started::Exited { status, output } => {
                    let log = fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default();
                    last_err = format!(
                        "nginx failed to start ({status}); prefix {}\n{output}{log}",
                        prefix.display()
                    );
                    if !(output.contains("Address already in use")
                        || log.contains("Address already in use"))
                    {
                        break;
                    }
                }
            }
        }
        Err(Error(last_err))
    }

    fn render(
        cfg: &NginxConfig,
        paths: &Paths,
        prefix: &Path,
        port: u16,
        rand_ports: &mut HashMap<String, PortGuard>,
    ) -> Result<String, Error> {
        let vars = block_vars(prefix, port);
        let env = env_snapshot();
        let mut x = |s: &str| expand_vars(s, &vars, &env, rand_ports).map_err(Error);
        for (name, content) in &cfg.files {
            let content = match std::str::from_utf8(content) {
                Ok(t) => x(t)?.into_bytes(),
                Err(_) => content.clone(),
            };
            write_html_file(prefix, name, &content)?;
        }
        let parts = ConfParts {
            modules: cfg.modules.clone().unwrap_or_else(|| paths.modules.clone()),
            main: x(&cfg.main)?,
            http: x(&cfg.http)?,
            server: x(&cfg.server)?,
            log_level: cfg.log_level.clone(),
            root_location: cfg.root_location,
            comment: "generated by test-nginx (API)".into(),
            ..ConfParts::default()
        };
        Ok(render_conf(&parts, prefix, port, &paths.nginx_v))
    }

    /// The port of the test server (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port.port()
    }

    /// The value a `$TEST_NGINX_RAND_PORT_N` got, if used.
    pub fn rand_port(&self, name: &str) -> Option<u16> {
        self.rand_ports.get(name).map(PortGuard::port)
    }

    /// The prefix directory (`conf/`, `logs/`, `html/`).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// nginx/module paths used.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Sets the per-request timeout (default 5 s).
    pub fn set_timeout(&mut self, t: Duration) {
        self.timeout = t;
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }

    /// Sends a request (on a new connection) and reads the response.
    pub fn request(&self, req: &Request) -> Result<Response, Error> {
        let head = req.method.eq_ignore_ascii_case("HEAD");
        self.exchange(&req.to_bytes(), head)
    }

    /// `GET uri`.
    pub fn get(&self, uri: &str) -> Result<Response, Error> {
        self.request(&Request::get(uri))
    }

    /// Sends raw bytes and reads one response.
    pub fn raw(&self, bytes: &[u8]) -> Result<Response, Error> {
        self.exchange(bytes, bytes.starts_with(b"HEAD "))
    }

    fn exchange(&self, bytes: &[u8], head: bool) -> Result<Response, Error> {
        let raw = http::exchange(
            self.addr(),
            &[bytes.to_vec()],
            Duration::ZERO,
            self.timeout,
            ReadUntil::OneResponse { head },
        )
        .map_err(|e| Error(format!("request to nginx on port {}: {e}", self.port())))?;
        match http::parse_response(&raw, head, true) {
            http::Parsed::Complete(r, _) => Ok(r),
            http::Parsed::Error(e) => Err(Error(format!("bad response: {e}"))),
            http::Parsed::Incomplete => Err(Error("incomplete response".into())),
        }
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.prefix.join("logs/error.log")).unwrap_or_default()
    }

    /// The access log so far.
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.prefix.join("logs/access.log")).unwrap_or_default()
    }

    /// Reloads: optionally rewrites the config (and files), sends SIGHUP, and waits until a new
    /// worker runs and every old worker is shutting down. Fails if nginx rejects the new
    /// configuration (the old one keeps running then).
    pub fn reload(&mut self, cfg: Option<NginxConfig>) -> Result<(), Error> {
        if let Some(cfg) = cfg {
            let conf = Self::render(
                &cfg,
                &self.paths,
                &self.prefix,
                self.port(),
                &mut self.rand_ports,
            )?;
            fs::write(self.prefix.join("conf/nginx.conf"), conf)
                .map_err(|e| Error(e.to_string()))?;
        }
        let log_path = self.prefix.join("logs/error.log");
        let log_len = fs::metadata(&log_path)
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        let old: HashSet<i32> = self.proc.children().into_iter().collect();
        if !self.proc.signal(libc::SIGHUP) {
            return Err(Error("nginx is not running".into()));
        }
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let log = fs::read(&log_path).unwrap_or_default();
            let new_log = String::from_utf8_lossy(log.get(log_len..).unwrap_or_default());
            if new_log.contains("[emerg]") {
                return Err(Error(format!(
                    "nginx rejected the new configuration:\n{new_log}"
                )));
            }
            let children = self.proc.children();
            let has_new = children.iter().any(|p| !old.contains(p));
            let old_done = old.iter().all(|p| {
                !children.contains(p)
                    || fs::read(format!("/proc/{p}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).contains("shutting down"))
                        .unwrap_or(true)
            });
            if has_new && old_done {
                // old workers set their title just before closing their listening sockets
                std::thread::sleep(Duration::from_millis(20));
                return Ok(());
            }
            if !self.proc.is_running() {
                return Err(Error(format!("nginx exited during reload:\n{new_log}")));
            }
            if Instant::now() > end {
                return Err(Error(format!(
                    "reload did not complete within 10s:\n{new_log}"
                )));
            }
        }
    }

    /// Stops nginx gracefully and returns the complete error log. Fails if nginx did not stop
    /// cleanly, or the log shows `[alert]`, `[emerg]` or a worker that exited on a signal.
    pub fn stop(mut self) -> Result<String, Error> {
        self.stopped = true;
        let st = self.proc.stop(Duration::from_secs(5));
        let log = self.error_log();
        let mut problems = st.problems;
        for line in log.lines() {
            if line.contains("[alert]")
                || line.contains("[emerg]")
                || line.contains("exited on signal")
            {
                problems.push(format!("error.log: {line}"));
            }
        }
        if problems.is_empty() {
            if std::env::var_os("TEST_NGINX_NO_CLEAN").is_none() {
                let _ = fs::remove_dir_all(&self.prefix);
            }
            Ok(log)
        } else {
            Err(Error(format!(
                "{} (prefix kept: {})",
                problems.join("; "),
                self.prefix.display()
            )))
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if !self.stopped {
            self.proc.stop(Duration::from_secs(2));
            if std::thread::panicking() || std::env::var_os("TEST_NGINX_NO_CLEAN").is_some() {
                eprintln!("test-nginx: kept nginx prefix {}", self.prefix.display());
            } else {
                let _ = fs::remove_dir_all(&self.prefix);
            }
        }
    }
}

/// The per-block `$TEST_NGINX_*` values.
pub fn block_vars(prefix: &Path, port: u16) -> HashMap<String, String> {
    let mut v = HashMap::new();
    v.insert(
        "TEST_NGINX_HTML_DIR".into(),
        prefix.join("html").display().to_string(),
    );
    v.insert("TEST_NGINX_SERVROOT".into(), prefix.display().to_string());
    v.insert("TEST_NGINX_SERVER_PORT".into(), port.to_string());
    v.insert("TEST_NGINX_PORT".into(), port.to_string());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_expansion() {
        let vars = block_vars(Path::new("/p"), 1234);
        let mut env = HashMap::new();
        env.insert("TEST_NGINX_FOO".to_string(), "bar".to_string());
        let mut rp = HashMap::new();
        let s = expand_vars(
            "a $TEST_NGINX_HTML_DIR/x $TEST_NGINX_PORT;$TEST_NGINX_FOO.",
            &vars,
            &env,
            &mut rp,
        )
        .unwrap();
        assert_eq!(s, "a /p/html/x 1234;bar.");
        let e = expand_vars("$TEST_NGINX_NOPE", &vars, &env, &mut rp).unwrap_err();
        assert!(e.contains("TEST_NGINX_NOPE"));
        let a = expand_vars(
            "$TEST_NGINX_RAND_PORT_1 $TEST_NGINX_RAND_PORT_1",
            &vars,
            &env,
            &mut rp,
        )
        .unwrap();
        let (x, y) = a.split_once(' ').unwrap();
        assert_eq!(x, y);
        assert_eq!(
            expand_vars("$nginx_var $TEST_", &vars, &env, &mut rp).unwrap(),
            "$nginx_var $TEST_"
        );
    }

    #[test]
    fn conf_layout() {
        let parts = ConfParts {
            modules: vec![PathBuf::from("/m.so")],
            main: "env X;".into(),
            http: "proxy_temp_path /x;".into(),
            server: "location /t { return 200; }".into(),
            ..ConfParts::default()
        };
        let c = render_conf(
            &parts,
            Path::new("/pre"),
            4321,
            "--without-http_scgi_module",
        );
        assert!(c.contains("load_module /m.so;\n"));
        assert!(c.find("load_module").unwrap() < c.find("daemon off;").unwrap());
        assert!(c.contains("listen 127.0.0.1:4321;"));
        assert!(c.contains("error_log /pre/logs/error.log debug;"));
        assert!(c.contains("client_body_temp_path /pre/client_body_temp;"));
        assert!(!c.contains("proxy_temp_path /pre"));
        assert!(!c.contains("scgi_temp_path"));
        assert!(c.contains("root /pre/html;"));
        assert!(c.contains("worker_connections 64;"));
    }

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
