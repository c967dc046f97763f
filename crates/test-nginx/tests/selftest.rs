//! Proves the runner fails when it should: runs `<workspace>/t/selftest/*.t` with stock nginx
//! (no module unless `TEST_NGINX_LOAD_MODULES` is set) and checks every block's outcome
//! against its name:
//!
//! * `FAIL(kind[,kind...])` in the name: the block must fail, with exactly these
//!   [`test_nginx::FailKind`] names;
//! * `SKIPPED` in the name: the block must not run;
//! * otherwise: the block must pass.

use std::process::ExitCode;

use test_nginx::suite::{self, SuiteOptions};
use test_nginx::{nginx, BlockResult, DefaultModules, FailKind, Outcome};

enum Expect {
    Fail(Vec<FailKind>),
    Skip,
    Pass,
}

fn expectation(name: &str) -> Result<Expect, String> {
    if let Some(start) = name.find("FAIL(") {
        let rest = &name[start + 5..];
        let end = rest
            .find(')')
            .ok_or_else(|| format!("unclosed FAIL( in {name:?}"))?;
        let mut kinds = Vec::new();
        for k in rest[..end].split(',') {
            kinds.push(
                FailKind::from_name(k.trim())
                    .ok_or_else(|| format!("unknown failure kind {k:?} in {name:?}"))?,
            );
        }
        kinds.sort();
        kinds.dedup();
        return Ok(Expect::Fail(kinds));
    }
    if name.contains("SKIPPED") {
        return Ok(Expect::Skip);
    }
    Ok(Expect::Pass)
}

fn check(r: &BlockResult) -> Result<String, String> {
    match (expectation(&r.name)?, &r.outcome) {
        (Expect::Fail(want), Outcome::Fail) => {
            let got = r.kinds();
            if got == want {
                Ok(format!("failed as expected [{}]", names(&got)))
            } else {
                Err(format!(
                    "failed with [{}], expected [{}]",
                    names(&got),
                    names(&want)
                ))
            }
        }
        (Expect::Fail(want), o) => Err(format!(
            "expected to fail with [{}], but: {o:?}",
            names(&want)
        )),
        (Expect::Skip, Outcome::Skip(why)) => Ok(format!("skipped as expected ({why})")),
        (Expect::Skip, o) => Err(format!("expected to be skipped, but: {o:?}")),
        (Expect::Pass, Outcome::Pass) => Ok("passed as expected".into()),
        (Expect::Pass, o) => Err(format!("expected to pass, but: {o:?}")),
    }
}

fn names(k: &[FailKind]) -> String {
    k.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
}

fn main() -> ExitCode {
    let start = std::time::Instant::now();
    let dir = nginx::workspace_root().join("t/selftest");
    let all = suite::t_files(&dir);
    let (files, lines) = match suite::select(&all, &suite::filter_args()) {
        Ok(x) => x,
        Err(e) => {
            println!("ERROR: {e}\nselftest: 0 ok, 1 wrong");
            return ExitCode::FAILURE;
        }
    };
    let res = match suite::run_suite(&SuiteOptions {
        label: "selftest".into(),
        modules: DefaultModules::None,
        files: files.clone(),
        lines,
        jobs: suite::default_jobs(),
        print: false,
        valgrind: match test_nginx::valgrind::Valgrind::from_env() {
            Ok(v) => v,
            Err(e) => {
                println!("ERROR: {e}\nselftest: 0 ok, 1 wrong");
                return ExitCode::FAILURE;
            }
        },
    }) {
        Ok(r) => r,
        Err(e) => {
            println!("ERROR: {e}\nselftest: 0 ok, 1 wrong");
            return ExitCode::FAILURE;
        }
    };
    let mut results = res.results.clone();
    results.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let (mut ok, mut wrong) = (0, 0);
    let (mut expected_failures, mut expected_passes) = (0, 0);
    for r in &results {
        // blocks left out by a `file:line` filter say nothing about the runner
        if matches!(&r.outcome, Outcome::Skip(why) if why == "not selected") {
            continue;
        }
        match check(r) {
            Ok(msg) => {
                ok += 1;
                match r.outcome {
                    Outcome::Fail => expected_failures += 1,
                    Outcome::Pass => expected_passes += 1,
                    Outcome::Skip(_) => {}
                }
                println!("ok    {}:{} {} -- {msg}", r.file, r.line, r.name);
                if std::env::var_os("SELFTEST_VERBOSE").is_some() {
                    println!("{}", suite::format_result(r));
                }
            }
            Err(msg) => {
                wrong += 1;
                println!(
                    "WRONG {}:{} {} -- {msg}\n{}",
                    r.file,
                    r.line,
                    r.name,
                    suite::format_result(r)
                );
            }
        }
    }
    for f in &files {
        let shown = f
            .strip_prefix(nginx::workspace_root())
            .unwrap_or(f)
            .display()
            .to_string();
        if !results.iter().any(|r| r.file == shown) {
            wrong += 1;
            println!("WRONG {shown}: produced no result");
        }
    }
    if (expected_failures == 0 || expected_passes == 0) && files.len() == all.len() {
        wrong += 1;
        println!(
            "WRONG: the selftest needs both failing ({expected_failures}) and passing ({expected_passes}) blocks"
        );
    }
    // the kept prefixes are those of the expected failures: drop them when all is as expected
    if wrong == 0 && std::env::var_os("TEST_NGINX_NO_CLEAN").is_none() {
        if let Some(d) = &res.work_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
    println!(
        "({} blocks in {:.1}s, {} jobs)",
        results.len(),
        start.elapsed().as_secs_f64(),
        suite::default_jobs()
    );
    println!("selftest: {ok} ok, {wrong} wrong");
    if wrong > 0 || ok == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
