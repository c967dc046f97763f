//! Sessions end to end, with what the `.t` format cannot chain (t/refresh.t, t/logout.t,
//! t/revocation.t and t/status.t have the single-exchange cases):
//!
//! * a logout is refused by **both** workers from the very next request on, cache hits included,
//!   and stays so across a reload;
//! * a `jwt_refresh` chain keeps `auth_time` and stops at `jwt_refresh_max_age`; expired tokens
//!   are renewed within `jwt_refresh_grace` and refused beyond it (real seconds);
//! * `jwt_status` read by the Prometheus text parser (`prometheus_client`): every figure grows by
//!   exactly the requests made across two workers, and survives a reload;
//! * `jwt_logout_capacity`: a full set answers 503 and revokes nothing, and has room again once
//!   the logged-out tokens expired;
//! * `nginx -t` and start-up: the key-file permission warning (0644 and 0640 warn, 0600 does
//!   not), and the file and line that errors and warnings name.
//!
//! Tokens come from `jwt_login` in the same nginx; HMAC secrets are written per test with the
//! mode under test. Python (`prometheus_client`, PyJWT) comes from target/venv (scripts/setup).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::Value;
use test_nginx::{Nginx, NginxConfig, Request, Response};

// --- helpers -------------------------------------------------------------------------------

/// A fresh directory under target/test-nginx for this test's keys.
fn key_dir(label: &str) -> PathBuf {
    let dir = test_nginx::nginx::workspace_root()
        .join("target/test-nginx")
        .join(format!("sessions-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a 64-byte HMAC secret (hex text) to `dir/name` with `mode`; returns the path.
fn secret_file(dir: &Path, name: &str, mode: u32) -> String {
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .unwrap();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(name);
    std::fs::write(&path, hex).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The locations every test uses, around the server-level `jwt_key_file secret`:
/// `/login` (1h tokens), `/login-short` (3s tokens), `/refresh` (max age 3s),
/// `/refresh-grace` (grace 3s, 10s tokens), `/refresh-strict` (defaults), `/logout`, `/api/`
/// (protected static files, answering with the worker's pid and `$jwt_error`), `/status`.
fn sessions_server(secret: &str, extra: &str) -> String {
    format!(
        "jwt_key_file {secret};\n\
         location = /authenticate {{ internal; return 200 '{{\"sub\":\"alice\",\"roles\":[\"admin\"]}}'; }}\n\
         location = /login {{ jwt_login /authenticate; }}\n\
         location = /login-short {{ jwt_login /authenticate; jwt_token_ttl 3s; }}\n\
         location = /refresh {{ jwt_refresh; jwt_refresh_max_age 3s; }}\n\
         location = /refresh-grace {{ jwt_refresh; jwt_refresh_grace 3s; jwt_token_ttl 10s; }}\n\
         location = /refresh-strict {{ jwt_refresh; }}\n\
         location = /logout {{ jwt_logout; }}\n\
         location /api/ {{\n\
             jwt_verify on;\n\
             add_header X-Pid $pid always;\n\
             add_header X-Jwt-Error $jwt_error always;\n\
             add_header X-Sub $jwt_claim_sub always;\n\
             alias $TEST_NGINX_HTML_DIR/;\n\
         }}\n\
         location = /status {{ jwt_status; }}\n\
         {extra}\n"
    )
}

fn config(server: &str, http: &str, workers: u32) -> NginxConfig {
    NginxConfig {
        http: http.into(),
        workers,
        ..NginxConfig::server(server).file("ok.txt", "hello world !\n")
    }
}

fn start(server: &str, http: &str, workers: u32) -> Nginx {
    Nginx::start(config(server, http, workers)).unwrap()
}

/// The token of a 200 jwt_login / jwt_refresh answer, after checking the answer's shape.
fn token_of(r: &Response, what: &str, expires_in: u64) -> String {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(
        r.header("Cache-Control").as_deref(),
        Some("no-store"),
        "{what}"
    );
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["token_type"], "Bearer", "{what}: {body}");
    assert_eq!(body["expires_in"], expires_in, "{what}: {body}");
    body["token"].as_str().unwrap().to_string()
}

fn login(ngx: &Nginx, uri: &str, ttl: u64) -> String {
    let r = ngx.request(&Request::post(uri, "{}")).unwrap();
    token_of(&r, uri, ttl)
}

fn post_bearer(ngx: &Nginx, uri: &str, token: &str) -> Response {
    ngx.request(&Request::new("POST", uri).header("Authorization", &format!("Bearer {token}")))
        .unwrap()
}

fn api_request(token: &str) -> Request {
    Request::get("/api/ok.txt").header("Authorization", &format!("Bearer {token}"))
}

fn api(ngx: &Nginx, token: &str) -> Response {
    ngx.request(&api_request(token)).unwrap()
}

/// (status, $jwt_error) at /api/; a 200 must carry the file and alice's sub.
fn verdict(ngx: &Nginx, token: &str) -> (u16, String) {
    let r = api(ngx, token);
    if r.status == 200 {
        assert_eq!(r.text(), "hello world !\n");
        assert_eq!(r.header("X-Sub").as_deref(), Some("alice"));
    }
    (r.status, r.header("X-Jwt-Error").unwrap_or_default())
}

fn ok() -> (u16, String) {
    (200, String::new())
}

fn rejected(code: &str) -> (u16, String) {
    (401, code.to_string())
}

/// The token's claims.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn int_claim(token: &str, name: &str) -> u64 {
    claims(token)[name]
        .as_u64()
        .unwrap_or_else(|| panic!("claim {name} of {}", claims(token)))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Sleeps until the wall clock reads `at` (unix seconds).
fn sleep_until(at: f64) {
    let left = at - unix_now();
    if left > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(left));
    }
}

/// The worker processes of `ngx` (children of the master, from /proc).
fn worker_pids(ngx: &Nginx) -> HashSet<i32> {
    let master: i32 = std::fs::read_to_string(ngx.prefix().join("logs/nginx.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut pids = HashSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: i32 = after.split(' ').nth(1).unwrap().parse().unwrap();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if ppid == master
            && cmdline.contains("worker process")
            && !cmdline.contains("shutting down")
        {
            pids.insert(pid);
        }
    }
    pids
}

/// Sends `req` on `threads` × `per_thread` new connections at once; returns (pid, status,
/// $jwt_error) of every answer.
fn spray(ngx: &Nginx, req: &Request, threads: usize, per_thread: usize) -> Vec<(i32, u16, String)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    (0..per_thread)
                        .map(|_| {
                            let r = ngx.request(req).unwrap();
                            let pid = r.header("X-Pid").and_then(|p| p.parse().ok()).unwrap_or(-1);
                            (pid, r.status, r.header("X-Jwt-Error").unwrap_or_default())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Sprays `req` until every worker of `ngx` answered at least `min_each` times (at most 20
/// rounds); every answer must be `expected`. Returns the answers per pid.
fn spray_every_worker(
    ngx: &Nginx,
    req: &Request,
    expected: &(u16, String),
    min_each: usize,
) -> HashMap<i32, usize> {
    let workers = worker_pids(ngx);
    assert_eq!(workers.len(), 2, "two workers expected: {workers:?}");
    let mut per_pid: HashMap<i32, usize> = HashMap::new();
    for _ in 0..20 {
        for (pid, status, error) in spray(ngx, req, 8, 10) {
            assert_eq!((status, error), *expected, "answer of worker {pid}");
            assert!(
                workers.contains(&pid),
                "pid {pid} is not a worker of {workers:?}"
            );
            *per_pid.entry(pid).or_default() += 1;
        }
        if workers
            .iter()
            .all(|p| per_pid.get(p).copied().unwrap_or(0) >= min_each)
        {
            return per_pid;
        }
    }
    panic!("not every worker of {workers:?} answered {min_each} times: {per_pid:?}");
}

fn python() -> PathBuf {
    let python = test_nginx::nginx::workspace_root().join("target/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it installs prometheus-client and PyJWT)",
        python.display()
    );
    python
}

/// Runs `script` with `args`, feeding `stdin`; returns its stdout.
fn run_python(script: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How many lines of `log` contain `needle`.
fn count_lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

// --- 1. logout seen by every worker at once ------------------------------------------------

#[test]
fn a_logout_is_refused_by_both_workers_from_the_next_request_on() {
    let dir = key_dir("logout-workers");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let mut ngx = start(&sessions_server(&secret, ""), "", 2);
    let token = login(&ngx, "/login", 3600);
    let other = login(&ngx, "/login", 3600);

    // Both workers serve the token, each at least twice: the later ones are cache hits.
    let before = spray_every_worker(&ngx, &api_request(&token), &ok(), 2);
    let workers = worker_pids(&ngx);
    assert_eq!(before.keys().copied().collect::<HashSet<_>>(), workers);

    let r = post_bearer(&ngx, "/logout", &token);
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(r.header("Cache-Control").as_deref(), Some("no-store"));

    // From the very next request on, every answer of both workers is a refusal.
    let after = spray_every_worker(&ngx, &api_request(&token), &rejected("revoked"), 1);
    assert_eq!(after.keys().copied().collect::<HashSet<_>>(), workers);
    let r = api(&ngx, &token);
    assert_eq!(
        r.header("WWW-Authenticate").as_deref(),
        Some("Bearer realm=\"protected\", error=\"invalid_token\"")
    );
    // The other token of the same user is untouched, in both workers.
    spray_every_worker(&ngx, &api_request(&other), &ok(), 1);
    // A second logout of the same token: it is already revoked.
    assert_eq!(post_bearer(&ngx, "/logout", &token).status, 401);

    // A reload keeps the zone, and with it the revocation: the new workers refuse the token.
    ngx.reload(None).unwrap();
    let new_workers = worker_pids(&ngx);
    assert!(
        new_workers.is_disjoint(&workers),
        "{new_workers:?} {workers:?}"
    );
    spray_every_worker(&ngx, &api_request(&token), &rejected("revoked"), 1);
    spray_every_worker(&ngx, &api_request(&other), &ok(), 1);

    let log = ngx.stop().unwrap();
    assert!(
        log.contains("jwt: token rejected (revoked): token revoked: jti \""),
        "no rejection logged"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// --- 2. refresh chains, max age, grace -----------------------------------------------------

#[test]
fn a_refresh_chain_keeps_auth_time_and_stops_at_max_age() {
    let dir = key_dir("refresh-chain");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let ngx = start(&sessions_server(&secret, ""), "", 1);

    let a = login(&ngx, "/login", 3600);
    let origin = int_claim(&a, "iat");
    assert!(claims(&a).get("auth_time").is_none(), "{}", claims(&a));

    // B: the first refresh writes auth_time = A's iat; everything else but iat/exp/jti stays.
    let b = token_of(&post_bearer(&ngx, "/refresh", &a), "refresh A", 3600);
    let (cb, ca) = (claims(&b), claims(&a));
    assert_eq!(int_claim(&b, "auth_time"), origin, "{cb}");
    assert_ne!(cb["jti"], ca["jti"]);
    assert_eq!(cb["jti"].as_str().unwrap().len(), 22, "{cb}");
    assert_eq!(int_claim(&b, "exp") - int_claim(&b, "iat"), 3600, "{cb}");
    assert_eq!((&cb["sub"], &cb["roles"]), (&ca["sub"], &ca["roles"]));
    let names: BTreeMap<_, _> = cb.as_object().unwrap().iter().collect();
    assert_eq!(
        names.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["auth_time", "exp", "iat", "jti", "roles", "sub"]
    );
    assert_eq!(verdict(&ngx, &b), ok());

    // C, a second later: a new iat, the same auth_time.
    sleep_until(origin as f64 + 1.2);
    let c = token_of(&post_bearer(&ngx, "/refresh", &b), "refresh B", 3600);
    assert_eq!(int_claim(&c, "auth_time"), origin);
    assert!(int_claim(&c, "iat") > origin, "{}", claims(&c));
    assert_eq!(verdict(&ngx, &c), ok());

    // D, within max_age (3s) of the login: still renewed.
    sleep_until(origin as f64 + 2.2);
    let d = token_of(&post_bearer(&ngx, "/refresh", &c), "refresh C", 3600);
    assert_eq!(int_claim(&d, "auth_time"), origin);

    // More than 3s after the login: no token of the chain is renewed any more, the original
    // one neither; the tokens themselves stay valid until their exp.
    sleep_until(origin as f64 + 4.2);
    for (name, token) in [("D", &d), ("C", &c), ("A", &a)] {
        let r = post_bearer(&ngx, "/refresh", token);
        assert_eq!(r.status, 401, "refresh {name}: {}", r.text());
        assert_eq!(
            r.header("WWW-Authenticate").as_deref(),
            Some("Bearer realm=\"protected\", error=\"invalid_token\""),
            "refresh {name}"
        );
        assert!(r.header("Set-Cookie").is_none());
    }
    assert_eq!(verdict(&ngx, &d), ok());

    let log = ngx.stop().unwrap();
    let refused = format!(
        "jwt_refresh: the session began at {origin}, more than max_age 3s ago: the client must \
         log in again; no token issued"
    );
    assert_eq!(count_lines(&log, &refused), 3, "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_expired_token_is_renewed_within_the_grace_and_refused_beyond_it() {
    let dir = key_dir("refresh-grace");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let ngx = start(&sessions_server(&secret, ""), "", 1);

    let a = login(&ngx, "/login-short", 3);
    let exp = int_claim(&a, "exp");
    assert_eq!(exp - int_claim(&a, "iat"), 3);

    // Expired (the API says so), but less than the grace (3s) ago.
    sleep_until(exp as f64 + 0.3);
    assert_eq!(verdict(&ngx, &a), rejected("expired"));
    let strict = post_bearer(&ngx, "/refresh-strict", &a);
    assert_eq!(strict.status, 401, "no grace by default: {}", strict.text());
    let b = token_of(
        &post_bearer(&ngx, "/refresh-grace", &a),
        "refresh in grace",
        10,
    );
    assert_eq!(int_claim(&b, "auth_time"), int_claim(&a, "iat"));
    assert_eq!(int_claim(&b, "exp") - int_claim(&b, "iat"), 10);
    assert!(int_claim(&b, "exp") as f64 > unix_now());
    assert_eq!(verdict(&ngx, &b), ok());

    // The grace is over: the same token is refused.
    sleep_until((exp + 3) as f64 + 0.3);
    let late = post_bearer(&ngx, "/refresh-grace", &a);
    assert_eq!(late.status, 401, "{}", late.text());
    assert_eq!(
        late.header("WWW-Authenticate").as_deref(),
        Some("Bearer realm=\"protected\", error=\"invalid_token\"")
    );
    // The renewed token is unaffected.
    assert_eq!(verdict(&ngx, &b), ok());

    let log = ngx.stop().unwrap();
    // Refused twice as expired: by /refresh-strict and by /refresh-grace after the grace.
    assert_eq!(
        count_lines(&log, "jwt: token rejected (expired)") - count_lines(&log, "GET /api/"),
        2,
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const PYJWT_SIGN: &str = r#"
import sys, time, jwt
key = open(sys.argv[1], "rb").read()
now = int(time.time())
print(jwt.encode({"sub": "alice", "iat": now, "nbf": now, "exp": now + 300, "jti": "py-1"},
                 key, algorithm="HS256"))
"#;

/// `jwt_refresh_grace` lets a token that expired recently through; it must not refuse a token
/// that is valid now. A token with `nbf` = now (PyJWT, as many issuers write it) is checked at
/// now - grace, where it is "not yet valid".
#[test]
fn the_grace_does_not_make_a_valid_token_not_yet_valid() {
    let dir = key_dir("refresh-nbf");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let ngx = start(&sessions_server(&secret, ""), "", 1);
    let token = run_python(PYJWT_SIGN, &[&secret], "").trim().to_string();
    assert_eq!(verdict(&ngx, &token), ok());
    // Without grace it is renewed.
    let strict = post_bearer(&ngx, "/refresh-strict", &token);
    token_of(&strict, "refresh without grace", 3600);
    // With a grace of 3s it must be too.
    let graced = post_bearer(&ngx, "/refresh-grace", &token);
    let log = ngx.error_log();
    assert_eq!(
        graced.status,
        200,
        "a valid token with nbf = now refused by the location with jwt_refresh_grace 3s: {}",
        log.lines()
            .filter(|l| l.contains("jwt: token rejected"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    token_of(&graced, "refresh with grace", 10);
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

// --- 3. jwt_status through the Prometheus parser -------------------------------------------

/// Every series jwt_status exposes, as `family{label="value"}`.
const SERIES: [(&str, &str, &[&str]); 8] = [
    (
        "jwt_verifications_total",
        "result",
        &[
            "ok",
            "missing",
            "too_large",
            "malformed",
            "algorithm",
            "crit",
            "key",
            "signature",
            "typ",
            "issuer",
            "audience",
            "expired",
            "not_yet_valid",
            "revoked",
        ],
    ),
    (
        "jwt_authorization_denied_total",
        "rule",
        &["jwt_require", "jwt_require_claim"],
    ),
    ("jwt_token_cache_total", "result", &["hit", "miss"]),
    (
        "jwt_logins_total",
        "result",
        &["issued", "1xx", "2xx", "3xx", "4xx", "5xx", "error"],
    ),
    ("jwt_refreshes_total", "result", &["issued", "refused"]),
    (
        "jwt_logouts_total",
        "result",
        &["revoked", "refused", "full"],
    ),
    ("jwt_revoked_total", "source", &["file", "logout"]),
    (
        "jwt_key_fetches_total",
        "result",
        &["ok", "unchanged", "failed"],
    ),
];

/// Parses the exposition with prometheus_client and prints one JSON object per family.
const PARSE: &str = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
families = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    families.append({"name": fam.name, "type": fam.type, "help": fam.documentation,
                     "samples": [[s.name, s.labels, s.value, s.timestamp] for s in fam.samples]})
print(json.dumps(families))
"#;

/// `jwt_status`, parsed by prometheus_client: `family{label="value"}` -> value. Checks the
/// answer's headers and that the families are exactly [`SERIES`], counters, with help texts.
fn status(ngx: &Nginx) -> BTreeMap<String, u64> {
    let r = ngx.get("/status").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let parsed: Value = serde_json::from_str(&run_python(PARSE, &[], &r.text())).unwrap();
    let families = parsed.as_array().unwrap();
    let names: Vec<&str> = families
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    // The parser names a counter family without its _total suffix.
    let expected: Vec<String> = SERIES
        .iter()
        .map(|(name, _, _)| name.strip_suffix("_total").unwrap().to_string())
        .collect();
    assert_eq!(names, expected);
    let mut values = BTreeMap::new();
    for (family, (name, label, label_values)) in families.iter().zip(SERIES) {
        assert_eq!(family["type"], "counter", "{family}");
        assert!(
            family["help"].as_str().unwrap().len() > 10,
            "no help text: {family}"
        );
        let samples = family["samples"].as_array().unwrap();
        let mut seen = Vec::new();
        for sample in samples {
            assert_eq!(sample[0], name, "{sample}");
            assert!(sample[3].is_null(), "a timestamp: {sample}");
            let labels = sample[1].as_object().unwrap();
            assert_eq!(labels.len(), 1, "{sample}");
            let value = labels[label].as_str().unwrap().to_string();
            let number = sample[2].as_f64().unwrap();
            assert!(number >= 0.0 && number.fract() == 0.0, "{sample}");
            values.insert(format!("{name}{{{label}=\"{value}\"}}"), number as u64);
            seen.push(value);
        }
        assert_eq!(seen, label_values, "series of {name}");
    }
    values
}

fn series(family: &str, label: &str, value: &str) -> String {
    format!("{family}{{{label}=\"{value}\"}}")
}

/// `after - before` for every series that changed.
fn growth(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let old = before[k];
            assert!(*v >= old, "{k} went down from {old} to {v}");
            (*v != old).then(|| (k.clone(), v - old))
        })
        .collect()
}

#[test]
fn status_counts_every_request_of_both_workers_and_survives_a_reload() {
    let dir = key_dir("status");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let forged_secret = secret_file(&dir, "forged.key", 0o600);
    let extra = format!(
        "location = /login-forged {{ jwt_login /authenticate; jwt_key_file {forged_secret}; }}\n\
         location /admin/ {{ jwt_verify on; jwt_require_claim roles any root;\n\
             alias $TEST_NGINX_HTML_DIR/; }}\n"
    );
    let server = sessions_server(&secret, &extra);
    let mut ngx = start(&server, "", 2);

    let zero = status(&ngx);
    assert_eq!(zero.len(), 35);
    assert!(zero.values().all(|v| *v == 0), "{zero:?}");

    // 3 logins (issued), 1 forged (issued too: another key), 1 GET /login (405, not counted).
    let tokens: Vec<String> = (0..3).map(|_| login(&ngx, "/login", 3600)).collect();
    let forged = login(&ngx, "/login-forged", 3600);
    assert_eq!(ngx.get("/login").unwrap().status, 405);
    // Valid tokens on many connections: both workers answer, the sums hold across them.
    let mut pids = HashSet::new();
    let mut api_ok = 0;
    for round in 0..20 {
        for token in &tokens {
            for (pid, status, error) in spray(&ngx, &api_request(token), 4, 5) {
                assert_eq!((status, error.as_str()), (200, ""));
                pids.insert(pid);
                api_ok += 1;
            }
        }
        if pids.len() == 2 {
            break;
        }
        assert!(round < 19, "one worker answered everything: {pids:?}");
    }
    let missing = 7;
    for _ in 0..missing {
        assert_eq!(ngx.get("/api/ok.txt").unwrap().status, 401);
    }
    let forged_requests = 4;
    for _ in 0..forged_requests {
        assert_eq!(verdict(&ngx, &forged), rejected("signature"));
    }
    // jwt_require_claim denies a valid token (which counts as verified first).
    let r = ngx
        .request(
            &Request::get("/admin/ok.txt")
                .header("Authorization", &format!("Bearer {}", tokens[1])),
        )
        .unwrap();
    assert_eq!(r.status, 403);
    // One refresh issued, one refused.
    token_of(&post_bearer(&ngx, "/refresh", &tokens[1]), "refresh", 3600);
    assert_eq!(post_bearer(&ngx, "/refresh", &forged).status, 401);
    // One logout, then the logged-out token at the API, twice.
    assert_eq!(post_bearer(&ngx, "/logout", &tokens[2]).status, 204);
    assert_eq!(verdict(&ngx, &tokens[2]), rejected("revoked"));
    assert_eq!(verdict(&ngx, &tokens[2]), rejected("revoked"));
    assert_eq!(pids, worker_pids(&ngx), "both workers answered");

    let first = status(&ngx);
    let grown = growth(&zero, &first);
    let cache = |m: &BTreeMap<String, u64>, r: &str| {
        m.get(&series("jwt_token_cache_total", "result", r))
            .copied()
            .unwrap_or(0)
    };
    let lookups = cache(&grown, "hit") + cache(&grown, "miss");
    // Cache lookups: every API request with a token, the /admin/ one, and the logout's check.
    assert_eq!(lookups, api_ok + forged_requests + 1 + 2 + 1, "{grown:?}");
    // The forged token misses every time (never cached); each valid token misses at most once
    // per worker.
    assert!(cache(&grown, "miss") >= forged_requests, "{grown:?}");
    assert!(
        cache(&grown, "miss") <= forged_requests + 2 * 3,
        "{grown:?}"
    );
    let mut without_cache = grown.clone();
    without_cache.retain(|k, _| !k.starts_with("jwt_token_cache_total"));
    let expected: BTreeMap<String, u64> = [
        // The /admin/ request verified its token before jwt_require_claim denied it.
        (
            series("jwt_verifications_total", "result", "ok"),
            api_ok + 1,
        ),
        (
            series("jwt_verifications_total", "result", "missing"),
            missing,
        ),
        (
            series("jwt_verifications_total", "result", "signature"),
            forged_requests,
        ),
        (series("jwt_verifications_total", "result", "revoked"), 2),
        (
            series(
                "jwt_authorization_denied_total",
                "rule",
                "jwt_require_claim",
            ),
            1,
        ),
        (series("jwt_logins_total", "result", "issued"), 4),
        (series("jwt_refreshes_total", "result", "issued"), 1),
        (series("jwt_refreshes_total", "result", "refused"), 1),
        (series("jwt_logouts_total", "result", "revoked"), 1),
        (series("jwt_revoked_total", "source", "logout"), 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(without_cache, expected);

    // A reload with the same jwt_shared_memory size keeps every figure.
    ngx.reload(None).unwrap();
    assert_eq!(status(&ngx), first, "the counters changed across a reload");
    // ...and they go on from there, in the new workers.
    let more = spray_every_worker(&ngx, &api_request(&tokens[0]), &ok(), 1);
    let n: usize = more.values().sum();
    let second = status(&ngx);
    let grown = growth(&first, &second);
    assert_eq!(
        grown.get(&series("jwt_verifications_total", "result", "ok")),
        Some(&(n as u64))
    );
    assert_eq!(
        cache(&grown, "hit") + cache(&grown, "miss"),
        n as u64,
        "{grown:?}"
    );
    assert_eq!(
        grown.len(),
        1 + (cache(&grown, "hit") > 0) as usize + (cache(&grown, "miss") > 0) as usize
    );

    // A reload that changes jwt_shared_memory makes a new zone: the counters start again.
    ngx.reload(Some(config(&server, "jwt_shared_memory 2m;", 2)))
        .unwrap();
    let third = status(&ngx);
    assert!(third.values().all(|v| *v == 0), "{third:?}");
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

// --- 4. a full revocation set --------------------------------------------------------------

#[test]
fn a_full_revocation_set_answers_503_until_logged_out_tokens_expire() {
    let dir = key_dir("capacity");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let ngx = start(&sessions_server(&secret, ""), "jwt_logout_capacity 2;", 2);

    let short_a = login(&ngx, "/login-short", 3);
    let short_b = login(&ngx, "/login-short", 3);
    let (c, d, e) = (
        login(&ngx, "/login", 3600),
        login(&ngx, "/login", 3600),
        login(&ngx, "/login", 3600),
    );
    assert_eq!(post_bearer(&ngx, "/logout", &short_a).status, 204);
    assert_eq!(post_bearer(&ngx, "/logout", &short_b).status, 204);
    // Full: 503, and the token is not revoked.
    let full = post_bearer(&ngx, "/logout", &c);
    assert_eq!(full.status, 503, "{}", full.text());
    assert!(full.header("Set-Cookie").is_none());
    assert_eq!(verdict(&ngx, &c), ok());
    assert_eq!(verdict(&ngx, &short_a), rejected("revoked"));
    assert_eq!(verdict(&ngx, &short_b), rejected("revoked"));

    // The two entries last until exp + 1 (leeway 0); then they are purged and there is room.
    let last_exp = int_claim(&short_a, "exp").max(int_claim(&short_b, "exp"));
    sleep_until((last_exp + 1) as f64 + 0.3);
    assert_eq!(verdict(&ngx, &short_a), rejected("expired"));
    assert_eq!(post_bearer(&ngx, "/logout", &c).status, 204);
    assert_eq!(verdict(&ngx, &c), rejected("revoked"));
    assert_eq!(post_bearer(&ngx, "/logout", &d).status, 204);
    // c and d are live: full again.
    assert_eq!(post_bearer(&ngx, "/logout", &e).status, 503);
    assert_eq!(verdict(&ngx, &e), ok());

    let counts = status(&ngx);
    assert_eq!(counts[&series("jwt_logouts_total", "result", "revoked")], 4);
    assert_eq!(counts[&series("jwt_logouts_total", "result", "full")], 2);
    let log = ngx.stop().unwrap();
    assert_eq!(
        count_lines(
            &log,
            "jwt_logout: the revocation set is full (2 live entries, or no memory left in the \
             zone): raise \"jwt_logout_capacity\" and \"jwt_shared_memory\"; token not revoked"
        ),
        2,
        "{log}"
    );
    assert_eq!(count_lines(&log, "[error]"), 2, "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

// --- 5. key file permissions, and the lines errors name ------------------------------------

/// The 1-based line of nginx.conf in `prefix` that contains `needle` (exactly one).
fn conf_line(prefix: &Path, needle: &str) -> usize {
    let conf = std::fs::read_to_string(prefix.join("conf/nginx.conf")).unwrap();
    let lines: Vec<usize> = conf
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle} in {conf}");
    lines[0]
}

fn permission_warning(path: &str, mode: &str) -> String {
    format!(
        "jwt_key_file \"{path}\" holds a secret or private key and is readable by group or \
         others (mode {mode}): chmod 600 it (owned by the user nginx starts as) in "
    )
}

#[test]
fn key_files_readable_by_others_warn_with_their_line_and_0600_does_not() {
    let dir = key_dir("modes");
    let open = secret_file(&dir, "open.key", 0o644);
    let group = secret_file(&dir, "group.key", 0o640);
    let private = secret_file(&dir, "private.key", 0o600);
    let ec = dir.join("ec.key").display().to_string();
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &ec,
    ]);
    std::fs::set_permissions(&ec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ec_pub = dir.join("ec.pub").display().to_string();
    openssl(&["pkey", "-in", &ec, "-pubout", "-out", &ec_pub]);
    std::fs::set_permissions(&ec_pub, std::fs::Permissions::from_mode(0o644)).unwrap();

    let server = format!(
        "location /a/ {{ jwt_verify on; jwt_key_file {open}; alias $TEST_NGINX_HTML_DIR/; }}\n\
         location /b/ {{ jwt_verify on; jwt_key_file {group}; alias $TEST_NGINX_HTML_DIR/; }}\n\
         location /c/ {{ jwt_verify on; jwt_key_file {private}; alias $TEST_NGINX_HTML_DIR/; }}\n\
         location /d/ {{ jwt_verify on; jwt_key_file {ec}; alias $TEST_NGINX_HTML_DIR/; }}\n\
         location /e/ {{ jwt_verify on; jwt_key_file {ec_pub}; alias $TEST_NGINX_HTML_DIR/; }}\n"
    );
    let mut ngx = start(&server, "", 1);
    let log = ngx.error_log();
    let prefix = ngx.prefix().to_path_buf();
    for (path, mode) in [(&open, "0644"), (&group, "0640"), (&ec, "0644")] {
        let line = conf_line(&prefix, &format!("jwt_key_file {path};"));
        let expected = permission_warning(path, mode);
        let found: Vec<&str> = log.lines().filter(|l| l.contains(&expected)).collect();
        assert_eq!(found.len(), 1, "{path}: {log}");
        assert!(found[0].contains("[warn]"), "{}", found[0]);
        assert!(
            found[0].ends_with(&format!("conf/nginx.conf:{line}")),
            "{path} warned at the wrong line (expected {line}): {}",
            found[0]
        );
    }
    for quiet in [&private, &ec_pub] {
        assert!(
            !log.contains(&format!("jwt_key_file \"{quiet}\"")),
            "{quiet}: {log}"
        );
    }
    // nginx -t says the same on its own.
    let t = Command::new(&ngx.paths().nginx)
        .arg("-t")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg("conf/nginx.conf")
        .output()
        .unwrap();
    let t_out = String::from_utf8_lossy(&t.stderr).into_owned();
    assert!(t.status.success(), "{t_out}");
    assert_eq!(
        count_lines(&t_out, "holds a secret or private key"),
        3,
        "{t_out}"
    );
    assert!(
        t_out.contains(&permission_warning(&group, "0640")),
        "{t_out}"
    );

    // chmod 600 and reload: no more warning for that file; 0604 on the quiet one: a warning.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o604)).unwrap();
    let before = ngx.error_log().len();
    ngx.reload(None).unwrap();
    let reload_log = ngx.error_log()[before..].to_string();
    assert!(!reload_log.contains(&format!("\"{open}\"")), "{reload_log}");
    assert!(
        reload_log.contains(&permission_warning(&private, "0604")),
        "{reload_log}"
    );
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Starts nginx with `server` and `http`, expecting it to refuse the configuration; returns
/// (the error output, the prefix).
fn refused(server: &str, http: &str, files: &[(&str, &str)]) -> (String, PathBuf) {
    let mut cfg = config(server, http, 1);
    for (name, content) in files {
        cfg = cfg.file(name, *content);
    }
    let err = Nginx::start(cfg).unwrap_err().0;
    let prefix = err
        .split("prefix ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no prefix in {err}"));
    (err, prefix)
}

/// `nginx -t` on the prefix's configuration: (exit success, stderr).
fn nginx_t(prefix: &Path) -> (bool, String) {
    let paths = test_nginx::paths(test_nginx::DefaultModules::Jwt).unwrap();
    let out = Command::new(&paths.nginx)
        .arg("-t")
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg("conf/nginx.conf")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nginx_t_names_the_line_of_the_directive_at_fault() {
    let dir = key_dir("lines");
    let secret = secret_file(&dir, "secret.key", 0o600);

    // An unknown variable in jwt_token: the jwt_token line, not nginx's own later message.
    let (err, prefix) = refused(
        &format!(
            "location /a/ {{ jwt_verify on; jwt_key_file {secret}; alias $TEST_NGINX_HTML_DIR/; }}\n\
             location /b/ {{\n    jwt_verify on;\n    jwt_key_file {secret};\n\
                 jwt_token $cookie_session$nosuchvar;\n    alias $TEST_NGINX_HTML_DIR/;\n}}\n"
        ),
        "",
        &[],
    );
    let line = conf_line(&prefix, "jwt_token $cookie_session$nosuchvar;");
    let (success, t) = nginx_t(&prefix);
    assert!(!success, "{t}");
    for out in [&err, &t] {
        assert!(
            out.contains(&format!(
                "\"jwt_token\" reads the unknown variable \"$nosuchvar\": check its name (for a \
                 cookie, $cookie_NAME; for a header, $http_NAME) in {}:{line}",
                prefix.join("conf/nginx.conf").display()
            )),
            "{out}"
        );
        assert!(!out.contains("unknown \"nosuchvar\" variable"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&prefix);

    // A bad revocation file: its line, and the line of the directive.
    let (err, prefix) = refused(
        &format!(
            "location /api/ {{\n    jwt_verify on;\n    jwt_key_file {secret};\n\
                 jwt_revocation_file $TEST_NGINX_HTML_DIR/revoked.txt;\n\
                 alias $TEST_NGINX_HTML_DIR/;\n}}\n"
        ),
        "",
        &[(
            "revoked.txt",
            "# leaked\njti abc\n\nsub alice 2026-13-01T00:00:00Z\n",
        )],
    );
    let line = conf_line(&prefix, "jwt_revocation_file");
    let revoked = prefix.join("html/revoked.txt");
    let expected = format!(
        "\"jwt_revocation_file\" \"{}\" line 4: time \"2026-13-01T00:00:00Z\": month 13 is not in \
         1..=12; expected \"jti VALUE\" or \"sub VALUE TIME\" (TIME: unix seconds or \
         2026-11-30T12:00:00Z) in {}:{line}",
        revoked.display(),
        prefix.join("conf/nginx.conf").display()
    );
    let (success, t) = nginx_t(&prefix);
    assert!(!success, "{t}");
    assert!(err.contains(&expected), "{err}");
    assert!(t.contains(&expected), "{t}");
    let _ = std::fs::remove_dir_all(&prefix);

    // jwt_login where jwt_verify on applies: a warning naming the jwt_login line; nginx -t
    // passes and nginx starts.
    let ngx = start(
        &format!(
            "jwt_verify on;\njwt_key_file {secret};\n\
             location = /authenticate {{ internal; return 200 '{{}}'; }}\n\
             location = /login {{\n    jwt_login /authenticate;\n}}\n"
        ),
        "",
        1,
    );
    let prefix = ngx.prefix().to_path_buf();
    let line = conf_line(&prefix, "jwt_login /authenticate;");
    let warning = format!(
        "\"jwt_login\" where \"jwt_verify on\" applies: a client needs a valid token to log in; \
         add \"jwt_verify off\" to the login location in {}:{line}",
        prefix.join("conf/nginx.conf").display()
    );
    assert_eq!(
        count_lines(&ngx.error_log(), &warning),
        1,
        "{}",
        ngx.error_log()
    );
    let (success, t) = nginx_t(&prefix);
    assert!(success, "{t}");
    assert!(t.contains(&format!("[warn] {warning}")), "{t}");
    assert_eq!(
        ngx.request(&Request::post("/login", "x")).unwrap().status,
        401
    );
    ngx.stop().unwrap();

    let _ = std::fs::remove_dir_all(dir);
}

/// The cookie jwt_refresh sets holds the token of its JSON answer.
#[test]
fn the_refresh_cookie_holds_the_token_of_the_answer() {
    let dir = key_dir("refresh-cookie");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let ngx = start(
        &sessions_server(
            &secret,
            "location = /refresh-cookie { jwt_refresh; jwt_token $cookie_tok; \
             jwt_login_cookie tok Path=/app; }\n\
             location = /logout-cookie { jwt_logout; jwt_token $cookie_tok; \
             jwt_login_cookie tok Path=/app; }",
        ),
        "",
        1,
    );
    let a = login(&ngx, "/login", 3600);
    let r = ngx
        .request(&Request::new("POST", "/refresh-cookie").header("Cookie", &format!("tok={a}")))
        .unwrap();
    let b = token_of(&r, "refresh by cookie", 3600);
    assert_eq!(
        r.header("Set-Cookie"),
        Some(format!(
            "tok={b}; Max-Age=3600; Path=/app; HttpOnly; Secure; SameSite=Lax"
        ))
    );
    assert_ne!(a, b);
    // Logging out with the renewed cookie clears it; the old token is still valid (a refresh
    // does not revoke the token it renews), the renewed one is not.
    let r = ngx
        .request(&Request::new("POST", "/logout-cookie").header("Cookie", &format!("tok={b}")))
        .unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("Set-Cookie").as_deref(),
        Some("tok=; Max-Age=0; Path=/app; HttpOnly; Secure; SameSite=Lax")
    );
    assert_eq!(verdict(&ngx, &b), rejected("revoked"));
    assert_eq!(verdict(&ngx, &a), ok());
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// `jwt_revocation_file` is read at configuration time: a reload picks up a new line, and a
/// reload with a broken file fails and keeps the list that was serving.
#[test]
fn a_reload_rereads_the_revocation_file_and_a_broken_one_keeps_the_old_list() {
    let dir = key_dir("revocation-reload");
    let secret = secret_file(&dir, "secret.key", 0o600);
    let list = dir.join("revoked.txt");
    std::fs::write(&list, "# nothing yet\n").unwrap();
    let server = sessions_server(&secret, "").replace(
        "jwt_verify on;",
        &format!("jwt_verify on; jwt_revocation_file {};", list.display()),
    );
    let mut ngx = start(&server, "", 2);
    let (a, b) = (login(&ngx, "/login", 3600), login(&ngx, "/login", 3600));
    spray_every_worker(&ngx, &api_request(&a), &ok(), 2);

    let jti = claims(&a)["jti"].as_str().unwrap().to_string();
    std::fs::write(&list, format!("jti {jti}  # leaked\n")).unwrap();
    ngx.reload(None).unwrap();
    spray_every_worker(&ngx, &api_request(&a), &rejected("revoked"), 1);
    spray_every_worker(&ngx, &api_request(&b), &ok(), 1);

    // A mistyped line: the reload is refused, naming the file and the line; the running
    // configuration keeps revoking a.
    std::fs::write(
        &list,
        format!("jti {jti}\njit {}\n", claims(&b)["jti"].as_str().unwrap()),
    )
    .unwrap();
    let err = ngx.reload(None).unwrap_err().0;
    assert!(
        err.contains(&format!(
            "\"jwt_revocation_file\" \"{}\" line 2: unknown entry \"jit\"",
            list.display()
        )),
        "{err}"
    );
    spray_every_worker(&ngx, &api_request(&a), &rejected("revoked"), 1);
    spray_every_worker(&ngx, &api_request(&b), &ok(), 1);

    // The subject, from a time on: both of alice's tokens (issued before) are refused.
    std::fs::write(&list, format!("sub alice {}\n", unix_now() as u64 + 1)).unwrap();
    ngx.reload(None).unwrap();
    assert_eq!(verdict(&ngx, &a), rejected("revoked"));
    assert_eq!(verdict(&ngx, &b), rejected("revoked"));
    // The failed reload logged its [emerg]; stop() reports that, as expected here.
    let err = ngx.stop().unwrap_err();
    assert!(err.0.contains("[emerg]"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
