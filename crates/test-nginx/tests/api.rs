//! The `Nginx` API on stock nginx (no module): start, requests, reload, stop, crash detection.

use std::time::Duration;

use test_nginx::{Nginx, NginxConfig, Request};

fn stock(server: &str) -> NginxConfig {
    NginxConfig {
        modules: Some(vec![]),
        ..NginxConfig::server(server)
    }
}

#[test]
fn start_request_stop() {
    let cfg = stock(
        "location = /t { return 200 \"port=$server_port $http_x_a\"; }\n\
         location = /f { alias $TEST_NGINX_HTML_DIR/dir/f.txt; }",
    )
    .file("dir/f.txt", "file content\n");
    let ngx = Nginx::start(cfg).unwrap();
    let r = ngx.request(&Request::get("/t").header("X-A", "b")).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), format!("port={} b", ngx.port()));
    assert_eq!(ngx.get("/f").unwrap().text(), "file content\n");
    let r = ngx.raw(b"HEAD /f HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(
        (
            r.status,
            r.header("Content-Length").as_deref(),
            r.body.len()
        ),
        (200, Some("13"), 0)
    );
    assert_eq!(ngx.get("/nope").unwrap().status, 404);
    let prefix = ngx.prefix().to_path_buf();
    let log = ngx.stop().unwrap();
    assert!(log.contains("No such file or directory"), "{log}");
    assert!(!prefix.exists(), "the prefix of a clean run is removed");
}

#[test]
fn reload_switches_config_and_rejects_bad_ones() {
    let mut ngx = Nginx::start(stock("location = /v { return 200 \"one\"; }")).unwrap();
    assert_eq!(ngx.get("/v").unwrap().text(), "one");
    ngx.reload(Some(stock("location = /v { return 200 \"two\"; }")))
        .unwrap();
    for _ in 0..20 {
        assert_eq!(ngx.get("/v").unwrap().text(), "two");
    }
    let err = ngx
        .reload(Some(stock("location = /v { bogus; }")))
        .unwrap_err();
    assert!(err.0.contains("unknown directive"), "{err}");
    // the old configuration keeps serving
    assert_eq!(ngx.get("/v").unwrap().text(), "two");
    // the rejected reload logged an [emerg]: stop() reports it
    let err = ngx.stop().unwrap_err();
    assert!(err.0.contains("[emerg]"), "{err}");
}

#[test]
fn a_worker_crash_is_reported() {
    let ngx = Nginx::start(stock("location = /t { return 200; }")).unwrap();
    assert_eq!(ngx.get("/t").unwrap().status, 200);
    let workers = worker_pids(&ngx);
    assert_eq!(workers.len(), 1, "{workers:?}");
    // SAFETY: kill(2) on a worker of the nginx this test started.
    unsafe { libc::kill(workers[0], libc::SIGSEGV) };
    // the master respawns a worker, which serves
    let mut served = false;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(10));
        if ngx.get("/t").map(|r| r.status == 200).unwrap_or(false) && worker_pids(&ngx) != workers {
            served = true;
            break;
        }
    }
    assert!(served);
    let err = ngx.stop().unwrap_err();
    assert!(err.0.contains("exited on signal 11"), "{err}");
}

#[test]
fn startup_failure_is_an_error() {
    let err = Nginx::start(stock("location = /t { bogus_directive; }")).unwrap_err();
    assert!(
        err.0.contains("unknown directive \"bogus_directive\""),
        "{err}"
    );
}

fn worker_pids(ngx: &Nginx) -> Vec<i32> {
    let pid: i32 = std::fs::read_to_string(ngx.prefix().join("logs/nginx.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
            let after = &stat[stat.rfind(')').unwrap() + 1..];
            if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
