//! Shared fixtures of the fuzz targets: a fixed key ring of every family, the
//! keys read from crates/jwt-core/tests/fixtures at start-up (once per
//! process: AFL's persistent mode runs many inputs per process).

use jwt_core::{load_keys, Key, KeyRing};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/jwt-core/tests/fixtures"
);

/// A fixture file's only key (kid `kid`), or an abort: a fuzz target without
/// its keys must not run and report nothing.
pub fn fixture_key(file: &str, kid: &str) -> Key {
    let path = format!("{FIXTURES}/{file}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut keys = load_keys(&bytes, Some(kid)).unwrap_or_else(|e| panic!("{path}: {e}"));
    keys.remove(0)
}

/// The HMAC secret of the fuzz ring (64 bytes: HS256/384/512).
pub fn hmac_key() -> Key {
    let mut keys = load_keys(&[0x5a; 64], Some("hs")).unwrap_or_else(|e| panic!("{e}"));
    keys.remove(0)
}

/// Private keys of every family, each with a kid: HMAC, RSA-2048, EC P-256,
/// P-384 and P-521, Ed25519. They verify as well as sign.
pub fn private_keys() -> Vec<Key> {
    vec![
        hmac_key(),
        fixture_key("rsa2048.pkcs8.pem", "rsa"),
        fixture_key("p256.pkcs8.pem", "p256"),
        fixture_key("p384.pkcs8.pem", "p384"),
        fixture_key("p521.pkcs8.pem", "p521"),
        fixture_key("ed25519.pkcs8.pem", "ed"),
    ]
}

pub fn ring(keys: &[Key]) -> KeyRing {
    let mut ring = KeyRing::new();
    ring.extend(keys.to_vec());
    ring
}

/// A little-endian u64 from up to 8 bytes at the front of `data`, and the rest.
pub fn take_u64(data: &[u8]) -> (u64, &[u8]) {
    let n = data.len().min(8);
    let mut bytes = [0u8; 8];
    bytes[..n].copy_from_slice(&data[..n]);
    (u64::from_le_bytes(bytes), &data[n..])
}
