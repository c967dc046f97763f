//! `jwt_key_request` behaviour that needs real time or real concurrency, which the `.t` format
//! cannot express (t/key-request.t has the rest): a set that expires and is fetched again, a
//! response's `Cache-Control: max-age`, many first requests at once across two workers, a slow
//! provider that requests wait for, a provider that goes down and comes back, a key added to the
//! set (not picked up before the refetch interval, picked up after) or removed from it, a
//! response cut off, a provider slower than `proxy_read_timeout`, a client that goes away while
//! its request fetches, and reloads (the set is kept; the shared zone does not fill up).
//!
//! The module's clock is in whole seconds: a set fetched at t expires between t + lifetime - 1
//! and t + lifetime, so the tests check "not yet" at most lifetime - 1 seconds later and "now"
//! a full lifetime (plus a margin) later, and the same for refetch intervals.
//!
//! The provider is a small Python HTTP server started by each test ([`Provider`]): nginx's JWKS
//! location proxies to it, and the test changes what it answers (the set, the status, a delay,
//! a `Cache-Control` header, a cut-off body) between requests and counts how often it was asked.
//!
//! Tokens: t/fixtures/tokens (rs256-jwks, es256-jwks: kid rsa-1 / ec-1, `{"sub":"alice"}`) and
//! the tokens printed by t/fixtures/make-key-request-tokens (rsa-kid-rotated: the key of rsa-1
//! under kid "rotated-2"). Python comes from target/venv (scripts/setup).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use test_nginx::{Nginx, NginxConfig, Request, Response};

fn workspace() -> PathBuf {
    test_nginx::nginx::workspace_root()
}

/// The project's Python (scripts/setup creates target/venv with PyJWT).
fn python() -> PathBuf {
    let python = workspace().join("target/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    python
}

fn fixture_token(name: &str) -> String {
    let path = workspace().join(format!("t/fixtures/tokens/{name}.jwt"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// A token printed by t/fixtures/make-key-request-tokens.
fn generated_token(name: &str) -> String {
    let out = Command::new(python())
        .arg(workspace().join("t/fixtures/make-key-request-tokens"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make-key-request-tokens: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")).map(str::to_string))
        .unwrap_or_else(|| panic!("no token {name}"))
}

/// The JWKs of t/fixtures/keys/jwks.json by kid.
fn fixture_jwk(kid: &str) -> Value {
    let path = workspace().join("t/fixtures/keys/jwks.json");
    let set: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no kid {kid} in jwks.json"))
        .clone()
}

/// `{"keys":[...]}` of the fixture keys named; `("rsa-1", "rotated-2")` renames rsa-1.
fn jwks(keys: &[(&str, &str)]) -> Vec<u8> {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, as_kid)| {
            let mut jwk = fixture_jwk(kid);
            jwk["kid"] = json!(as_kid);
            jwk
        })
        .collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

fn rsa_only() -> Vec<u8> {
    jwks(&[("rsa-1", "rsa-1")])
}

/// rsa-1, and the same key as "rotated-2" (the key rsa-kid-rotated is signed with).
fn rotated() -> Vec<u8> {
    jwks(&[("rsa-1", "rsa-1"), ("rsa-1", "rotated-2")])
}

/// The mock identity provider: answers `GET /jwks` as the files in its directory say, read on
/// every request (`body`, `status`, `delay` seconds, `cache_control`, `mode`: `normal`, `cut`
/// = announce more bytes than sent then close, `chunked-cut` = a chunked body without its last
/// chunk); `GET /hits` answers how many `/jwks` requests arrived (including ones in progress);
/// `POST` answers with the body it received.
const PROVIDER: &str = r#"
import http.server, os, socketserver, sys, threading, time
DIR = sys.argv[1]
hits = 0
lock = threading.Lock()
def setting(name, default):
    try:
        with open(os.path.join(DIR, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        global hits
        if self.path == "/hits":
            with lock:
                body = str(hits).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with lock:
            hits += 1
        time.sleep(float(setting("delay", b"0")))
        body = setting("body", b"")
        mode = setting("mode", b"normal").decode().strip()
        self.send_response(int(setting("status", b"200")))
        self.send_header("Content-Type", "application/json")
        cache_control = setting("cache_control", b"").decode().strip()
        if cache_control:
            self.send_header("Cache-Control", cache_control)
        if mode == "chunked-cut":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = body[: len(body) // 2]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "cut":
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        answer = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

struct Provider {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Provider {
    fn start(label: &str, body: &[u8]) -> Provider {
        let dir = workspace()
            .join("target/test-nginx")
            .join(format!("provider-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(python())
            .arg("-c")
            .arg(PROVIDER)
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the provider prints its port");
        let provider = Provider { child, dir, port };
        provider.set("body", body);
        provider
    }

    fn set(&self, name: &str, value: &[u8]) {
        // Written whole then renamed: the server never reads half a file.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, value).unwrap();
        std::fs::rename(tmp, self.dir.join(name)).unwrap();
    }

    fn hits(&self) -> usize {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /hits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.rsplit("\r\n\r\n").next().unwrap().parse().unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx with `workers` workers whose `/t` is verified with keys fetched from `provider`
/// through `/_jwks` (`key_cache`: the `jwt_key_cache` line, may be empty). `/t` answers with
/// the claim `sub`, `$jwt_error` and the worker's pid in headers.
fn start(provider: &Provider, workers: u32, key_cache: &str, jwks_extra: &str) -> Nginx {
    let port = provider.port;
    let server = format!(
        "location = /_jwks {{\n\
             internal;\n\
             proxy_pass http://127.0.0.1:{port}/jwks;\n\
             proxy_read_timeout 10s;\n\
             {jwks_extra}\n\
         }}\n\
         location = /t {{\n\
             jwt_verify on;\n\
             jwt_key_request /_jwks;\n\
             {key_cache}\n\
             add_header X-Sub $jwt_claim_sub always;\n\
             add_header X-Error $jwt_error always;\n\
             add_header X-Pid $pid always;\n\
             alias $TEST_NGINX_HTML_DIR/ok.txt;\n\
         }}\n"
    );
    let mut ngx = Nginx::start(NginxConfig {
        workers,
        ..NginxConfig::server(&server).file("ok.txt", "ok\n")
    })
    .unwrap();
    ngx.set_timeout(Duration::from_secs(15));
    ngx
}

fn get(ngx: &Nginx, token: &str) -> Response {
    ngx.request(&Request::get("/t").header("Authorization", &format!("Bearer {token}")))
        .unwrap()
}

/// (status, $jwt_error) of `GET /t` with `token`.
fn verdict(ngx: &Nginx, token: &str) -> (u16, String) {
    let r = get(ngx, token);
    (r.status, r.header("X-Error").unwrap_or_default())
}

const OK: (u16, &str) = (200, "");

fn is(v: (u16, String), expected: (u16, &str)) -> bool {
    v.0 == expected.0 && v.1 == expected.1
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

/// Sends `n` requests at once, one connection each (all connected before any is sent), and
/// returns the responses with the time the slowest took.
fn burst(ngx: &Nginx, n: usize, token: &str) -> (Vec<Response>, Duration) {
    let addr = SocketAddr::from(([127, 0, 0, 1], ngx.port()));
    let barrier = Arc::new(Barrier::new(n));
    let request = Request::get("/t")
        .header("Authorization", &format!("Bearer {token}"))
        .to_bytes();
    let started = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let request = request.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                barrier.wait();
                s.write_all(&request).unwrap();
                let mut raw = Vec::new();
                s.read_to_end(&mut raw).unwrap();
                raw
            })
        })
        .collect();
    let responses = threads
        .into_iter()
        .map(
            |t| match test_nginx::http::parse_response(&t.join().unwrap(), false, true) {
                test_nginx::http::Parsed::Complete(r, _) => r,
                _ => panic!("incomplete response"),
            },
        )
        .collect();
    (responses, started.elapsed())
}

/// Waits until the wall clock is at least `secs` past `since`.
fn sleep_until(since: Instant, secs: f64) {
    let target = since + Duration::from_secs_f64(secs);
    let now = Instant::now();
    if target > now {
        std::thread::sleep(target - now);
    }
}

#[test]
fn an_expired_set_is_fetched_again_and_a_fresh_one_is_not() {
    let provider = Provider::start("expiry", &rsa_only());
    let ngx = start(&provider, 2, "jwt_key_cache 3s refetch=1s;", "");
    let token = fixture_token("rs256-jwks");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &token), OK));
    assert_eq!(provider.hits(), 1);
    // Less than lifetime - 1s later (the clock is in whole seconds): still fresh.
    for _ in 0..10 {
        assert!(is(verdict(&ngx, &token), OK));
    }
    sleep_until(fetched, 1.0);
    assert!(is(verdict(&ngx, &token), OK));
    assert_eq!(provider.hits(), 1, "a fresh set was fetched again");
    // A full lifetime later: expired, fetched again by one request, the others use it.
    sleep_until(fetched, 3.2);
    for _ in 0..10 {
        assert!(is(verdict(&ngx, &token), OK));
    }
    assert_eq!(provider.hits(), 2);
    let log = ngx.stop().unwrap();
    // The same document: announced once.
    assert_eq!(count(&log, "\": fetched 1 key(s)"), 1, "{log}");
}

#[test]
fn max_age_shortens_the_lifetime_but_not_below_the_refetch_interval() {
    // max-age=1 under jwt_key_cache 10m refetch=1s: a 1s lifetime.
    let provider = Provider::start("max-age", &rsa_only());
    provider.set("cache_control", b"public, max-age=1");
    let ngx = start(&provider, 1, "jwt_key_cache 10m refetch=1s;", "");
    let token = fixture_token("rs256-jwks");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &token), OK));
    sleep_until(fetched, 1.2);
    assert!(is(verdict(&ngx, &token), OK));
    assert_eq!(
        provider.hits(),
        2,
        "max-age=1 did not shorten the 10m lifetime"
    );
    ngx.stop().unwrap();

    // max-age=0 (and no-store) under refetch=3s: the lifetime is 3s, not 0.
    for cache_control in ["max-age=0", "no-store"] {
        let provider = Provider::start("max-age-0", &rsa_only());
        provider.set("cache_control", cache_control.as_bytes());
        let ngx = start(&provider, 1, "jwt_key_cache 10m refetch=3s;", "");
        let fetched = Instant::now();
        assert!(is(verdict(&ngx, &token), OK));
        sleep_until(fetched, 1.0);
        for _ in 0..5 {
            assert!(is(verdict(&ngx, &token), OK));
        }
        assert_eq!(
            provider.hits(),
            1,
            "{cache_control}: refetched before refetch=3s"
        );
        sleep_until(fetched, 3.2);
        assert!(is(verdict(&ngx, &token), OK));
        assert_eq!(
            provider.hits(),
            2,
            "{cache_control}: not refetched after 3s"
        );
        ngx.stop().unwrap();
    }

    // A max-age longer than jwt_key_cache does not lengthen it.
    let provider = Provider::start("max-age-long", &rsa_only());
    provider.set("cache_control", b"max-age=86400");
    let ngx = start(&provider, 1, "jwt_key_cache 1s refetch=1s;", "");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &token), OK));
    sleep_until(fetched, 1.2);
    assert!(is(verdict(&ngx, &token), OK));
    assert_eq!(
        provider.hits(),
        2,
        "max-age=86400 lengthened jwt_key_cache 1s"
    );
    ngx.stop().unwrap();
}

#[test]
fn many_first_requests_on_two_workers_wait_for_one_slow_fetch() {
    let provider = Provider::start("burst", &rsa_only());
    provider.set("delay", b"1");
    let ngx = start(&provider, 2, "", "");
    let token = fixture_token("rs256-jwks");
    let (responses, elapsed) = burst(&ngx, 20, &token);
    for r in &responses {
        assert_eq!(
            (r.status, r.header("X-Sub").as_deref()),
            (200, Some("alice")),
            "{:?}",
            r.header("X-Error")
        );
    }
    assert_eq!(
        provider.hits(),
        1,
        "more than one fetch for 20 first requests"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "answered before the slow fetch ended: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "waiting requests were served late: {elapsed:?}"
    );
    // Both workers serve with the one set: keep asking (concurrently, so that the second
    // worker accepts some) until both pids answered.
    let mut pids: BTreeSet<String> = responses.iter().filter_map(|r| r.header("X-Pid")).collect();
    for _ in 0..20 {
        if pids.len() >= 2 {
            break;
        }
        let (more, _) = burst(&ngx, 8, &token);
        for r in more {
            assert_eq!(r.status, 200);
            pids.extend(r.header("X-Pid"));
        }
    }
    assert_eq!(pids.len(), 2, "only one worker answered: {pids:?}");
    assert_eq!(provider.hits(), 1, "a worker fetched the set again");
    let log = ngx.stop().unwrap();
    assert_eq!(count(&log, "\": fetched 1 key(s)"), 1, "{log}");
}

#[test]
fn requests_waiting_for_a_first_fetch_that_fails_are_refused_when_it_fails() {
    let provider = Provider::start("burst-fail", &rsa_only());
    provider.set("delay", b"1");
    provider.set("status", b"502");
    let ngx = start(&provider, 2, "", "");
    let token = fixture_token("rs256-jwks");
    let (responses, elapsed) = burst(&ngx, 20, &token);
    for r in &responses {
        assert_eq!(
            (r.status, r.header("X-Error").as_deref()),
            (401, Some("key"))
        );
    }
    assert_eq!(provider.hits(), 1, "the waiting requests fetched again");
    assert!(
        elapsed < Duration::from_secs(4),
        "waiting requests were answered late: {elapsed:?}"
    );
    let log = ngx.stop().unwrap();
    assert_eq!(
        count(&log, "jwt: \"jwt_key_request /_jwks\" failed"),
        1,
        "{log}"
    );
}

#[test]
fn unknown_kids_from_both_workers_cause_one_refetch_per_interval() {
    let provider = Provider::start("kid-flood", &rsa_only());
    let ngx = start(&provider, 2, "jwt_key_cache 10m refetch=2s;", "");
    let known = fixture_token("rs256-jwks");
    let unknown = generated_token("rsa-kid-rotated");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &known), OK));
    // Within the refetch interval of that fetch: nothing.
    let (responses, _) = burst(&ngx, 20, &unknown);
    assert!(responses.iter().all(|r| r.status == 401));
    assert_eq!(provider.hits(), 1);
    // After it: 40 unknown kids at once, from both workers, cause one refetch.
    sleep_until(fetched, 2.2);
    let (responses, _) = burst(&ngx, 40, &unknown);
    for r in &responses {
        assert_eq!(
            (r.status, r.header("X-Error").as_deref()),
            (401, Some("key"))
        );
    }
    assert_eq!(
        provider.hits(),
        2,
        "unknown kids caused more than one refetch"
    );
    assert!(is(verdict(&ngx, &known), OK));
    ngx.stop().unwrap();
}

#[test]
fn a_key_added_to_the_set_is_picked_up_after_the_refetch_interval_not_before() {
    let provider = Provider::start("added", &rsa_only());
    let ngx = start(&provider, 2, "jwt_key_cache 10m refetch=2s;", "");
    let known = fixture_token("rs256-jwks");
    let rotated_token = generated_token("rsa-kid-rotated");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &known), OK));
    // The provider publishes the new key right away...
    provider.set("body", &rotated());
    // ...but the set was fetched less than the refetch interval ago: not picked up.
    for _ in 0..5 {
        assert!(is(verdict(&ngx, &rotated_token), (401, "key")));
    }
    assert_eq!(provider.hits(), 1);
    // After the refetch interval, the first token with the new kid refetches and verifies.
    sleep_until(fetched, 2.2);
    let r = get(&ngx, &rotated_token);
    assert_eq!(
        (r.status, r.header("X-Sub").as_deref()),
        (200, Some("alice")),
        "{:?}",
        r.header("X-Error")
    );
    assert_eq!(provider.hits(), 2);
    // Both kids verify from now on, in both workers, without more fetches.
    for _ in 0..10 {
        assert!(is(verdict(&ngx, &rotated_token), OK));
        assert!(is(verdict(&ngx, &known), OK));
    }
    assert_eq!(provider.hits(), 2);
    let log = ngx.stop().unwrap();
    assert_eq!(count(&log, "\": fetched 2 key(s)"), 1, "{log}");
}

#[test]
fn a_key_removed_from_the_set_stops_verifying_once_the_set_is_refreshed() {
    let provider = Provider::start("removed", &rsa_only());
    let ngx = start(&provider, 1, "jwt_key_cache 2s refetch=1s;", "");
    let rsa = fixture_token("rs256-jwks");
    let ec = fixture_token("es256-jwks");
    let fetched = Instant::now();
    // Verified and cached (jwt_cache_size) under the first set.
    assert!(is(verdict(&ngx, &rsa), OK));
    assert!(is(verdict(&ngx, &rsa), OK));
    provider.set("body", &jwks(&[("ec-1", "ec-1")]));
    sleep_until(fetched, 2.2);
    // The set expired: the next request refreshes it and is decided on the new one.
    let (status, _) = verdict(&ngx, &rsa);
    assert_eq!(
        status, 401,
        "a token of a removed key verified from the cache"
    );
    assert_eq!(provider.hits(), 2);
    assert!(is(verdict(&ngx, &ec), OK));
    assert_eq!(verdict(&ngx, &rsa).0, 401);
    ngx.stop().unwrap();
}

#[test]
fn the_provider_down_then_back_up() {
    // The clock is in whole seconds: with refetch=2s, no attempt follows a failed one within
    // 1s for sure, and one follows after 2s for sure.
    let provider = Provider::start("down-up", &rsa_only());
    let ngx = start(&provider, 2, "jwt_key_cache 1s refetch=2s;", "");
    let rsa = fixture_token("rs256-jwks");
    let rotated_token = generated_token("rsa-kid-rotated");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &rsa), OK));
    assert_eq!(provider.hits(), 1);

    // Down (500): the set expires, the attempt to refresh it fails, the set keeps serving.
    provider.set("status", b"500");
    sleep_until(fetched, 1.2);
    let failed = Instant::now();
    for _ in 0..10 {
        assert!(is(verdict(&ngx, &rsa), OK), "the kept set stopped serving");
    }
    assert_eq!(provider.hits(), 2, "one failed attempt, not more");
    // The next attempt comes after the refetch interval, and fails again.
    sleep_until(failed, 2.2);
    let failed = Instant::now();
    for _ in 0..10 {
        assert!(is(verdict(&ngx, &rsa), OK), "the kept set stopped serving");
    }
    assert_eq!(provider.hits(), 3);

    // Back up with a rotated set: fetched at the next attempt.
    provider.set("body", &rotated());
    provider.set("status", b"200");
    assert!(is(verdict(&ngx, &rotated_token), (401, "key")));
    assert_eq!(
        provider.hits(),
        3,
        "attempted again within the refetch interval"
    );
    sleep_until(failed, 2.2);
    assert!(is(verdict(&ngx, &rsa), OK));
    assert_eq!(provider.hits(), 4);
    for _ in 0..5 {
        assert!(is(verdict(&ngx, &rotated_token), OK));
    }
    let log = ngx.stop().unwrap();
    let warnings = log
        .lines()
        .filter(|l| l.contains("[warn]") && l.contains("jwt: \"jwt_key_request /_jwks\" failed"))
        .collect::<Vec<_>>();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .all(|l| l.contains("500") && l.contains("the previous key set keeps serving")),
        "{warnings:#?}"
    );
    assert_eq!(count(&log, "\": fetched 2 key(s)"), 1, "{log}");
}

#[test]
fn no_set_ever_then_the_provider_comes_up() {
    let provider = Provider::start("never", &rsa_only());
    provider.set("status", b"503");
    let ngx = start(&provider, 2, "jwt_key_cache 10m refetch=2s;", "");
    let rsa = fixture_token("rs256-jwks");
    let failed = Instant::now();
    for _ in 0..5 {
        let r = get(&ngx, &rsa);
        assert_eq!(
            (r.status, r.header("X-Error").as_deref()),
            (401, Some("key"))
        );
        assert_eq!(
            r.header("WWW-Authenticate").as_deref(),
            Some("Bearer realm=\"protected\", error=\"invalid_token\"")
        );
    }
    assert_eq!(
        provider.hits(),
        1,
        "a failed fetch was retried within the refetch interval"
    );
    provider.set("status", b"200");
    // Still within the interval: nothing is fetched, tokens keep failing.
    assert!(is(verdict(&ngx, &rsa), (401, "key")));
    assert_eq!(provider.hits(), 1);
    sleep_until(failed, 2.2);
    assert!(is(verdict(&ngx, &rsa), OK));
    assert_eq!(provider.hits(), 2);
    let log = ngx.stop().unwrap();
    assert_eq!(
        count(
            &log,
            "there is no key set yet, tokens are refused (\"key\")"
        ),
        1,
        "{log}"
    );
}

#[test]
fn a_response_cut_off_is_not_a_key_set() {
    for mode in ["cut", "chunked-cut"] {
        let provider = Provider::start(mode, &rsa_only());
        provider.set("mode", mode.as_bytes());
        let ngx = start(&provider, 1, "", "");
        let rsa = fixture_token("rs256-jwks");
        assert!(is(verdict(&ngx, &rsa), (401, "key")), "{mode}");
        assert!(is(verdict(&ngx, &rsa), (401, "key")), "{mode}");
        assert_eq!(provider.hits(), 1, "{mode}");
        let log = ngx.stop().unwrap();
        assert_eq!(
            count(&log, "jwt: \"jwt_key_request /_jwks\" failed: "),
            1,
            "{mode}: {log}"
        );
        assert_eq!(count(&log, "\": fetched"), 0, "{mode}: {log}");
    }
}

#[test]
fn a_client_that_goes_away_during_the_fetch_does_not_hold_up_the_next_requests() {
    let provider = Provider::start("abort", &rsa_only());
    provider.set("delay", b"1.5");
    let ngx = start(&provider, 1, "", "");
    let rsa = fixture_token("rs256-jwks");
    // A client sends its request, which starts the (slow) fetch, and leaves.
    {
        let mut s = TcpStream::connect(("127.0.0.1", ngx.port())).unwrap();
        s.write_all(
            &Request::get("/t")
                .header("Authorization", &format!("Bearer {rsa}"))
                .to_bytes(),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(300));
    // The provider is fine: the next client gets its answer with keys, not a "key" failure
    // for the refetch interval (30s by default).
    let v = verdict(&ngx, &rsa);
    assert!(
        is(v.clone(), OK),
        "after a client left during the fetch: {v:?}; the provider was asked {} time(s)",
        provider.hits()
    );
    ngx.stop().unwrap();
}

#[test]
fn a_client_that_leaves_during_a_refresh_does_not_keep_a_removed_key_verifying() {
    // The provider removed rsa-1 (revoked). The set expires; the request that refreshes it
    // leaves before the (slow) provider answers. The set must still be refreshed promptly, not
    // a refetch interval (here 3s) later: anyone can time such a request.
    let provider = Provider::start("abort-refresh", &rsa_only());
    let ngx = start(&provider, 1, "jwt_key_cache 1s refetch=3s;", "");
    let rsa = fixture_token("rs256-jwks");
    let fetched = Instant::now();
    assert!(is(verdict(&ngx, &rsa), OK));
    provider.set("body", &jwks(&[("ec-1", "ec-1")]));
    provider.set("delay", b"1");
    sleep_until(fetched, 1.2);
    let left = Instant::now();
    {
        let mut s = TcpStream::connect(("127.0.0.1", ngx.port())).unwrap();
        s.write_all(&Request::get("/t").to_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    // 2s later the provider (1s per answer) has had time to answer a fetch twice over.
    sleep_until(left, 2.0);
    let v = verdict(&ngx, &rsa);
    assert_eq!(
        v.0,
        401,
        "a token of the removed key still verifies 2s after the refresh began: {v:?}; the \
         provider was asked {} time(s)",
        provider.hits()
    );
    ngx.stop().unwrap();
}

#[test]
fn a_reload_refreshes_the_set_once_while_it_serves_and_a_new_zone_size_fetches_again() {
    let provider = Provider::start("reload", &rsa_only());
    let mut ngx = start(&provider, 2, "", "");
    let rsa = fixture_token("rs256-jwks");
    assert!(is(verdict(&ngx, &rsa), OK));
    assert_eq!(provider.hits(), 1);
    // A reload may point the JWKS location at another provider: the set is refreshed once,
    // by the first request that needs it, and keeps serving meanwhile.
    ngx.reload(None).unwrap();
    for _ in 0..5 {
        assert!(is(verdict(&ngx, &rsa), OK));
    }
    assert_eq!(provider.hits(), 2, "one refresh after the reload");
    // Another jwt_shared_memory size is another zone: the set is fetched again.
    let port = provider.port;
    let conf = NginxConfig {
        workers: 2,
        http: "jwt_shared_memory 2m;".into(),
        ..NginxConfig::server(&format!(
            "location = /_jwks {{ internal; proxy_pass http://127.0.0.1:{port}/jwks;\n\
                     subrequest_output_buffer_size 64k; }}\n\
             location = /t {{ jwt_verify on; jwt_key_request /_jwks;\n\
                 add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }}"
        ))
        .file("ok.txt", "ok\n")
    };
    ngx.reload(Some(conf)).unwrap();
    assert!(is(verdict(&ngx, &rsa), OK));
    assert_eq!(provider.hits(), 3);
    ngx.stop().unwrap();
}

#[test]
fn a_slow_provider_beyond_proxy_read_timeout_fails_and_the_next_attempt_waits() {
    let provider = Provider::start("timeout", &rsa_only());
    provider.set("delay", b"3");
    let port = provider.port;
    let ngx = Nginx::start(
        NginxConfig::server(&format!(
            "location = /_jwks {{ internal; proxy_pass http://127.0.0.1:{port}/jwks;\n\
                 proxy_read_timeout 1s; }}\n\
             location = /t {{ jwt_verify on; jwt_key_request /_jwks;\n\
                 jwt_key_cache 10m refetch=2s;\n\
                 add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }}"
        ))
        .file("ok.txt", "ok\n"),
    )
    .unwrap();
    let rsa = fixture_token("rs256-jwks");
    let started = Instant::now();
    assert!(is(verdict(&ngx, &rsa), (401, "key")));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Within the refetch interval: refused at once.
    let started = Instant::now();
    assert!(is(verdict(&ngx, &rsa), (401, "key")));
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(provider.hits(), 1);
    let log = ngx.stop().unwrap();
    assert_eq!(count(&log, "upstream timed out"), 1, "{log}");
    assert_eq!(
        count(&log, "jwt: \"jwt_key_request /_jwks\" failed"),
        1,
        "{log}"
    );
}

#[test]
fn reloads_that_rename_a_source_do_not_use_up_the_shared_zone() {
    // A source is named by its server's position among the servers with sources, the URI and
    // jwt_key_cache; a reload that adds such a server in front of it (another tenant, say)
    // renames it, and the set is fetched again into a new slot.
    // The zone (128k, with a 25 KB set) must not fill up with the slots and sets of
    // configurations that no longer exist: the source keeps working over any number of reloads.
    let mut set: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("t/fixtures/providers/keycloak.json")).unwrap(),
    )
    .unwrap();
    // Keycloak's set padded to about 25 KB (an unknown member is ignored).
    set["padding"] = json!("x".repeat(22_000));
    let provider = Provider::start("reload-rename", &serde_json::to_vec(&set).unwrap());
    let port = provider.port;
    let conf = |servers_in_front: usize| {
        let mut http = String::from("jwt_shared_memory 128k;\n");
        for i in 0..servers_in_front {
            http.push_str(&format!(
                "server {{ listen 127.0.0.1:$TEST_NGINX_SERVER_PORT; server_name front{i};\n\
                     location = /t {{ jwt_verify on; jwt_key_request /_jwks;\n\
                         alias $TEST_NGINX_HTML_DIR/ok.txt; }} }}\n"
            ));
        }
        NginxConfig {
            http,
            ..NginxConfig::server(&format!(
                "location = /_jwks {{ internal; proxy_pass http://127.0.0.1:{port}/jwks;\n\
                     subrequest_output_buffer_size 64k; }}\n\
                 location = /t {{ jwt_verify on; jwt_key_request /_jwks;\n\
                     add_header X-Error $jwt_error always; alias $TEST_NGINX_HTML_DIR/ok.txt; }}"
            ))
            .file("ok.txt", "ok\n")
        }
    };
    let mut ngx = Nginx::start(conf(0)).unwrap();
    let token = generated_token("keycloak");
    assert!(is(verdict(&ngx, &token), OK));
    for reload in 1..=12 {
        ngx.reload(Some(conf(reload))).unwrap();
        let v = verdict(&ngx, &token);
        assert!(
            is(v.clone(), OK),
            "after reload {reload} (fetches: {}): {v:?}\n{}",
            provider.hits(),
            ngx.error_log()
                .lines()
                .rfind(|l| l.contains("[warn]") && l.contains("jwt:"))
                .unwrap_or("")
        );
    }
    ngx.stop().unwrap();
}

#[test]
fn a_request_body_reaches_the_application_whole_after_the_fetch() {
    // The first request (it fetches the set) is a POST with a 300 KB body, plain or chunked,
    // which nginx has not read yet when the fetch starts; the fetch must neither send it to the
    // provider nor consume it.
    let provider = Provider::start("post", &rsa_only());
    let port = provider.port;
    let server = format!(
        "location = /_jwks {{ internal; proxy_pass http://127.0.0.1:{port}/jwks; }}\n\
         location = /upload {{\n\
             jwt_verify on;\n\
             jwt_key_request /_jwks;\n\
             client_max_body_size 1m;\n\
             add_header X-Error $jwt_error always;\n\
             proxy_pass http://127.0.0.1:{port}/echo;\n\
         }}"
    );
    let token = fixture_token("rs256-jwks");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for chunked in [false, true] {
        let ngx = Nginx::start(NginxConfig::server(&server)).unwrap();
        let mut request = Request::post("/upload", body.clone())
            .header("Authorization", &format!("Bearer {token}"));
        if chunked {
            let mut encoded = Vec::new();
            for piece in body.chunks(65_536) {
                encoded.extend(format!("{:x}\r\n", piece.len()).bytes());
                encoded.extend(piece);
                encoded.extend(b"\r\n");
            }
            encoded.extend(b"0\r\n\r\n");
            request = request.header("Transfer-Encoding", "chunked").body(encoded);
        }
        let r = ngx.request(&request).unwrap();
        assert_eq!(
            r.status,
            200,
            "chunked: {chunked}: {:?}",
            r.header("X-Error")
        );
        assert!(
            r.body == body,
            "chunked: {chunked}: the body arrived changed"
        );
        assert_eq!(provider.hits(), if chunked { 2 } else { 1 });
        ngx.stop().unwrap();
    }
}
