//! The `Nginx` API: one nginx with a given configuration, for Rust integration tests.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::conf::{render_conf, ConfParts};
use super::locate::{paths, work_dir, DefaultModules, Paths};
use super::ports::{alloc_port, PortGuard};
use super::prefix::{make_prefix, write_html_file};
use super::process::{spawn, NginxProcess, Started};
use super::vars::{block_vars, env_snapshot, expand_vars};
use super::Error;
use crate::http::{self, ReadUntil, Request, Response};

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
    /// `worker_processes` (default 1, as Test::Nginx's `workers(N)`).
    pub workers: u32,
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
            workers: 1,
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
            workers: cfg.workers.max(1),
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
