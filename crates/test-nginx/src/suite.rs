//! Running many files in parallel, filtering, and reporting.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::nginx::{self, DefaultModules, Error};
use crate::parse::{self, Block, Selection, TestFile};
use crate::run::{self, BlockResult, FailKind, Failure, Outcome, RunCtx};
use crate::valgrind::{self, Valgrind};

/// What to run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Names the work directory (`target/test-nginx/<label>-<pid>`) and the summary line.
    pub label: String,
    /// Modules to load unless `TEST_NGINX_LOAD_MODULES` is set.
    pub modules: DefaultModules,
    /// The `.t` files.
    pub files: Vec<PathBuf>,
    /// Only blocks at these lines (per file path), if any.
    pub lines: Vec<(PathBuf, usize)>,
    /// Parallel jobs.
    pub jobs: usize,
    /// Print one line per block while running.
    pub print: bool,
    /// Run nginx under valgrind's memcheck ([`Valgrind::from_env`] reads
    /// `TEST_NGINX_USE_VALGRIND`); the loaded modules' file names are added to its module
    /// frames. Blocks with `--- no_valgrind` or `--- no_check_leak` are skipped then.
    pub valgrind: Option<Valgrind>,
}

/// Results of a run.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    /// One entry per block (and per unparsable file), in completion order.
    pub results: Vec<BlockResult>,
    /// The run's work directory (prefixes of failed blocks are kept there), if nginx ran.
    pub work_dir: Option<PathBuf>,
}

impl SuiteResult {
    /// Number of passed blocks.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .count()
    }
    /// Number of failed blocks.
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .count()
    }
    /// Number of skipped blocks.
    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Skip(_)))
            .count()
    }
    /// The summary line: `<label>: N passed, M failed[, K skipped]`.
    pub fn summary(&self, label: &str) -> String {
        let mut s = format!(
            "{label}: {} passed, {} failed",
            self.passed(),
            self.failed()
        );
        if self.skipped() > 0 {
            s.push_str(&format!(", {} skipped", self.skipped()));
        }
        s
    }
}

/// Default request timeout in seconds, as upstream's `TEST_NGINX_TIMEOUT` default.
pub const DEFAULT_TIMEOUT: f64 = 3.0;

/// Sections that skip a block under valgrind: ours, and upstream's marker for blocks unfit for
/// its leak-checking mode.
pub const VALGRIND_SKIP: &[&str] = &["no_valgrind", "no_check_leak"];

/// Default number of parallel jobs: `TEST_NGINX_JOBS`, else the number of CPUs.
pub fn default_jobs() -> usize {
    std::env::var("TEST_NGINX_JOBS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
}

fn display_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Formats one block's report (the `ok`/`FAIL`/`skip` line and the failure details).
pub fn format_result(r: &BlockResult) -> String {
    let head = match &r.outcome {
        Outcome::Pass => "ok  ",
        Outcome::Fail => "FAIL",
        Outcome::Skip(_) => "skip",
    };
    let mut s = format!("{head} {}:{} {}", r.file, r.line, r.name);
    match &r.outcome {
        Outcome::Skip(why) => s.push_str(&format!(" ({why})")),
        _ => s.push_str(&format!(" ({} ms)", r.elapsed.as_millis())),
    }
    for f in &r.failures {
        s.push_str(&format!(
            "\n    [{}] {}",
            f.kind,
            f.message.replace('\n', "\n    ")
        ));
    }
    for w in &r.warnings {
        s.push_str(&format!("\n    warning: {w}"));
    }
    if let Some(p) = &r.prefix {
        s.push_str(&format!(
            "\n    prefix kept: {} (conf/nginx.conf, logs/error.log, nginx.out)",
            p.display()
        ));
    }
    s
}

/// Parses files, runs their blocks on `jobs` threads, optionally printing as blocks finish.
pub fn run_suite(opts: &SuiteOptions) -> Result<SuiteResult, Error> {
    let root = nginx::workspace_root();
    let mut out = SuiteResult::default();
    let mut files: Vec<TestFile> = Vec::new();
    let print = |r: &BlockResult| {
        if opts.print {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{}", format_result(r));
            let _ = o.flush();
        }
    };
    for path in &opts.files {
        let display = display_path(&root, path);
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("{display}: {e}"))
            .and_then(|t| parse::parse_file(path, &display, &t));
        match parsed {
            Ok(mut f) => {
                let wanted: Vec<usize> = opts
                    .lines
                    .iter()
                    .filter(|(p, _)| p == path)
                    .map(|(_, l)| *l)
                    .collect();
                if !wanted.is_empty() {
                    for b in &mut f.blocks {
                        if !wanted.contains(&b.line) && b.selected == Selection::Run {
                            b.selected = Selection::Skip("not selected".into());
                        }
                    }
                    for l in &wanted {
                        if !f.blocks.iter().any(|b| b.line == *l) {
                            return Err(Error(format!(
                                "{display}:{l}: no block starts at that line"
                            )));
                        }
                    }
                }
                if f.blocks
                    .iter()
                    .any(|b| b.sections.iter().any(|s| s.name == "ONLY"))
                    && opts.print
                {
                    println!("WARNING: {display} has a --- ONLY block: the file's other blocks are skipped");
                }
                if f.blocks.is_empty() {
                    println!("WARNING: {display} has no blocks");
                }
                files.push(f);
            }
            Err(e) => {
                let r = BlockResult {
                    file: display,
                    line: 0,
                    name: "(file)".into(),
                    outcome: Outcome::Fail,
                    failures: vec![Failure {
                        kind: FailKind::Spec,
                        message: e,
                    }],
                    warnings: vec![],
                    prefix: None,
                    elapsed: Default::default(),
                };
                print(&r);
                out.results.push(r);
            }
        }
    }

    // skipped blocks are reported right away; the others go to the workers
    let mut work: Vec<(&TestFile, &Block)> = Vec::new();
    for f in &files {
        for b in &f.blocks {
            let selected = match &b.selected {
                Selection::Run if opts.valgrind.is_some() => {
                    match b
                        .sections
                        .iter()
                        .find(|s| VALGRIND_SKIP.contains(&s.name.as_str()))
                    {
                        Some(s) => Selection::Skip(format!("--- {} under valgrind", s.name)),
                        None => Selection::Run,
                    }
                }
                other => other.clone(),
            };
            match &selected {
                Selection::Run => work.push((f, b)),
                Selection::Skip(why) => {
                    let r = BlockResult {
                        file: f.display.clone(),
                        line: b.line,
                        name: b.name.clone(),
                        outcome: Outcome::Skip(why.clone()),
                        failures: vec![],
                        warnings: vec![],
                        prefix: None,
                        elapsed: Default::default(),
                    };
                    print(&r);
                    out.results.push(r);
                }
            }
        }
    }
    if work.is_empty() {
        return Ok(out);
    }

    let paths = nginx::paths(opts.modules)?;
    if opts.print {
        if let Some(w) = nginx::stale_module_warning(&paths) {
            println!("{w}");
        }
    }
    let valgrind = opts.valgrind.clone().map(|mut v| {
        v.add_module_objects(&paths.modules);
        v
    });
    if let (Some(v), true) = (&valgrind, opts.print) {
        println!("{}", v.describe());
    }
    let ctx = RunCtx {
        work_dir: nginx::work_dir(&paths, &opts.label)?,
        paths,
        env: nginx::env_snapshot(),
        // an explicit TEST_NGINX_TIMEOUT is taken literally, also under valgrind
        default_timeout: std::env::var("TEST_NGINX_TIMEOUT")
            .ok()
            .and_then(|v| crate::spec::parse_time(&v))
            .unwrap_or(if valgrind.is_some() {
                DEFAULT_TIMEOUT * valgrind::SLOWDOWN
            } else {
                DEFAULT_TIMEOUT
            }),
        default_log_level: std::env::var("TEST_NGINX_LOG_LEVEL").unwrap_or_else(|_| "debug".into()),
        keep_all: std::env::var_os("TEST_NGINX_NO_CLEAN").is_some(),
        valgrind,
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<BlockResult>();
    let jobs = opts.jobs.max(1).min(work.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work, ctx) = (&next, &work, &ctx);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((f, b)) = work.get(i) else { break };
                let r = run::run_block(ctx, f, b, i);
                if tx.send(r).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for r in rx {
            print(&r);
            out.results.push(r);
        }
    });
    if ctx
        .work_dir
        .read_dir()
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
    {
        let _ = std::fs::remove_dir(&ctx.work_dir);
    } else {
        out.work_dir = Some(ctx.work_dir.clone());
    }
    Ok(out)
}

/// The `.t` files directly in `dir`, sorted.
pub fn t_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "t") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Command-line filters: the test binary's arguments (libtest-style `--flags` are ignored)
/// plus `TEST_NGINX_FILES` (whitespace-separated).
pub fn filter_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with('-') {
            if matches!(
                a.as_str(),
                "--test-threads" | "--skip" | "--format" | "--color" | "-Z" | "--logfile"
            ) {
                args.next();
            }
            continue;
        }
        out.push(a);
    }
    if let Ok(v) = std::env::var("TEST_NGINX_FILES") {
        out.extend(v.split_whitespace().map(str::to_string));
    }
    out
}

/// Files to run, and the (file, line) pairs of single selected blocks.
pub type Selected = (Vec<PathBuf>, Vec<(PathBuf, usize)>);

/// Applies filters to `all` files: a filter is a path (relative to the workspace root or the
/// current directory), `path:LINE` (one block), or a substring of the displayed path.
pub fn select(all: &[PathBuf], filters: &[String]) -> Result<Selected, Error> {
    if filters.is_empty() {
        return Ok((all.to_vec(), vec![]));
    }
    let root = nginx::workspace_root();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut lines = Vec::new();
    for f in filters {
        let (f, line) = match f.rsplit_once(':') {
            Some((p, l)) if !l.is_empty() && l.bytes().all(|c| c.is_ascii_digit()) => {
                (p.to_string(), l.parse::<usize>().ok())
            }
            _ => (f.clone(), None),
        };
        let as_path = [root.join(&f), PathBuf::from(&f)]
            .into_iter()
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok());
        let matched: Vec<PathBuf> = match as_path {
            Some(p) => vec![p],
            None => all
                .iter()
                .filter(|p| display_path(&root, p).contains(&f))
                .cloned()
                .collect(),
        };
        if matched.is_empty() {
            return Err(Error(format!("no test file matches {f:?}")));
        }
        for m in matched {
            if let Some(l) = line {
                lines.push((m.clone(), l));
            }
            if !files.contains(&m) {
                files.push(m);
            }
        }
    }
    Ok((files, lines))
}

/// Entry point of the main suite (`tests/t.rs`): runs `<workspace>/t/*.t` (or the files and
/// blocks selected by arguments / `TEST_NGINX_FILES`) with the module loaded; the last line
/// printed is `t: N passed, M failed[, K skipped]`.
pub fn main_suite() -> ExitCode {
    let root = nginx::workspace_root();
    let all: Vec<PathBuf> = t_files(&root.join("t"))
        .into_iter()
        .map(|p| p.canonicalize().unwrap_or(p))
        .collect();
    let label = "t";
    let run = || -> Result<SuiteResult, Error> {
        let (files, lines) = select(&all, &filter_args())?;
        if files.is_empty() {
            return Err(Error(format!(
                "no .t files in {}",
                root.join("t").display()
            )));
        }
        run_suite(&SuiteOptions {
            label: label.into(),
            modules: DefaultModules::Jwt,
            files,
            lines,
            jobs: default_jobs(),
            print: true,
            valgrind: Valgrind::from_env()?,
        })
    };
    let start = std::time::Instant::now();
    match run() {
        Ok(res) => {
            let failed: Vec<&BlockResult> = res
                .results
                .iter()
                .filter(|r| r.outcome == Outcome::Fail)
                .collect();
            if !failed.is_empty() {
                println!("\nFailed blocks:");
                for r in &failed {
                    let kinds: Vec<&str> = r.kinds().iter().map(|k| k.name()).collect();
                    println!("  {}:{} {} [{}]", r.file, r.line, r.name, kinds.join(","));
                }
            }
            let ran = res.passed() + res.failed();
            if ran == 0 {
                println!("ERROR: no block ran");
            }
            println!(
                "({} blocks in {:.1}s, {} jobs)",
                ran,
                start.elapsed().as_secs_f64(),
                default_jobs()
            );
            println!("{}", res.summary(label));
            if res.failed() > 0 || ran == 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            println!("ERROR: {e}");
            println!("{label}: 0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}
