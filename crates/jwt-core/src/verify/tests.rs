//! Unit tests of verification, one function per rule (RFC 7515 / 7519 / 8725 vectors, every
//! error code, the algorithm and key-family matrix). Long because the rules are many and each
//! test stays self-contained; split by rule further only if a group outgrows its section.

use super::*;
use crate::test_support::{b64, fixture, generated_key, key, ring, secret, signed, unsigned};
use crate::{load_keys, Key};
use Algorithm::*;

const NOW: u64 = 1_700_000_000;
const HS: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn claims_exp(exp: u64) -> String {
    format!(r#"{{"sub":"alice","exp":{exp}}}"#)
}

fn verifier(keys: &[Key], policy: VerifyPolicy) -> Verifier {
    Verifier::new(policy, ring(keys), 0).unwrap()
}

fn hs_key() -> Key {
    secret(32, b'h', None)
}

fn hs_verifier() -> Verifier {
    verifier(&[hs_key()], VerifyPolicy::default())
}

fn code(result: Result<Arc<VerifiedToken>, VerifyError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn verify_code(v: &Verifier, token: &str) -> &'static str {
    code(v.verify(token.as_bytes(), NOW))
}

// ---- policy ----------------------------------------------------------------------

#[test]
fn policy_defaults() {
    let p = VerifyPolicy::default();
    assert_eq!(p.algorithms, None);
    assert_eq!(p.leeway, 0);
    assert!(p.require_exp);
    assert_eq!(p.issuer, None);
    assert!(p.audiences.is_empty());
    assert_eq!(p.max_token_len, 8192);
    assert_eq!(p.typ, None);
}

#[test]
fn policy_needs_keys_for_every_allowed_algorithm() {
    assert!(matches!(
        Verifier::new(VerifyPolicy::default(), KeyRing::new(), 0),
        Err(PolicyError::NoKeys)
    ));
    let only = |algs: Vec<Algorithm>| VerifyPolicy {
        algorithms: Some(algs),
        ..Default::default()
    };
    assert!(matches!(
        Verifier::new(only(vec![]), ring(&[hs_key()]), 0),
        Err(PolicyError::NoAlgorithms)
    ));
    let err = Verifier::new(
        only(vec![RS256, ES256]),
        ring(&[key("rsa2048.spki.pem")]),
        0,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "jwt_algorithms lists ES256 but no jwt_key_file key can verify it; \
         add an EC P-256 key or remove ES256"
    );
    let err = Verifier::new(only(vec![HS512]), ring(&[hs_key()]), 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("add an HMAC secret of at least 64 bytes"),
        "{err}"
    );
    for (alg, hint) in [
        (RS256, "add an RSA key (2048 bits or more)"),
        (ES384, "add an EC P-384 key"),
        (ES512, "add an EC P-521 key"),
        (EdDSA, "add an Ed25519 key"),
    ] {
        let err = Verifier::new(only(vec![alg]), ring(&[hs_key()]), 0).unwrap_err();
        assert!(err.to_string().contains(hint), "{err}");
    }
}

#[test]
fn allowed_algorithms_default_to_what_the_keys_support() {
    let keys = [
        key("p256.spki.pem"),
        secret(48, 1, None),
        key("ed25519.spki.pem"),
    ];
    let v = verifier(&keys, VerifyPolicy::default());
    assert_eq!(v.allowed_algorithms(), [HS256, HS384, ES256, EdDSA]);
    let v = verifier(
        &keys,
        VerifyPolicy {
            algorithms: Some(vec![EdDSA, ES256, EdDSA]),
            ..Default::default()
        },
    );
    assert_eq!(v.allowed_algorithms(), [ES256, EdDSA]);
    assert_eq!(
        v.policy().algorithms.as_deref(),
        Some(&[EdDSA, ES256, EdDSA][..])
    );
}

// ---- the happy path ----------------------------------------------------------------

#[test]
fn a_valid_token_verifies_and_exposes_its_claims() {
    let key = hs_key();
    let token = signed(
        &key,
        HS256,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"sub":"alice", "exp":1700000600, "realm_access":{"roles":["admin","dev"]},"n":1.5}"#,
    );
    let v = verifier(&[key], VerifyPolicy::default());
    let t = v.verify(token.as_bytes(), NOW).unwrap();
    assert_eq!(t.algorithm(), HS256);
    assert_eq!(t.header("typ").unwrap(), "JWT");
    assert_eq!(t.claim("sub").unwrap(), "alice");
    assert_eq!(t.claim("nope"), None);
    assert_eq!(
        t.claim_path(&["realm_access", "roles"]).unwrap(),
        &serde_json::json!(["admin", "dev"])
    );
    assert_eq!(
        t.claim_path(&["realm_access".to_owned()]).unwrap()["roles"][1],
        "dev"
    );
    assert_eq!(t.claim_path(&["realm_access", "roles", "x"]), None);
    assert_eq!(t.claim_path(&["sub", "x"]), None);
    assert_eq!(t.claim_path::<&str>(&[]), None);
    assert_eq!(t.claims().len(), 4);
    assert_eq!(
        t.payload_json(),
        r#"{"exp":1700000600,"n":1.5,"realm_access":{"roles":["admin","dev"]},"sub":"alice"}"#
    );
    assert_eq!(t.expires_at(), Some(1_700_000_600));
}

#[test]
fn a_kid_of_null_is_malformed_but_absent_is_fine() {
    let key = hs_key();
    let token = signed(
        &key,
        HS256,
        r#"{"alg":"HS256","kid":null}"#,
        &claims_exp(NOW + 1),
    );
    assert_eq!(
        verify_code(&verifier(&[key], VerifyPolicy::default()), &token),
        "malformed"
    );
}

// ---- each error code -----------------------------------------------------------------

#[test]
fn missing_and_too_large() {
    let v = hs_verifier();
    let err = v.verify(b"", NOW).unwrap_err();
    assert_eq!(err.code(), "missing");
    assert!(matches!(VerifyError::Missing, VerifyError::Missing));
    assert_eq!(VerifyError::Missing.code(), "missing");

    let key = hs_key();
    let token = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    let exact = VerifyPolicy {
        max_token_len: token.len(),
        ..Default::default()
    };
    assert_eq!(
        verify_code(&verifier(std::slice::from_ref(&key), exact), &token),
        "ok"
    );
    let smaller = VerifyPolicy {
        max_token_len: token.len() - 1,
        ..Default::default()
    };
    let err = verifier(&[key], smaller)
        .verify(token.as_bytes(), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "too_large");
    assert_eq!(
        err.to_string(),
        format!(
            "token is {} bytes, over the {}-byte limit",
            token.len(),
            token.len() - 1
        )
    );
}

#[test]
fn malformed_structure() {
    let v = hs_verifier();
    let key = hs_key();
    let good = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    let parts: Vec<&str> = good.split('.').collect();
    let cases: Vec<(String, Malformed)> = vec![
        ("abc".into(), Malformed::Segments),
        (format!("{}.{}", parts[0], parts[1]), Malformed::Segments),
        (format!("{good}.{}", parts[2]), Malformed::Segments),
        (format!("{good}."), Malformed::Segments),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            Malformed::Base64(Part::Header),
        ),
        (
            format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            Malformed::Base64(Part::Signature),
        ),
        (
            format!("{}.{}.+{}", parts[0], parts[1], &parts[2][1..]),
            Malformed::Base64(Part::Signature),
        ),
        (
            format!("{}.{}.a/b", parts[0], parts[1]),
            Malformed::Base64(Part::Signature),
        ),
        (
            format!("{}.{}.{}", parts[0], parts[1], ""),
            Malformed::EmptySignature,
        ),
        (
            unsigned("not json", &claims_exp(NOW), "AAAA"),
            Malformed::Json(Part::Header),
        ),
        (
            unsigned("[\"HS256\"]", &claims_exp(NOW), "AAAA"),
            Malformed::NotObject(Part::Header),
        ),
        (
            unsigned("", &claims_exp(NOW), "AAAA"),
            Malformed::Json(Part::Header),
        ),
        (
            unsigned(r#"{"typ":"JWT"}"#, "{}", "AAAA"),
            Malformed::MissingAlgorithm,
        ),
        (
            unsigned(r#"{"alg":256}"#, "{}", "AAAA"),
            Malformed::AlgorithmNotString,
        ),
        (
            unsigned(r#"{"alg":["HS256"]}"#, "{}", "AAAA"),
            Malformed::AlgorithmNotString,
        ),
        (
            unsigned(r#"{"alg":"HS256","kid":7}"#, "{}", "AAAA"),
            Malformed::KidNotString,
        ),
        // Claims are only read once the signature holds, so these are
        // validly signed: a forged token with such claims gets `signature`
        // (see forged_tokens_fail_on_the_signature_whatever_the_payload).
        (
            signed_segments(&key, &b64(HS), &format!("{}=", b64(claims_exp(NOW)))),
            Malformed::Base64(Part::Claims),
        ),
        (
            signed_segments(&key, &b64(HS), "a+b/"),
            Malformed::Base64(Part::Claims),
        ),
        (
            signed(&key, HS256, HS, "not json"),
            Malformed::Json(Part::Claims),
        ),
        (
            signed(&key, HS256, HS, "\"claims\""),
            Malformed::NotObject(Part::Claims),
        ),
        (signed(&key, HS256, HS, ""), Malformed::Json(Part::Claims)),
        (
            signed(&key, HS256, HS, r#"{"exp":"1800000000"}"#),
            Malformed::NotNumericDate("exp"),
        ),
        (
            signed(&key, HS256, HS, r#"{"exp":1800000000,"nbf":true}"#),
            Malformed::NotNumericDate("nbf"),
        ),
        (
            signed(&key, HS256, HS, r#"{"exp":1800000000,"iat":null}"#),
            Malformed::NotNumericDate("iat"),
        ),
        (
            signed(&key, HS256, HS, r#"{"sub":"x"}"#),
            Malformed::MissingExpiration,
        ),
    ];
    for (token, expected) in cases {
        match v.verify(token.as_bytes(), NOW) {
            Err(VerifyError::Malformed(m)) => assert_eq!(m, expected, "{token}"),
            other => panic!("{token}: expected {expected:?}, got {other:?}"),
        }
    }
}

/// A token over already-encoded header and payload segments (which need not
/// be valid base64url), with a genuine HS256 signature from `key`.
fn signed_segments(key: &Key, header: &str, payload: &str) -> String {
    let input = format!("{header}.{payload}");
    let mac = key.sign(HS256, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(mac))
}

/// Payloads that are broken in every way the claims step can detect.
fn broken_payloads() -> Vec<(String, Malformed)> {
    vec![
        ("a+b/".to_owned(), Malformed::Base64(Part::Claims)),
        (
            format!("{}=", b64(claims_exp(NOW + 60))),
            Malformed::Base64(Part::Claims),
        ),
        ("A".to_owned(), Malformed::Base64(Part::Claims)),
        (b64("not json"), Malformed::Json(Part::Claims)),
        (b64(""), Malformed::Json(Part::Claims)),
        (b64([0xffu8, 0xfe, 0x00]), Malformed::Json(Part::Claims)),
        (b64("[1,2]"), Malformed::NotObject(Part::Claims)),
        (b64(r#"{"exp":"soon"}"#), Malformed::NotNumericDate("exp")),
        (b64(r#"{"sub":"x"}"#), Malformed::MissingExpiration),
    ]
}

#[test]
fn forged_tokens_fail_on_the_signature_whatever_the_payload() {
    // (a) The payload of an unauthenticated token is never parsed: garbage
    // there yields `signature`, not `malformed`, for every key family.
    let hs = hs_key();
    let ec = key("p256.pkcs8.pem");
    let v = verifier(&[hs.clone(), key("p256.spki.pem")], VerifyPolicy::default());
    for (payload, _) in broken_payloads() {
        for (header, signature) in [
            (b64(HS), b64([0u8; 32])),
            (b64(HS), "AAAA".to_owned()),
            // A real MAC, but over another payload.
            (
                b64(HS),
                b64(hs
                    .sign(HS256, format!("{}.e30", b64(HS)).as_bytes())
                    .unwrap()),
            ),
            (b64(r#"{"alg":"ES256"}"#), b64([7u8; 64])),
            (
                b64(r#"{"alg":"ES256"}"#),
                b64(ec.sign(ES256, b"something else").unwrap()),
            ),
        ] {
            let token = format!("{header}.{payload}.{signature}");
            let err = v.verify(token.as_bytes(), NOW).unwrap_err();
            assert!(
                matches!(err, VerifyError::Signature { .. }),
                "{token}: {err:?}"
            );
        }
    }
}

#[test]
fn validly_signed_tokens_with_a_bad_payload_are_malformed() {
    // (b) Once the signature holds, a broken payload is reported precisely.
    let hs = hs_key();
    let ec = key("p256.pkcs8.pem");
    let v = verifier(&[hs.clone(), key("p256.spki.pem")], VerifyPolicy::default());
    for (payload, expected) in broken_payloads() {
        for (key, alg) in [(&hs, HS256), (&ec, ES256)] {
            let header = b64(format!(r#"{{"alg":"{alg}"}}"#));
            let input = format!("{header}.{payload}");
            let signature = b64(key.sign(alg, input.as_bytes()).unwrap());
            let token = format!("{input}.{signature}");
            match v.verify(token.as_bytes(), NOW) {
                Err(VerifyError::Malformed(m)) => assert_eq!(m, expected, "{token}"),
                other => panic!("{token}: expected {expected:?}, got {other:?}"),
            }
        }
    }
}

#[test]
fn exp_is_optional_when_not_required() {
    let key = hs_key();
    let token = signed(&key, HS256, HS, r#"{"sub":"x"}"#);
    let v = verifier(
        &[key],
        VerifyPolicy {
            require_exp: false,
            ..Default::default()
        },
    );
    let t = v.verify(token.as_bytes(), NOW).unwrap();
    assert_eq!(t.expires_at(), None);
}

#[test]
fn unsecured_tokens_are_refused_in_any_casing() {
    let v = hs_verifier();
    let valid_mac = b64(hs_key().sign(HS256, b"x").unwrap());
    for alg in ["none", "NONE", "None", "nOnE", "noNe"] {
        let header = format!(r#"{{"alg":"{alg}"}}"#);
        for signature in ["", "AAAA", valid_mac.as_str()] {
            let token = unsigned(&header, &claims_exp(NOW + 60), signature);
            let err = v.verify(token.as_bytes(), NOW).unwrap_err();
            assert_eq!(err.code(), "algorithm", "{alg} / {signature:?}");
            assert!(matches!(
                err,
                VerifyError::Algorithm(AlgorithmRejected::Unsecured(_))
            ));
            assert!(err.to_string().contains("unsecured"), "{err}");
        }
    }
    // RFC 7515 Appendix A.5, verbatim.
    let a5 = "eyJhbGciOiJub25lIn0\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";
    assert_eq!(code(v.verify(a5.as_bytes(), 1_300_000_000)), "algorithm");
}

#[test]
fn unknown_and_disallowed_algorithms() {
    let v = hs_verifier();
    for alg in [
        "HS257", "hs256", "Hs256", "RSA-OAEP", "ES256K", "", "HS256 ",
    ] {
        let token = unsigned(
            &format!(r#"{{"alg":"{alg}"}}"#),
            &claims_exp(NOW + 9),
            "AAAA",
        );
        let err = v.verify(token.as_bytes(), NOW).unwrap_err();
        assert!(
            matches!(err, VerifyError::Algorithm(AlgorithmRejected::Unknown(_))),
            "{alg}"
        );
    }
    // Supported by the ring, but not allowed by the policy.
    let hs = hs_key();
    let keys = [hs.clone(), key("rsa2048.spki.pem")];
    let v = verifier(
        &keys,
        VerifyPolicy {
            algorithms: Some(vec![RS256]),
            ..Default::default()
        },
    );
    let token = signed(&hs, HS256, HS, &claims_exp(NOW + 9));
    let err = v.verify(token.as_bytes(), NOW).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Algorithm(AlgorithmRejected::NotAllowed(HS256))
    ));
    assert_eq!(err.to_string(), "token alg HS256 is not allowed");
}

#[test]
fn crit_is_refused_even_with_a_valid_signature() {
    let key = hs_key();
    for crit in [r#"["exp"]"#, "[]", r#""b64""#, "null"] {
        let header = format!(r#"{{"alg":"HS256","crit":{crit}}}"#);
        let token = signed(&key, HS256, &header, &claims_exp(NOW + 9));
        let err = verifier(std::slice::from_ref(&key), VerifyPolicy::default())
            .verify(token.as_bytes(), NOW)
            .unwrap_err();
        assert_eq!(err.code(), "crit", "{crit}");
    }
}

#[test]
fn key_selection_by_kid() {
    let a = secret(32, b'a', Some("a"));
    let b = secret(32, b'b', Some("b"));
    let ec = key("p256.pkcs8.pem");
    let mut ring = ring(&[a.clone(), b.clone()]);
    ring.extend(load_keys(&fixture("p256.spki.pem"), Some("ec")).unwrap());
    let v = Verifier::new(VerifyPolicy::default(), ring, 0).unwrap();

    let with_kid = |key: &Key, alg: Algorithm, kid: &str| {
        signed(
            key,
            alg,
            &format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#),
            &claims_exp(NOW + 9),
        )
    };
    assert_eq!(verify_code(&v, &with_kid(&b, HS256, "b")), "ok");
    assert_eq!(verify_code(&v, &with_kid(&a, HS256, "a")), "ok");
    // The right kid with another key's signature: only that kid's key is tried.
    let err = v
        .verify(with_kid(&b, HS256, "a").as_bytes(), NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Signature {
                alg: HS256,
                tried: 1
            }
        ),
        "{err}"
    );
    // Unknown kid.
    let err = v
        .verify(with_kid(&b, HS256, "zzz").as_bytes(), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "key");
    assert_eq!(
        err.to_string(),
        "no configured key has the token's kid \"zzz\""
    );
    // A kid whose key is of another family.
    let err = v
        .verify(with_kid(&a, HS256, "ec").as_bytes(), NOW)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::Key(NoKey::KidCannotVerify { alg: HS256, .. })
        ),
        "{err}"
    );
    assert_eq!(verify_code(&v, &with_kid(&ec, ES256, "ec")), "ok");
    // No kid: every key supporting the alg is tried, in order.
    let no_kid = signed(&b, HS256, HS, &claims_exp(NOW + 9));
    assert_eq!(verify_code(&v, &no_kid), "ok");
    let wrong = signed(&secret(32, b'c', None), HS256, HS, &claims_exp(NOW + 9));
    let err = v.verify(wrong.as_bytes(), NOW).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Signature {
                alg: HS256,
                tried: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn a_token_kid_never_matches_keys_without_kid() {
    let key = hs_key();
    let token = signed(
        &key,
        HS256,
        r#"{"alg":"HS256","kid":"k1"}"#,
        &claims_exp(NOW + 9),
    );
    let err = verifier(&[key], VerifyPolicy::default())
        .verify(token.as_bytes(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Key(NoKey::UnknownKid(_))),
        "{err}"
    );
}

#[test]
fn bad_signatures() {
    let key = hs_key();
    let v = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    let token = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    let (input, sig) = token.rsplit_once('.').unwrap();
    let tampered_claims = format!("{}.{}.{sig}", b64(HS), b64(claims_exp(NOW + 6000)));
    let mac = key.sign(HS256, input.as_bytes()).unwrap();
    let truncated = format!("{input}.{}", b64(&mac[..31]));
    assert!(!sig.is_empty());
    let other_key = signed(&secret(32, b'z', None), HS256, HS, &claims_exp(NOW + 60));
    let hs384_mac = format!(
        "{input}.{}",
        b64(secret(48, b'h', None)
            .sign(HS384, input.as_bytes())
            .unwrap())
    );
    for bad in [tampered_claims, truncated, other_key, hs384_mac] {
        let err = v.verify(bad.as_bytes(), NOW).unwrap_err();
        assert_eq!(err.code(), "signature", "{bad}");
        assert_eq!(
            err.to_string(),
            "HS256 signature does not verify with any of 1 candidate key(s)"
        );
    }
}

#[test]
fn every_mutation_of_a_valid_token_is_rejected() {
    // A deterministic fuzz over byte flips, truncations and insertions: the
    // strict base64url decoding makes every distinct string a distinct token.
    for key in [hs_key(), key("p256.pkcs8.pem"), key("ed25519.pkcs8.pem")] {
        let alg = key.default_sign_algorithm().unwrap();
        let header = format!(r#"{{"alg":"{alg}"}}"#);
        let token = signed(&key, alg, &header, &claims_exp(NOW + 60)).into_bytes();
        let v = verifier(&[key], VerifyPolicy::default());
        assert!(v.verify(&token, NOW).is_ok());
        for i in 0..token.len() {
            for flip in [0x01u8, 0x02, 0x20, 0x40, 0x80] {
                let mut mutated = token.clone();
                mutated[i] ^= flip;
                assert!(v.verify(&mutated, NOW).is_err(), "flip {flip:#x} at {i}");
            }
            assert!(v.verify(&token[..i], NOW).is_err(), "prefix {i}");
            let mut inserted = token.clone();
            inserted.insert(i, b'A');
            assert!(v.verify(&inserted, NOW).is_err(), "insert at {i}");
        }
    }
}

// ---- algorithm confusion ----------------------------------------------------------------

#[test]
fn rs256_public_key_used_as_hs256_secret_is_refused() {
    // The classic attack: sign HS256 with the RSA public key's PEM bytes as
    // the HMAC secret, hoping the verifier feeds its RSA key to HMAC.
    let public_pem = fixture("rsa2048.spki.pem");
    let rsa = key("rsa2048.spki.pem");
    let forged = {
        let input = format!("{}.{}", b64(HS), b64(claims_exp(NOW + 60)));
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_pem),
            input.as_bytes(),
        );
        format!("{input}.{}", b64(mac.as_ref()))
    };
    // 1. Ring with only the RSA key: HS256 is not even an allowed algorithm.
    let v = verifier(std::slice::from_ref(&rsa), VerifyPolicy::default());
    assert_eq!(
        v.allowed_algorithms(),
        [RS256, RS384, RS512, PS256, PS384, PS512]
    );
    let err = v.verify(forged.as_bytes(), NOW).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Algorithm(AlgorithmRejected::NotAllowed(HS256))
    ));
    // 2. An allow-list naming HS256 cannot be configured with only an RSA key.
    let both = VerifyPolicy {
        algorithms: Some(vec![HS256, RS256]),
        ..Default::default()
    };
    assert!(matches!(
        Verifier::new(both, ring(std::slice::from_ref(&rsa)), 0),
        Err(PolicyError::AlgorithmWithoutKey { alg: HS256, .. })
    ));
    // 3. Ring with the RSA key and an unrelated secret: HS256 is allowed, but
    //    only the secret is tried, never the RSA key.
    let v = verifier(&[rsa.clone(), hs_key()], VerifyPolicy::default());
    let err = v.verify(forged.as_bytes(), NOW).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Signature {
                alg: HS256,
                tried: 1
            }
        ),
        "{err}"
    );
    // 4. The same with a kid pointing at the RSA key.
    let mut ring = KeyRing::new();
    ring.extend(load_keys(&public_pem, Some("rsa")).unwrap());
    ring.push(hs_key());
    let v = Verifier::new(VerifyPolicy::default(), ring, 0).unwrap();
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"HS256","kid":"rsa"}"#),
        b64(claims_exp(NOW + 60))
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public_pem),
        input.as_bytes(),
    );
    let forged = format!("{input}.{}", b64(mac.as_ref()));
    let err = v.verify(forged.as_bytes(), NOW).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Key(NoKey::KidCannotVerify { alg: HS256, .. })
        ),
        "{err}"
    );
    // 5. The same attack with the JWK text and with the DER bytes.
    let der = {
        use base64::Engine as _;
        let body: String = String::from_utf8(public_pem.clone())
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    for secret_bytes in [fixture("rsa2048.public.jwk"), der] {
        let input = format!("{}.{}", b64(HS), b64(claims_exp(NOW + 60)));
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret_bytes),
            input.as_bytes(),
        );
        let forged = format!("{input}.{}", b64(mac.as_ref()));
        let v = verifier(&[key("rsa2048.public.jwk")], VerifyPolicy::default());
        assert_eq!(verify_code(&v, &forged), "algorithm");
    }
}

#[test]
fn keys_embedded_in_the_header_are_never_used() {
    // RFC 7515 "jwk"/"jku"/"x5c" header parameters name a key; trusting them
    // would let the attacker pick the key. Only configured keys are tried.
    let attacker = key("p256.pkcs8.pem");
    let attacker_jwk: serde_json::Value =
        serde_json::from_slice(&fixture("p256.public.jwk")).unwrap();
    let header = serde_json::json!({
        "alg": "ES256", "jwk": attacker_jwk, "jku": "https://evil/jwks", "x5u": "https://evil/x5u"
    })
    .to_string();
    let token = signed(&attacker, ES256, &header, &claims_exp(NOW + 60));
    let v = verifier(&[generated_key("P-256")], VerifyPolicy::default());
    assert_eq!(verify_code(&v, &token), "signature");
}

#[test]
fn an_hmac_secret_never_verifies_asymmetric_algorithms() {
    let hs = secret(64, b'q', None);
    let rsa_private = key("rsa2048.pkcs8.pem");
    let ec_private = key("p256.pkcs8.pem");
    let ed_private = key("ed25519.pkcs8.pem");
    let v = verifier(
        &[
            hs.clone(),
            key("rsa2048.spki.pem"),
            key("p256.spki.pem"),
            key("ed25519.spki.pem"),
        ],
        VerifyPolicy::default(),
    );
    // Genuine tokens of each family verify...
    for (k, alg) in [
        (&rsa_private, RS256),
        (&rsa_private, PS512),
        (&ec_private, ES256),
        (&ed_private, EdDSA),
        (&hs, HS512),
    ] {
        let token = signed(
            k,
            alg,
            &format!(r#"{{"alg":"{alg}"}}"#),
            &claims_exp(NOW + 9),
        );
        assert_eq!(verify_code(&v, &token), "ok", "{alg}");
    }
    // ...and an HMAC over the same input, labelled as an asymmetric alg, does not.
    for alg in [RS256, PS256, ES256, EdDSA] {
        let header = format!(r#"{{"alg":"{alg}"}}"#);
        let input = format!("{}.{}", b64(&header), b64(claims_exp(NOW + 9)));
        let mac = hs.sign(HS256, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64(mac));
        assert_eq!(verify_code(&v, &token), "signature", "{alg}");
    }
    // An ES256 signature relabelled HS256 fails too.
    let es = signed(
        &ec_private,
        ES256,
        r#"{"alg":"HS256"}"#,
        &claims_exp(NOW + 9),
    );
    assert_eq!(verify_code(&v, &es), "signature");
}

// ---- time ---------------------------------------------------------------------------------

#[test]
fn expiry_with_and_without_leeway() {
    let key = hs_key();
    let token = signed(&key, HS256, HS, &claims_exp(NOW));
    let strict = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    assert_eq!(code(strict.verify(token.as_bytes(), NOW - 1)), "ok");
    let err = strict.verify(token.as_bytes(), NOW).unwrap_err();
    assert_eq!(err.code(), "expired");
    let err = strict.verify(token.as_bytes(), NOW + 100).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token expired at 1700000000, now 1700000100, leeway 0s"
    );

    let lenient = verifier(
        &[key],
        VerifyPolicy {
            leeway: 30,
            ..Default::default()
        },
    );
    assert_eq!(code(lenient.verify(token.as_bytes(), NOW + 29)), "ok");
    let err = lenient.verify(token.as_bytes(), NOW + 30).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token expired at 1700000000, now 1700000030, leeway 30s"
    );
}

#[test]
fn odd_exp_values_do_not_panic() {
    let key = hs_key();
    let v = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    for (exp, expected, expires_at) in [
        ("1700000000.5", "ok", Some(NOW)),
        ("1699999999.5", "expired", None),
        ("-5", "expired", None),
        ("0", "expired", None),
        ("1e300", "ok", Some(u64::MAX)),
        ("18446744073709551615", "ok", Some(u64::MAX)),
        ("99999999999999999999999", "ok", Some(u64::MAX)),
    ] {
        let token = signed(&key, HS256, HS, &format!(r#"{{"exp":{exp}}}"#));
        let result = v.verify(token.as_bytes(), NOW);
        assert_eq!(code(result), expected, "{exp}");
        if let Some(at) = expires_at {
            assert_eq!(
                v.verify(token.as_bytes(), NOW).unwrap().expires_at(),
                Some(at),
                "{exp}"
            );
        }
    }
    let token = signed(&key, HS256, HS, r#"{"exp":1e300}"#);
    assert_eq!(code(v.verify(token.as_bytes(), u64::MAX)), "ok");
    let token = signed(&key, HS256, HS, &claims_exp(NOW));
    let leeway = verifier(
        &[key],
        VerifyPolicy {
            leeway: u64::MAX,
            ..Default::default()
        },
    );
    assert_eq!(code(leeway.verify(token.as_bytes(), u64::MAX)), "ok");
}

#[test]
fn not_before_with_and_without_leeway() {
    let key = hs_key();
    let claims = format!(r#"{{"exp":{},"nbf":{}}}"#, NOW + 1000, NOW + 100);
    let token = signed(&key, HS256, HS, &claims);
    let strict = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    assert_eq!(code(strict.verify(token.as_bytes(), NOW + 100)), "ok");
    let err = strict.verify(token.as_bytes(), NOW + 99).unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
    assert_eq!(
        err.to_string(),
        "token not valid before 1700000100, now 1700000099, leeway 0s"
    );
    let lenient = verifier(
        std::slice::from_ref(&key),
        VerifyPolicy {
            leeway: 10,
            ..Default::default()
        },
    );
    assert_eq!(code(lenient.verify(token.as_bytes(), NOW + 90)), "ok");
    assert_eq!(
        code(lenient.verify(token.as_bytes(), NOW + 89)),
        "not_yet_valid"
    );
    // Past-or-present and odd nbf values.
    for nbf in ["-1", "0", "1700000000", "1.5"] {
        let claims = format!(r#"{{"exp":{},"nbf":{nbf}}}"#, NOW + 10);
        assert_eq!(
            code(strict.verify(signed(&key, HS256, HS, &claims).as_bytes(), NOW)),
            "ok"
        );
    }
}

// ---- issuer and audience ------------------------------------------------------------------

#[test]
fn issuer_must_match_exactly() {
    let key = hs_key();
    let policy = VerifyPolicy {
        issuer: Some("https://idp".into()),
        ..Default::default()
    };
    let v = verifier(std::slice::from_ref(&key), policy);
    let with = |iss: &str| {
        signed(
            &key,
            HS256,
            HS,
            &format!(r#"{{"exp":{},"iss":{iss}}}"#, NOW + 9),
        )
    };
    assert_eq!(verify_code(&v, &with("\"https://idp\"")), "ok");
    for bad in [
        "\"https://idp/\"",
        "\"HTTPS://IDP\"",
        "null",
        "[\"https://idp\"]",
        "1",
    ] {
        assert_eq!(verify_code(&v, &with(bad)), "issuer", "{bad}");
    }
    let err = v.verify(with("\"evil\"").as_bytes(), NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token issuer is \"evil\", expected \"https://idp\""
    );
    let none = signed(&key, HS256, HS, &claims_exp(NOW + 9));
    let err = v.verify(none.as_bytes(), NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token issuer is absent, expected \"https://idp\""
    );
}

#[test]
fn audience_string_or_array() {
    let key = hs_key();
    let policy = VerifyPolicy {
        audiences: vec!["api".into(), "web".into()],
        ..Default::default()
    };
    let v = verifier(std::slice::from_ref(&key), policy);
    let with = |aud: &str| {
        signed(
            &key,
            HS256,
            HS,
            &format!(r#"{{"exp":{},"aud":{aud}}}"#, NOW + 9),
        )
    };
    for good in ["\"api\"", "\"web\"", "[\"x\",\"web\"]", "[1,\"api\"]"] {
        assert_eq!(verify_code(&v, &with(good)), "ok", "{good}");
    }
    for bad in [
        "\"API\"",
        "\"apis\"",
        "[]",
        "[\"x\"]",
        "null",
        "1",
        "{\"api\":1}",
        "[[\"api\"]]",
    ] {
        assert_eq!(verify_code(&v, &with(bad)), "audience", "{bad}");
    }
    let err = v.verify(with("[\"a\",2]").as_bytes(), NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token audience [\"a\", (not a string)] names none of the accepted audiences [\"api\", \"web\"]"
    );
    let missing = signed(&key, HS256, HS, &claims_exp(NOW + 9));
    assert_eq!(verify_code(&v, &missing), "audience");
    // Without configured audiences, aud is not checked at all.
    let open = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    assert_eq!(verify_code(&open, &with("\"anything\"")), "ok");
    assert_eq!(verify_code(&open, &with("7")), "ok");
}

// ---- messages -------------------------------------------------------------------------------

#[test]
fn messages_quote_escape_and_cut_token_strings() {
    let v = hs_verifier();
    let long = "A".repeat(500);
    let token = unsigned(&format!(r#"{{"alg":"{long}"}}"#), &claims_exp(NOW), "AAAA");
    let err = v.verify(token.as_bytes(), NOW).unwrap_err().to_string();
    assert!(err.len() < 140, "{err}");
    assert!(err.contains(&format!("\"{}\"…", "A".repeat(64))), "{err}");
    let token = unsigned(r#"{"alg":"x\n\u001b[31mred"}"#, &claims_exp(NOW), "AAAA");
    let err = v.verify(token.as_bytes(), NOW).unwrap_err().to_string();
    assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
    assert!(err.contains(r#""x\n\u{1b}[31mred""#), "{err}");
}

#[test]
fn messages_never_contain_the_token() {
    let key = hs_key();
    let v = verifier(
        std::slice::from_ref(&key),
        VerifyPolicy {
            issuer: Some("i".into()),
            audiences: vec!["a".into()],
            ..Default::default()
        },
    );
    let tokens = [
        signed(&key, HS256, HS, &claims_exp(NOW - 1)),
        signed(&key, HS256, HS, r#"{"exp":1800000000,"iss":"i"}"#),
        signed(&key, HS256, HS, r#"{"exp":1800000000}"#),
        signed(&secret(32, 0, None), HS256, HS, &claims_exp(NOW + 1)),
        unsigned(HS, "{}", "AAAA"),
        "a.b".to_owned(),
    ];
    for token in tokens {
        let err = v.verify(token.as_bytes(), NOW).unwrap_err().to_string();
        for segment in token.split('.').filter(|s| s.len() > 3) {
            assert!(!err.contains(segment), "{err} contains {segment}");
        }
    }
}

#[test]
fn every_error_code_is_one_of_the_documented_set() {
    let documented = [
        "missing",
        "malformed",
        "too_large",
        "algorithm",
        "key",
        "signature",
        "expired",
        "not_yet_valid",
        "issuer",
        "audience",
        "crit",
        "typ",
        "revoked",
    ];
    let errors = [
        VerifyError::Missing,
        VerifyError::TooLarge { len: 2, max: 1 },
        VerifyError::Malformed(Malformed::Segments),
        VerifyError::Algorithm(AlgorithmRejected::NotAllowed(HS256)),
        VerifyError::Crit,
        VerifyError::Key(NoKey::NoKeyForAlgorithm(HS256)),
        VerifyError::Signature {
            alg: HS256,
            tried: 1,
        },
        VerifyError::Expired {
            exp: NumericDate(1.0),
            now: 2,
            leeway: 0,
        },
        VerifyError::NotYetValid {
            nbf: NumericDate(3.0),
            now: 2,
            leeway: 0,
        },
        VerifyError::Issuer {
            expected: "a".into(),
            found: "absent".into(),
        },
        VerifyError::Audience {
            expected: vec![],
            found: "absent".into(),
        },
        VerifyError::Type {
            expected: "\"at+jwt\"".into(),
            found: "absent".into(),
        },
        VerifyError::Revoked("jti \"a\" is in the revocation file".into()),
    ];
    let mut codes: Vec<&str> = errors.iter().map(VerifyError::code).collect();
    let mut documented = documented.to_vec();
    codes.sort_unstable();
    documented.sort_unstable();
    assert_eq!(codes, documented);
    assert_eq!(
        VerifyError::Key(NoKey::NoKeyForAlgorithm(ES256)).to_string(),
        "no configured key can verify ES256"
    );
    assert_eq!(
        VerifyError::Revoked("jti \"a\" is in the revocation file".into()).to_string(),
        "token revoked: jti \"a\" is in the revocation file"
    );
}

// ---- cache ------------------------------------------------------------------------------------

#[test]
fn cache_returns_the_same_token_and_rechecks_time() {
    let key = key("p256.pkcs8.pem");
    let token = signed(&key, ES256, r#"{"alg":"ES256"}"#, &claims_exp(NOW + 60));
    let cached = Verifier::new(
        VerifyPolicy::default(),
        ring(std::slice::from_ref(&key)),
        16,
    )
    .unwrap();
    let first = cached.verify(token.as_bytes(), NOW).unwrap();
    let second = cached.verify(token.as_bytes(), NOW + 59).unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    // Time is re-checked on a hit.
    assert_eq!(code(cached.verify(token.as_bytes(), NOW + 60)), "expired");
    assert!(Arc::ptr_eq(
        &first,
        &cached.verify(token.as_bytes(), NOW).unwrap()
    ));

    let uncached = Verifier::new(VerifyPolicy::default(), ring(&[key]), 0).unwrap();
    let a = uncached.verify(token.as_bytes(), NOW).unwrap();
    let b = uncached.verify(token.as_bytes(), NOW).unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
}

#[test]
fn cache_only_holds_verified_tokens_and_keys_on_exact_bytes() {
    let key = hs_key();
    let v = Verifier::new(VerifyPolicy::default(), ring(std::slice::from_ref(&key)), 8).unwrap();
    let good = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    assert_eq!(code(v.verify(good.as_bytes(), NOW)), "ok");
    // A forged token sharing the cached token's header and claims still fails.
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64([0u8; 32]));
    for _ in 0..3 {
        assert_eq!(code(v.verify(forged.as_bytes(), NOW)), "signature");
    }
    // A token that expired before it was ever verified is not cached, so it
    // cannot come back to life through the cache at an earlier `now`.
    let expired = signed(&key, HS256, HS, &claims_exp(NOW - 1));
    assert_eq!(code(v.verify(expired.as_bytes(), NOW)), "expired");
    assert_eq!(code(v.verify(expired.as_bytes(), NOW - 2)), "ok");
    assert_eq!(v.cache.as_ref().unwrap().len(), 2);
}

#[test]
fn cache_stays_bounded() {
    let key = hs_key();
    let v = Verifier::new(
        VerifyPolicy::default(),
        ring(std::slice::from_ref(&key)),
        10,
    )
    .unwrap();
    for i in 0..100 {
        let token = signed(
            &key,
            HS256,
            HS,
            &format!(r#"{{"exp":{},"i":{i}}}"#, NOW + 60),
        );
        assert_eq!(code(v.verify(token.as_bytes(), NOW)), "ok");
        assert!(v.cache.as_ref().unwrap().len() <= 10);
    }
}

#[test]
fn cache_use_is_reported() {
    let key = hs_key();
    let v = Verifier::new(VerifyPolicy::default(), ring(std::slice::from_ref(&key)), 8).unwrap();
    let token = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    let traced = |token: &[u8], now| {
        let (result, cache) = v.verify_traced(token, now);
        (code(result), cache)
    };
    assert_eq!(traced(token.as_bytes(), NOW), ("ok", CacheUse::Miss));
    assert_eq!(traced(token.as_bytes(), NOW), ("ok", CacheUse::Hit));
    // The lookup is reported whatever the result: a cached token that has since expired.
    assert_eq!(
        traced(token.as_bytes(), NOW + 60),
        ("expired", CacheUse::Hit)
    );
    // Refused before the lookup.
    assert_eq!(traced(b"", NOW), ("missing", CacheUse::Off));
    let huge = "a".repeat(v.policy().max_token_len + 1);
    assert_eq!(traced(huge.as_bytes(), NOW), ("too_large", CacheUse::Off));
    // Looked up, not found, refused: never cached, so a miss every time.
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64([0u8; 32]));
    for _ in 0..2 {
        assert_eq!(
            traced(forged.as_bytes(), NOW),
            ("signature", CacheUse::Miss)
        );
    }
    assert_eq!(traced(b"not a token", NOW), ("malformed", CacheUse::Miss));

    // Without a cache, every verification is Off.
    let off = Verifier::new(VerifyPolicy::default(), ring(&[key]), 0).unwrap();
    for _ in 0..2 {
        let (result, cache) = off.verify_traced(token.as_bytes(), NOW);
        assert_eq!((code(result), cache), ("ok", CacheUse::Off));
    }
}

#[test]
fn verify_is_verify_traced_without_the_cache_use() {
    let key = hs_key();
    let v = Verifier::new(VerifyPolicy::default(), ring(std::slice::from_ref(&key)), 8).unwrap();
    let token = signed(&key, HS256, HS, &claims_exp(NOW + 60));
    let first = v.verify(token.as_bytes(), NOW).unwrap();
    let (traced, cache) = v.verify_traced(token.as_bytes(), NOW);
    assert_eq!(cache, CacheUse::Hit, "verify filled the cache");
    assert!(Arc::ptr_eq(&first, &traced.unwrap()));
    for now in [NOW - 1_000, NOW + 59, NOW + 60] {
        assert_eq!(
            code(v.verify(token.as_bytes(), now)),
            code(v.verify_traced(token.as_bytes(), now).0),
            "{now}"
        );
    }
}

#[test]
fn verifier_and_tokens_are_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Verifier>();
    shareable::<VerifiedToken>();
    shareable::<Arc<VerifiedToken>>();
    shareable::<VerifyError>();
    shareable::<PolicyError>();
}

// ---- typ (RFC 9068 access tokens) ---------------------------------------------------------

fn typ_verifier(typ: &str) -> (Key, Verifier) {
    let key = hs_key();
    let policy = VerifyPolicy {
        typ: Some(typ.into()),
        ..Default::default()
    };
    let v = verifier(std::slice::from_ref(&key), policy);
    (key, v)
}

fn typ_token(key: &Key, typ: Option<serde_json::Value>) -> String {
    let mut header = serde_json::json!({"alg": "HS256"});
    if let Some(typ) = typ {
        header["typ"] = typ;
    }
    signed(key, HS256, &header.to_string(), &claims_exp(NOW + 60))
}

#[test]
fn typ_is_compared_as_a_media_type() {
    let (key, v) = typ_verifier("at+jwt");
    for typ in [
        "at+jwt",
        "AT+JWT",
        "At+Jwt",
        "application/at+jwt",
        "APPLICATION/at+JWT",
    ] {
        let token = typ_token(&key, Some(typ.into()));
        assert_eq!(verify_code(&v, &token), "ok", "{typ}");
    }
    for typ in [
        "JWT",
        "at+jwt2",
        "jwt+at",
        "",
        "text/at+jwt",
        "application/application/at+jwt",
        " at+jwt",
        "application/ at+jwt",
    ] {
        let token = typ_token(&key, Some(typ.into()));
        assert_eq!(verify_code(&v, &token), "typ", "{typ}");
    }
    for typ in [
        serde_json::json!(null),
        serde_json::json!(1),
        serde_json::json!(["at+jwt"]),
    ] {
        let token = typ_token(&key, Some(typ.clone()));
        assert_eq!(verify_code(&v, &token), "typ", "{typ}");
    }
    assert_eq!(verify_code(&v, &typ_token(&key, None)), "typ");

    // Configured with the prefix, the short form matches too.
    let (key, v) = typ_verifier("application/at+jwt");
    assert_eq!(
        verify_code(&v, &typ_token(&key, Some("at+jwt".into()))),
        "ok"
    );
    assert_eq!(
        verify_code(&v, &typ_token(&key, Some("AT+JWT".into()))),
        "ok"
    );
    assert_eq!(verify_code(&v, &typ_token(&key, Some("jwt".into()))), "typ");
    // A value with its own '/' is a type of its own.
    let (key, v) = typ_verifier("example/at+jwt");
    assert_eq!(
        verify_code(&v, &typ_token(&key, Some("example/AT+JWT".into()))),
        "ok"
    );
    assert_eq!(
        verify_code(&v, &typ_token(&key, Some("at+jwt".into()))),
        "typ"
    );

    // Not checked without a policy value.
    let key = hs_key();
    let v = verifier(std::slice::from_ref(&key), VerifyPolicy::default());
    assert_eq!(verify_code(&v, &typ_token(&key, None)), "ok");
    assert_eq!(verify_code(&v, &typ_token(&key, Some(7.into()))), "ok");
}

#[test]
fn typ_messages_quote_both_values() {
    let (key, v) = typ_verifier("at+jwt");
    let err = |typ| v.verify(typ_token(&key, typ).as_bytes(), NOW).unwrap_err();
    let e = err(Some("JWT".into()));
    assert!(
        matches!(&e, VerifyError::Type { expected, found } if expected == "\"at+jwt\"" && found == "\"JWT\"")
    );
    assert_eq!(
        e.to_string(),
        r#"token header "typ" is "JWT", expected "at+jwt""#
    );
    assert_eq!(
        err(None).to_string(),
        r#"token header "typ" is absent, expected "at+jwt""#
    );
    assert_eq!(
        err(Some(5.into())).to_string(),
        r#"token header "typ" is a number, expected "at+jwt""#
    );
    let long = format!("{}\n", "x".repeat(80));
    let message = err(Some(long.into())).to_string();
    assert!(
        message.contains(&format!("\"{}\"…", "x".repeat(64))),
        "{message}"
    );
    assert!(!message.contains('\n'));
}

#[test]
fn typ_is_judged_after_the_signature() {
    let (key, v) = typ_verifier("at+jwt");
    let token = typ_token(&key, Some("JWT".into()));
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64([0u8; 32]));
    assert_eq!(verify_code(&v, &forged), "signature");
    // ...and before the claims: an ID token is refused as such, whatever its
    // claims say.
    let no_exp = signed(
        &key,
        HS256,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"sub":"a"}"#,
    );
    assert_eq!(verify_code(&v, &no_exp), "typ");
}

// ---- remote key sets --------------------------------------------------------------------

use crate::key::remote::tests::{provider_key, provider_set};
use crate::{RemoteKeySet, RemoteKeys};

fn remote_verifier(
    policy: VerifyPolicy,
    keys: &[Key],
    cache: usize,
) -> (Arc<RemoteKeys>, Verifier) {
    let remote = Arc::new(RemoteKeys::new());
    let v = Verifier::with_remote_keys(policy, ring(keys), cache, Arc::clone(&remote)).unwrap();
    (remote, v)
}

/// A token signed by a provider fixture's private key, with that key's kid.
fn provider_token(set: &RemoteKeySet, index: usize, private: &str, alg: Algorithm) -> String {
    let kid = set.keys()[index].kid().unwrap();
    let header = serde_json::json!({"alg": alg.name(), "typ": "JWT", "kid": kid}).to_string();
    signed(&provider_key(private), alg, &header, &claims_exp(NOW + 60))
}

fn remote_error(v: &Verifier, token: &str) -> VerifyError {
    v.verify(token.as_bytes(), NOW).unwrap_err()
}

#[test]
fn before_the_first_set_a_token_fails_with_not_fetched() {
    let (_, v) = remote_verifier(VerifyPolicy::default(), &[], 0);
    let google = provider_set("google.json");
    for alg_token in [
        provider_token(&google, 0, "google", RS256),
        signed(
            &provider_key("mixed-ec"),
            ES256,
            r#"{"alg":"ES256"}"#,
            &claims_exp(NOW + 60),
        ),
    ] {
        let err = remote_error(&v, &alg_token);
        assert_eq!(err.code(), "key");
        assert!(matches!(err, VerifyError::Key(NoKey::NotFetched)), "{err}");
        assert_eq!(
            err.to_string(),
            "no configured key fits the token and no remote key set has been fetched yet"
        );
        assert!(err.is_unknown_kid());
    }
    // A remote key is never a secret: HS* is not allowed without a key file secret.
    let hs = signed(&hs_key(), HS256, HS, &claims_exp(NOW + 60));
    assert_eq!(verify_code(&v, &hs), "algorithm");
    assert!(!remote_error(&v, &hs).is_unknown_kid());
}

#[test]
fn static_keys_still_verify_before_the_first_set() {
    let hs = secret(32, b'h', Some("local"));
    let (remote, v) = remote_verifier(VerifyPolicy::default(), std::slice::from_ref(&hs), 0);
    let token = signed(
        &hs,
        HS256,
        r#"{"alg":"HS256","kid":"local"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &token), "ok");
    let google = provider_set("google.json");
    let rs = provider_token(&google, 1, "google-2", RS256);
    assert!(matches!(
        remote_error(&v, &rs),
        VerifyError::Key(NoKey::NotFetched)
    ));
    remote.install(google, 1);
    assert_eq!(verify_code(&v, &rs), "ok");
    assert_eq!(verify_code(&v, &token), "ok");
    assert_eq!(v.allowed_algorithms(), [HS256]);
}

#[test]
fn every_provider_set_verifies_its_tokens() {
    for (file, keys) in [
        ("keycloak.json", &["keycloak"][..]),
        ("auth0.json", &["auth0", "auth0-2"]),
        ("entra.json", &["entra", "entra-2"]),
        ("cognito.json", &["cognito", "cognito-2"]),
        ("google.json", &["google", "google-2"]),
    ] {
        let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 16);
        remote.install(provider_set(file), 1);
        let set = remote.current().unwrap();
        for (index, private) in keys.iter().enumerate() {
            let token = provider_token(&set, index, private, RS256);
            let verified = v.verify(token.as_bytes(), NOW).unwrap();
            assert_eq!(verified.algorithm(), RS256, "{file}");
            // The other key of the set has another kid: a swapped kid fails.
            let other = set.keys()[(index + 1) % set.len()].kid().unwrap();
            let swapped = signed(
                &provider_key(private),
                RS256,
                &serde_json::json!({"alg": "RS256", "kid": other}).to_string(),
                &claims_exp(NOW + 60),
            );
            let expected = if set.len() == 1 { "ok" } else { "signature" };
            assert_eq!(verify_code(&v, &swapped), expected, "{file}");
        }
    }
}

#[test]
fn an_unknown_kid_says_so_and_asks_for_a_refetch() {
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 0);
    remote.install(provider_set("auth0.json"), 1);
    let google = provider_set("google.json");
    let token = provider_token(&google, 0, "google", RS256);
    let err = remote_error(&v, &token);
    assert!(
        matches!(&err, VerifyError::Key(NoKey::UnknownKid(_))),
        "{err}"
    );
    assert!(err.is_unknown_kid());
    // After the provider's rotation is fetched, the same token verifies.
    remote.install(google, 2);
    assert_eq!(verify_code(&v, &token), "ok");

    // Other failures are not a reason to refetch.
    let auth0 = provider_set("auth0.json");
    remote.install(provider_set("auth0.json"), 3);
    let wrong_key = provider_token(&auth0, 0, "auth0-2", RS256);
    let err = remote_error(&v, &wrong_key);
    assert_eq!(err.code(), "signature");
    assert!(!err.is_unknown_kid());
    let no_kid = signed(
        &provider_key("google"),
        RS256,
        r#"{"alg":"RS256"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &no_kid), "signature");
    assert!(!remote_error(&v, &no_kid).is_unknown_kid());
    for err in [
        VerifyError::Missing,
        VerifyError::Key(NoKey::NoKeyForAlgorithm(RS256)),
        VerifyError::Key(NoKey::KidCannotVerify {
            kid: "\"k\"".into(),
            alg: RS256,
        }),
    ] {
        assert!(!err.is_unknown_kid(), "{err}");
    }
}

#[test]
fn without_jwt_algorithms_the_current_keys_decide() {
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 0);
    remote.install(provider_set("google.json"), 1);
    let ec = signed(
        &provider_key("mixed-ec"),
        ES256,
        r#"{"alg":"ES256","kid":"mixed-ec"}"#,
        &claims_exp(NOW + 60),
    );
    // A key family the current set lacks: an unknown kid (a reason to refetch), not `algorithm`.
    assert_eq!(verify_code(&v, &ec), "key");
    remote.install(provider_set("mixed.json"), 2);
    assert_eq!(verify_code(&v, &ec), "ok");
    let ed = signed(
        &provider_key("mixed-ed25519"),
        EdDSA,
        r#"{"alg":"EdDSA","kid":"mixed-ed25519"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &ed), "ok");
    // The oct key of the mixed set was skipped: HS256 stays refused.
    let hs = signed(
        &hs_key(),
        HS256,
        r#"{"alg":"HS256","kid":"mixed-oct"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &hs), "algorithm");
    assert!(v.allowed_algorithms().is_empty());
}

#[test]
fn with_jwt_algorithms_only_hmac_needs_a_key_at_configuration_time() {
    let only = |algs: Vec<Algorithm>| VerifyPolicy {
        algorithms: Some(algs),
        ..Default::default()
    };
    let remote = Arc::new(RemoteKeys::new());
    let with = |policy, keys: &[Key]| {
        Verifier::with_remote_keys(policy, ring(keys), 0, Arc::clone(&remote))
    };
    let v = with(only(vec![RS256, PS512, ES384, EdDSA]), &[]).unwrap();
    assert_eq!(v.allowed_algorithms(), [RS256, PS512, ES384, EdDSA]);
    let err = with(only(vec![RS256, HS256]), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "jwt_algorithms lists HS256 but no jwt_key_file key can verify it; \
         add an HMAC secret of at least 32 bytes or remove HS256"
    );
    assert!(with(only(vec![HS512]), &[secret(48, 1, None)]).is_err());
    assert!(with(only(vec![HS384, RS256]), &[secret(48, 1, None)]).is_ok());
    assert!(matches!(
        with(only(vec![]), &[]),
        Err(PolicyError::NoAlgorithms)
    ));
    // An empty ring is fine here, and still refused by Verifier::new.
    assert!(with(VerifyPolicy::default(), &[]).is_ok());
    assert!(matches!(
        Verifier::new(VerifyPolicy::default(), KeyRing::new(), 0),
        Err(PolicyError::NoKeys)
    ));

    // A listed algorithm without a current key is a key problem, not an
    // algorithm one (and a reason to refetch when the kid is new).
    let v = with(only(vec![RS256, ES256]), &[]).unwrap();
    remote.install(provider_set("google.json"), 1);
    let ec = signed(
        &provider_key("mixed-ec"),
        ES256,
        r#"{"alg":"ES256","kid":"mixed-ec"}"#,
        &claims_exp(NOW + 60),
    );
    assert!(remote_error(&v, &ec).is_unknown_kid());
    let ps = signed(
        &provider_key("google"),
        PS256,
        r#"{"alg":"PS256"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &ps), "algorithm");
}

#[test]
fn an_rsa_key_without_alg_verifies_rs256_and_the_listed_rsa_algorithms() {
    let entra = provider_set("entra.json");
    let kid = entra.keys()[0].kid().unwrap().to_owned();
    let token = |alg: Algorithm| {
        signed(
            &provider_key("entra"),
            alg,
            &serde_json::json!({"alg": alg.name(), "kid": kid}).to_string(),
            &claims_exp(NOW + 60),
        )
    };
    let run = |algorithms: Option<Vec<Algorithm>>| {
        let (remote, v) = remote_verifier(
            VerifyPolicy {
                algorithms,
                ..Default::default()
            },
            &[],
            0,
        );
        remote.install(provider_set("entra.json"), 1);
        [RS256, RS384, RS512, PS256, PS384, PS512].map(|alg| verify_code(&v, &token(alg)))
    };
    assert_eq!(
        run(None),
        // Without a list, the other RSA algorithms reach the key step, where the key cannot
        // serve them (`key`).
        ["ok", "key", "key", "key", "key", "key"]
    );
    assert_eq!(
        run(Some(vec![RS256])),
        [
            "ok",
            "algorithm",
            "algorithm",
            "algorithm",
            "algorithm",
            "algorithm"
        ]
    );
    assert_eq!(
        run(Some(vec![RS256, PS256, RS512])),
        ["ok", "algorithm", "ok", "ok", "algorithm", "algorithm"]
    );
    assert_eq!(
        run(Some(vec![PS384])),
        [
            "algorithm",
            "algorithm",
            "algorithm",
            "algorithm",
            "ok",
            "algorithm"
        ]
    );

    // A key that states its alg keeps to it, list or not.
    let (remote, v) = remote_verifier(
        VerifyPolicy {
            algorithms: Some(vec![RS256, PS256]),
            ..Default::default()
        },
        &[],
        0,
    );
    remote.install(provider_set("google.json"), 1);
    let google = provider_set("google.json");
    assert_eq!(
        verify_code(&v, &provider_token(&google, 0, "google", RS256)),
        "ok"
    );
    let err = remote_error(&v, &provider_token(&google, 0, "google", PS256));
    assert!(
        matches!(err, VerifyError::Key(NoKey::KidCannotVerify { .. })),
        "{err}"
    );
    assert!(!err.is_unknown_kid());
}

#[test]
fn duplicate_kids_are_chosen_by_algorithm() {
    let public = |file: &str, alg: &str| {
        let mut jwk: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
        jwk["kid"] = "same".into();
        jwk["alg"] = alg.into();
        jwk
    };
    let set = crate::parse_remote_jwks(
        &serde_json::to_vec(&serde_json::json!({"keys": [
            public("p256.public.jwk", "ES256"),
            public("rsa2048.public.jwk", "PS256"),
        ]}))
        .unwrap(),
    )
    .unwrap();
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 0);
    remote.install(set, 1);
    for (file, alg) in [("p256.pkcs8.pem", ES256), ("rsa2048.pkcs8.pem", PS256)] {
        let header = format!(r#"{{"alg":"{alg}","kid":"same"}}"#);
        let token = signed(&key(file), alg, &header, &claims_exp(NOW + 60));
        assert_eq!(verify_code(&v, &token), "ok", "{alg}");
    }
}

#[test]
fn key_file_keys_come_first_and_share_the_kid_space() {
    let local = load_keys(&fixture("rsa2048.pkcs8.pem"), Some("shared")).unwrap();
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &local, 0);
    let google = provider_set("google.json");
    remote.install(google.clone(), 1);
    let mine = signed(
        &local[0],
        PS256,
        r#"{"alg":"PS256","kid":"shared"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &mine), "ok");
    assert_eq!(
        verify_code(&v, &provider_token(&google, 1, "google-2", RS256)),
        "ok"
    );
    // Without kid every candidate is tried: key file, then remote.
    let no_kid = signed(
        &provider_key("google-2"),
        RS256,
        r#"{"alg":"RS256"}"#,
        &claims_exp(NOW + 60),
    );
    assert_eq!(verify_code(&v, &no_kid), "ok");
    let forged = signed(
        &generated_key("P-256"),
        ES256,
        r#"{"alg":"ES256"}"#,
        &claims_exp(NOW + 60),
    );
    // Without jwt_algorithms a remote verifier lets ES256 reach the key step: no key serves it.
    assert_eq!(verify_code(&v, &forged), "key");
    let rs = unsigned(
        r#"{"alg":"RS256"}"#,
        &claims_exp(NOW + 60),
        &b64([1u8; 256]),
    );
    assert!(matches!(
        remote_error(&v, &rs),
        VerifyError::Signature {
            alg: RS256,
            tried: 3
        }
    ));
}

#[test]
fn a_cached_token_is_re_verified_once_another_set_is_installed() {
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 64);
    let google = provider_set("google.json");
    let token = provider_token(&google, 0, "google", RS256);
    assert_eq!(verify_code(&v, &token), "key");
    remote.install(google, 1);
    let first = v.verify(token.as_bytes(), NOW).unwrap();
    let hit = v.verify(token.as_bytes(), NOW).unwrap();
    assert!(Arc::ptr_eq(&first, &hit), "a hit under the same set");

    // The provider withdrew the key: the cached token no longer passes.
    remote.install(provider_set("auth0.json"), 2);
    let (result, cache) = v.verify_traced(token.as_bytes(), NOW);
    assert!(result.unwrap_err().is_unknown_kid());
    assert_eq!(
        cache,
        CacheUse::Miss,
        "an entry of a replaced set is a miss"
    );
    assert_eq!(v.cache.as_ref().unwrap().len(), 0);

    // Re-installing a set (even the same generation) re-verifies once.
    remote.install(provider_set("google.json"), 2);
    let again = v.verify(token.as_bytes(), NOW).unwrap();
    assert!(!Arc::ptr_eq(&first, &again));
    remote.install(provider_set("google.json"), 2);
    let once_more = v.verify(token.as_bytes(), NOW).unwrap();
    assert!(!Arc::ptr_eq(&again, &once_more));
    assert!(Arc::ptr_eq(
        &once_more,
        &v.verify(token.as_bytes(), NOW).unwrap()
    ));
}

#[test]
fn a_verifier_with_remote_keys_is_shareable_and_debuggable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<RemoteKeys>();
    shareable::<Arc<RemoteKeys>>();
    let (remote, v) = remote_verifier(VerifyPolicy::default(), &[], 0);
    assert!(Arc::ptr_eq(v.remote_keys().unwrap(), &remote));
    assert!(hs_verifier().remote_keys().is_none());
    remote.install(provider_set("cognito.json"), 9);
    let debug = format!("{v:?}");
    assert!(debug.contains("generation: Some(9)"), "{debug}");
    std::thread::scope(|scope| {
        scope.spawn(|| remote.install(provider_set("google.json"), 10));
    });
    assert_eq!(remote.generation(), Some(10));
}
