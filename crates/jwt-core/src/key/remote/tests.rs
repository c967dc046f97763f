//! Unit tests of remote key sets: each provider's published shape (fixtures in
//! t/fixtures/providers/, written by its `make`), each skip rule with its log
//! line, the set-level refusals, and [`RemoteKeys`].

use serde_json::{json, Value};

use super::*;
use crate::test_support::{b64, fixture};
use crate::{load_keys, Algorithm::*};

/// A file of t/fixtures/providers/ (shared with the nginx tests).
pub(crate) fn provider(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../t/fixtures/providers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The private key of a provider fixture (NAME.key.pem), able to sign.
pub(crate) fn provider_key(name: &str) -> Key {
    let mut keys = load_keys(&provider(&format!("{name}.key.pem")), None).unwrap();
    assert_eq!(keys.len(), 1);
    keys.remove(0)
}

/// The parsed set of a provider fixture.
pub(crate) fn provider_set(file: &str) -> RemoteKeySet {
    parse_remote_jwks(&provider(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn kids(set: &RemoteKeySet) -> Vec<Option<&str>> {
    set.keys().iter().map(Key::kid).collect()
}

fn algorithms(set: &RemoteKeySet) -> Vec<Vec<Algorithm>> {
    set.keys().iter().map(Key::algorithms).collect()
}

/// The public JWK of a tests/fixtures key file, plus `extra` members.
fn jwk(file: &str, extra: Value) -> Value {
    let mut jwk: Value = serde_json::from_slice(&fixture(file)).unwrap();
    for (name, value) in extra.as_object().unwrap() {
        jwk[name] = value.clone();
    }
    jwk
}

fn set_of(keys: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

/// The single skip line for `key` placed second, after a good key.
fn skip_line(key: Value) -> String {
    let set = parse_remote_jwks(&set_of(&[jwk("p256.public.jwk", json!({})), key])).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.skipped().len(), 1, "{:?}", set.skipped());
    set.skipped()[0].clone()
}

// ---- provider shapes ----------------------------------------------------------

#[test]
fn keycloak_certs_keep_the_signature_key_and_skip_the_encryption_key() {
    let set = provider_set("keycloak.json");
    assert_eq!(
        kids(&set),
        [Some("gaHrXj-06KF3rjXeFiA6zot11aCJ-E1Icfd5mcuOa0k")]
    );
    assert_eq!(algorithms(&set), [vec![RS256]]);
    assert!(!set.keys()[0].alg_inferred());
    assert_eq!(
        set.skipped(),
        [r#"key #1 (kid "RvFLOHHGkb_aQ5dbsh8an_Uj_0MojqpgSpOr95rdJjM"): "use" is "enc""#]
    );
    assert_eq!(set.keys()[0].describe(), "RSA-2048 public key");
}

#[test]
fn auth0_jwks_has_two_rs256_keys() {
    let set = provider_set("auth0.json");
    assert_eq!(
        kids(&set),
        [
            Some("kY5y-P2vWa2IWAbU6XIWYQ"),
            Some("Qqaz9jK9vWC8tzypvSemZA")
        ]
    );
    assert_eq!(algorithms(&set), [vec![RS256], vec![RS256]]);
    assert!(set.skipped().is_empty());
    assert_eq!(set.supported_algorithms(), [RS256]);
}

#[test]
fn entra_keys_without_alg_are_inferred_rs256() {
    let set = provider_set("entra.json");
    assert_eq!(
        kids(&set),
        [
            Some("heSXluKDeuxUlyWLNBuHRg2_Ugc"),
            Some("uM9aoQAcWv1eUpMhs2VTzCNfvSw")
        ]
    );
    assert_eq!(algorithms(&set), [vec![RS256], vec![RS256]]);
    assert!(set.keys().iter().all(Key::alg_inferred));
    assert!(set.skipped().is_empty());
    assert_eq!(set.supported_algorithms(), [RS256]);
}

#[test]
fn cognito_kids_in_standard_base64_are_kept_verbatim() {
    let set = provider_set("cognito.json");
    assert_eq!(
        kids(&set),
        [
            Some("0ObekdaCQ7ikY6JOQ3JLfiI9y7i+xpkWmgPMFCv8zCU="),
            Some("h0vGch+FxKl/8ZQBWf9PS7jrsfc5TVP4JjluMK0vv7I=")
        ]
    );
    assert_eq!(algorithms(&set), [vec![RS256], vec![RS256]]);
    assert!(set.skipped().is_empty());
}

#[test]
fn google_certs_have_two_rs256_keys() {
    let set = provider_set("google.json");
    assert_eq!(
        kids(&set),
        [
            Some("c618dd881e2452036317a09351dd8007e074a091"),
            Some("09fc282978657fd09d538481c4cc41f9710ea2e0")
        ]
    );
    assert_eq!(algorithms(&set), [vec![RS256], vec![RS256]]);
    assert!(set.skipped().is_empty());
}

#[test]
fn a_mixed_set_keeps_what_it_can_use_and_says_why_it_skips_the_rest() {
    let set = provider_set("mixed.json");
    assert_eq!(
        kids(&set),
        [Some("mixed-rsa"), Some("mixed-ec"), Some("mixed-ed25519")]
    );
    assert_eq!(algorithms(&set), [vec![RS256], vec![ES256], vec![EdDSA]]);
    assert_eq!(set.supported_algorithms(), [RS256, ES256, EdDSA]);
    assert_eq!(
        set.skipped(),
        [
            r#"key #4 (kid "mixed-future"): unsupported "kty" "XYZ""#,
            r#"key #5 (kid "mixed-enc"): "use" is "enc""#,
            r#"key #6 (kid "mixed-oct"): a shared secret ("kty" "oct") is never taken from a remote key set"#,
        ]
    );
    assert!(set.keys().iter().all(|key| !key.can_sign()));
}

#[test]
fn every_provider_key_verifies_what_its_private_key_signs() {
    for (file, keys) in [
        ("keycloak.json", &["keycloak"][..]),
        ("auth0.json", &["auth0", "auth0-2"]),
        ("entra.json", &["entra", "entra-2"]),
        ("cognito.json", &["cognito", "cognito-2"]),
        ("google.json", &["google", "google-2"]),
        ("mixed.json", &["mixed-rsa", "mixed-ec", "mixed-ed25519"]),
    ] {
        let set = provider_set(file);
        for (public, name) in set.keys().iter().zip(keys) {
            let private = provider_key(name);
            let alg = public.algorithms()[0];
            let signature = private.sign(alg, b"header.payload").unwrap();
            assert!(
                public.verify_signature(alg, b"header.payload", &signature),
                "{file}: {name}"
            );
            assert!(!public.verify_signature(alg, b"header.payloaD", &signature));
        }
    }
}

// ---- per-key rules --------------------------------------------------------------

#[test]
fn use_other_than_sig_is_skipped() {
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"use": "enc", "kid": "e"}))),
        r#"key #2 (kid "e"): "use" is "enc""#
    );
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"use": "SIG"}))),
        r#"key #2: "use" is "SIG""#
    );
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"use": 1}))),
        r#"key #2: "use" is not a string"#
    );
    let sig = parse_remote_jwks(&set_of(&[jwk("p256.public.jwk", json!({"use": "sig"}))]));
    assert_eq!(sig.unwrap().len(), 1);
}

#[test]
fn key_ops_must_include_verify() {
    assert_eq!(
        skip_line(jwk("p256.public.jwk", json!({"key_ops": ["encrypt"]}))),
        r#"key #2: "key_ops" does not include "verify""#
    );
    assert_eq!(
        skip_line(jwk("p256.public.jwk", json!({"key_ops": []}))),
        r#"key #2: "key_ops" does not include "verify""#
    );
    assert_eq!(
        skip_line(jwk("p256.public.jwk", json!({"key_ops": "verify"}))),
        r#"key #2: "key_ops" is not an array of strings"#
    );
    assert_eq!(
        skip_line(jwk("p256.public.jwk", json!({"key_ops": ["verify", 1]}))),
        r#"key #2: "key_ops" is not an array of strings"#
    );
    let ok = set_of(&[jwk(
        "p256.public.jwk",
        json!({"key_ops": ["sign", "verify"]}),
    )]);
    assert_eq!(parse_remote_jwks(&ok).unwrap().len(), 1);
}

#[test]
fn jwe_and_unknown_algorithms_are_skipped() {
    for alg in [
        "RSA-OAEP",
        "RSA-OAEP-256",
        "RSA1_5",
        "ECDH-ES+A128KW",
        "dir",
        "A256GCMKW",
    ] {
        assert_eq!(
            skip_line(jwk("rsa2048.public.jwk", json!({"alg": alg}))),
            format!(r#"key #2: "alg" "{alg}" is an encryption (JWE) algorithm"#)
        );
    }
    for alg in ["none", "rs256", "ES256K", "HS1"] {
        assert_eq!(
            skip_line(jwk("rsa2048.public.jwk", json!({"alg": alg}))),
            format!(r#"key #2: "alg" "{alg}" is not a supported JWS algorithm"#)
        );
    }
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"alg": ["RS256"]}))),
        r#"key #2: "alg" is not a string"#
    );
}

#[test]
fn an_alg_that_does_not_fit_the_key_is_skipped() {
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"alg": "ES256"}))),
        r#"key #2: "alg" ES256 does not fit this RSA-2048 public key"#
    );
    assert_eq!(
        skip_line(jwk("p384.public.jwk", json!({"alg": "ES256"}))),
        r#"key #2: "alg" ES256 does not fit this EC P-384 public key"#
    );
    assert_eq!(
        skip_line(jwk("ed25519.public.jwk", json!({"alg": "HS256"}))),
        r#"key #2: "alg" HS256 does not fit this Ed25519 public key"#
    );
}

#[test]
fn secrets_and_unknown_key_types_are_skipped() {
    assert_eq!(
        skip_line(json!({"kty": "oct", "k": b64([7u8; 64])})),
        r#"key #2: a shared secret ("kty" "oct") is never taken from a remote key set"#
    );
    assert_eq!(
        skip_line(json!({"kty": "PQC", "kid": "future"})),
        r#"key #2 (kid "future"): unsupported "kty" "PQC""#
    );
    assert_eq!(
        skip_line(json!({"n": "AQAB"})),
        r#"key #2: "kty" is missing"#
    );
    assert_eq!(skip_line(json!("RSA")), "key #2: is not a JSON object");
}

#[test]
fn unsupported_curves_and_small_rsa_keys_are_skipped() {
    for crv in ["Ed448", "X25519", "X448", "P-256"] {
        assert_eq!(
            skip_line(json!({"kty": "OKP", "crv": crv, "x": "AQAB"})),
            format!(r#"key #2: unsupported "crv" "{crv}": Ed25519 only"#)
        );
    }
    for crv in ["secp256k1", "P-192", "Ed25519", "p-256"] {
        assert_eq!(
            skip_line(json!({"kty": "EC", "crv": crv, "x": "AQAB", "y": "AQAB"})),
            format!(r#"key #2: unsupported "crv" "{crv}": P-256, P-384, P-521 only"#)
        );
    }
    let long = "C".repeat(1000);
    let line = skip_line(json!({"kty": "EC", "crv": long, "x": "AQAB", "y": "AQAB"}));
    assert!(line.len() < 200, "{line}");
    assert_eq!(
        skip_line(json!({"kty": "EC", "crv": 256})),
        r#"key #2: "crv" is not a string"#
    );
    let small = jwk("rsa2048.public.jwk", json!({"n": b64([0xc5u8; 128])}));
    assert_eq!(
        skip_line(small),
        "key #2: RSA key is 1024 bits, under the 2048 that RFC 7518 §3.3 requires"
    );
    let mut n = vec![1u8];
    n.extend([0xffu8; 1024]);
    assert_eq!(
        skip_line(jwk("rsa2048.public.jwk", json!({"n": b64(&n)}))),
        "key #2: RSA key is 8193 bits, over the 8192 supported"
    );
}

#[test]
fn malformed_members_are_skipped() {
    for (key, expected) in [
        (
            jwk("p256.public.jwk", json!({"x": "!!"})),
            r#"key #2: "x" is not base64url"#,
        ),
        (
            jwk("p256.public.jwk", json!({"x": "AQAB"})),
            "key #2: \"x\" and \"y\" of a P-256 key must be 32 bytes",
        ),
        (
            jwk("ed25519.public.jwk", json!({"x": "AQAB"})),
            "key #2: Ed25519 public key rejected",
        ),
        (
            json!({"kty": "RSA", "n": b64([0xc5u8; 256])}),
            r#"key #2: "e" is missing"#,
        ),
        (
            jwk("p256.public.jwk", json!({"kid": 7})),
            r#"key #2: "kid" is not a string"#,
        ),
    ] {
        let line = skip_line(key);
        assert!(line.starts_with(expected), "{expected:?} in {line:?}");
    }
}

#[test]
fn certificate_members_and_unknown_members_are_ignored() {
    let key = jwk(
        "rsa2048.public.jwk",
        json!({"x5c": ["not even base64!"], "x5t": 5, "x5t#S256": null, "x5u": "http://x",
               "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "ext": true}),
    );
    let set = parse_remote_jwks(&set_of(&[key])).unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.skipped().is_empty());
}

#[test]
fn missing_alg_is_inferred_from_the_key() {
    let set = parse_remote_jwks(&set_of(&[
        jwk("rsa2048.public.jwk", json!({})),
        jwk("p256.public.jwk", json!({})),
        jwk("p384.public.jwk", json!({})),
        jwk("p521.public.jwk", json!({})),
        jwk("ed25519.public.jwk", json!({})),
        jwk("rsa2048.public.jwk", json!({"alg": "PS256"})),
    ]))
    .unwrap();
    assert_eq!(
        algorithms(&set),
        [
            vec![RS256],
            vec![ES256],
            vec![ES384],
            vec![ES512],
            vec![EdDSA],
            vec![PS256]
        ]
    );
    let inferred: Vec<bool> = set.keys().iter().map(Key::alg_inferred).collect();
    assert_eq!(inferred, [true, false, false, false, false, false]);
    // The opt-in verifiers are there, for a policy that names them.
    let rsa = &set.keys()[0];
    assert!(!rsa.supports(PS256));
    assert!(rsa.verifier_opting_in(PS256, false).is_none());
    assert!(rsa.verifier_opting_in(PS256, true).is_some());
    assert!(rsa.verifier_opting_in(ES256, true).is_none());
    assert!(set.keys()[5].verifier_opting_in(RS256, true).is_none());
}

#[test]
fn duplicate_kids_are_all_kept() {
    let set = parse_remote_jwks(&set_of(&[
        jwk("rsa2048.public.jwk", json!({"kid": "k", "alg": "RS256"})),
        jwk("rsa2048.public.jwk", json!({"kid": "k", "alg": "PS256"})),
        jwk("p256.public.jwk", json!({"kid": "k"})),
    ]))
    .unwrap();
    assert_eq!(kids(&set), [Some("k"); 3]);
    assert_eq!(algorithms(&set), [vec![RS256], vec![PS256], vec![ES256]]);
}

#[test]
fn private_members_are_ignored_and_a_remote_key_never_signs() {
    let set = parse_remote_jwks(&set_of(&[
        jwk("rsa2048.private.jwk", json!({})),
        jwk("p256.private.jwk", json!({})),
        jwk("ed25519.private.jwk", json!({})),
        // A broken private half does not cost the public one.
        jwk("p384.public.jwk", json!({"d": "!!", "p": 1})),
    ]))
    .unwrap();
    assert_eq!(set.len(), 4);
    for key in set.keys() {
        assert!(!key.can_sign(), "{key:?}");
        assert!(key.describe().ends_with("public key"), "{key:?}");
        assert_eq!(key.default_sign_algorithm(), None);
        assert!(key.sign(key.algorithms()[0], b"x").is_none());
    }
    // The public half is the private key's own.
    let signature = key_file("p256.private.jwk")
        .sign(ES256, b"header.payload")
        .unwrap();
    assert!(set.keys()[1].verify_signature(ES256, b"header.payload", &signature));
}

fn key_file(name: &str) -> Key {
    crate::test_support::key(name)
}

#[test]
fn kids_in_log_lines_are_escaped_and_cut() {
    let long = "k".repeat(100);
    let line = skip_line(jwk(
        "rsa2048.public.jwk",
        json!({"kid": long, "use": "enc"}),
    ));
    assert_eq!(
        line,
        format!(r#"key #2 (kid "{}"…): "use" is "enc""#, "k".repeat(64))
    );
    let line = skip_line(jwk(
        "rsa2048.public.jwk",
        json!({"kid": "a\"b\n", "use": "x\u{1b}"}),
    ));
    assert_eq!(line, r#"key #2 (kid "a\"b\n"): "use" is "x\u{1b}""#);
}

// ---- the set ---------------------------------------------------------------------

#[test]
fn a_document_that_is_not_a_jwks_is_an_error() {
    for (bytes, expected) in [
        (
            &b""[..],
            "the remote JWKS is not usable: it is not valid JSON",
        ),
        (b"<html>", "it is not valid JSON"),
        (b"[]", "it is not a JSON object"),
        (b"\"keys\"", "it is not a JSON object"),
        (b"{}", "it has no \"keys\" member"),
        (
            br#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
            "it has no \"keys\" member",
        ),
        (br#"{"keys":{}}"#, "\"keys\" is not an array"),
        (br#"{"keys":null}"#, "\"keys\" is not an array"),
    ] {
        let err = parse_remote_jwks(bytes).unwrap_err();
        assert!(matches!(err, KeyError::NotAJwks { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
}

#[test]
fn a_set_over_one_mib_is_an_error() {
    let mut padded = set_of(&[jwk("p256.public.jwk", json!({}))]);
    padded.resize(MAX_REMOTE_JWKS_LEN, b' ');
    assert_eq!(parse_remote_jwks(&padded).unwrap().len(), 1);
    padded.push(b' ');
    let err = parse_remote_jwks(&padded).unwrap_err();
    assert!(
        matches!(err, KeyError::RemoteJwksTooLarge { len, max: MAX_REMOTE_JWKS_LEN } if len == MAX_REMOTE_JWKS_LEN + 1),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the remote JWKS is 1048577 bytes, over the 1048576-byte limit"
    );
}

#[test]
fn a_set_without_a_usable_key_is_an_error_that_says_why() {
    let err = parse_remote_jwks(br#"{"keys":[]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the remote JWKS holds no usable signature key: \"keys\" is empty"
    );
    let err = parse_remote_jwks(&set_of(&[
        jwk("rsa2048.public.jwk", json!({"use": "enc"})),
        json!({"kty": "oct", "k": "AAAA"}),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, KeyError::NoUsableRemoteKeys { skipped } if skipped.len() == 2),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the remote JWKS holds no usable signature key (2 skipped: key #1: \"use\" is \"enc\"; \
         key #2: a shared secret (\"kty\" \"oct\") is never taken from a remote key set)"
    );
    let many: Vec<Value> = (0..6).map(|_| json!({"kty": "XYZ"})).collect();
    let err = parse_remote_jwks(&set_of(&many)).unwrap_err().to_string();
    assert!(err.starts_with("the remote JWKS holds no usable signature key (6 skipped: key #1"));
    assert!(
        err.ends_with("key #4: unsupported \"kty\" \"XYZ\"; …)"),
        "{err}"
    );
}

#[test]
fn file_mode_is_unchanged_by_the_remote_rules() {
    // The same JWKS as a key file keeps its strict rules: an unknown kty fails
    // the whole file, a secret is accepted, private keys sign, and RSA without
    // alg verifies every RSA algorithm.
    let file = provider("mixed.json");
    assert!(load_keys(&file, None)
        .unwrap_err()
        .to_string()
        .contains("unsupported \"kty\" \"XYZ\": use oct, RSA, EC or OKP"));
    let rsa = load_keys(
        &serde_json::to_vec(&jwk("rsa2048.private.jwk", json!({}))).unwrap(),
        None,
    )
    .unwrap()
    .remove(0);
    assert!(rsa.can_sign());
    assert!(!rsa.alg_inferred());
    assert_eq!(rsa.algorithms(), [RS256, RS384, RS512, PS256, PS384, PS512]);
}

// ---- RemoteKeys ------------------------------------------------------------------

#[test]
fn remote_keys_hold_the_current_set() {
    let remote = RemoteKeys::new();
    assert_eq!(remote.generation(), None);
    assert!(!remote.has_keys());
    assert!(remote.current().is_none());
    assert!(remote.snapshot().is_none());
    assert_eq!(remote.epoch(), 0);
    assert_eq!(
        format!("{remote:?}"),
        "RemoteKeys { generation: None, keys: None }"
    );

    remote.install(provider_set("google.json"), 7);
    assert_eq!(remote.generation(), Some(7));
    assert!(remote.has_keys());
    assert_eq!(remote.current().unwrap().len(), 2);
    assert_eq!(remote.epoch(), 1);
    let snapshot = remote.snapshot().unwrap();
    assert_eq!((snapshot.generation, snapshot.epoch), (7, 1));

    // Every install is a new epoch, even under the same generation number.
    remote.install(provider_set("mixed.json"), 7);
    assert_eq!(remote.generation(), Some(7));
    assert_eq!(remote.epoch(), 2);
    assert_eq!(remote.current().unwrap().len(), 3);
    // An older snapshot still holds its own set.
    assert_eq!(snapshot.set.len(), 2);
    assert!(format!("{remote:?}").contains("mixed-ed25519"));
}

#[test]
fn remote_keys_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<RemoteKeys>();
    shareable::<RemoteKeySet>();
}
