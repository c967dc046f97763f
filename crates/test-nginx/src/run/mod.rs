//! Runs one block: prefix, config, nginx (under valgrind if asked), then the requests
//! (`requests.rs`), the response checks (`response.rs`) and the log checks (`logs.rs`).

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::nginx::{self, ConfParts, Paths, PortGuard, Started};
use crate::parse::{Block, Selection, TestFile};
use crate::perl::escape_bytes;
use crate::spec::Spec;
use crate::valgrind::{self, Valgrind};

mod logs;
mod outcome;
mod requests;
mod response;

pub use logs::auto_log_checks;
pub use outcome::{BlockResult, FailKind, Failure, Outcome};

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
    /// Run nginx under valgrind's memcheck (`TEST_NGINX_USE_VALGRIND`).
    pub valgrind: Option<Valgrind>,
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
        // must_die blocks run without valgrind, as upstream: nothing to check in an nginx
        // that refuses to start
        let vg = self
            .ctx
            .valgrind
            .as_ref()
            .filter(|_| spec.must_die.is_none());
        let launcher = vg.map(|v| v.command(&self.prefix)).unwrap_or_default();
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
            let started = match nginx::spawn_with(
                &launcher,
                &self.ctx.paths.nginx,
                &self.prefix,
                self.scaled(Duration::from_secs(10)),
            ) {
                Ok(s) => s,
                Err(e) => return self.fail(FailKind::Startup, e.0),
            };
            match started {
                Started::Exited { status, output } => {
                    let log = fs::read(self.prefix.join("logs/error.log")).unwrap_or_default();
                    let in_use = output.contains("Address already in use")
                        || String::from_utf8_lossy(&log).contains("Address already in use");
                    if in_use && attempt < 5 {
                        // the reports of the failed attempt are not the block's
                        remove_valgrind_reports(&self.prefix);
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
        let master = proc.pid();
        // under valgrind this also waits for every process's report: the master exits after
        // its workers, and each process writes its report before it exits
        let stopped = proc.stop(self.scaled(Duration::from_secs(5)));
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
        if let Some(v) = vg {
            for f in v.check_prefix(&self.prefix, master) {
                self.fail(f.kind, f.message);
            }
        }
    }

    /// A start-up, stop or request time limit, longer under valgrind.
    fn scaled(&self, d: Duration) -> Duration {
        if self.ctx.valgrind.is_some() && self.spec.must_die.is_none() {
            d.mul_f64(valgrind::SLOWDOWN)
        } else {
            d
        }
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
                "{}:{} {}{}",
                self.file.display,
                self.block.line,
                self.block.name,
                spec.setup_from
                    .map(|l| format!(
                        " (no --- config: the setup of the block at line {l}, as upstream)"
                    ))
                    .unwrap_or_default()
            ),
        };
        let conf = nginx::render_conf(&parts, &self.prefix, port, &self.ctx.paths.nginx_v);
        fs::write(self.prefix.join("conf/nginx.conf"), conf).map_err(|e| e.to_string())
    }
}

/// Removes `valgrind.<pid>.log` files from a prefix.
fn remove_valgrind_reports(prefix: &std::path::Path) {
    if let Ok(rd) = fs::read_dir(prefix) {
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("valgrind.") && name.ends_with(".log") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}
