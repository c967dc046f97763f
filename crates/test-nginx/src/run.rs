//! Runs one block: prefix, config, nginx, requests, checks, log scan.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::http::{self, ReadUntil, Response};
use crate::nginx::{self, ConfParts, Paths, PortGuard, Started};
use crate::parse::{Block, Selection, TestFile};
use crate::perl::{escape_bytes, PVal, PerlRegex};
use crate::spec::{Requests, Spec};

/// Categories of failure (the selftest checks these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailKind {
    /// The file or block is malformed, uses an unknown section, an unset variable...
    Spec,
    /// nginx did not start (config error without `--- must_die`).
    Startup,
    /// `--- must_die` expectation not met.
    MustDie,
    /// Connection failure or timeout.
    Request,
    /// Malformed, truncated or missing response.
    Response,
    /// Status code.
    Status,
    /// Response headers.
    Header,
    /// Response body.
    Body,
    /// `--- error_log` / `--- shutdown_error_log` pattern not found.
    ErrorLog,
    /// `--- no_error_log` / `--- no_shutdown_error_log` pattern found.
    NoErrorLog,
    /// `--- grep_error_log_out` mismatch.
    GrepErrorLog,
    /// `--- access_log` pattern not found.
    AccessLog,
    /// `--- no_access_log` pattern found.
    NoAccessLog,
    /// Unexpected `[alert]` or `[emerg]` in the error log.
    Alert,
    /// A worker exited on a signal, an assertion failed, or the master was killed.
    Crash,
    /// nginx did not stop cleanly.
    Shutdown,
}

impl FailKind {
    /// All kinds.
    pub const ALL: [FailKind; 16] = [
        FailKind::Spec,
        FailKind::Startup,
        FailKind::MustDie,
        FailKind::Request,
        FailKind::Response,
        FailKind::Status,
        FailKind::Header,
        FailKind::Body,
        FailKind::ErrorLog,
        FailKind::NoErrorLog,
        FailKind::GrepErrorLog,
        FailKind::AccessLog,
        FailKind::NoAccessLog,
        FailKind::Alert,
        FailKind::Crash,
        FailKind::Shutdown,
    ];

    /// Short name, as used in reports and in selftest block names.
    pub fn name(self) -> &'static str {
        match self {
            FailKind::Spec => "spec",
            FailKind::Startup => "startup",
            FailKind::MustDie => "must_die",
            FailKind::Request => "request",
            FailKind::Response => "response",
            FailKind::Status => "status",
            FailKind::Header => "header",
            FailKind::Body => "body",
            FailKind::ErrorLog => "error_log",
            FailKind::NoErrorLog => "no_error_log",
            FailKind::GrepErrorLog => "grep_error_log",
            FailKind::AccessLog => "access_log",
            FailKind::NoAccessLog => "no_access_log",
            FailKind::Alert => "alert",
            FailKind::Crash => "crash",
            FailKind::Shutdown => "shutdown",
        }
    }

    /// Parses a [`FailKind::name`].
    pub fn from_name(s: &str) -> Option<FailKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for FailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailKind,
    pub message: String,
}

/// A block's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

/// The result of one block.
#[derive(Debug, Clone)]
pub struct BlockResult {
    /// File as displayed (relative to the workspace).
    pub file: String,
    /// Line of the `===` line.
    pub line: usize,
    /// Block name.
    pub name: String,
    pub outcome: Outcome,
    pub failures: Vec<Failure>,
    /// Non-fatal notes (e.g. `[crit]` lines, extra response bytes).
    pub warnings: Vec<String>,
    /// The kept prefix of a failed block.
    pub prefix: Option<PathBuf>,
    pub elapsed: Duration,
}

impl BlockResult {
    /// The distinct failure kinds, sorted.
    pub fn kinds(&self) -> Vec<FailKind> {
        let mut k: Vec<FailKind> = self.failures.iter().map(|f| f.kind).collect();
        k.sort();
        k.dedup();
        k
    }
}

/// Shared settings of a run.
#[derive(Debug, Clone)]
pub struct RunCtx {
    pub paths: Paths,
    /// `TEST_NGINX_*` of the process environment.
    pub env: HashMap<String, String>,
    /// Where block prefixes go.
    pub work_dir: PathBuf,
    /// Default request timeout in seconds (`TEST_NGINX_TIMEOUT`, else 3).
    pub default_timeout: f64,
    /// Default error_log level (`TEST_NGINX_LOG_LEVEL`, else debug).
    pub default_log_level: String,
    /// Keep prefixes of passed blocks too (`TEST_NGINX_NO_CLEAN`).
    pub keep_all: bool,
}

/// Runs a block. `seq` makes its prefix directory unique within the run.
pub fn run_block(ctx: &RunCtx, file: &TestFile, block: &Block, seq: usize) -> BlockResult {
    let start = Instant::now();
    let mut res = BlockResult {
        file: file.display.clone(),
        line: block.line,
        name: block.name.clone(),
        outcome: Outcome::Pass,
        failures: Vec::new(),
        warnings: Vec::new(),
        prefix: None,
        elapsed: Duration::ZERO,
    };
    if let Selection::Skip(why) = &block.selected {
        res.outcome = Outcome::Skip(why.clone());
        return res;
    }
    match Spec::from_block(block, &file.preamble) {
        Err(e) => res.failures.push(Failure {
            kind: FailKind::Spec,
            message: e,
        }),
        Ok(spec) => {
            let stem = file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let prefix = ctx
                .work_dir
                .join(format!("{seq:03}-{stem}-L{}", block.line));
            let mut env = ctx.env.clone();
            for (k, v, only_unset) in &file.preamble.env_defaults {
                if !(*only_unset && env.contains_key(k)) {
                    env.insert(k.clone(), v.clone());
                }
            }
            let mut run = BlockRun {
                ctx,
                spec: &spec,
                file,
                block,
                prefix: prefix.clone(),
                env,
                failures: Vec::new(),
                warnings: Vec::new(),
            };
            run.run();
            res.failures = run.failures;
            res.warnings = run.warnings;
            if res.failures.is_empty() && !ctx.keep_all {
                let _ = fs::remove_dir_all(&prefix);
            } else if prefix.exists() {
                res.prefix = Some(prefix);
            }
        }
    }
    if !res.failures.is_empty() {
        res.outcome = Outcome::Fail;
    }
    res.elapsed = start.elapsed();
    res
}

enum Pat {
    Sub(Vec<u8>),
    Re(PerlRegex),
}

impl Pat {
    fn find(&self, line: &[u8]) -> Result<Option<String>, String> {
        match self {
            Pat::Sub(s) => Ok(http::find(line, s).map(|_| String::from_utf8_lossy(s).into_owned())),
            Pat::Re(r) => r.find(line),
        }
    }

    fn show(&self) -> String {
        match self {
            Pat::Sub(s) => format!("\"{}\"", escape_bytes(s)),
            Pat::Re(r) => format!("qr{r}"),
        }
    }
}

fn regex_of(v: &PVal, extra_flags: &str) -> Result<PerlRegex, String> {
    match v {
        PVal::Str(s) => PerlRegex::new(&String::from_utf8_lossy(s), extra_flags),
        PVal::Regex { pat, flags } => PerlRegex::new(pat, &format!("{flags}{extra_flags}")),
        other => Err(format!("expected a pattern, got {}", other.describe())),
    }
}

/// The patterns of an `error_log`-like value: a string is one substring per non-empty line; a
/// `qr//` is one regex; a list holds strings (each one substring) and regexes.
fn log_patterns(v: &PVal) -> Result<Vec<Pat>, String> {
    Ok(match v {
        PVal::Str(s) => {
            let s = s.strip_suffix(b"\n").unwrap_or(s);
            s.split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| Pat::Sub(l.to_vec()))
                .collect()
        }
        PVal::Regex { .. } => vec![Pat::Re(regex_of(v, "")?)],
        PVal::List(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    PVal::Str(s) => out.push(Pat::Sub(s.clone())),
                    PVal::Regex { .. } => out.push(Pat::Re(regex_of(i, "")?)),
                    PVal::Undef => {}
                    other => return Err(format!("unsupported log pattern {}", other.describe())),
                }
            }
            out
        }
        PVal::Undef => vec![],
    })
}

/// Upstream's `value_contains`: whether any pattern's text contains `needle`.
fn value_contains(v: &PVal, needle: &str) -> bool {
    match v {
        PVal::Str(s) => http::find(s, needle.as_bytes()).is_some(),
        PVal::Regex { pat, .. } => pat.contains(needle),
        PVal::List(items) => items.iter().any(|i| value_contains(i, needle)),
        PVal::Undef => false,
    }
}

fn tail(log: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(log);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    if lines.is_empty() {
        return "        (empty)".into();
    }
    lines[from..]
        .iter()
        .map(|l| format!("        | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn show_body(b: &[u8]) -> String {
    const MAX: usize = 2000;
    if b.len() > MAX {
        format!("\"{}\"... ({} bytes)", escape_bytes(&b[..MAX]), b.len())
    } else {
        format!("\"{}\"", escape_bytes(b))
    }
}

struct BlockRun<'a> {
    ctx: &'a RunCtx,
    spec: &'a Spec,
    file: &'a TestFile,
    block: &'a Block,
    prefix: PathBuf,
    env: HashMap<String, String>,
    failures: Vec<Failure>,
    warnings: Vec<String>,
}

impl BlockRun<'_> {
    fn fail(&mut self, kind: FailKind, message: impl Into<String>) {
        let message = message.into();
        if !self
            .failures
            .iter()
            .any(|f| f.kind == kind && f.message == message)
        {
            self.failures.push(Failure { kind, message });
        }
    }

    fn run(&mut self) {
        if let Err(e) = nginx::make_prefix(&self.prefix) {
            return self.fail(FailKind::Startup, e.0);
        }
        let spec = self.spec;
        let mut attempt = 0;
        let (proc, port, _rand_ports, vars) = loop {
            attempt += 1;
            let port = match nginx::alloc_port() {
                Ok(p) => p,
                Err(e) => return self.fail(FailKind::Startup, e.0),
            };
            let mut rand_ports: HashMap<String, PortGuard> = HashMap::new();
            let vars = nginx::block_vars(&self.prefix, port.port());
            if let Err(e) = self.write_files_and_conf(port.port(), &vars, &mut rand_ports) {
                return self.fail(FailKind::Spec, e);
            }
            let started =
                match nginx::spawn(&self.ctx.paths.nginx, &self.prefix, Duration::from_secs(10)) {
                    Ok(s) => s,
                    Err(e) => return self.fail(FailKind::Startup, e.0),
                };
            match started {
                Started::Exited { status, output } => {
                    let log = fs::read(self.prefix.join("logs/error.log")).unwrap_or_default();
                    let in_use = output.contains("Address already in use")
                        || String::from_utf8_lossy(&log).contains("Address already in use");
                    if in_use && attempt < 5 {
                        continue;
                    }
                    if let Some(code) = spec.must_die {
                        match (code, status.code()) {
                            (_, Some(0)) => self.fail(FailKind::MustDie, "nginx exited with status 0; --- must_die expects a failure"),
                            (Some(want), got) if got != Some(want) => self.fail(
                                FailKind::MustDie,
                                format!("nginx exited with {status}, --- must_die expects exit code {want}"),
                            ),
                            _ => {}
                        }
                        let mut all = output.into_bytes();
                        all.extend_from_slice(&log);
                        self.check_logs(&all, true);
                        return;
                    }
                    return self.fail(
                        FailKind::Startup,
                        format!(
                            "nginx failed to start ({status}); its output:\n{}\n      error.log:\n{}",
                            tail(output.as_bytes(), 20),
                            tail(&log, 20)
                        ),
                    );
                }
                Started::Running(mut proc) => {
                    if spec.must_die.is_some() {
                        proc.stop(Duration::from_secs(5));
                        return self.fail(
                            FailKind::MustDie,
                            "nginx started, but --- must_die expects it to fail",
                        );
                    }
                    break (proc, port, rand_ports, vars);
                }
            }
        };
        let mut proc = proc;
        let addr = SocketAddr::from(([127, 0, 0, 1], port.port()));

        match self.build_requests(&vars) {
            Err(e) => self.fail(FailKind::Spec, e),
            Ok(reqs) => {
                for _rep in 0..spec.repeat_each {
                    let before = self.failures.len();
                    self.send_all(addr, &reqs, port.port());
                    if self.failures.len() > before {
                        break;
                    }
                }
            }
        }

        if let Some(w) = spec.wait {
            std::thread::sleep(Duration::from_secs_f64(w));
        }
        let stopped = proc.stop(Duration::from_secs(5));
        for p in stopped.problems {
            let kind = if p.contains("signal") {
                FailKind::Crash
            } else {
                FailKind::Shutdown
            };
            self.fail(kind, p);
        }
        let mut log = fs::read(self.prefix.join("logs/error.log")).unwrap_or_default();
        let out = nginx::read_output(&self.prefix);
        if !out.trim().is_empty() {
            // start-up messages on stderr (before error_log is open) count as log lines
            let mut all = out.into_bytes();
            all.extend_from_slice(&log);
            log = all;
        }
        self.check_logs(&log, false);
        self.check_access_log();
    }

    fn expand(
        &self,
        text: &str,
        vars: &HashMap<String, String>,
        rp: &mut HashMap<String, PortGuard>,
    ) -> Result<String, String> {
        nginx::expand_vars(text, vars, &self.env, rp)
    }

    fn write_files_and_conf(
        &self,
        port: u16,
        vars: &HashMap<String, String>,
        rp: &mut HashMap<String, PortGuard>,
    ) -> Result<(), String> {
        let spec = self.spec;
        for crate::spec::UserFile {
            name,
            content,
            date,
        } in &spec.user_files
        {
            let content = match std::str::from_utf8(content) {
                Ok(t) => self.expand(t, vars, rp)?.into_bytes(),
                Err(_) => content.clone(),
            };
            let path = nginx::write_html_file(&self.prefix, name, &content).map_err(|e| e.0)?;
            if let Some(d) = date {
                nginx::set_mtime(&path, d).map_err(|e| e.0)?;
            }
        }
        let pre = &self.file.preamble;
        let parts = ConfParts {
            modules: self.ctx.paths.modules.clone(),
            env: pre.env_to_nginx.clone(),
            main: self.expand(&spec.main_config, vars, rp)?,
            post_main: self.expand(&spec.post_main_config, vars, rp)?,
            http: self.expand(&spec.http_config, vars, rp)?,
            server: self.expand(&spec.config, vars, rp)?,
            server_name: spec
                .server_name
                .clone()
                .unwrap_or_else(|| "localhost".into()),
            log_level: spec
                .log_level
                .clone()
                .unwrap_or_else(|| self.ctx.default_log_level.clone()),
            workers: pre.workers.unwrap_or(1),
            worker_connections: pre.worker_connections.unwrap_or(64),
            root_location: !spec.no_root_location,
            comment: format!(
                "{}:{} {}",
                self.file.display, self.block.line, self.block.name
            ),
        };
        let conf = nginx::render_conf(&parts, &self.prefix, port, &self.ctx.paths.nginx_v);
        fs::write(self.prefix.join("conf/nginx.conf"), conf).map_err(|e| e.to_string())
    }

    fn more_headers(&self, i: usize, vars: &HashMap<String, String>) -> Result<String, String> {
        let mut rp = HashMap::new();
        let text = match &self.spec.more_headers {
            None => return Ok(String::new()),
            Some(PVal::Str(s)) => s.clone(),
            Some(PVal::List(items)) => match items.get(i) {
                Some(PVal::Str(s)) => s.clone(),
                _ => return Err(format!("--- more_headers lacks data for request {i}")),
            },
            Some(other) => {
                return Err(format!(
                    "--- more_headers: unsupported value {}",
                    other.describe()
                ))
            }
        };
        let text =
            String::from_utf8(text).map_err(|_| "--- more_headers is not UTF-8".to_string())?;
        self.expand(&text, vars, &mut rp)
    }

    /// (packets, head request?, read mode, number of responses)
    fn build_requests(&self, vars: &HashMap<String, String>) -> Result<Vec<Req>, String> {
        let mut rp = HashMap::new();
        let expand_bytes =
            |b: &[u8], rp: &mut HashMap<String, PortGuard>| -> Result<Vec<u8>, String> {
                match std::str::from_utf8(b) {
                    Ok(t) => Ok(self.expand(t, vars, rp)?.into_bytes()),
                    Err(_) => Ok(b.to_vec()),
                }
            };
        let is_head = |b: &[u8]| {
            let t = b
                .iter()
                .skip_while(|c| c.is_ascii_whitespace())
                .copied()
                .collect::<Vec<u8>>();
            t.starts_with(b"HEAD ") || t == b"HEAD" || t.starts_with(b"HEAD\n")
        };
        Ok(match &self.spec.requests {
            Requests::Request(list) => {
                let mut out = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    let r = expand_bytes(r, &mut rp)?;
                    let bytes = http::build_request(&r, &self.more_headers(i, vars)?, "close")?;
                    out.push(Req {
                        packets: vec![bytes],
                        head: vec![is_head(&r)],
                        until: ReadUntil::OneResponse { head: is_head(&r) },
                    });
                }
                out
            }
            Requests::Raw(packets) => {
                let head = packets.first().is_some_and(|p| is_head(p));
                vec![Req {
                    packets: packets.clone(),
                    head: vec![head],
                    until: ReadUntil::OneResponse { head },
                }]
            }
            Requests::Pipelined(list) => {
                let mut all = Vec::new();
                let mut heads = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    let r = expand_bytes(r, &mut rp)?;
                    let conn = if i + 1 == list.len() {
                        "close"
                    } else {
                        "keep-alive"
                    };
                    all.extend(http::build_request(&r, &self.more_headers(i, vars)?, conn)?);
                    heads.push(is_head(&r));
                }
                vec![Req {
                    packets: vec![all],
                    head: heads,
                    until: ReadUntil::Close,
                }]
            }
            Requests::None => Vec::new(),
        })
    }

    fn send_all(&mut self, addr: SocketAddr, reqs: &[Req], port: u16) {
        let spec = self.spec;
        let timeout =
            Duration::from_secs_f64(spec.timeout.unwrap_or(self.ctx.default_timeout).max(0.001));
        let delay = Duration::from_secs_f64(spec.raw_request_middle_delay.max(0.0));
        let mut idx = 0usize;
        for req in reqs {
            let raw = match http::exchange(addr, &req.packets, delay, timeout, req.until) {
                Ok(raw) => raw,
                Err(e) => {
                    let kind = FailKind::Request;
                    self.fail(kind, format!("request {idx}: {e} (timeout {timeout:?})"));
                    return;
                }
            };
            let mut off = 0;
            for (k, &head) in req.head.iter().enumerate() {
                match http::parse_response(&raw[off..], head, true) {
                    http::Parsed::Complete(resp, used) => {
                        off += used;
                        if !spec.ignore_response {
                            self.check_response(idx, &resp, port);
                        }
                    }
                    parsed @ (http::Parsed::Error(_) | http::Parsed::Incomplete) => {
                        let e = match parsed {
                            http::Parsed::Error(e) => e,
                            _ => "incomplete response".to_string(),
                        };
                        // upstream idiom: `--- error_code:` (empty) expects no response at all
                        let no_response_expected = raw[off..].is_empty()
                            && spec.error_code.as_ref().is_some_and(|v| {
                                matches!(self.indexed(v, idx, "error_code"), Ok(PVal::Str(s)) if s.trim_ascii().is_empty())
                            });
                        if no_response_expected {
                            idx += 1;
                            continue;
                        }
                        if !spec.ignore_response {
                            let what = if req.head.len() > 1 {
                                format!("pipelined response {k}")
                            } else {
                                format!("request {idx}")
                            };
                            self.fail(
                                FailKind::Response,
                                format!("{what}: {e}; received: {}", show_body(&raw)),
                            );
                        }
                        return;
                    }
                }
                idx += 1;
            }
            if off < raw.len() && !spec.ignore_response {
                self.warnings.push(format!(
                    "unexpected extra bytes after the response: {}",
                    show_body(&raw[off..])
                ));
            }
        }
    }

    fn indexed<'v>(&self, v: &'v PVal, i: usize, what: &str) -> Result<&'v PVal, String> {
        if self.spec.need_array() {
            match v {
                PVal::List(items) => items
                    .get(i)
                    .ok_or_else(|| format!("--- {what}: no expectation for request {i} (list has {} elements)", items.len())),
                _ => Err(format!("--- {what}: several requests are sent, so the expectation must be a list (eval [...])")),
            }
        } else {
            match v {
                PVal::List(items) => items
                    .first()
                    .ok_or_else(|| format!("--- {what}: empty list")),
                other => Ok(other),
            }
        }
    }

    fn check_response(&mut self, i: usize, resp: &Response, port: u16) {
        let spec = self.spec;
        let tag = if spec.need_array() || spec.repeat_each > 1 {
            format!("request {i}: ")
        } else {
            String::new()
        };
        let port_s = port.to_string();
        let sub_port = |s: &str| {
            s.replace("$ServerPortForClient", &port_s)
                .replace("$ServerPort", &port_s)
        };

        // status
        let code = resp.status.to_string();
        if let Some(v) = &spec.error_code_like {
            match self
                .indexed(v, i, "error_code_like")
                .and_then(|p| regex_of(p, "sm"))
            {
                Ok(re) => match re.is_match(code.as_bytes()) {
                    Ok(true) => {}
                    Ok(false) => self.fail(
                        FailKind::Status,
                        format!("{tag}status {code} does not match {re}"),
                    ),
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Err(e) => self.fail(FailKind::Spec, e),
            }
        } else {
            let want = match &spec.error_code {
                Some(v) => match self.indexed(v, i, "error_code") {
                    Ok(PVal::Str(s)) => String::from_utf8_lossy(s).trim().to_string(),
                    Ok(other) => {
                        return self.fail(
                            FailKind::Spec,
                            format!("--- error_code: unsupported value {}", other.describe()),
                        )
                    }
                    Err(e) => return self.fail(FailKind::Spec, e),
                },
                None => "200".into(),
            };
            if want != code {
                self.fail(
                    FailKind::Status,
                    format!(
                        "{tag}status: expected {want}, got {code} (body: {})",
                        show_body(&resp.body[..resp.body.len().min(300)])
                    ),
                );
            }
        }

        // headers
        if let Some(v) = &spec.response_headers {
            match self.indexed(v, i, "response_headers") {
                Ok(PVal::Str(s)) => {
                    for line in String::from_utf8_lossy(s).lines() {
                        let line = line.trim();
                        if line.is_empty() {
                            continue;
                        }
                        if let Some(name) = line.strip_prefix('!') {
                            let name = name.trim();
                            if let Some(got) = resp.header(name) {
                                self.fail(
                                    FailKind::Header,
                                    format!(
                                        "{tag}header {name}: must be absent, got \"{}\"",
                                        escape_bytes(got.as_bytes())
                                    ),
                                );
                            }
                            continue;
                        }
                        let Some((name, want)) = line.split_once(':') else {
                            self.fail(FailKind::Spec, format!("--- response_headers: line {line:?} is neither `Name: value` nor `!Name`"));
                            continue;
                        };
                        let (name, want) = (name.trim(), sub_port(want.trim()));
                        let got = resp.header(name).unwrap_or_default();
                        if got != want {
                            let got_s = if resp.header(name).is_none() {
                                "(absent)".to_string()
                            } else {
                                format!("\"{}\"", escape_bytes(got.as_bytes()))
                            };
                            self.fail(
                                FailKind::Header,
                                format!(
                                    "{tag}header {name}: expected \"{}\", got {got_s}",
                                    escape_bytes(want.as_bytes())
                                ),
                            );
                        }
                    }
                }
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!(
                        "--- response_headers: unsupported value {}",
                        other.describe()
                    ),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }
        if let Some(v) = &spec.response_headers_like {
            match self.indexed(v, i, "response_headers_like") {
                Ok(PVal::Str(s)) => {
                    for line in String::from_utf8_lossy(s).lines() {
                        let line = line.trim();
                        if line.is_empty() {
                            continue;
                        }
                        let Some((name, pat)) = line.split_once(':') else {
                            self.fail(
                                FailKind::Spec,
                                format!(
                                    "--- response_headers_like: line {line:?} is not `Name: regex`"
                                ),
                            );
                            continue;
                        };
                        let (name, pat) = (name.trim(), pat.trim());
                        let got = resp.header(name).unwrap_or_default();
                        match PerlRegex::new(&format!("^{}$", sub_port(pat)), "") {
                            Ok(re) => match re.is_match(got.as_bytes()) {
                                Ok(true) => {}
                                Ok(false) => self.fail(
                                    FailKind::Header,
                                    format!(
                                        "{tag}header {name}: \"{}\" does not match {re}",
                                        escape_bytes(got.as_bytes())
                                    ),
                                ),
                                Err(e) => self.fail(FailKind::Spec, e),
                            },
                            Err(e) => self.fail(FailKind::Spec, e),
                        }
                    }
                }
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!(
                        "--- response_headers_like: unsupported value {}",
                        other.describe()
                    ),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }
        for (v, like, what) in [
            (
                &spec.raw_response_headers_like,
                true,
                "raw_response_headers_like",
            ),
            (
                &spec.raw_response_headers_unlike,
                false,
                "raw_response_headers_unlike",
            ),
        ] {
            let Some(v) = v else { continue };
            match self.indexed(v, i, what).and_then(|p| regex_of(p, "s")) {
                Ok(re) => match re.is_match(resp.raw_headers.as_bytes()) {
                    Ok(m) if m != like => self.fail(
                        FailKind::Header,
                        format!(
                            "{tag}raw headers {} {re}: \"{}\"",
                            if like { "do not match" } else { "match" },
                            escape_bytes(resp.raw_headers.as_bytes())
                        ),
                    ),
                    Ok(_) => {}
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Err(e) => self.fail(FailKind::Spec, e),
            }
        }

        // body
        let body = &resp.body;
        if let Some(v) = &spec.response_body {
            match self.indexed(v, i, "response_body") {
                Ok(PVal::Str(s)) => {
                    let want = match std::str::from_utf8(s) {
                        Ok(t) => match nginx::expand_vars(
                            &sub_port(t),
                            &nginx::block_vars(&self.prefix, port),
                            &self.env,
                            &mut HashMap::new(),
                        ) {
                            Ok(t) => t.into_bytes(),
                            Err(e) => return self.fail(FailKind::Spec, e),
                        },
                        Err(_) => s.clone(),
                    };
                    if &want != body {
                        let diff = want
                            .iter()
                            .zip(body.iter())
                            .position(|(a, b)| a != b)
                            .unwrap_or(want.len().min(body.len()));
                        self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}response_body differs at byte {diff}:\n        expected: {}\n        got:      {}",
                                show_body(&want),
                                show_body(body)
                            ),
                        );
                    }
                }
                Ok(p @ PVal::Regex { .. }) => match regex_of(p, "") {
                    Ok(re) => match re.is_match(body) {
                        Ok(true) => {}
                        Ok(false) => self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}response_body: {re} does not match {}",
                                show_body(body)
                            ),
                        ),
                        Err(e) => self.fail(FailKind::Spec, e),
                    },
                    Err(e) => self.fail(FailKind::Spec, e),
                },
                Ok(other) => self.fail(
                    FailKind::Spec,
                    format!("--- response_body: unsupported value {}", other.describe()),
                ),
                Err(e) => self.fail(FailKind::Spec, e),
            }
        } else {
            for (v, like, what) in [
                (&spec.response_body_like, true, "response_body_like"),
                (&spec.response_body_unlike, false, "response_body_unlike"),
            ] {
                let Some(v) = v else { continue };
                let pat = match self.indexed(v, i, what) {
                    Ok(PVal::Str(s)) => {
                        PVal::Str(sub_port(&String::from_utf8_lossy(s)).into_bytes())
                    }
                    Ok(p) => p.clone(),
                    Err(e) => {
                        self.fail(FailKind::Spec, e);
                        continue;
                    }
                };
                match regex_of(&pat, "s") {
                    Ok(re) => match re.is_match(body) {
                        Ok(m) if m != like => self.fail(
                            FailKind::Body,
                            format!(
                                "{tag}{what}: {re} {} {}",
                                if like { "does not match" } else { "matches" },
                                show_body(body)
                            ),
                        ),
                        Ok(_) => {}
                        Err(e) => self.fail(FailKind::Spec, e),
                    },
                    Err(e) => self.fail(FailKind::Spec, e),
                }
            }
        }
    }

    fn check_logs(&mut self, log: &[u8], must_die: bool) {
        let spec = self.spec;
        let lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
        let tail_n = 25;
        // expected patterns
        for (v, what) in [
            (&spec.error_log, "error_log"),
            (&spec.shutdown_error_log, "shutdown_error_log"),
        ] {
            let Some(v) = v else { continue };
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- {what}: {e}")),
                Ok(pats) => {
                    let mut missing = Vec::new();
                    for p in &pats {
                        let mut found = false;
                        for l in &lines {
                            match p.find(l) {
                                Ok(Some(_)) => {
                                    found = true;
                                    break;
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    self.fail(FailKind::Spec, e);
                                    found = true;
                                    break;
                                }
                            }
                        }
                        if !found {
                            missing.push(p.show());
                        }
                    }
                    if !missing.is_empty() {
                        let src = if must_die {
                            "nginx's output and error.log"
                        } else {
                            "error.log"
                        };
                        self.fail(
                            FailKind::ErrorLog,
                            format!(
                                "--- {what}: no line of {src} matches {}; last lines:\n{}",
                                missing.join(", "),
                                tail(log, tail_n)
                            ),
                        );
                    }
                }
            }
        }
        for (v, what) in [
            (&spec.no_error_log, "no_error_log"),
            (&spec.no_shutdown_error_log, "no_shutdown_error_log"),
        ] {
            let Some(v) = v else { continue };
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- {what}: {e}")),
                Ok(pats) => {
                    for p in &pats {
                        for l in &lines {
                            match p.find(l) {
                                Ok(Some(_)) => {
                                    self.fail(
                                        FailKind::NoErrorLog,
                                        format!(
                                            "--- {what}: {} matches the line \"{}\"",
                                            p.show(),
                                            escape_bytes(l.strip_suffix(b"\n").unwrap_or(l))
                                        ),
                                    );
                                    break;
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    self.fail(FailKind::Spec, e);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        if let (Some(g), Some(want)) = (&spec.grep_error_log, &spec.grep_error_log_out) {
            let g = match g {
                PVal::List(items) => items.first().cloned().unwrap_or(PVal::Undef),
                other => other.clone(),
            };
            let pat = match &g {
                PVal::Str(s) => Ok(Pat::Sub(s.strip_suffix(b"\n").unwrap_or(s).to_vec())),
                PVal::Regex { .. } => regex_of(&g, "").map(Pat::Re),
                other => Err(format!(
                    "--- grep_error_log: unsupported value {}",
                    other.describe()
                )),
            };
            match pat {
                Err(e) => self.fail(FailKind::Spec, e),
                Ok(pat) => {
                    let mut got = String::new();
                    for l in &lines {
                        match pat.find(l) {
                            Ok(Some(m)) if !m.contains('\n') => {
                                got.push_str(&m);
                                got.push('\n');
                            }
                            Ok(_) => {}
                            Err(e) => self.fail(FailKind::Spec, e),
                        }
                    }
                    let want = match want {
                        PVal::List(items) => items.first().cloned().unwrap_or(PVal::Undef),
                        other => other.clone(),
                    };
                    match &want {
                        PVal::Str(s) => {
                            if s != got.as_bytes() {
                                self.fail(
                                    FailKind::GrepErrorLog,
                                    format!(
                                        "--- grep_error_log_out: expected {}, got {}",
                                        show_body(s),
                                        show_body(got.as_bytes())
                                    ),
                                );
                            }
                        }
                        p @ PVal::Regex { .. } => match regex_of(p, "") {
                            Ok(re) => {
                                if !re.is_match(got.as_bytes()).unwrap_or(false) {
                                    self.fail(
                                        FailKind::GrepErrorLog,
                                        format!(
                                            "--- grep_error_log_out: {re} does not match {}",
                                            show_body(got.as_bytes())
                                        ),
                                    );
                                }
                            }
                            Err(e) => self.fail(FailKind::Spec, e),
                        },
                        other => self.fail(
                            FailKind::Spec,
                            format!(
                                "--- grep_error_log_out: unsupported value {}",
                                other.describe()
                            ),
                        ),
                    }
                }
            }
        }

        if must_die {
            return;
        }
        // automatic checks, unless the block's own log expectations talk about them
        let exempt = |needle: &str| {
            [
                &spec.error_log,
                &spec.no_error_log,
                &spec.shutdown_error_log,
                &spec.no_shutdown_error_log,
            ]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| value_contains(v, needle)))
        };
        let (failures, warnings) = auto_log_checks(&lines, &exempt);
        for f in failures {
            self.fail(f.kind, f.message);
        }
        self.warnings.extend(warnings);
    }

    fn check_access_log(&mut self) {
        let spec = self.spec;
        if spec.access_log.is_none() && spec.no_access_log.is_none() {
            return;
        }
        let log = fs::read(self.prefix.join("logs/access.log")).unwrap_or_default();
        let lines: Vec<&[u8]> = log.split_inclusive(|&c| c == b'\n').collect();
        if let Some(v) = &spec.access_log {
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- access_log: {e}")),
                Ok(pats) => {
                    for p in pats {
                        if !lines.iter().any(|l| matches!(p.find(l), Ok(Some(_)))) {
                            self.fail(
                                FailKind::AccessLog,
                                format!(
                                    "--- access_log: no line matches {}; access.log:\n{}",
                                    p.show(),
                                    tail(&log, 10)
                                ),
                            );
                        }
                    }
                }
            }
        }
        if let Some(v) = &spec.no_access_log {
            match log_patterns(v) {
                Err(e) => self.fail(FailKind::Spec, format!("--- no_access_log: {e}")),
                Ok(pats) => {
                    for p in pats {
                        if let Some(l) = lines.iter().find(|l| matches!(p.find(l), Ok(Some(_)))) {
                            self.fail(
                                FailKind::NoAccessLog,
                                format!(
                                    "--- no_access_log: {} matches \"{}\"",
                                    p.show(),
                                    escape_bytes(l)
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The checks every block gets: a worker that exited on a signal or a failed assertion is a
/// crash; `[alert]` and `[emerg]` lines fail the block; `[crit]` lines are warnings. `exempt`
/// tells whether the block's own log expectations mention `[alert`, `[emerg`, `[crit` or
/// `exited on signal` (then that class is left to them, as upstream does).
pub fn auto_log_checks(
    lines: &[&[u8]],
    exempt: &dyn Fn(&str) -> bool,
) -> (Vec<Failure>, Vec<String>) {
    let (ok_alert, ok_emerg, ok_crit, ok_signal) = (
        exempt("[alert"),
        exempt("[emerg"),
        exempt("[crit"),
        exempt("exited on signal"),
    );
    let assertion = PerlRegex::new(r"\bAssertion .*?failed\b", "").expect("static regex");
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for l in lines {
        let text = String::from_utf8_lossy(l);
        let text = text.trim_end();
        let mut fail = |kind, message| failures.push(Failure { kind, message });
        if text.contains("exited on signal") {
            if !ok_signal {
                fail(FailKind::Crash, format!("error.log: {text}"));
            }
        } else if text.contains("[alert]") {
            if !ok_alert {
                fail(
                    FailKind::Alert,
                    format!("unexpected [alert] in error.log: {text}"),
                );
            }
        } else if text.contains("[emerg]") {
            if !ok_emerg {
                fail(
                    FailKind::Alert,
                    format!("unexpected [emerg] in error.log: {text}"),
                );
            }
        } else if text.contains("[crit]") && !ok_crit {
            warnings.push(format!("[crit] in error.log: {text}"));
        }
        if assertion.is_match(text.as_bytes()).unwrap_or(false) {
            fail(FailKind::Crash, format!("error.log: {text}"));
        }
    }
    (failures, warnings)
}

struct Req {
    packets: Vec<Vec<u8>>,
    /// One entry per expected response (HEAD request or not).
    head: Vec<bool>,
    until: ReadUntil,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_log_checks() {
        let log: &[&[u8]] = &[
            b"2026/01/01 00:00:00 [notice] 1#1: start worker process 2\n",
            b"2026/01/01 00:00:00 [alert] 1#1: worker process 2 exited on signal 11 (core dumped)\n",
            b"2026/01/01 00:00:00 [alert] 3#3: something odd\n",
            b"2026/01/01 00:00:00 [emerg] 3#3: bind() failed\n",
            b"2026/01/01 00:00:00 [crit] 3#3: SSL_do_handshake() failed\n",
            b"nginx: src/core/x.c:1: f: Assertion `a' failed.\n",
        ];
        let none = |_: &str| false;
        let (f, w) = auto_log_checks(log, &none);
        let kinds: Vec<FailKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FailKind::Crash,
                FailKind::Alert,
                FailKind::Alert,
                FailKind::Crash
            ]
        );
        assert_eq!(w.len(), 1);
        // mentioning a class in the block's own expectations hands it over to them
        let alert = |n: &str| n == "[alert" || n == "[crit";
        let (f, w) = auto_log_checks(log, &alert);
        let kinds: Vec<FailKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FailKind::Crash, FailKind::Alert, FailKind::Crash]);
        assert!(w.is_empty());
        let signal = |n: &str| n == "exited on signal";
        let (f, _) = auto_log_checks(&log[..2], &signal);
        assert!(f.is_empty());
    }

    #[test]
    fn log_pattern_forms() {
        let p = log_patterns(&PVal::Str(b"a\n\nb\n".to_vec())).unwrap();
        assert_eq!(p.len(), 2);
        let p = log_patterns(&crate::perl::eval("[qr/x+/, 'y', undef]").unwrap()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].find(b"axxb").unwrap().as_deref(), Some("xx"));
        assert!(value_contains(
            &crate::perl::eval("[qr/\\[alert\\]/, '[emerg]']").unwrap(),
            "[emerg"
        ));
    }
}
