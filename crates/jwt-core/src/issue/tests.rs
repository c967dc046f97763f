use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::test_support::{fixture, generated_key, key, ring, secret};
use crate::{load_keys, VerifiedToken, Verifier, VerifyPolicy};
use Algorithm::*;

const NOW: u64 = 1_700_000_000;

fn signer(keys: &[Key], alg: Option<Algorithm>) -> Signer {
    Signer::new(&ring(keys), alg).unwrap()
}

fn decode_part(token: &str, index: usize) -> serde_json::Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn issue(signer: &Signer, body: &str, policy: &IssuePolicy) -> IssuedToken {
    signer.issue(body.as_bytes(), policy, NOW).unwrap()
}

fn claims_of(signer: &Signer, body: &str, policy: &IssuePolicy) -> serde_json::Value {
    decode_part(&issue(signer, body, policy).token, 1)
}

fn verify(keys: &[Key], token: &str) -> Result<std::sync::Arc<VerifiedToken>, crate::VerifyError> {
    Verifier::new(VerifyPolicy::default(), ring(keys), 0)
        .unwrap()
        .verify(token.as_bytes(), NOW)
}

// ---- configuration ------------------------------------------------------------------

#[test]
fn signer_needs_a_signing_key() {
    let err = Signer::new(&KeyRing::new(), None).unwrap_err();
    assert!(matches!(&err, SignerError::NoKeys), "{err:?}");
    let err = Signer::new(
        &ring(&[key("rsa2048.spki.pem"), key("p256.cert.pem")]),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("(RSA-2048 public key, EC P-256 public key) are public keys only"),
        "{err}"
    );
}

#[test]
fn signer_uses_the_first_signing_key() {
    let keys = [
        key("ed25519.spki.pem"),
        key("p384.pkcs8.pem"),
        secret(32, 1, None),
    ];
    let s = signer(&keys, None);
    assert_eq!(s.key().describe(), "EC P-384 private key");
    assert_eq!(s.algorithm(), ES384);
}

#[test]
fn default_algorithm_follows_the_key() {
    for (file, alg) in [
        ("rsa2048.pkcs8.pem", RS256),
        ("rsa2048.private.jwk", RS256),
        ("p256.sec1.pem", ES256),
        ("p384.private.jwk", ES384),
        ("p521.pkcs8.pem", ES512),
        ("ed25519.pkcs8.pem", EdDSA),
    ] {
        assert_eq!(signer(&[key(file)], None).algorithm(), alg, "{file}");
    }
    assert_eq!(signer(&[secret(64, 1, None)], None).algorithm(), HS256);
    let ps = br#"{"kty":"oct","alg":"HS384","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
    let keys = load_keys(ps, None).unwrap();
    assert_eq!(signer(&keys, None).algorithm(), HS384);
}

#[test]
fn an_algorithm_the_key_cannot_do_is_refused() {
    let err = Signer::new(&ring(&[key("rsa2048.pkcs8.pem")]), Some(ES256)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signing key (RSA-2048 private key) cannot sign ES256; it can sign RS256, RS384, \
         RS512, PS256, PS384, PS512: choose one of those or use a key that fits ES256"
    );
    let err = Signer::new(&ring(&[secret(32, 1, None)]), Some(HS512)).unwrap_err();
    assert!(matches!(
        err,
        SignerError::AlgorithmNotSupported { alg: HS512, .. }
    ));
    let err = Signer::new(&ring(&[key("p256.pkcs8.pem")]), Some(ES384)).unwrap_err();
    assert!(err.to_string().contains("it can sign ES256"), "{err}");
    assert_eq!(
        signer(&[key("rsa2048.pkcs8.pem")], Some(PS384)).algorithm(),
        PS384
    );
}

// ---- round trips --------------------------------------------------------------------

#[test]
fn every_algorithm_round_trips_and_fails_with_another_key() {
    let rsa_other = || key("rsa2048-other.spki.pem");
    let cases = [
        (secret(64, 1, None), HS256, secret(64, 2, None)),
        (secret(64, 1, None), HS384, secret(64, 2, None)),
        (secret(64, 1, None), HS512, secret(64, 2, None)),
        (key("rsa2048.pkcs8.pem"), RS256, rsa_other()),
        (key("rsa2048.pkcs1.pem"), RS384, rsa_other()),
        (key("rsa2048.private.jwk"), RS512, rsa_other()),
        (key("rsa2048.pkcs8.pem"), PS256, rsa_other()),
        (key("rsa2048.pkcs8.pem"), PS384, rsa_other()),
        (key("rsa2048.pkcs8.pem"), PS512, rsa_other()),
        (key("p256.pkcs8.pem"), ES256, key("p256.ecparam.pem")),
        (key("p384.sec1.pem"), ES384, generated_key("P-384")),
        (key("p521.private.jwk"), ES512, generated_key("P-521")),
        (key("ed25519.pkcs8.pem"), EdDSA, generated_key("Ed25519")),
    ];
    let body = r#"{"sub":"alice","roles":["a","b"]}"#;
    for (private, alg, other) in cases {
        let s = signer(std::slice::from_ref(&private), Some(alg));
        let issued = issue(&s, body, &IssuePolicy::default());
        let verified = verify(std::slice::from_ref(&private), &issued.token)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.claim("sub").unwrap(), "alice");
        assert_eq!(verified.expires_at(), Some(NOW + 3600));
        let err = verify(&[other], &issued.token).unwrap_err();
        assert_eq!(err.code(), "signature", "{alg}");
    }
}

#[test]
fn tokens_verify_with_the_public_half_in_another_format() {
    for (private, public) in [
        ("rsa2048.pkcs8.pem", "rsa2048.cert.pem"),
        ("rsa2048.private.jwk", "rsa2048.pkcs1-public.pem"),
        ("p256.sec1.pem", "p256.public.jwk"),
        ("p384.private.jwk", "p384.spki.pem"),
        ("p521.sec1.pem", "p521.public.jwk"),
        ("ed25519.private.jwk", "ed25519.cert.pem"),
    ] {
        let issued = issue(
            &signer(&[key(private)], None),
            "{}",
            &IssuePolicy::default(),
        );
        assert!(
            verify(&[key(public)], &issued.token).is_ok(),
            "{private} -> {public}"
        );
    }
}

// ---- header -------------------------------------------------------------------------

#[test]
fn header_has_alg_typ_and_kid_when_known() {
    let s = signer(&[secret(32, 1, None)], None);
    assert_eq!(
        decode_part(&issue(&s, "{}", &IssuePolicy::default()).token, 0),
        json!({"alg":"HS256","typ":"JWT"})
    );
    let keys = load_keys(&fixture("p256.pkcs8.pem"), Some("ec \"1\"")).unwrap();
    let s = signer(&keys, None);
    let token = issue(&s, "{}", &IssuePolicy::default()).token;
    assert_eq!(
        decode_part(&token, 0),
        json!({"alg":"ES256","typ":"JWT","kid":"ec \"1\""})
    );
    // The kid in the header selects the key on verification.
    let verified = verify(&keys, &token).unwrap();
    assert_eq!(verified.header("kid").unwrap(), "ec \"1\"");
}

// ---- claims -------------------------------------------------------------------------

#[test]
fn iat_exp_and_expires_in_follow_the_ttl() {
    let s = signer(&[secret(32, 1, None)], None);
    let policy = IssuePolicy {
        ttl: 600,
        ..Default::default()
    };
    let issued = issue(&s, r#"{"sub":"a","iat":1,"nbf":5}"#, &policy);
    assert_eq!(issued.expires_in, 600);
    assert_eq!(issued.expires_at, NOW + 600);
    let claims = decode_part(&issued.token, 1);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 600);
    assert_eq!(claims["nbf"], 5, "other claims are kept");
    assert_eq!(claims["sub"], "a");
    assert_eq!(IssuePolicy::default().ttl, 3600);
    let huge = IssuePolicy {
        ttl: u64::MAX,
        ..Default::default()
    };
    assert_eq!(issue(&s, "{}", &huge).expires_at, u64::MAX);
}

#[test]
fn authenticator_exp_is_kept_only_when_sooner() {
    let s = signer(&[secret(32, 1, None)], None);
    let policy = IssuePolicy {
        ttl: 3600,
        ..Default::default()
    };
    let cases = [
        (format!(r#"{{"exp":{}}}"#, NOW + 60), NOW + 60, 60),
        (format!(r#"{{"exp":{}.9}}"#, NOW + 60), NOW + 60, 60),
        (format!(r#"{{"exp":{}}}"#, NOW + 1), NOW + 1, 1),
        (format!(r#"{{"exp":{}.5}}"#, NOW + 1), NOW + 1, 1),
        (format!(r#"{{"exp":{}}}"#, NOW + 3599), NOW + 3599, 3599),
        // Later than now + ttl: capped.
        (format!(r#"{{"exp":{}}}"#, NOW + 3600), NOW + 3600, 3600),
        (format!(r#"{{"exp":{}}}"#, NOW + 99_999), NOW + 3600, 3600),
        (r#"{"exp":1e300}"#.to_owned(), NOW + 3600, 3600),
        (
            r#"{"exp":18446744073709551615}"#.to_owned(),
            NOW + 3600,
            3600,
        ),
        // Not a number: treated as absent and replaced.
        (r#"{"exp":"soon"}"#.to_owned(), NOW + 3600, 3600),
        (format!(r#"{{"exp":"{}"}}"#, NOW - 10), NOW + 3600, 3600),
        (r#"{"exp":null}"#.to_owned(), NOW + 3600, 3600),
        (r#"{"exp":true}"#.to_owned(), NOW + 3600, 3600),
        (r#"{"exp":[1]}"#.to_owned(), NOW + 3600, 3600),
        (r#"{"exp":{}}"#.to_owned(), NOW + 3600, 3600),
    ];
    for (body, exp, expires_in) in cases {
        let issued = issue(&s, &body, &policy);
        assert_eq!(
            (issued.expires_at, issued.expires_in),
            (exp, expires_in),
            "{body}"
        );
        assert_eq!(decode_part(&issued.token, 1)["exp"], exp, "{body}");
        assert_eq!(
            verify(&[secret(32, 1, None)], &issued.token)
                .unwrap()
                .expires_at(),
            Some(exp),
            "{body}"
        );
    }
}

#[test]
fn an_authenticator_exp_not_in_the_future_is_an_error() {
    // jwt_login never hands out an already expired token: an `exp` at or
    // before now (after dropping fractions), negative or zero is refused.
    let s = signer(&[secret(32, 1, None)], None);
    let policy = IssuePolicy::default();
    for (exp, shown) in [
        (format!("{NOW}"), "1700000000".to_owned()),
        (format!("{NOW}.0"), "1700000000".to_owned()),
        (format!("{NOW}.99"), format!("{NOW}.99")),
        (format!("{}", NOW - 1), "1699999999".to_owned()),
        (format!("{}.5", NOW - 10), "1699999990.5".to_owned()),
        ("0".to_owned(), "0".to_owned()),
        ("-0".to_owned(), "0".to_owned()),
        ("-5".to_owned(), "-5".to_owned()),
        ("-1.5".to_owned(), "-1.5".to_owned()),
        ("-1e300".to_owned(), "-1e300".to_owned()),
        (
            "-18446744073709551616".to_owned(),
            "-1.8446744073709552e19".to_owned(),
        ),
    ] {
        let body = format!(r#"{{"sub":"a","exp":{exp}}}"#);
        let err = s.issue(body.as_bytes(), &policy, NOW).unwrap_err();
        assert!(
            matches!(err, IssueError::ExpNotInFuture { now: NOW, .. }),
            "{body}: {err:?}"
        );
        assert_eq!(err.code(), "exp_not_in_future");
        assert_eq!(
            err.to_string(),
            format!(
                "the authenticator's \"exp\" ({shown}) is not in the future (now {NOW}): \
                 it would make an already expired token"
            ),
            "{body}"
        );
    }
}

#[test]
fn a_non_finite_exp_is_an_error() {
    // serde_json never yields a non-finite number from JSON text (1e400 is a
    // parse error), so the rule is checked on `expiry` directly.
    for own in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = expiry(Some(own), NOW, 3600).unwrap_err();
        assert!(matches!(err, IssueError::ExpNotInFuture { .. }), "{own}");
        assert!(err.to_string().contains(&format!("({own})")), "{err}");
    }
    assert_eq!(expiry(None, NOW, 3600).unwrap(), NOW + 3600);
    assert_eq!(expiry(None, u64::MAX, 3600).unwrap(), u64::MAX);
    assert!(matches!(
        signer(&[secret(32, 1, None)], None).issue(
            br#"{"exp":1e400}"#,
            &IssuePolicy::default(),
            NOW
        ),
        Err(IssueError::InvalidJson(_))
    ));
}

#[test]
fn a_non_numeric_nbf_is_an_error() {
    // Regression (fuzz target `issue`, first crash): {"exp":"soon","nbf":"y"}
    // was issued, and jwt_verify then refused the token as malformed.
    let s = signer(&[secret(32, 1, None)], None);
    for nbf in [r#""y""#, "null", "true", "[]", "{}", r#""1700000000""#] {
        for body in [
            format!(r#"{{"exp":"soon","nbf":{nbf}}}"#),
            format!(r#"{{"sub":"a","nbf":{nbf}}}"#),
        ] {
            let err = s
                .issue(body.as_bytes(), &IssuePolicy::default(), NOW)
                .unwrap_err();
            assert!(matches!(err, IssueError::NbfNotNumeric), "{body}: {err:?}");
            assert_eq!(err.code(), "nbf_not_numeric");
            assert!(err.to_string().contains("\"nbf\" is not a number"), "{err}");
        }
    }
    // A numeric nbf is kept, in the past or (on purpose) in the future.
    for nbf in [NOW - 10, NOW, NOW + 60] {
        let body = format!(r#"{{"nbf":{nbf}}}"#);
        let issued = issue(&s, &body, &IssuePolicy::default());
        assert_eq!(decode_part(&issued.token, 1)["nbf"], nbf);
        let verified = verify(&[secret(32, 1, None)], &issued.token);
        if nbf > NOW {
            assert_eq!(verified.unwrap_err().code(), "not_yet_valid");
        } else {
            assert!(verified.is_ok());
        }
    }
}

#[test]
fn jti_is_random_16_bytes_and_overwrites() {
    let s = signer(&[secret(32, 1, None)], None);
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let claims = claims_of(&s, r#"{"jti":"given"}"#, &IssuePolicy::default());
        let jti = claims["jti"].as_str().unwrap().to_owned();
        assert_eq!(jti.len(), 22);
        assert_eq!(URL_SAFE_NO_PAD.decode(&jti).unwrap().len(), 16);
        assert!(seen.insert(jti), "duplicate jti");
    }
}

#[test]
fn issuer_and_audiences_overwrite_when_configured() {
    let s = signer(&[secret(32, 1, None)], None);
    let body = r#"{"iss":"authn","aud":"mine","sub":"x"}"#;
    let open = claims_of(&s, body, &IssuePolicy::default());
    assert_eq!(
        (&open["iss"], &open["aud"]),
        (&json!("authn"), &json!("mine"))
    );

    let one = IssuePolicy {
        issuer: Some("gw".into()),
        audiences: vec!["api".into()],
        ..Default::default()
    };
    let claims = claims_of(&s, body, &one);
    assert_eq!(
        (&claims["iss"], &claims["aud"]),
        (&json!("gw"), &json!("api"))
    );

    let many = IssuePolicy {
        audiences: vec!["api".into(), "web".into()],
        ..Default::default()
    };
    let claims = claims_of(&s, body, &many);
    assert_eq!(
        (&claims["iss"], &claims["aud"]),
        (&json!("authn"), &json!(["api", "web"]))
    );
    assert_eq!(claims["sub"], "x");
}

#[test]
fn issued_claims_pass_a_matching_verify_policy() {
    let key = secret(32, 1, None);
    let s = signer(std::slice::from_ref(&key), None);
    let issue_policy = IssuePolicy {
        ttl: 60,
        issuer: Some("gw".into()),
        audiences: vec!["api".into(), "web".into()],
    };
    let token = issue(&s, r#"{"sub":"u"}"#, &issue_policy).token;
    let verify_policy = VerifyPolicy {
        issuer: Some("gw".into()),
        audiences: vec!["web".into()],
        ..Default::default()
    };
    let v = Verifier::new(verify_policy, ring(&[key]), 0).unwrap();
    assert!(v.verify(token.as_bytes(), NOW + 59).is_ok());
    assert_eq!(
        v.verify(token.as_bytes(), NOW + 60).unwrap_err().code(),
        "expired"
    );
}

// ---- errors -------------------------------------------------------------------------

#[test]
fn bodies_that_are_not_claims() {
    let s = signer(&[secret(32, 1, None)], None);
    let p = IssuePolicy::default();
    for (body, code) in [
        ("", "empty"),
        ("  \r\n\t", "empty"),
        ("not json", "invalid_json"),
        ("{\"sub\":", "invalid_json"),
        ("{} {}", "invalid_json"),
        ("[1]", "not_object"),
        ("\"claims\"", "not_object"),
        ("42", "not_object"),
        ("null", "not_object"),
    ] {
        let err = s.issue(body.as_bytes(), &p, NOW).unwrap_err();
        assert_eq!(err.code(), code, "{body:?}");
    }
    assert_eq!(
        s.issue(b"", &p, NOW).unwrap_err().to_string(),
        "authenticator answered 200 with an empty body"
    );
    let err = s.issue(b"nope", &p, NOW).unwrap_err().to_string();
    assert!(
        err.starts_with("authenticator answered 200 with a body that is not JSON: "),
        "{err}"
    );
    assert!(!err.contains("nope"), "{err}");
    assert_eq!(
        s.issue(b"[]", &p, NOW).unwrap_err().to_string(),
        "authenticator answered 200 with JSON that is not an object of claims"
    );
    assert_eq!(IssueError::Sign("x".into()).code(), "sign");
    assert_eq!(
        IssueError::Sign("x".into()).to_string(),
        "could not sign the token: x"
    );
}

#[test]
fn signer_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Signer>();
    shareable::<IssuedToken>();
    shareable::<IssueError>();
}

#[test]
fn a_token_jwt_verify_would_refuse_as_too_large_is_not_issued() {
    let keys = [secret(32, 1, None)];
    let s = signer(&keys, None);
    let claims_with = |n: usize| format!(r#"{{"sub":"{}"}}"#, "a".repeat(n));
    // Just under the limit: issued, and it verifies.
    let mut n = 5000;
    let mut last_ok = None;
    while let Ok(issued) = s.issue(claims_with(n).as_bytes(), &IssuePolicy::default(), NOW) {
        last_ok = Some(issued);
        n += 1;
    }
    let last_ok = last_ok.expect("some size under the limit issues a token");
    assert!(last_ok.token.len() <= defaults::MAX_TOKEN_LEN);
    assert!(verify(&keys, &last_ok.token).is_ok());
    // One more byte of claims: refused, naming both sizes.
    let err = s
        .issue(claims_with(n).as_bytes(), &IssuePolicy::default(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, IssueError::TooLarge { max: 8192, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "too_large");
    assert!(err.to_string().contains("8192"), "{err}");
}

// ---- jwt_typ ------------------------------------------------------------------------

#[test]
fn with_type_writes_the_media_type_the_verifier_requires() {
    let keys = [generated_key("P-256")];
    let plain = issue(&signer(&keys, None), "{}", &IssuePolicy::default());
    assert_eq!(decode_part(&plain.token, 0)["typ"], json!("JWT"));
    let typed = signer(&keys, None).with_type("at+jwt");
    let token = issue(&typed, r#"{"sub":"a"}"#, &IssuePolicy::default()).token;
    assert_eq!(decode_part(&token, 0)["typ"], json!("at+jwt"));
    let verifier = Verifier::new(
        VerifyPolicy {
            typ: Some("application/at+jwt".into()),
            ..Default::default()
        },
        ring(&keys),
        0,
    )
    .unwrap();
    assert!(verifier.verify(token.as_bytes(), NOW).is_ok());
    assert_eq!(
        verifier
            .verify(plain.token.as_bytes(), NOW)
            .unwrap_err()
            .code(),
        "typ"
    );
}
