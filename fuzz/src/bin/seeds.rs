//! Writes the seed corpus, fuzz/corpus/<target>/, from the jwt-core test
//! fixtures: small valid tokens, keys and bodies, so that the fuzzer starts
//! from inputs that reach deep. Not a fuzz target (no instrumentation needed);
//! re-run it after changing the fixtures: `./target/release/seeds` after
//! `cargo afl build --release` (a plain `cargo build` would compile every
//! dependency a second time without instrumentation, for nothing).

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_core::fuzzing::{sign, PEM_LABELS};
use jwt_core::Algorithm;
use jwt_core_fuzz::private_keys;

const NOW: u64 = 1_700_000_000;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/jwt-core/tests/fixtures")
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Files of `dir` ending in `ext`, at most 2 KiB each (AFL works best from
/// small seeds), sorted; none if the folder is absent.
fn small_files(dir: &Path, ext: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(ext))
        .filter_map(|name| Some((name.clone(), fs::read(dir.join(&name)).ok()?)))
        .filter(|(_, bytes)| bytes.len() <= 2048)
        .collect();
    files.sort();
    files
}

fn with_now(mode: u8, now: u64, rest: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(&now.to_le_bytes());
    out.extend_from_slice(rest);
    out
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The DER inside a PEM fixture's block labelled `label`.
fn der_of(name: &str, label: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(name)).expect("PEM is text");
    let begin = format!("-----BEGIN {label}-----");
    let body: String = text
        .lines()
        .skip_while(|l| *l != begin)
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        // RFC 1421 headers (legacy encrypted keys) are not base64.
        .filter(|l| !l.contains(':'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

fn main() {
    let keys = private_keys();
    let claims = format!(
        r#"{{"sub":"alice","iss":"https://idp.example","aud":["api"],"exp":{},"nbf":{},"iat":{NOW},"roles":["a","b"]}}"#,
        NOW + 600,
        NOW - 5
    );

    // verify: a valid token per key family and algorithm (mode 0), and the
    // payloads the harness signs itself (odd modes).
    let families = [
        (0, Algorithm::HS256, "hs"),
        (0, Algorithm::HS384, "hs"),
        (1, Algorithm::RS256, "rsa"),
        (1, Algorithm::PS256, "rsa"),
        (2, Algorithm::ES256, "p256"),
        (3, Algorithm::ES384, "p384"),
        (4, Algorithm::ES512, "p521"),
        (5, Algorithm::EdDSA, "ed"),
    ];
    for (index, alg, kid) in families {
        for (suffix, header) in [
            (
                "kid",
                format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#),
            ),
            ("nokid", format!(r#"{{"alg":"{alg}"}}"#)),
        ] {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(&header),
                URL_SAFE_NO_PAD.encode(&claims)
            );
            let signature = sign(&keys[index], alg, input.as_bytes()).expect("sign");
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
            write(
                "verify",
                &format!("{alg}-{suffix}"),
                &with_now(0, NOW, token.as_bytes()),
            );
        }
    }
    write(
        "verify",
        "none",
        &with_now(0, NOW, b"eyJhbGciOiJub25lIn0.e30."),
    );
    // The nginx tests' tokens (t/fixtures/tokens): signed with other keys, so
    // they stop at the signature, but their headers and shapes (crit, none,
    // four segments, DER-encoded ECDSA...) are the cases worth mutating.
    for (name, bytes) in small_files(&repo().join("t/fixtures/tokens"), "jwt") {
        write(
            "verify",
            &format!("t-{name}"),
            &with_now(0, NOW, bytes.trim_ascii()),
        );
    }
    for (mode, name) in [
        (1u8, "signed-hs256"),
        (7, "signed-es256"),
        (5, "signed-eddsa"),
    ] {
        write("verify", name, &with_now(mode, NOW, claims.as_bytes()));
    }
    write(
        "verify",
        "signed-odd-dates",
        &with_now(
            3,
            NOW,
            br#"{"exp":1e300,"nbf":-1.5,"iat":"x","aud":[1,"web"]}"#,
        ),
    );

    // load_keys: every fixture as is, a secret, and a JWKS.
    let mut names: Vec<String> = fs::read_dir(fixtures())
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pem") || n.ends_with(".jwk"))
        .collect();
    names.sort();
    for name in &names {
        write("load_keys", name, &fixture(name));
    }
    for (name, bytes) in small_files(&repo().join("t/fixtures/keys"), "") {
        write("load_keys", &format!("t-{name}"), &bytes);
    }
    write("load_keys", "secret", &[0x5a; 64]);
    write(
        "load_keys",
        "secret-newline",
        b"0123456789abcdef0123456789abcdef\n",
    );
    let jwks = format!(
        r#"{{"keys":[{},{},{{"kty":"oct","k":"{}","kid":"hs","alg":"HS512"}},{{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}}]}}"#,
        String::from_utf8(fixture("p256.public.jwk"))
            .expect("utf8")
            .trim(),
        String::from_utf8(fixture("ed25519.private.jwk"))
            .expect("utf8")
            .trim(),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    );
    write("load_keys", "jwks.json", jwks.as_bytes());

    // jwk: the JWK fixtures and the JWKS.
    for name in names.iter().filter(|n| n.ends_with(".jwk")) {
        write("jwk", name, &fixture(name));
    }
    write("jwk", "jwks.json", jwks.as_bytes());

    // der: selector byte (the PEM label's structure) then the DER.
    for name in names.iter().filter(|n| n.ends_with(".pem")) {
        let text = String::from_utf8_lossy(&fixture(name)).into_owned();
        let Some(selector) = PEM_LABELS
            .iter()
            .position(|label| text.contains(&format!("-----BEGIN {label}-----")))
        else {
            continue;
        };
        let mut input = vec![selector as u8];
        input.extend(der_of(name, PEM_LABELS[selector]));
        write("der", name, &input);
    }

    // bearer_cookie.
    write(
        "bearer_cookie",
        "bearer",
        b"\x00Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
    );
    write("bearer_cookie", "bearer-tab", b"\x00bEaReR\t tok \t");
    write("bearer_cookie", "basic", b"\x00Basic dXNlcjpwYXNz");
    let mut cookie = vec![1u8];
    cookie.extend_from_slice(&3600u64.to_le_bytes());
    cookie.extend_from_slice(
        b"jwt\nPath=/app\nSecure=off\nMax-Age=60\nDomain=example.com\nPartitioned",
    );
    write("bearer_cookie", "cookie", &cookie);
    let mut cookie = vec![1u8];
    cookie.extend_from_slice(&0u64.to_le_bytes());
    cookie.extend_from_slice(b"s\nmax-age=off\nHttpOnly=off");
    write("bearer_cookie", "cookie-session", &cookie);
    write("bearer_cookie", "require-false", b"\x02false");
    write("bearer_cookie", "require-admin", b"\x02admin");

    // issue: authenticator bodies.
    for (name, body) in [
        ("simple", r#"{"sub":"alice","roles":["admin"]}"#.to_owned()),
        ("exp-sooner", format!(r#"{{"sub":"a","exp":{}}}"#, NOW + 60)),
        (
            "exp-later",
            format!(r#"{{"sub":"a","exp":{}}}"#, NOW + 99_999),
        ),
        ("exp-past", format!(r#"{{"sub":"a","exp":{}}}"#, NOW - 1)),
        (
            "exp-string",
            r#"{"exp":"soon","nbf":1,"iss":"x","aud":"y"}"#.to_owned(),
        ),
        ("nbf-future", format!(r#"{{"nbf":{}}}"#, NOW + 60)),
    ] {
        write("issue", name, &with_now(0x10, NOW, body.as_bytes()));
    }
}
