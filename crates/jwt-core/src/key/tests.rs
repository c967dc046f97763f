//! Unit tests of key files: every format (PEM, DER kinds, X.509, JWK, JWKS, raw secrets), every
//! refusal with its message. Long because each format and refusal has its own test.

use super::*;
use crate::test_support::{fixture, key, ring, secret};
use Algorithm::*;

const RSA_ALGS: [Algorithm; 6] = [RS256, RS384, RS512, PS256, PS384, PS512];

fn load(bytes: &[u8]) -> Result<Vec<Key>, KeyError> {
    load_keys(bytes, None)
}

fn load_err(bytes: &[u8]) -> KeyError {
    load(bytes).unwrap_err()
}

/// Signs with `private` and checks that `public` verifies (and a flipped
/// signature does not): the two files hold halves of the same key.
fn assert_same_key_pair(private: &Key, public: &Key) {
    let alg = private.default_sign_algorithm().unwrap();
    let signature = private.sign(alg, b"header.payload").unwrap();
    assert!(public.verify_signature(alg, b"header.payload", &signature));
    assert!(private.verify_signature(alg, b"header.payload", &signature));
    assert!(!public.verify_signature(alg, b"header.payloaD", &signature));
    let mut flipped = signature.clone();
    flipped[0] ^= 1;
    assert!(!public.verify_signature(alg, b"header.payload", &flipped));
}

// ---- raw HMAC secrets -------------------------------------------------------

#[test]
fn empty_file_is_an_error() {
    assert!(matches!(load_err(b""), KeyError::Empty));
    assert_eq!(load_err(b"").to_string(), "key file is empty");
    // A lone newline is stripped, leaving nothing.
    assert!(matches!(load_err(b"\n"), KeyError::Empty));
    assert!(matches!(load_err(b"\r\n"), KeyError::Empty));
}

#[test]
fn short_secret_is_an_error_with_the_fix() {
    let err = load_err(b"twelve bytes");
    assert!(matches!(err, KeyError::SecretTooShort { len: 12 }));
    assert_eq!(
        err.to_string(),
        "HMAC secret is 12 bytes; RFC 7518 §3.2 requires at least 32 (HS256): \
         generate one with `openssl rand -out FILE 64`"
    );
    assert!(matches!(
        load_err(&[b'x'; 31]),
        KeyError::SecretTooShort { len: 31 }
    ));
}

#[test]
fn secret_length_decides_the_hmac_algorithms() {
    for (len, algs) in [
        (32, vec![HS256]),
        (47, vec![HS256]),
        (48, vec![HS256, HS384]),
        (63, vec![HS256, HS384]),
        (64, vec![HS256, HS384, HS512]),
        (1000, vec![HS256, HS384, HS512]),
    ] {
        let key = secret(len, b'k', None);
        assert_eq!(key.algorithms(), algs, "{len} bytes");
        assert_eq!(key.describe(), format!("HMAC secret ({len} bytes)"));
        assert_eq!(key.family(), Family::Hmac);
        assert!(key.can_sign());
        assert_eq!(key.default_sign_algorithm(), Some(HS256));
        assert_eq!(key.kid(), None);
    }
}

#[test]
fn exactly_one_trailing_newline_is_stripped() {
    let mut bytes = vec![b's'; 32];
    bytes.push(b'\n');
    assert_eq!(
        load(&bytes).unwrap()[0].describe(),
        "HMAC secret (32 bytes)"
    );
    bytes.truncate(32);
    bytes.extend_from_slice(b"\r\n");
    assert_eq!(
        load(&bytes).unwrap()[0].describe(),
        "HMAC secret (32 bytes)"
    );
    bytes.truncate(32);
    bytes.extend_from_slice(b"\n\n");
    assert_eq!(
        load(&bytes).unwrap()[0].describe(),
        "HMAC secret (33 bytes)"
    );
    // 31 bytes plus a newline is still too short.
    let mut short = vec![b's'; 31];
    short.push(b'\n');
    assert!(matches!(
        load_err(&short),
        KeyError::SecretTooShort { len: 31 }
    ));
}

#[test]
fn binary_secrets_are_taken_as_is() {
    let bytes: Vec<u8> = (0..=255u8).collect();
    let keys = load(&bytes).unwrap();
    assert_eq!(keys[0].describe(), "HMAC secret (256 bytes)");
}

#[test]
fn the_secret_verifies_what_it_signs() {
    let key = secret(64, 7, None);
    for alg in [HS256, HS384, HS512] {
        let mac = key.sign(alg, b"a.b").unwrap();
        assert!(key.verify_signature(alg, b"a.b", &mac));
        assert!(!key.verify_signature(alg, b"a.c", &mac));
        assert!(!key.verify_signature(alg, b"a.b", &mac[..mac.len() - 1]));
    }
    // Another secret of the same length does not verify it.
    let mac = key.sign(HS256, b"a.b").unwrap();
    assert!(!secret(64, 8, None).verify_signature(HS256, b"a.b", &mac));
    // Nothing is signed with an algorithm of another family.
    assert!(key.sign(RS256, b"a.b").is_none());
}

#[test]
fn debug_and_describe_never_show_secret_bytes() {
    let bytes = b"this-is-the-very-secret-hmac-key-material-0123456789";
    let key = load_keys(bytes, Some("k1")).unwrap().remove(0);
    let debug = format!("{key:?}");
    assert!(!debug.contains("very-secret"), "{debug}");
    assert!(
        debug.contains("k1") && debug.contains("HMAC secret (52 bytes)"),
        "{debug}"
    );
    assert!(!key.describe().contains("secret-hmac"));
    let jwk = br#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#;
    let key = load(jwk).unwrap().remove(0);
    assert!(!format!("{key:?}").contains("c2VjcmV0"));
    assert!(!format!("{:?}", ring(&[key])).contains("secret-secret"));
}

#[test]
fn kid_parameter_names_a_secret() {
    let key = load_keys(&[b'x'; 32], Some("main")).unwrap().remove(0);
    assert_eq!(key.kid(), Some("main"));
    assert!(matches!(
        load_keys(&[b'x'; 32], Some("")),
        Err(KeyError::EmptyKid)
    ));
}

// ---- PEM ----------------------------------------------------------------------

#[test]
fn every_pem_kind_loads() {
    let table: &[(&str, &str, &[Algorithm], bool)] = &[
        ("rsa2048.spki.pem", "RSA-2048 public key", &RSA_ALGS, false),
        (
            "rsa2048.pkcs1-public.pem",
            "RSA-2048 public key",
            &RSA_ALGS,
            false,
        ),
        ("rsa2048.pkcs8.pem", "RSA-2048 private key", &RSA_ALGS, true),
        ("rsa2048.pkcs1.pem", "RSA-2048 private key", &RSA_ALGS, true),
        ("rsa2048.cert.pem", "RSA-2048 public key", &RSA_ALGS, false),
        ("p256.spki.pem", "EC P-256 public key", &[ES256], false),
        ("p256.pkcs8.pem", "EC P-256 private key", &[ES256], true),
        ("p256.sec1.pem", "EC P-256 private key", &[ES256], true),
        ("p256.cert.pem", "EC P-256 public key", &[ES256], false),
        ("p256.ecparam.pem", "EC P-256 private key", &[ES256], true),
        ("p384.spki.pem", "EC P-384 public key", &[ES384], false),
        ("p384.pkcs8.pem", "EC P-384 private key", &[ES384], true),
        ("p384.sec1.pem", "EC P-384 private key", &[ES384], true),
        ("p521.spki.pem", "EC P-521 public key", &[ES512], false),
        ("p521.pkcs8.pem", "EC P-521 private key", &[ES512], true),
        ("p521.sec1.pem", "EC P-521 private key", &[ES512], true),
        ("ed25519.spki.pem", "Ed25519 public key", &[EdDSA], false),
        ("ed25519.pkcs8.pem", "Ed25519 private key", &[EdDSA], true),
        ("ed25519.cert.pem", "Ed25519 public key", &[EdDSA], false),
    ];
    for &(file, describe, algs, private) in table {
        let key = key(file);
        assert_eq!(key.describe(), describe, "{file}");
        assert_eq!(key.algorithms(), algs, "{file}");
        assert_eq!(key.can_sign(), private, "{file}");
        assert_eq!(key.kid(), None, "{file}");
        let expected_default = if private { Some(algs[0]) } else { None };
        assert_eq!(key.default_sign_algorithm(), expected_default, "{file}");
    }
}

#[test]
fn private_keys_match_their_public_files() {
    for (private, public) in [
        ("rsa2048.pkcs8.pem", "rsa2048.spki.pem"),
        ("rsa2048.pkcs1.pem", "rsa2048.spki.pem"),
        ("rsa2048.pkcs8.pem", "rsa2048.pkcs1-public.pem"),
        ("rsa2048.pkcs8.pem", "rsa2048.cert.pem"),
        ("p256.pkcs8.pem", "p256.spki.pem"),
        ("p256.sec1.pem", "p256.spki.pem"),
        ("p256.pkcs8.pem", "p256.cert.pem"),
        ("p384.sec1.pem", "p384.spki.pem"),
        ("p521.pkcs8.pem", "p521.spki.pem"),
        ("p521.sec1.pem", "p521.spki.pem"),
        ("ed25519.pkcs8.pem", "ed25519.spki.pem"),
        ("ed25519.pkcs8.pem", "ed25519.cert.pem"),
    ] {
        assert_same_key_pair(&key(private), &key(public));
    }
}

#[test]
fn every_rsa_algorithm_signs_and_verifies() {
    let private = key("rsa2048.pkcs8.pem");
    let public = key("rsa2048.spki.pem");
    let other = key("rsa2048-other.spki.pem");
    for alg in RSA_ALGS {
        let sig = private.sign(alg, b"x.y").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(public.verify_signature(alg, b"x.y", &sig), "{alg}");
        assert!(!other.verify_signature(alg, b"x.y", &sig), "{alg}");
    }
    // PKCS#1 v1.5 and PSS signatures are not interchangeable.
    let rs = private.sign(RS256, b"x.y").unwrap();
    assert!(!public.verify_signature(PS256, b"x.y", &rs));
    assert!(!public.verify_signature(RS384, b"x.y", &rs));
}

#[test]
fn several_pem_blocks_make_several_keys() {
    let mut file = fixture("rsa2048.spki.pem");
    file.extend(fixture("p256.spki.pem"));
    file.extend(fixture("ed25519.cert.pem"));
    let keys = load(&file).unwrap();
    let kinds: Vec<String> = keys.iter().map(Key::describe).collect();
    assert_eq!(
        kinds,
        [
            "RSA-2048 public key",
            "EC P-256 public key",
            "Ed25519 public key"
        ]
    );

    let err = load_keys(&file, Some("k")).unwrap_err();
    assert!(matches!(err, KeyError::KidForSeveralKeys { count: 3, .. }));
    assert!(err.to_string().contains("holds 3"), "{err}");
}

#[test]
fn kid_parameter_names_a_single_pem_key() {
    let keys = load_keys(&fixture("p256.pkcs8.pem"), Some("ec-1")).unwrap();
    assert_eq!(keys[0].kid(), Some("ec-1"));
}

#[test]
fn text_around_pem_blocks_is_ignored_and_never_a_secret() {
    let mut file = b"# public key of the IdP\nBag Attributes: x\n".to_vec();
    file.extend(fixture("rsa2048.spki.pem"));
    file.extend(b"trailing words\n");
    assert_eq!(load(&file).unwrap()[0].describe(), "RSA-2048 public key");
    // Broken PEM is an error, not a 300-byte HMAC secret.
    let broken = b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n";
    assert!(matches!(load_err(broken), KeyError::MalformedPem(_)));
}

#[test]
fn encrypted_pem_is_refused_with_the_fix() {
    for file in ["rsa2048.encrypted.pem", "rsa2048.encrypted-legacy.pem"] {
        let err = load_err(&fixture(file));
        assert!(matches!(err, KeyError::EncryptedPem), "{file}: {err}");
        assert!(err
            .to_string()
            .contains("openssl pkey -in FILE -out PLAIN.pem"));
    }
}

#[test]
fn unknown_pem_label_is_named() {
    let file = b"-----BEGIN OPENSSH PRIVATE KEY-----\nAQID\n-----END OPENSSH PRIVATE KEY-----\n";
    let err = load_err(file);
    assert!(
        matches!(&err, KeyError::UnsupportedPemLabel { label } if label == "OPENSSH PRIVATE KEY")
    );
    assert!(
        err.to_string()
            .contains("\"-----BEGIN OPENSSH PRIVATE KEY-----\""),
        "{err}"
    );
}

#[test]
fn ec_parameters_alone_hold_no_key() {
    let file = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    assert!(matches!(load_err(file), KeyError::NoPemKey));
}

#[test]
fn rsa_under_2048_bits_is_refused() {
    for file in ["rsa1024.spki.pem", "rsa1024.pkcs8.pem"] {
        let err = load_err(&fixture(file));
        assert!(
            matches!(err, KeyError::RsaTooSmall { bits: 1024 }),
            "{file}: {err}"
        );
        assert!(err.to_string().contains("rsa_keygen_bits:2048"));
    }
}

#[test]
fn unsupported_key_types_and_curves_are_named() {
    let cases = [
        ("secp256k1.spki.pem", "unsupported elliptic curve secp256k1"),
        (
            "secp256k1.pkcs8.pem",
            "unsupported elliptic curve secp256k1",
        ),
        ("p256-explicit.spki.pem", "explicit parameters"),
        ("ed448.spki.pem", "unsupported key type Ed448"),
        ("x25519.spki.pem", "unsupported key type X25519"),
        ("rsa-pss.pkcs8.pem", "unsupported key type RSASSA-PSS"),
    ];
    for (file, expected) in cases {
        let err = load_err(&fixture(file)).to_string();
        assert!(err.contains(expected), "{file}: {err}");
    }
}

#[test]
fn malformed_der_names_the_block() {
    let cases: [&[u8]; 4] = [
        b"-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
        b"-----BEGIN EC PRIVATE KEY-----\nMAYCAQEEAQE=\n-----END EC PRIVATE KEY-----\n",
    ];
    for file in cases {
        let err = load_err(file);
        assert!(
            matches!(err, KeyError::MalformedDer { index: 1, .. }),
            "{err}"
        );
    }
    // The second block is the broken one.
    let mut file = fixture("p256.spki.pem");
    file.extend_from_slice(cases[0]);
    assert!(matches!(
        load_err(&file),
        KeyError::MalformedDer { index: 2, .. }
    ));
}

#[test]
fn truncated_der_never_panics() {
    // Every prefix of every real key, re-armored.
    use base64::Engine as _;
    for file in [
        "rsa2048.pkcs8.pem",
        "p521.sec1.pem",
        "ed25519.cert.pem",
        "rsa2048.cert.pem",
    ] {
        let blocks = pem::blocks(&fixture(file)).unwrap();
        let der = &blocks[0].der;
        for len in (0..der.len()).step_by(7) {
            let body = base64::engine::general_purpose::STANDARD.encode(&der[..len]);
            let armored = format!(
                "-----BEGIN {0}-----\n{body}\n-----END {0}-----\n",
                blocks[0].label
            );
            assert!(load(armored.as_bytes()).is_err(), "{file} prefix {len}");
        }
    }
}

// ---- JWK / JWKS -----------------------------------------------------------------

#[test]
fn every_jwk_kind_loads() {
    let table: &[(&str, &str, &[Algorithm], bool)] = &[
        (
            "rsa2048.public.jwk",
            "RSA-2048 public key",
            &RSA_ALGS,
            false,
        ),
        (
            "rsa2048.private.jwk",
            "RSA-2048 private key",
            &RSA_ALGS,
            true,
        ),
        ("p256.public.jwk", "EC P-256 public key", &[ES256], false),
        ("p256.private.jwk", "EC P-256 private key", &[ES256], true),
        ("p384.public.jwk", "EC P-384 public key", &[ES384], false),
        ("p384.private.jwk", "EC P-384 private key", &[ES384], true),
        ("p521.public.jwk", "EC P-521 public key", &[ES512], false),
        ("p521.private.jwk", "EC P-521 private key", &[ES512], true),
        ("ed25519.public.jwk", "Ed25519 public key", &[EdDSA], false),
        ("ed25519.private.jwk", "Ed25519 private key", &[EdDSA], true),
    ];
    for &(file, describe, algs, private) in table {
        let key = key(file);
        assert_eq!(key.describe(), describe, "{file}");
        assert_eq!(key.algorithms(), algs, "{file}");
        assert_eq!(key.can_sign(), private, "{file}");
    }
    let oct = load(br#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#)
        .unwrap()
        .remove(0);
    assert_eq!(oct.describe(), "HMAC secret (67 bytes)");
    assert_eq!(oct.algorithms(), [HS256, HS384, HS512]);
}

#[test]
fn jwks_and_pem_of_the_same_key_agree() {
    for (jwk, pem) in [
        ("rsa2048.private.jwk", "rsa2048.spki.pem"),
        ("rsa2048.pkcs8.pem", "rsa2048.public.jwk"),
        ("p256.private.jwk", "p256.spki.pem"),
        ("p256.pkcs8.pem", "p256.public.jwk"),
        ("p384.private.jwk", "p384.spki.pem"),
        ("p521.private.jwk", "p521.spki.pem"),
        ("p521.pkcs8.pem", "p521.public.jwk"),
        ("ed25519.private.jwk", "ed25519.spki.pem"),
        ("ed25519.pkcs8.pem", "ed25519.public.jwk"),
    ] {
        assert_same_key_pair(&key(jwk), &key(pem));
    }
}

fn jwk_with(file: &str, extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut jwk: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
    for (name, value) in extra {
        jwk[*name] = value.clone();
    }
    jwk
}

fn jwks(keys: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()
}

#[test]
fn jwks_keeps_kids_in_order() {
    let file = jwks(&[
        jwk_with("rsa2048.public.jwk", &[("kid", "r1".into())]),
        jwk_with("p256.public.jwk", &[("kid", "e1".into())]),
        jwk_with("ed25519.public.jwk", &[]),
    ]);
    let keys = load(&file).unwrap();
    let kids: Vec<Option<&str>> = keys.iter().map(Key::kid).collect();
    assert_eq!(kids, [Some("r1"), Some("e1"), None]);
}

#[test]
fn kid_parameter_with_jwks() {
    let two = jwks(&[
        jwk_with("p256.public.jwk", &[]),
        jwk_with("p384.public.jwk", &[]),
    ]);
    assert!(matches!(
        load_keys(&two, Some("x")),
        Err(KeyError::KidForSeveralKeys { count: 2, .. })
    ));
    // A single JWK (bare or in a set) without kid takes the parameter.
    let bare = fixture("p256.public.jwk");
    assert_eq!(load_keys(&bare, Some("x")).unwrap()[0].kid(), Some("x"));
    let one = jwks(&[jwk_with("p256.public.jwk", &[])]);
    assert_eq!(load_keys(&one, Some("x")).unwrap()[0].kid(), Some("x"));
    // A JWK's own kid must agree with the parameter.
    let own = serde_json::to_vec(&jwk_with("p256.public.jwk", &[("kid", "own".into())])).unwrap();
    assert_eq!(load_keys(&own, Some("own")).unwrap()[0].kid(), Some("own"));
    assert_eq!(load_keys(&own, None).unwrap()[0].kid(), Some("own"));
    let err = load_keys(&own, Some("other")).unwrap_err();
    assert!(matches!(err, KeyError::KidConflict { .. }));
    assert!(err.to_string().contains("\"other\"") && err.to_string().contains("\"own\""));
}

#[test]
fn jwk_alg_restricts_the_key() {
    let ps =
        serde_json::to_vec(&jwk_with("rsa2048.public.jwk", &[("alg", "PS384".into())])).unwrap();
    let key = load(&ps).unwrap().remove(0);
    assert_eq!(key.algorithms(), [PS384]);
    let private =
        serde_json::to_vec(&jwk_with("rsa2048.private.jwk", &[("alg", "PS256".into())])).unwrap();
    assert_eq!(
        load(&private).unwrap()[0].default_sign_algorithm(),
        Some(PS256)
    );
    let oct = br#"{"kty":"oct","alg":"HS512","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
    assert_eq!(load(oct).unwrap()[0].algorithms(), [HS512]);
}

#[test]
fn jwk_alg_that_does_not_fit_is_an_error() {
    let cases = [
        (
            jwk_with("rsa2048.public.jwk", &[("alg", "ES256".into())]),
            "does not fit",
        ),
        (
            jwk_with("p256.public.jwk", &[("alg", "ES384".into())]),
            "EC P-256",
        ),
        (
            jwk_with("p384.public.jwk", &[("alg", "RS256".into())]),
            "does not fit",
        ),
        (
            jwk_with("ed25519.public.jwk", &[("alg", "HS256".into())]),
            "does not fit",
        ),
        (
            jwk_with("p256.public.jwk", &[("alg", "none".into())]),
            "not a supported JWS",
        ),
        (
            jwk_with("p256.public.jwk", &[("alg", "es256".into())]),
            "not a supported JWS",
        ),
        (
            jwk_with("p256.public.jwk", &[("alg", 7.into())]),
            "\"alg\" is not a string",
        ),
        (
            serde_json::json!({"kty":"oct","alg":"HS512","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
            "needs at least 64",
        ),
    ];
    for (jwk, expected) in cases {
        let err = load_err(&serde_json::to_vec(&jwk).unwrap());
        assert!(matches!(err, KeyError::InvalidJwk { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
}

#[test]
fn encryption_keys_are_skipped() {
    let file = jwks(&[
        jwk_with(
            "rsa2048.public.jwk",
            &[("use", "enc".into()), ("kid", "enc".into())],
        ),
        jwk_with(
            "rsa2048.public.jwk",
            &[("alg", "RSA-OAEP-256".into()), ("kid", "oaep".into())],
        ),
        jwk_with("p256.public.jwk", &[("alg", "ECDH-ES+A128KW".into())]),
        jwk_with(
            "p256.public.jwk",
            &[("use", "sig".into()), ("kid", "sig".into())],
        ),
    ]);
    let keys = load(&file).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid(), Some("sig"));

    let only_enc = jwks(&[jwk_with("rsa2048.public.jwk", &[("use", "enc".into())])]);
    let err = load_err(&only_enc);
    assert!(
        matches!(err, KeyError::NoSignatureKeys { skipped: 1 }),
        "{err}"
    );
    let bare = serde_json::to_vec(&jwk_with("p256.public.jwk", &[("use", "enc".into())])).unwrap();
    assert!(matches!(
        load_err(&bare),
        KeyError::NoSignatureKeys { skipped: 1 }
    ));
    assert!(matches!(
        load_err(br#"{"keys":[]}"#),
        KeyError::NoSignatureKeys { skipped: 0 }
    ));
}

#[test]
fn invalid_json_is_an_error_never_a_secret() {
    // Long enough to be a valid secret, but it looks like JSON.
    let broken =
        br#"{"keys":[{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26m"#;
    let err = load_err(broken);
    assert!(matches!(err, KeyError::InvalidJson(_)), "{err}");
    assert!(err.to_string().contains("not used as an HMAC secret"));
    assert!(matches!(
        load_err(b"  \n {not json at all, but long enough to be a secret}"),
        KeyError::InvalidJson(_)
    ));
    assert!(matches!(
        load_err(b"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]"),
        KeyError::InvalidJwk { .. }
    ));
}

#[test]
fn a_public_jwks_never_becomes_an_hmac_key() {
    for file in [
        "rsa2048.public.jwk",
        "p256.public.jwk",
        "ed25519.public.jwk",
        "rsa2048.spki.pem",
    ] {
        for key in load(&fixture(file)).unwrap() {
            assert_ne!(key.family(), Family::Hmac, "{file}");
            for alg in [HS256, HS384, HS512] {
                assert!(!key.supports(alg), "{file}");
                assert!(key.sign(alg, b"x").is_none(), "{file}");
            }
        }
    }
}

#[test]
fn invalid_jwks_explain_themselves() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (serde_json::json!({"keys": {}}), "\"keys\" is not an array"),
        (
            serde_json::json!({"keys": [1]}),
            "JWKS key #1: is not a JSON object",
        ),
        (serde_json::json!({"n": "AQAB"}), "\"kty\" is missing"),
        (serde_json::json!({"kty": 1}), "\"kty\" is not a string"),
        (serde_json::json!({"kty": "oct"}), "\"k\" is missing"),
        (serde_json::json!({"kty": "oct", "k": ""}), "\"k\" is empty"),
        (
            serde_json::json!({"kty": "oct", "k": "c2hvcnQ"}),
            "HMAC secret is 5 bytes",
        ),
        (
            serde_json::json!({"kty": "oct", "k": "a+b/"}),
            "\"k\" is not base64url",
        ),
        (
            serde_json::json!({"kty": "RSA", "e": "AQAB"}),
            "\"n\" is missing",
        ),
        (
            serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            "RSA key is 17 bits",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256K", "x": "", "y": ""}),
            "unsupported elliptic curve",
        ),
        (
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB"}),
            "must be 32 bytes",
        ),
        (
            serde_json::json!({"kty": "OKP", "crv": "Ed448", "x": "AQAB"}),
            "only Ed25519",
        ),
        (
            serde_json::json!({"kty": "OKP", "crv": "X25519", "x": "AQAB"}),
            "only Ed25519",
        ),
        (
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AQAB"}),
            "Ed25519 public key rejected",
        ),
        (
            serde_json::json!({"kty": "oct", "kid": 5, "k": "AAAA"}),
            "\"kid\" is not a string",
        ),
        (
            serde_json::json!({"kty": "foo", "kid": "a\"b"}),
            "JWK (kid \"a\\\"b\"): unsupported \"kty\" \"foo\"",
        ),
        (
            serde_json::json!({"keys": [{"kty": "EC"}], "x": 1}),
            "JWKS key #1: \"crv\" is missing",
        ),
    ];
    for (jwk, expected) in cases {
        let err = load_err(&serde_json::to_vec(&jwk).unwrap()).to_string();
        assert!(
            err.contains(expected),
            "{jwk}: expected {expected:?} in {err:?}"
        );
    }
}

#[test]
fn rsa_over_8192_bits_is_refused() {
    let mut n = vec![1u8];
    n.extend(std::iter::repeat_n(0xffu8, 1024));
    let jwk = serde_json::json!({"kty": "RSA", "n": crate::test_support::b64(&n), "e": "AQAB"});
    let err = load_err(&serde_json::to_vec(&jwk).unwrap()).to_string();
    assert!(
        err.contains("RSA key is 8193 bits; keys above 8192 bits are not supported"),
        "{err}"
    );
}

#[test]
fn invalid_private_jwks_explain_themselves() {
    let mut rsa = jwk_with("rsa2048.private.jwk", &[]);
    rsa.as_object_mut().unwrap().remove("dq");
    rsa.as_object_mut().unwrap().remove("qi");
    let err = load_err(&serde_json::to_vec(&rsa).unwrap()).to_string();
    assert!(err.contains("lacks dq, qi"), "{err}");

    let oth = jwk_with("rsa2048.private.jwk", &[("oth", serde_json::json!([]))]);
    let err = load_err(&serde_json::to_vec(&oth).unwrap()).to_string();
    assert!(err.contains("multi-prime"), "{err}");

    // d of another key: the components are inconsistent.
    let other_d = jwk_with("p256.private.jwk", &[])["d"].clone();
    let mixed = jwk_with("p384.private.jwk", &[("d", other_d)]);
    let err = load_err(&serde_json::to_vec(&mixed).unwrap()).to_string();
    assert!(err.contains("must be 48 bytes"), "{err}");
    let p256_d = jwk_with("p256.private.jwk", &[])["d"].clone();
    let wrong = jwk_with(
        "p256.public.jwk",
        &[("d", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE".into())],
    );
    let err = load_err(&serde_json::to_vec(&wrong).unwrap()).to_string();
    assert!(err.contains("EC private key rejected"), "{err}");
    let _ = p256_d;

    let ed = jwk_with(
        "ed25519.private.jwk",
        &[("d", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into())],
    );
    let err = load_err(&serde_json::to_vec(&ed).unwrap()).to_string();
    assert!(err.contains("Ed25519 private key rejected"), "{err}");

    let mut bad_rsa = jwk_with("rsa2048.private.jwk", &[]);
    bad_rsa["d"] = jwk_with("rsa2048.private.jwk", &[])["p"].clone();
    let err = load_err(&serde_json::to_vec(&bad_rsa).unwrap()).to_string();
    assert!(err.contains("RSA private key rejected"), "{err}");
}

#[test]
fn jwk_base64_padding_is_tolerated() {
    let mut jwk = jwk_with("p256.public.jwk", &[]);
    let x = format!("{}=", jwk["x"].as_str().unwrap());
    jwk["x"] = x.into();
    assert_eq!(
        load(&serde_json::to_vec(&jwk).unwrap()).unwrap()[0].describe(),
        "EC P-256 public key"
    );
}

// ---- KeyRing -------------------------------------------------------------------

#[test]
fn key_ring_basics() {
    let mut ring = KeyRing::new();
    assert!(ring.is_empty());
    assert_eq!(ring.len(), 0);
    assert!(ring.signing_key().is_none());
    assert!(ring.supported_algorithms().is_empty());

    ring.push(key("ed25519.spki.pem"));
    ring.extend(vec![
        key("p256.spki.pem"),
        key("p384.pkcs8.pem"),
        secret(48, 1, Some("s")),
    ]);
    assert_eq!(ring.len(), 4);
    assert!(!ring.is_empty());
    assert_eq!(ring.keys()[0].describe(), "Ed25519 public key");
    assert_eq!(
        ring.supported_algorithms(),
        [HS256, HS384, ES256, ES384, EdDSA]
    );
    assert_eq!(
        ring.signing_key().unwrap().describe(),
        "EC P-384 private key"
    );
    let cloned = ring.clone();
    assert_eq!(cloned.len(), 4);
}

#[test]
fn format_detection() {
    assert_eq!(detect(b"  {\"kty\":1}"), Format::Json);
    assert_eq!(detect(b"\n[1]"), Format::Json);
    assert_eq!(detect(b"-----BEGIN PUBLIC KEY-----"), Format::Pem);
    assert_eq!(detect(b"junk\n-----BEGIN PUBLIC KEY-----"), Format::Pem);
    assert_eq!(detect(b"0123456789abcdef0123456789abcdef"), Format::Secret);
    assert_eq!(detect(b"x{\"kty\":\"oct\"}"), Format::Secret);
}

// ---- publication (public_jwk, public_jwks) ---------------------------------------

/// Every asymmetric fixture key, with the `kty`, `crv` and `alg` its public
/// JWK must carry.
const PUBLISHABLE: &[(&str, &str, Option<&str>, &str)] = &[
    ("rsa2048.pkcs8.pem", "RSA", None, "RS256"),
    ("rsa2048.pkcs1.pem", "RSA", None, "RS256"),
    ("rsa2048.spki.pem", "RSA", None, "RS256"),
    ("rsa2048.pkcs1-public.pem", "RSA", None, "RS256"),
    ("rsa2048.cert.pem", "RSA", None, "RS256"),
    ("rsa2048.private.jwk", "RSA", None, "RS256"),
    ("rsa2048.public.jwk", "RSA", None, "RS256"),
    ("p256.pkcs8.pem", "EC", Some("P-256"), "ES256"),
    ("p256.sec1.pem", "EC", Some("P-256"), "ES256"),
    ("p256.spki.pem", "EC", Some("P-256"), "ES256"),
    ("p256.cert.pem", "EC", Some("P-256"), "ES256"),
    ("p256.private.jwk", "EC", Some("P-256"), "ES256"),
    ("p384.sec1.pem", "EC", Some("P-384"), "ES384"),
    ("p384.public.jwk", "EC", Some("P-384"), "ES384"),
    ("p521.pkcs8.pem", "EC", Some("P-521"), "ES512"),
    ("p521.spki.pem", "EC", Some("P-521"), "ES512"),
    ("ed25519.pkcs8.pem", "OKP", Some("Ed25519"), "EdDSA"),
    ("ed25519.spki.pem", "OKP", Some("Ed25519"), "EdDSA"),
    ("ed25519.cert.pem", "OKP", Some("Ed25519"), "EdDSA"),
    ("ed25519.private.jwk", "OKP", Some("Ed25519"), "EdDSA"),
];

/// The private key file whose public half `file` holds.
fn private_of(file: &str) -> &'static str {
    match file.split('.').next().unwrap() {
        "rsa2048" => "rsa2048.pkcs8.pem",
        "p256" => "p256.pkcs8.pem",
        "p384" => "p384.pkcs8.pem",
        "p521" => "p521.pkcs8.pem",
        _ => "ed25519.pkcs8.pem",
    }
}

fn b64_member(jwk: &serde_json::Map<String, serde_json::Value>, name: &str) -> Vec<u8> {
    let text = jwk[name].as_str().unwrap();
    assert!(!text.contains('='), "{name} is unpadded");
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text).unwrap()
}

#[test]
fn public_jwk_of_every_key_kind() {
    for &(file, kty, crv, alg) in PUBLISHABLE {
        let jwk = key(file).public_jwk().unwrap_or_else(|| panic!("{file}"));
        assert_eq!(jwk["kty"], kty, "{file}");
        assert_eq!(jwk["alg"], alg, "{file}");
        assert_eq!(jwk["use"], "sig", "{file}");
        assert!(!jwk.contains_key("kid"), "{file}");
        let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
        names.sort_unstable();
        let expected: &[&str] = match kty {
            "RSA" => &["alg", "e", "kty", "n", "use"],
            "EC" => &["alg", "crv", "kty", "use", "x", "y"],
            _ => &["alg", "crv", "kty", "use", "x"],
        };
        assert_eq!(names, expected, "{file}: no private member");
        match kty {
            "RSA" => {
                let n = b64_member(&jwk, "n");
                assert_eq!(n.len(), 256, "{file}: minimal, no leading zero");
                assert_ne!(n[0], 0, "{file}");
                assert_eq!(jwk["e"], "AQAB", "{file}");
            }
            "EC" => {
                assert_eq!(jwk["crv"], crv.unwrap(), "{file}");
                let len = match crv.unwrap() {
                    "P-256" => 32,
                    "P-384" => 48,
                    _ => 66,
                };
                assert_eq!(b64_member(&jwk, "x").len(), len, "{file}");
                assert_eq!(b64_member(&jwk, "y").len(), len, "{file}");
            }
            _ => {
                assert_eq!(jwk["crv"], "Ed25519", "{file}");
                assert_eq!(b64_member(&jwk, "x").len(), 32, "{file}");
            }
        }
    }
}

#[test]
fn a_published_jwk_read_back_verifies_what_the_private_key_signs() {
    for &(file, ..) in PUBLISHABLE {
        let jwk = serde_json::Value::Object(key(file).public_jwk().unwrap());
        let back = load(&serde_json::to_vec(&jwk).unwrap()).unwrap().remove(0);
        assert!(!back.can_sign(), "{file}");
        assert_same_key_pair(&key(private_of(file)), &back);
        // The same JWK from the public file and from the private one.
        assert_eq!(
            key(private_of(file)).public_jwk().unwrap(),
            key(file).public_jwk().unwrap(),
            "{file}"
        );
    }
}

#[test]
fn public_jwk_carries_kid_and_restricted_alg() {
    let named = load_keys(&fixture("p384.pkcs8.pem"), Some("sig-1"))
        .unwrap()
        .remove(0);
    let jwk = named.public_jwk().unwrap();
    assert_eq!(jwk["kid"], "sig-1");
    assert_eq!(jwk["alg"], "ES384");

    let ps = serde_json::to_vec(&jwk_with(
        "rsa2048.private.jwk",
        &[("alg", "PS512".into()), ("kid", "r".into())],
    ))
    .unwrap();
    let jwk = load(&ps).unwrap()[0].public_jwk().unwrap();
    assert_eq!(jwk["alg"], "PS512");
    assert_eq!(jwk["kid"], "r");
    assert!(!jwk.contains_key("d"));
}

#[test]
fn a_secret_has_no_public_jwk() {
    assert!(secret(64, 1, Some("s")).public_jwk().is_none());
}

#[test]
fn public_jwk_of_a_compressed_ec_point_is_uncompressed() {
    // `openssl ec -pubout -conv_form compressed` of p256.pkcs8.pem.
    let pem = b"-----BEGIN PUBLIC KEY-----\n\
        MDkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDIgACP9XhV0uuttdVxx7U8TEdpQRfZaL/\n\
        1d8Wle7udZli7ec=\n-----END PUBLIC KEY-----\n";
    let compressed = load(pem).unwrap().remove(0);
    assert_eq!(
        compressed.public_jwk().unwrap(),
        key("p256.spki.pem").public_jwk().unwrap()
    );
}

#[test]
fn a_ring_publishes_its_public_halves_in_order() {
    let ring = ring(&[
        secret(32, 1, Some("hs")),
        load_keys(&fixture("p256.pkcs8.pem"), Some("ec"))
            .unwrap()
            .remove(0),
        key("ed25519.spki.pem"),
    ]);
    let jwks = ring.public_jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(jwks.as_object().unwrap().len(), 1);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], "ec");
    assert_eq!(keys[1]["kty"], "OKP");
    // What it publishes is a JWKS this crate reads.
    let back = load(&serde_json::to_vec(&jwks).unwrap()).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(
        KeyRing::new().public_jwks(),
        serde_json::json!({"keys": []})
    );
}
