//! Helpers shared by the unit tests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::{load_keys, Algorithm, Key, KeyRing};

/// A file of tests/fixtures (see tests/fixtures/generate.sh).
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The only key of a fixture file.
pub(crate) fn key(name: &str) -> Key {
    let mut keys = load_keys(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(keys.len(), 1, "{name}");
    keys.remove(0)
}

pub(crate) fn ring(keys: &[Key]) -> KeyRing {
    let mut ring = KeyRing::new();
    ring.extend(keys.to_vec());
    ring
}

/// An HMAC secret key of `len` bytes, optionally with a kid.
pub(crate) fn secret(len: usize, fill: u8, kid: Option<&str>) -> Key {
    let mut keys = load_keys(&vec![fill; len], kid).unwrap();
    keys.remove(0)
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact token with exactly these header and claims texts, signed by
/// `key` with `alg` (bypassing the Signer, so any header can be built).
pub(crate) fn signed(key: &Key, alg: Algorithm, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = key.sign(alg, input.as_bytes()).expect("key can sign alg");
    format!("{input}.{}", b64(signature))
}

/// A token with an arbitrary signature segment.
pub(crate) fn unsigned(header: &str, claims: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(claims))
}

/// A fresh private key (PKCS#8 PEM through `load_keys`), for "another key of
/// the same kind" checks: "P-256", "P-384", "P-521" or "Ed25519".
pub(crate) fn generated_key(kind: &str) -> Key {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
    let rng = SystemRandom::new();
    let der = match kind {
        "P-256" => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
        "P-384" => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng),
        "P-521" => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P521_SHA512_FIXED_SIGNING, &rng),
        "Ed25519" => Ed25519KeyPair::generate_pkcs8(&rng),
        other => panic!("{other}"),
    }
    .unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
    load_keys(pem.as_bytes(), None).unwrap().remove(0)
}
