//! `load_keys` on arbitrary key-file bytes: PEM (one or several blocks), JWK,
//! JWKS or a raw HMAC secret, with and without a `kid=` parameter.
//!
//! Oracles: no panic; the `kid=` variant yields the same number of keys or an
//! error; every loaded key describes itself and, if it can sign, verifies its
//! own signature.

use afl::fuzz;
use jwt_core::fuzzing::sign;
use jwt_core::load_keys;

fn main() {
    fuzz!(|data: &[u8]| {
        let plain = load_keys(data, None);
        let named = load_keys(data, Some("k"));
        if let (Ok(plain), Ok(named)) = (&plain, &named) {
            assert_eq!(plain.len(), named.len());
        }
        if let Ok(keys) = plain {
            for key in keys {
                let _ = key.describe();
                let _ = format!("{key:?}");
                let Some(alg) = key.default_sign_algorithm() else {
                    continue;
                };
                // RSA signing is slow; one key type per input is enough.
                let signature = sign(&key, alg, b"a.b").expect("a signing key signs");
                assert!(key.verify_signature(alg, b"a.b", &signature));
                assert!(!key.verify_signature(alg, b"a.c", &signature));
            }
        }
    });
}
