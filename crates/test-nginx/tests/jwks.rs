//! `jwt_jwks` end to end, with what the `.t` format cannot chain (t/jwks.t has the rest):
//!
//! * PyJWT's `PyJWKClient` fetches the published URL and verifies tokens issued by `jwt_login`;
//! * a second nginx verifies the same tokens through `jwt_key_request` proxied to the first;
//! * the key rotation recipe, step by step, with reloads of the issuing nginx and none of the
//!   verifying one;
//! * configuration errors name the line of `jwt_jwks`, and a reload that fails keeps the
//!   published keys.
//!
//! Keys are generated with the `openssl` command line for each run. PyJWT comes from
//! target/venv (scripts/setup).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use test_nginx::{Nginx, NginxConfig, Request, Response};

const JWKS_PATH: &str = "/.well-known/jwks.json";

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

/// A fresh key directory under target/test-nginx.
fn key_dir(label: &str) -> PathBuf {
    let dir = test_nginx::nginx::workspace_root()
        .join("target/test-nginx")
        .join(format!("jwks-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `<dir>/<name>.key`, a private key of `kind` (`rsa`, `ec`: P-256, `ed`: Ed25519), PEM.
fn private_key(dir: &Path, name: &str, kind: &str) -> String {
    let path = dir.join(format!("{name}.key")).display().to_string();
    let spec: &[&str] = match kind {
        "rsa" => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "ec" => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ed" => &["-algorithm", "ED25519"],
        _ => panic!("unknown key kind {kind}"),
    };
    let mut args = vec!["genpkey"];
    args.extend(spec);
    args.extend(["-out", &path]);
    openssl(&args);
    path
}

fn start(server: &str) -> Nginx {
    Nginx::start(NginxConfig::server(server).file("api/ok.txt", "hello world !\n")).unwrap()
}

/// The authenticator every `jwt_login` location uses: alice, an admin.
const AUTHENTICATOR: &str = "location = /authenticate { internal; \
                             return 200 '{\"sub\":\"alice\",\"roles\":[\"admin\"]}'; }\n";

/// A `jwt_login` location at `uri` signing with `key` (the `jwt_key_file` arguments).
fn login_location(uri: &str, key: &str) -> String {
    format!("location = {uri} {{ jwt_login /authenticate; jwt_key_file {key}; }}\n")
}

fn login(ngx: &Nginx, uri: &str) -> String {
    let r = ngx.request(&Request::post(uri, "{}")).unwrap();
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// The token's header as JSON.
fn header(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn kid(token: &str) -> String {
    header(token)["kid"].as_str().unwrap_or("").to_string()
}

/// The published JWKS, after checking the response's headers.
fn jwks(ngx: &Nginx) -> Value {
    let r = ngx.get(JWKS_PATH).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/jwk-set+json")
    );
    serde_json::from_slice(&r.body).unwrap()
}

/// The kids of the published JWKS, in order; every JWK has exactly the public members.
fn published_kids(ngx: &Nginx) -> Vec<String> {
    let doc = jwks(ngx);
    let keys = doc["keys"].as_array().unwrap();
    keys.iter()
        .map(|k| {
            let mut members: Vec<&str> =
                k.as_object().unwrap().keys().map(String::as_str).collect();
            members.sort_unstable();
            let expected: &[&str] = match k["kty"].as_str().unwrap() {
                "RSA" => &["alg", "e", "kid", "kty", "n", "use"],
                "EC" => &["alg", "crv", "kid", "kty", "use", "x", "y"],
                "OKP" => &["alg", "crv", "kid", "kty", "use", "x"],
                other => panic!("published a {other} key: {doc}"),
            };
            assert_eq!(members, expected, "{doc}");
            assert_eq!(k["use"], "sig");
            k["kid"].as_str().unwrap().to_string()
        })
        .collect()
}

/// GET /api/ok.txt with the token at the verifying nginx.
fn verify(ngx: &Nginx, token: &str) -> Response {
    ngx.request(&Request::get("/api/ok.txt").header("Authorization", &format!("Bearer {token}")))
        .unwrap()
}

/// (status, $jwt_error) of [`verify`]; a 200 must also carry the file and alice's claims.
fn verdict(ngx: &Nginx, token: &str) -> (u16, String) {
    let r = verify(ngx, token);
    if r.status == 200 {
        assert_eq!(r.text(), "hello world !\n");
        assert_eq!(r.header("X-Sub").as_deref(), Some("alice"));
    }
    (r.status, r.header("X-Jwt-Error").unwrap_or_default())
}

fn ok() -> (u16, String) {
    (200, String::new())
}

fn rejected(reason: &str) -> (u16, String) {
    (401, reason.to_string())
}

/// The verifying nginx: `/api/` is protected by the keys of `issuer_port`'s JWKS, fetched with
/// `jwt_key_request` through `/_jwks`.
fn verifier_config(issuer_port: u16, key_cache: &str) -> String {
    format!(
        "location = /_jwks {{ internal; proxy_pass http://127.0.0.1:{issuer_port}{JWKS_PATH}; }}\n\
         location /api/ {{\n\
             jwt_verify on;\n\
             jwt_key_request /_jwks;\n\
             {key_cache}\n\
             add_header X-Jwt-Error $jwt_error always;\n\
             add_header X-Sub $jwt_claim_sub;\n\
             root $TEST_NGINX_HTML_DIR;\n\
         }}\n"
    )
}

/// Waits until `done()` holds, calling `poke()` (a request) between checks.
fn eventually(
    what: &str,
    timeout: Duration,
    mut poke: impl FnMut(),
    mut done: impl FnMut() -> bool,
) {
    let end = Instant::now() + timeout;
    loop {
        poke();
        if done() {
            return;
        }
        assert!(Instant::now() < end, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// PyJWT from the project's virtualenv (scripts/setup creates it).
fn run_python(script: &str, args: &[&str]) -> String {
    let python = test_nginx::nginx::workspace_root().join("target/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it installs PyJWT for this test)",
        python.display()
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The issuing nginx of the interop tests: `/login-<kind>` signs with `<kind>.key` (kid
/// `<kind>-1`), `/login-rogue` with a key that is not published (kid `rogue`), and
/// `/login-impostor` with that same unpublished key under the published kid `rsa-1`. The JWKS
/// publishes rsa-1, ec-1 and ed-1.
fn interop_issuer(dir: &Path) -> Nginx {
    let rsa = private_key(dir, "rsa", "rsa");
    let ec = private_key(dir, "ec", "ec");
    let ed = private_key(dir, "ed", "ed");
    let rogue = private_key(dir, "rogue", "rsa");
    let mut server = String::from(AUTHENTICATOR);
    server.push_str(&login_location("/login-rsa", &format!("{rsa} kid=rsa-1")));
    server.push_str(&login_location("/login-ec", &format!("{ec} kid=ec-1")));
    server.push_str(&login_location("/login-ed", &format!("{ed} kid=ed-1")));
    server.push_str(&login_location(
        "/login-rogue",
        &format!("{rogue} kid=rogue"),
    ));
    server.push_str(&login_location(
        "/login-impostor",
        &format!("{rogue} kid=rsa-1"),
    ));
    server.push_str(&format!(
        "location = {JWKS_PATH} {{ jwt_key_file {rsa} kid=rsa-1; jwt_key_file {ec} kid=ec-1;\n\
             jwt_key_file {ed} kid=ed-1; jwt_jwks; }}\n"
    ));
    start(&server)
}

/// argv: the JWKS URL, then `token:alg:kid` for tokens that must verify, then `-`, then tokens
/// that must not. Prints one line per token.
const PYJWT_JWK_CLIENT: &str = r#"
import sys, json, urllib.request, jwt
url = sys.argv[1]
rest = sys.argv[2:]
split = rest.index("-")
good, bad = rest[:split], rest[split + 1:]

# The document as PyJWKClient sees it: public members only, usable for signatures.
with urllib.request.urlopen(url) as r:
    assert r.headers["Content-Type"] == "application/jwk-set+json", r.headers
    assert r.headers["Cache-Control"] == "public, max-age=300", r.headers
    doc = json.load(r)
for k in doc["keys"]:
    assert not set(k) & {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}, k
    assert k["use"] == "sig", k

client = jwt.PyJWKClient(url, cache_keys=False)
for item in good:
    token, alg, kid = item.split(":")
    key = client.get_signing_key_from_jwt(token)
    assert key.key_id == kid, (key.key_id, kid)
    assert key.algorithm_name == alg, (key.algorithm_name, alg)
    claims = jwt.decode(token, key.key, algorithms=[alg],
                        options={"require": ["exp", "iat", "jti"]})
    assert claims["sub"] == "alice" and claims["roles"] == ["admin"], claims
    print("verified", kid, alg, claims["sub"])
for token in bad:
    try:
        key = client.get_signing_key_from_jwt(token)
        jwt.decode(token, key.key, algorithms=[key.algorithm_name])
        print("VERIFIED", token)
    except jwt.PyJWKClientError as e:
        print("no key:", e)
    except jwt.InvalidSignatureError as e:
        print("bad signature:", e)
"#;

#[test]
fn pyjwt_jwk_client_verifies_issued_tokens_with_the_published_keys() {
    let dir = key_dir("pyjwt");
    let issuer = interop_issuer(&dir);
    assert_eq!(published_kids(&issuer), ["rsa-1", "ec-1", "ed-1"]);
    let mut good = Vec::new();
    for (kind, alg) in [("rsa", "RS256"), ("ec", "ES256"), ("ed", "EdDSA")] {
        let token = login(&issuer, &format!("/login-{kind}"));
        assert_eq!(header(&token)["alg"], alg);
        assert_eq!(kid(&token), format!("{kind}-1"));
        good.push(format!("{token}:{alg}:{kind}-1"));
    }
    let rogue = login(&issuer, "/login-rogue");
    let impostor = login(&issuer, "/login-impostor");
    assert_eq!(
        (kid(&rogue), kid(&impostor)),
        ("rogue".into(), "rsa-1".into())
    );

    let url = format!("http://127.0.0.1:{}{JWKS_PATH}", issuer.port());
    let mut args: Vec<&str> = vec![&url];
    args.extend(good.iter().map(String::as_str));
    args.extend(["-", &rogue, &impostor]);
    let out = run_python(PYJWT_JWK_CLIENT, &args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[..3],
        [
            "verified rsa-1 RS256 alice",
            "verified ec-1 ES256 alice",
            "verified ed-1 EdDSA alice"
        ]
    );
    assert!(
        lines[3].starts_with("no key: Unable to find a signing key that matches: \"rogue\""),
        "{out}"
    );
    assert!(lines[4].starts_with("bad signature:"), "{out}");
    issuer.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_nginx_verifies_issued_tokens_through_jwt_key_request() {
    let dir = key_dir("second");
    let issuer = interop_issuer(&dir);
    let verifier = start(&verifier_config(issuer.port(), ""));
    for kind in ["rsa", "ec", "ed"] {
        let token = login(&issuer, &format!("/login-{kind}"));
        assert_eq!(verdict(&verifier, &token), ok(), "{kind}");
        // Again: from the verifier's key set (and token cache), no new fetch.
        assert_eq!(verdict(&verifier, &token), ok(), "{kind}");
    }
    let fetches = |ngx: &Nginx| {
        count(
            &ngx.access_log(),
            &format!("\"GET {JWKS_PATH} HTTP/1.0\" 200"),
        )
    };
    assert_eq!(fetches(&issuer), 1, "{}", issuer.access_log());
    assert_eq!(
        count(
            &verifier.error_log(),
            "\"jwt_key_request /_jwks\": fetched 3 key(s)"
        ),
        1
    );

    // A key that is not published: its kid is unknown, and stays unknown however often it is
    // presented; the refetches it may cause are rate-limited (refetch=, 30s by default).
    let rogue = login(&issuer, "/login-rogue");
    for _ in 0..5 {
        assert_eq!(verdict(&verifier, &rogue), rejected("key"));
    }
    assert!(fetches(&issuer) <= 2, "{}", issuer.access_log());
    // An unpublished key under a published kid: the published key does not verify it.
    let impostor = login(&issuer, "/login-impostor");
    assert_eq!(verdict(&verifier, &impostor), rejected("signature"));
    assert_eq!(verdict(&verifier, ""), rejected("missing"));

    verifier.stop().unwrap();
    issuer.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// The issuing nginx of the rotation test: `/login` signs with the first private key of the
/// server-level ring, and the JWKS location publishes the whole ring.
fn rotation_issuer(ring: &[&str]) -> NginxConfig {
    let mut server = String::new();
    for key in ring {
        server.push_str(&format!("jwt_key_file {key};\n"));
    }
    server.push_str(AUTHENTICATOR);
    server.push_str("location = /login { jwt_login /authenticate; }\n");
    server.push_str(&format!("location = {JWKS_PATH} {{ jwt_jwks; }}\n"));
    NginxConfig::server(&server)
}

#[test]
fn key_rotation_recipe() {
    let dir = key_dir("rotation");
    let a = format!("{} kid=a", private_key(&dir, "a", "rsa"));
    let b = format!("{} kid=b", private_key(&dir, "b", "rsa"));
    // The verifier refetches after 1s, so that the steps need not wait long.
    let mut issuer = Nginx::start(rotation_issuer(&[&a])).unwrap();
    let verifier = start(&verifier_config(
        issuer.port(),
        "jwt_key_cache 1s refetch=1s;",
    ));
    // How many keys the verifier's fetches brought, in order.
    let fetched = |ngx: &Nginx| -> Vec<usize> {
        let log = ngx.error_log();
        log.split("\"jwt_key_request /_jwks\": fetched ")
            .skip(1)
            .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
            .collect()
    };

    // 0. Key A signs and is published.
    assert_eq!(published_kids(&issuer), ["a"]);
    let token_a = login(&issuer, "/login");
    assert_eq!(kid(&token_a), "a");
    assert_eq!(verdict(&verifier, &token_a), ok());
    assert_eq!(fetched(&verifier), [1]);

    // 1. Add key B after A: A still signs (the first key of the ring), both are published.
    issuer.reload(Some(rotation_issuer(&[&a, &b]))).unwrap();
    assert_eq!(published_kids(&issuer), ["a", "b"]);
    assert_eq!(kid(&login(&issuer, "/login")), "a");
    // Wait until the verifier's cache has expired and it fetched both keys.
    eventually(
        "the verifier fetches the JWKS with a and b",
        Duration::from_secs(5),
        || assert_eq!(verdict(&verifier, &token_a), ok()),
        || fetched(&verifier).last() == Some(&2),
    );

    // 2. Put B first: B signs; the verifier accepts its tokens without a reload, and A's
    //    tokens still pass while A is published.
    issuer.reload(Some(rotation_issuer(&[&b, &a]))).unwrap();
    assert_eq!(published_kids(&issuer), ["b", "a"]);
    let token_b = login(&issuer, "/login");
    assert_eq!(kid(&token_b), "b");
    assert_eq!(verdict(&verifier, &token_b), ok());
    assert_eq!(verdict(&verifier, &token_a), ok());

    // 3. Drop A: once the verifier has refetched, A's tokens fail with "key"; B's pass.
    issuer.reload(Some(rotation_issuer(&[&b]))).unwrap();
    assert_eq!(published_kids(&issuer), ["b"]);
    let token_b2 = login(&issuer, "/login");
    assert_eq!(kid(&token_b2), "b");
    let dropped = Instant::now();
    eventually(
        "the verifier refuses a's token",
        Duration::from_secs(5),
        || {},
        || verdict(&verifier, &token_a) == rejected("key"),
    );
    // At most the verifier's cache lifetime (1s) and the clock's second boundary after the
    // drop.
    assert!(
        dropped.elapsed() < Duration::from_millis(2500),
        "{:?}",
        dropped.elapsed()
    );
    // The new set, with b only, is what the verifier fetched last (the fetches in between
    // brought the two-key set, maybe twice: in the order a, b then b, a).
    let sets = fetched(&verifier);
    assert_eq!(sets.last(), Some(&1), "{}", verifier.error_log());
    assert_eq!(sets.iter().filter(|n| **n == 1).count(), 2, "{sets:?}");

    for _ in 0..3 {
        assert_eq!(verdict(&verifier, &token_a), rejected("key"));
        assert_eq!(verdict(&verifier, &token_b), ok());
        assert_eq!(verdict(&verifier, &token_b2), ok());
    }

    verifier.stop().unwrap();
    issuer.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn switching_the_signing_key_before_the_verifier_refetched_is_caught_by_the_unknown_kid_refetch() {
    // The recipe's wait skipped: B signs while the verifier's set (cached for 10 minutes) only
    // has A. The unknown kid makes the verifier refetch at once (refetch= interval).
    let dir = key_dir("early");
    let a = format!("{} kid=a", private_key(&dir, "a", "ec"));
    let b = format!("{} kid=b", private_key(&dir, "b", "ec"));
    let mut issuer = Nginx::start(rotation_issuer(&[&a])).unwrap();
    let verifier = start(&verifier_config(
        issuer.port(),
        "jwt_key_cache 10m refetch=1s;",
    ));
    let token_a = login(&issuer, "/login");
    assert_eq!(verdict(&verifier, &token_a), ok());
    issuer.reload(Some(rotation_issuer(&[&b, &a]))).unwrap();
    let token_b = login(&issuer, "/login");
    assert_eq!(kid(&token_b), "b");
    // At once, or after the refetch interval (1s) since the last fetch.
    let switched = Instant::now();
    eventually(
        "the verifier accepts b's token",
        Duration::from_secs(5),
        || {},
        || match verdict(&verifier, &token_b) {
            (200, _) => true,
            refused => {
                assert_eq!(refused, rejected("key"));
                false
            }
        },
    );
    assert!(
        switched.elapsed() < Duration::from_millis(2500),
        "{:?}",
        switched.elapsed()
    );
    assert_eq!(
        count(
            &verifier.error_log(),
            "\"jwt_key_request /_jwks\": fetched 2 key(s)"
        ),
        1,
        "{}",
        verifier.error_log()
    );
    assert_eq!(verdict(&verifier, &token_a), ok());
    verifier.stop().unwrap();
    issuer.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_verifier_follows_the_published_max_age() {
    // jwt_jwks max_age=1s: a verifier caching for 10 minutes refetches after 1s anyway
    // (a max-age shortens jwt_key_cache), so a dropped key stops verifying quickly.
    let dir = key_dir("max-age");
    let a = format!("{} kid=a", private_key(&dir, "a", "ed"));
    let b = format!("{} kid=b", private_key(&dir, "b", "ed"));
    let issuer_config = |ring: &[&str]| {
        let mut cfg = rotation_issuer(ring);
        cfg.server = cfg.server.replace("jwt_jwks;", "jwt_jwks max_age=1s;");
        cfg
    };
    let mut issuer = Nginx::start(issuer_config(&[&a, &b])).unwrap();
    assert_eq!(
        issuer
            .get(JWKS_PATH)
            .unwrap()
            .header("Cache-Control")
            .as_deref(),
        Some("public, max-age=1")
    );
    let verifier = start(&verifier_config(
        issuer.port(),
        "jwt_key_cache 10m refetch=1s;",
    ));
    let token_a = login(&issuer, "/login");
    assert_eq!(verdict(&verifier, &token_a), ok());
    issuer.reload(Some(issuer_config(&[&b]))).unwrap();
    let token_b = login(&issuer, "/login");
    eventually(
        "the verifier refuses a's token",
        Duration::from_secs(5),
        || {},
        || verdict(&verifier, &token_a) == rejected("key"),
    );
    assert_eq!(verdict(&verifier, &token_b), ok());
    verifier.stop().unwrap();
    issuer.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// `in <file>:<line>` of an nginx error message, and that line of the file.
fn line_at_fault(message: &str) -> String {
    let at = message.rfind(" in /").expect("a file:line in the message");
    let place = message[at + 4..].split_whitespace().next().unwrap();
    let (file, line) = place.rsplit_once(':').unwrap();
    let line: usize = line.parse().unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    text.lines().nth(line - 1).unwrap().trim().to_string()
}

#[test]
fn configuration_errors_name_the_jwt_jwks_line() {
    let dir = key_dir("errors");
    let rsa = private_key(&dir, "rsa", "rsa");
    let cases = [
        (
            format!("location = /jwks {{\n jwt_key_file {rsa};\n  jwt_jwks max_age=1h;\n}}"),
            "\"jwt_jwks\" publishes keys by kid, and the RSA-2048 private key has none: give it \
             one with \"jwt_key_file FILE kid=NAME\"",
            "jwt_jwks max_age=1h;",
        ),
        (
            format!("jwt_key_file {rsa};\nlocation = /jwks {{\n  jwt_jwks;\n}}"),
            "\"jwt_jwks\" publishes keys by kid",
            "jwt_jwks;",
        ),
        (
            "location = /jwks {\n  jwt_jwks;\n}".to_string(),
            "\"jwt_jwks\" has no public key to publish",
            "jwt_jwks;",
        ),
    ];
    for (server, message, line) in cases {
        let err = Nginx::start(NginxConfig::server(&server)).unwrap_err().0;
        let emerg = err
            .lines()
            .find(|l| l.contains("[emerg]"))
            .unwrap_or_else(|| panic!("no [emerg]: {err}"));
        assert!(emerg.contains(message), "{emerg}");
        assert_eq!(line_at_fault(emerg), line, "{emerg}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_reload_keeps_publishing_the_previous_keys() {
    let dir = key_dir("failed-reload");
    let a = format!("{} kid=a", private_key(&dir, "a", "ec"));
    let kidless = private_key(&dir, "b", "ec");
    let mut issuer = Nginx::start(rotation_issuer(&[&a])).unwrap();
    let before = jwks(&issuer);
    // A rotation step with a forgotten kid= is refused; the running configuration stays.
    let err = issuer
        .reload(Some(rotation_issuer(&[&kidless, &a])))
        .unwrap_err();
    assert!(
        err.0.contains("\"jwt_jwks\" publishes keys by kid"),
        "{err}"
    );
    assert_eq!(jwks(&issuer), before);
    assert_eq!(kid(&login(&issuer, "/login")), "a");
    // The failed reload logged its [emerg]; stop() reports that, as expected here.
    let err = issuer.stop().unwrap_err();
    assert!(err.0.contains("[emerg]"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
