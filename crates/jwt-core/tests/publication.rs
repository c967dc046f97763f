//! Key publication checked by an independent implementation: the JWKS that
//! `KeyRing::public_jwks` publishes is read by the `jsonwebtoken` crate
//! (`JwkSet`, `DecodingKey::from_jwk`), which must verify the tokens this
//! crate's `Signer` issues.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use jwt_core::{load_keys, Algorithm, IssuePolicy, KeyRing, Signer};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn jsonwebtoken_verifies_issued_tokens_with_the_published_jwks() {
    let cases = [
        ("rsa2048.pkcs8.pem", "rsa", jsonwebtoken::Algorithm::RS256),
        (
            "rsa2048.private.jwk",
            "rsa-jwk",
            jsonwebtoken::Algorithm::RS256,
        ),
        ("p256.sec1.pem", "ec", jsonwebtoken::Algorithm::ES256),
        ("p256.private.jwk", "ec-jwk", jsonwebtoken::Algorithm::ES256),
        ("ed25519.pkcs8.pem", "ed", jsonwebtoken::Algorithm::EdDSA),
        (
            "ed25519.private.jwk",
            "ed-jwk",
            jsonwebtoken::Algorithm::EdDSA,
        ),
    ];
    for (file, kid, alg) in cases {
        let mut ring = KeyRing::new();
        ring.extend(load_keys(&fixture(file), Some(kid)).unwrap());
        let signer = Signer::new(&ring, None).unwrap();
        let issued = signer
            .issue(br#"{"sub":"published"}"#, &IssuePolicy::default(), now())
            .unwrap();

        let published = serde_json::to_string(&ring.public_jwks()).unwrap();
        let set: JwkSet = serde_json::from_str(&published).unwrap();
        let header = decode_header(&issued.token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid));
        let jwk = set
            .find(kid)
            .unwrap_or_else(|| panic!("{file}: {published}"));
        let decoding = DecodingKey::from_jwk(jwk).unwrap_or_else(|e| panic!("{file}: {e}"));
        let data = decode::<serde_json::Value>(&issued.token, &decoding, &Validation::new(alg))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(data.claims["sub"], "published", "{file}");
    }
}

#[test]
fn published_rsa_keys_also_verify_pss_with_jsonwebtoken() {
    let mut ring = KeyRing::new();
    ring.extend(load_keys(&fixture("rsa2048.pkcs1.pem"), Some("ps")).unwrap());
    let signer = Signer::new(&ring, Some(Algorithm::PS256)).unwrap();
    let issued = signer.issue(b"{}", &IssuePolicy::default(), now()).unwrap();
    let set: JwkSet = serde_json::from_value(ring.public_jwks()).unwrap();
    // The JWK says RS256 (the key's default); the key itself verifies PS256.
    let mut jwk = set.find("ps").unwrap().clone();
    jwk.common.key_algorithm = None;
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    assert!(decode::<serde_json::Value>(
        &issued.token,
        &decoding,
        &Validation::new(jsonwebtoken::Algorithm::PS256)
    )
    .is_ok());
}

#[test]
fn hmac_secrets_are_never_published() {
    let mut ring = KeyRing::new();
    ring.extend(load_keys(&[5u8; 64], Some("hs")).unwrap());
    assert_eq!(ring.public_jwks(), serde_json::json!({"keys": []}));
    assert!(ring.keys()[0].public_jwk().is_none());
}
