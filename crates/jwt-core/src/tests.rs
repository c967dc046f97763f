//! Cross-cutting tests: the published RFC examples, interoperability with an
//! independent JWT implementation, and a micro-benchmark.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::test_support::{fixture, key, ring, signed};
use crate::*;

/// Before the RFC examples' `exp` (1300819380): their signatures can be
/// checked without "expired" masking the result.
const RFC_NOW: u64 = 1_300_819_000;

const RFC7515_CLAIMS: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

fn rfc_verifier(jwk: &str) -> Verifier {
    let keys = load_keys(jwk.as_bytes(), None).unwrap();
    Verifier::new(VerifyPolicy::default(), ring(&keys), 0).unwrap()
}

/// Checks the RFC 7515 example claims and the time rules around their exp.
fn assert_rfc7515_example(v: &Verifier, token: &str, alg: Algorithm) {
    let t = v.verify(token.as_bytes(), RFC_NOW).unwrap();
    assert_eq!(t.algorithm(), alg);
    assert_eq!(t.claim("iss").unwrap(), "joe");
    assert_eq!(t.claim("http://example.com/is_root").unwrap(), true);
    assert_eq!(t.expires_at(), Some(1_300_819_380));
    assert_eq!(
        t.payload_json(),
        r#"{"exp":1300819380,"http://example.com/is_root":true,"iss":"joe"}"#
    );
    assert!(v.verify(token.as_bytes(), 1_300_819_379).is_ok());
    assert_eq!(
        v.verify(token.as_bytes(), 1_300_819_380)
            .unwrap_err()
            .code(),
        "expired"
    );
    // One bit off in the signature's first byte.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    bytes[0] ^= 1;
    let tampered = format!("{input}.{}", crate::test_support::b64(bytes));
    assert_eq!(
        v.verify(tampered.as_bytes(), RFC_NOW).unwrap_err().code(),
        "signature"
    );
}

#[test]
fn rfc7515_a1_hs256() {
    let jwk = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    let token = format!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{RFC7515_CLAIMS}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
    let v = rfc_verifier(jwk);
    assert_rfc7515_example(&v, &token, Algorithm::HS256);
    assert_eq!(
        v.verify(token.as_bytes(), RFC_NOW)
            .unwrap()
            .header("typ")
            .unwrap(),
        "JWT"
    );
}

const RFC7515_A2_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB",
 "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
 "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
 "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
 "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
 "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
 "qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"}"#;

const RFC7515_A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

#[test]
fn rfc7515_a2_rs256() {
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_CLAIMS}.{RFC7515_A2_SIGNATURE}");
    let v = rfc_verifier(RFC7515_A2_JWK);
    assert_rfc7515_example(&v, &token, Algorithm::RS256);
    // RSASSA-PKCS1-v1_5 is deterministic: the private key reproduces the
    // published signature byte for byte.
    let key = load_keys(RFC7515_A2_JWK.as_bytes(), None)
        .unwrap()
        .remove(0);
    assert_eq!(key.describe(), "RSA-2048 private key");
    let input = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_CLAIMS}");
    let signature = key.sign(Algorithm::RS256, input.as_bytes()).unwrap();
    assert_eq!(crate::test_support::b64(signature), RFC7515_A2_SIGNATURE);
    // The public half alone verifies too.
    let public = r#"{"kty":"RSA","kid":"2011-04-29","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#;
    assert!(rfc_verifier(public)
        .verify(token.as_bytes(), RFC_NOW)
        .is_ok());
}

#[test]
fn rfc7515_a3_es256() {
    let jwk = r#"{"kty":"EC","crv":"P-256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
    let token = format!(
        "eyJhbGciOiJFUzI1NiJ9.{RFC7515_CLAIMS}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    assert_rfc7515_example(&rfc_verifier(jwk), &token, Algorithm::ES256);
}

#[test]
fn rfc7515_a4_es512() {
    // The payload is the text "Payload", not a claims set: the signature is
    // checked at the key level, and the Verifier rejects the token as a JWT.
    let jwk = r#"{"kty":"EC","crv":"P-521",
        "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
        "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
        "d":"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C"}"#;
    let signature = "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
    let key = load_keys(jwk.as_bytes(), None).unwrap().remove(0);
    assert_eq!(key.describe(), "EC P-521 private key");
    let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
        .unwrap();
    assert_eq!(sig.len(), 132);
    assert!(key.verify_signature(Algorithm::ES512, b"eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA", &sig));
    assert!(!key.verify_signature(Algorithm::ES512, b"eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZB", &sig));
    let token = format!("eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.{signature}");
    let err = rfc_verifier(jwk)
        .verify(token.as_bytes(), RFC_NOW)
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Malformed(Malformed::Json(Part::Claims))),
        "{err}"
    );
}

#[test]
fn rfc8037_a4_eddsa() {
    let jwk = r#"{"kty":"OKP","crv":"Ed25519",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let signature =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let key = load_keys(jwk.as_bytes(), None).unwrap().remove(0);
    assert_eq!(key.describe(), "Ed25519 private key");
    // Ed25519 is deterministic: signing reproduces RFC 8037 A.4 exactly...
    let ours = key.sign(Algorithm::EdDSA, input).unwrap();
    assert_eq!(crate::test_support::b64(&ours), signature);
    // ...and the public key (A.2) verifies it (A.5).
    let public =
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let public = load_keys(public.as_bytes(), None).unwrap().remove(0);
    assert!(public.verify_signature(Algorithm::EdDSA, input, &ours));
    // The payload is not a claims set, so it is no JWT.
    let token = format!("{}.{signature}", std::str::from_utf8(input).unwrap());
    let v = Verifier::new(
        VerifyPolicy::default(),
        ring(std::slice::from_ref(&public)),
        0,
    )
    .unwrap();
    assert_eq!(
        v.verify(token.as_bytes(), RFC_NOW).unwrap_err().code(),
        "malformed"
    );
    // A JWT signed with the RFC key verifies with the RFC public key.
    let jwt = signed(
        &key,
        Algorithm::EdDSA,
        r#"{"alg":"EdDSA"}"#,
        r#"{"sub":"rfc8037","exp":1300819380}"#,
    );
    assert!(v.verify(jwt.as_bytes(), RFC_NOW).is_ok());
}

// ---- interoperability with the jsonwebtoken crate ----------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn tokens_from_jsonwebtoken_verify_here() {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let now = unix_now();
    let claims = serde_json::json!({"sub": "interop", "exp": now + 600});
    let cases: Vec<(jsonwebtoken::Algorithm, EncodingKey, &str)> = vec![
        (
            jsonwebtoken::Algorithm::HS256,
            EncodingKey::from_secret(&[7u8; 32]),
            "secret",
        ),
        (
            jsonwebtoken::Algorithm::HS512,
            EncodingKey::from_secret(&[7u8; 64]),
            "secret64",
        ),
        (
            jsonwebtoken::Algorithm::RS256,
            EncodingKey::from_rsa_pem(&fixture("rsa2048.pkcs8.pem")).unwrap(),
            "rsa2048.spki.pem",
        ),
        (
            jsonwebtoken::Algorithm::PS384,
            EncodingKey::from_rsa_pem(&fixture("rsa2048.pkcs1.pem")).unwrap(),
            "rsa2048.public.jwk",
        ),
        (
            jsonwebtoken::Algorithm::ES256,
            EncodingKey::from_ec_pem(&fixture("p256.pkcs8.pem")).unwrap(),
            "p256.cert.pem",
        ),
        (
            jsonwebtoken::Algorithm::ES384,
            EncodingKey::from_ec_pem(&fixture("p384.pkcs8.pem")).unwrap(),
            "p384.public.jwk",
        ),
        (
            jsonwebtoken::Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&fixture("ed25519.pkcs8.pem")).unwrap(),
            "ed25519.spki.pem",
        ),
    ];
    for (alg, encoding, verifying) in cases {
        let token = encode(&Header::new(alg), &claims, &encoding).unwrap();
        let key = match verifying {
            "secret" => load_keys(&[7u8; 32], None).unwrap().remove(0),
            "secret64" => load_keys(&[7u8; 64], None).unwrap().remove(0),
            file => key(file),
        };
        let v = Verifier::new(VerifyPolicy::default(), ring(&[key]), 0).unwrap();
        let t = v
            .verify(token.as_bytes(), now)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(t.claim("sub").unwrap(), "interop");
    }
}

#[test]
fn tokens_issued_here_verify_with_jsonwebtoken() {
    use jsonwebtoken::{decode, DecodingKey, Validation};
    let now = unix_now();
    let cases: Vec<(Key, jsonwebtoken::Algorithm, DecodingKey)> = vec![
        (
            load_keys(&[9u8; 48], None).unwrap().remove(0),
            jsonwebtoken::Algorithm::HS256,
            DecodingKey::from_secret(&[9u8; 48]),
        ),
        (
            key("rsa2048.private.jwk"),
            jsonwebtoken::Algorithm::RS256,
            DecodingKey::from_rsa_pem(&fixture("rsa2048.spki.pem")).unwrap(),
        ),
        (
            key("p256.sec1.pem"),
            jsonwebtoken::Algorithm::ES256,
            DecodingKey::from_ec_pem(&fixture("p256.spki.pem")).unwrap(),
        ),
        (
            key("p384.private.jwk"),
            jsonwebtoken::Algorithm::ES384,
            DecodingKey::from_ec_pem(&fixture("p384.spki.pem")).unwrap(),
        ),
        (
            key("ed25519.private.jwk"),
            jsonwebtoken::Algorithm::EdDSA,
            DecodingKey::from_ed_pem(&fixture("ed25519.spki.pem")).unwrap(),
        ),
    ];
    for (key, alg, decoding) in cases {
        let signer = Signer::new(&ring(&[key]), None).unwrap();
        let issued = signer
            .issue(br#"{"sub":"interop"}"#, &IssuePolicy::default(), now)
            .unwrap();
        let data = decode::<serde_json::Value>(&issued.token, &decoding, &Validation::new(alg))
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(data.claims["sub"], "interop");
        assert_eq!(data.claims["exp"], now + 3600);
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));
    }
    // PS256 with jsonwebtoken verifying.
    let signer = Signer::new(&ring(&[key("rsa2048.pkcs8.pem")]), Some(Algorithm::PS256)).unwrap();
    let issued = signer.issue(b"{}", &IssuePolicy::default(), now).unwrap();
    let decoding = DecodingKey::from_rsa_pem(&fixture("rsa2048.spki.pem")).unwrap();
    assert!(decode::<serde_json::Value>(
        &issued.token,
        &decoding,
        &Validation::new(jsonwebtoken::Algorithm::PS256)
    )
    .is_ok());
}

// ---- micro-benchmark ------------------------------------------------------------------

/// Nanoseconds per call of `f`, best of 5 rounds of `n` calls.
fn ns_per_call(n: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

/// `cargo test --release -p jwt-core -- --ignored --nocapture bench`
#[test]
#[ignore = "micro-benchmark: run explicitly with --ignored --nocapture"]
fn bench_verify() {
    use std::hint::black_box;
    let now = unix_now();
    let claims = format!(
        r#"{{"sub":"1234567890","name":"John Doe","iss":"https://idp.example.com","aud":"api","iat":{now},"exp":{},"scope":"read write","realm_access":{{"roles":["admin","user"]}}}}"#,
        now + 3600
    );
    let cases = [
        (
            "HS256",
            load_keys(&[1u8; 32], None).unwrap().remove(0),
            Algorithm::HS256,
            200_000,
        ),
        ("RS256", key("rsa2048.pkcs8.pem"), Algorithm::RS256, 5_000),
        ("ES256", key("p256.pkcs8.pem"), Algorithm::ES256, 5_000),
        ("EdDSA", key("ed25519.pkcs8.pem"), Algorithm::EdDSA, 5_000),
    ];
    println!();
    for (name, key, alg, n) in cases {
        let token = signed(
            &key,
            alg,
            &format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            &claims,
        );
        let policy = VerifyPolicy {
            issuer: Some("https://idp.example.com".into()),
            audiences: vec!["api".into()],
            ..Default::default()
        };
        let cold = Verifier::new(policy.clone(), ring(std::slice::from_ref(&key)), 0).unwrap();
        let cached = Verifier::new(policy, ring(std::slice::from_ref(&key)), 1024).unwrap();
        assert!(cold.verify(token.as_bytes(), now).is_ok());
        let t_cold = ns_per_call(n, || {
            black_box(cold.verify(black_box(token.as_bytes()), now).is_ok());
        });
        let t_cached = ns_per_call(200_000, || {
            black_box(cached.verify(black_box(token.as_bytes()), now).is_ok());
        });
        // The signature alone (the crypto library's floor for an uncached verification).
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .unwrap();
        let t_signature = ns_per_call(n, || {
            black_box(key.verify_signature(alg, black_box(signing_input.as_bytes()), &signature));
        });
        println!(
            "{name}: {} B token: cold {t_cold:>8.0} ns/verify (signature alone {t_signature:>8.0}), \
             cached {t_cached:>5.0} ns/verify",
            token.len()
        );
    }

    // Baseline: jsonwebtoken::decode (parses keys and re-derives the HMAC key
    // on every call) for the same HS256 and ES256 tokens.
    use jsonwebtoken::{decode, DecodingKey, Validation};
    let hs = load_keys(&[1u8; 32], None).unwrap().remove(0);
    let token = signed(
        &hs,
        Algorithm::HS256,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims,
    );
    let key = DecodingKey::from_secret(&[1u8; 32]);
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["api"]);
    let t = ns_per_call(200_000, || {
        black_box(decode::<serde_json::Value>(black_box(&token), &key, &validation).is_ok());
    });
    println!("jsonwebtoken::decode HS256 (baseline): {t:>8.0} ns/verify");
    let es = key_es256();
    let token = signed(
        &es,
        Algorithm::ES256,
        r#"{"alg":"ES256","typ":"JWT"}"#,
        &claims,
    );
    let key = DecodingKey::from_ec_pem(&fixture("p256.spki.pem")).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["api"]);
    let t = ns_per_call(5_000, || {
        black_box(decode::<serde_json::Value>(black_box(&token), &key, &validation).is_ok());
    });
    println!("jsonwebtoken::decode ES256 (baseline): {t:>8.0} ns/verify");

    // Issuance.
    let signer = Signer::new(&ring(&[hs]), None).unwrap();
    let body = br#"{"sub":"1234567890","name":"John Doe","roles":["admin","user"]}"#;
    let t = ns_per_call(100_000, || {
        black_box(
            signer
                .issue(black_box(body), &IssuePolicy::default(), now)
                .is_ok(),
        );
    });
    println!("Signer::issue HS256: {t:>8.0} ns/token");
}

fn key_es256() -> Key {
    key("p256.pkcs8.pem")
}
