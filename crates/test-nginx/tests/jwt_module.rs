//! Module tests that need more than one request per nginx, which the `.t` format cannot chain:
//! a token from `jwt_login` fed back into `jwt_verify`, token expiry, reloads with changed keys,
//! and interoperability with an independent JWT implementation (PyJWT).
//!
//! Keys are generated with the `openssl` command line for each run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_nginx::{Nginx, NginxConfig, Request, Response};

/// The key kinds `jwt_login` signs with by default, and the algorithm each gives.
const KINDS: [(&str, &str); 4] = [
    ("hs", "HS256"),
    ("rsa", "RS256"),
    ("ec", "ES256"),
    ("ed", "EdDSA"),
];

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

/// Private keys of every kind (PEM) and their public halves, in a fresh directory.
fn make_keys(dir: &Path, tag: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let path = |name: &str| dir.join(format!("{tag}-{name}")).display().to_string();
    std::fs::write(path("hs.key"), random_secret()).unwrap();
    let specs = [
        (
            "rsa",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "ec",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        ("ed", vec!["-algorithm", "ED25519"]),
    ];
    for (kind, spec) in specs {
        let private = path(&format!("{kind}.key"));
        let mut args = vec!["genpkey"];
        args.extend(spec);
        args.extend(["-out", &private]);
        openssl(&args);
        let public = path(&format!("{kind}.pub"));
        openssl(&["pkey", "-in", &private, "-pubout", "-out", &public]);
    }
    std::fs::copy(path("hs.key"), path("hs.pub")).unwrap();
}

fn random_secret() -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["rand", "-hex", "32"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

fn key_dir(label: &str) -> PathBuf {
    let dir = test_nginx::nginx::workspace_root()
        .join("target/test-nginx")
        .join(format!("keys-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `/login-<kind>` issues with `<tag>-<kind>.key`, `/check-<kind>` verifies with
/// `<verify_tag>-<kind>.pub`; the authenticator answers alice's claims.
fn login_and_check(dir: &Path, tag: &str, verify_tag: &str, extra: &str) -> String {
    let mut server = format!(
        "location = /authenticate {{ internal; return 200 '{{\"sub\":\"alice\",\"roles\":[\"admin\"]}}'; }}\n\
         {extra}\n"
    );
    for (kind, _) in KINDS {
        let d = dir.display();
        server.push_str(&format!(
            "location = /login-{kind} {{ jwt_login /authenticate; jwt_key_file {d}/{tag}-{kind}.key; }}\n\
             location = /check-{kind} {{ jwt_verify on; jwt_key_file {d}/{verify_tag}-{kind}.pub;\n\
                 add_header X-Jwt-Error $jwt_error always; add_header X-Sub $jwt_claim_sub;\n\
                 alias $TEST_NGINX_HTML_DIR/ok.txt; }}\n"
        ));
    }
    server
}

fn start(server: String) -> Nginx {
    Nginx::start(NginxConfig::server(&server).file("ok.txt", "hello world !\n")).unwrap()
}

fn login(ngx: &Nginx, kind: &str) -> String {
    let r = ngx
        .request(&Request::post(&format!("/login-{kind}"), "{}"))
        .unwrap();
    assert_eq!(r.status, 200, "/login-{kind}: {}", r.text());
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("Cache-Control").as_deref(), Some("no-store"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["token"].as_str().unwrap().to_string()
}

fn check(ngx: &Nginx, kind: &str, token: &str) -> Response {
    ngx.request(
        &Request::get(&format!("/check-{kind}"))
            .header("Authorization", &format!("Bearer {token}")),
    )
    .unwrap()
}

fn header_alg(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(header["typ"], "JWT");
    header["alg"].as_str().unwrap().to_string()
}

#[test]
fn issued_tokens_verify_with_the_same_key_and_not_with_another() {
    let dir = key_dir("roundtrip");
    make_keys(&dir, "a");
    make_keys(&dir, "b");
    let same = start(login_and_check(&dir, "a", "a", ""));
    let other = start(login_and_check(&dir, "a", "b", ""));
    for (kind, alg) in KINDS {
        let token = login(&same, kind);
        assert_eq!(header_alg(&token), alg);
        let ok = check(&same, kind, &token);
        assert_eq!(
            (ok.status, ok.text().as_str()),
            (200, "hello world !\n"),
            "{kind}"
        );
        assert_eq!(ok.header("X-Sub").as_deref(), Some("alice"));
        let refused = check(&other, kind, &token);
        assert_eq!(refused.status, 401, "{kind} verified with another key");
        assert_eq!(
            refused.header("X-Jwt-Error").as_deref(),
            Some("signature"),
            "{kind}"
        );
    }
    same.stop().unwrap();
    other.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn issued_tokens_expire_after_the_ttl() {
    let dir = key_dir("ttl");
    make_keys(&dir, "a");
    // 2s, not 1s: the check right after the login may fall in the next second, and a 1s token
    // would already be expired there.
    let ngx = start(login_and_check(&dir, "a", "a", "jwt_token_ttl 2s;"));
    let token = login(&ngx, "hs");
    assert_eq!(check(&ngx, "hs", &token).status, 200);
    std::thread::sleep(Duration::from_millis(3100));
    let expired = check(&ngx, "hs", &token);
    assert_eq!(expired.status, 401);
    assert_eq!(expired.header("X-Jwt-Error").as_deref(), Some("expired"));
    assert_eq!(
        expired.header("WWW-Authenticate").as_deref(),
        Some("Bearer realm=\"protected\", error=\"invalid_token\"")
    );
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reload_picks_up_a_changed_key_and_a_failed_reload_keeps_the_old_one() {
    let dir = key_dir("reload");
    make_keys(&dir, "a");
    make_keys(&dir, "b");
    let current = dir.join("current.key");
    std::fs::copy(dir.join("a-hs.key"), &current).unwrap();
    let d = dir.display();
    let mut ngx = start(format!(
        "location = /authenticate {{ internal; return 200 '{{\"sub\":\"alice\"}}'; }}\n\
         location = /login-a {{ jwt_login /authenticate; jwt_key_file {d}/a-hs.key; }}\n\
         location = /login-b {{ jwt_login /authenticate; jwt_key_file {d}/b-hs.key; }}\n\
         location = /check-current {{ jwt_verify on; jwt_key_file {d}/current.key;\n\
             alias $TEST_NGINX_HTML_DIR/ok.txt; }}"
    ));
    let token_a = login(&ngx, "a");
    let token_b = login(&ngx, "b");
    let status = |ngx: &Nginx, token: &str| check(ngx, "current", token).status;
    assert_eq!((status(&ngx, &token_a), status(&ngx, &token_b)), (200, 401));

    // Rotate the key file and reload: b's tokens pass, a's fail.
    std::fs::copy(dir.join("b-hs.key"), &current).unwrap();
    ngx.reload(None).unwrap();
    assert_eq!((status(&ngx, &token_a), status(&ngx, &token_b)), (401, 200));

    // A broken key file makes the reload fail; the running configuration keeps key b.
    std::fs::write(&current, "too short").unwrap();
    let err = ngx.reload(None).unwrap_err();
    assert!(err.0.contains("jwt_key_file"), "{err}");
    assert_eq!((status(&ngx, &token_a), status(&ngx, &token_b)), (401, 200));
    // The failed reload logged its [emerg]; stop() reports that, as expected here.
    let err = ngx.stop().unwrap_err();
    assert!(err.0.contains("[emerg]"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// PyJWT from the project's virtualenv (scripts/setup creates it).
fn python() -> PathBuf {
    let python = test_nginx::nginx::workspace_root().join("target/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it installs PyJWT for this test)",
        python.display()
    );
    python
}

fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
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

const PYJWT_VERIFY: &str = r#"
import sys, jwt
token, alg, keyfile = sys.argv[1:4]
key = open(keyfile, "rb").read()
if alg == "HS256":
    key = key.rstrip(b"\n")
claims = jwt.decode(token, key, algorithms=[alg], options={"require": ["exp", "iat", "jti"]})
assert claims["sub"] == "alice" and claims["roles"] == ["admin"], claims
assert claims["exp"] - claims["iat"] == 3600, claims
print("ok", claims["sub"])
"#;

const PYJWT_SIGN: &str = r#"
import sys, time, jwt
alg, keyfile = sys.argv[1:3]
key = open(keyfile, "rb").read()
if alg == "HS256":
    key = key.rstrip(b"\n")
now = int(time.time())
print(jwt.encode({"sub": "bob", "iat": now, "exp": now + 300}, key, algorithm=alg))
"#;

#[test]
fn tokens_interoperate_with_pyjwt() {
    let dir = key_dir("interop");
    make_keys(&dir, "a");
    let ngx = start(login_and_check(&dir, "a", "a", ""));
    for (kind, alg) in KINDS {
        // nginx issues, PyJWT verifies with the public key.
        let token = login(&ngx, kind);
        let public = dir.join(format!("a-{kind}.pub"));
        let verdict = run_python(PYJWT_VERIFY, &[&token, alg, public.to_str().unwrap()]);
        assert_eq!(verdict, "ok alice", "{kind}");
        // PyJWT issues with the private key, nginx verifies.
        let private = dir.join(format!("a-{kind}.key"));
        let token = run_python(PYJWT_SIGN, &[alg, private.to_str().unwrap()]);
        let r = check(&ngx, kind, &token);
        assert_eq!(r.status, 200, "{kind}: {:?}", r.header("X-Jwt-Error"));
        assert_eq!(r.header("X-Sub").as_deref(), Some("bob"));
    }
    ngx.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
