//! The memory-checking mode end to end, on stock nginx: a block's nginx really runs under
//! valgrind, its worker's report is read after the stop, and a record with a "module" frame
//! fails the block. Stock nginx has no memory error to plant, but it has a definite leak of its
//! own in every worker (`ngx_set_environment`); declaring that function a module frame, with no
//! suppressions, turns it into the planted bug. The same block passes with the default module
//! frames (an nginx-internal leak is not a failure). The report parser itself is tested on
//! canned reports (invalid read in the module, nginx-only leak...) in `src/valgrind.rs`.
//!
//! Skipped (passes with a note) when valgrind is not installed.

use std::path::PathBuf;

use test_nginx::suite::{run_suite, SuiteOptions};
use test_nginx::valgrind::{self, Valgrind};
use test_nginx::{DefaultModules, FailKind, Outcome};

const T: &str = r#"use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: a request served by a worker
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok



=== TEST 2: skipped under valgrind
--- no_valgrind
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t



=== TEST 3: must_die runs without valgrind
--- config
    location = /t { bogus_directive; }
--- must_die
"#;

fn run(v: Valgrind, label: &str) -> test_nginx::SuiteResult {
    let file = std::env::temp_dir().join(format!("test-nginx-{label}-{}.t", std::process::id()));
    std::fs::write(&file, T).unwrap();
    let res = run_suite(&SuiteOptions {
        label: label.into(),
        modules: DefaultModules::None,
        files: vec![file.clone()],
        lines: vec![],
        jobs: 2,
        print: false,
        valgrind: Some(v),
    });
    let _ = std::fs::remove_file(&file);
    res.unwrap()
}

fn valgrind_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("valgrind"))
        .find(|p| p.is_file())
}

#[test]
fn a_leak_with_a_module_frame_fails_the_block_and_nginx_own_leaks_do_not() {
    let Some(binary) = valgrind_binary() else {
        eprintln!("valgrind is not installed: skipped");
        return;
    };
    let planted = Valgrind {
        binary: binary.clone(),
        extra_args: vec![],
        suppressions: vec![],
        module_frames: vec!["ngx_set_environment".into()],
    };
    let res = run(planted, "valgrind-planted");
    let by_name = |name: &str| {
        res.results
            .iter()
            .find(|r| r.name.starts_with(name))
            .unwrap_or_else(|| panic!("no result for {name}: {res:?}"))
    };
    let r = by_name("TEST 1:");
    assert_eq!(r.outcome, Outcome::Fail, "{r:?}");
    assert_eq!(r.kinds(), [FailKind::Valgrind], "{r:?}");
    let m = &r.failures[0].message;
    assert!(m.starts_with("worker "), "the leak is the worker's: {m}");
    assert!(
        m.contains("definitely lost") && m.contains("module frame: by 0x"),
        "{m}"
    );
    assert!(m.contains("ngx_set_environment"), "{m}");
    let kept = r.prefix.clone().expect("a failed block keeps its prefix");
    assert!(std::fs::read_dir(&kept)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("valgrind.")));
    assert!(
        matches!(&by_name("TEST 2:").outcome, Outcome::Skip(why) if why.contains("no_valgrind")),
        "{res:?}"
    );
    assert_eq!(by_name("TEST 3:").outcome, Outcome::Pass, "{res:?}");
    if let Some(d) = &res.work_dir {
        let _ = std::fs::remove_dir_all(d);
    }

    // the defaults: the worker's leak is nginx's own, not a failure
    let defaults = Valgrind {
        binary,
        extra_args: vec![],
        suppressions: vec![],
        module_frames: valgrind::default_module_frames(&[]),
    };
    let res = run(defaults, "valgrind-clean");
    assert_eq!(
        (res.passed(), res.failed(), res.skipped()),
        (2, 0, 1),
        "{res:?}"
    );
}
