//! JWK and JWKS parsing alone (`kty` oct/RSA/EC/OKP, `alg`, `use`, `kid`),
//! reached without the format detection in front of it.
//!
//! Oracles: no panic; a key set loads the same with a `kid=` parameter or
//! fails.

use afl::fuzz;
use jwt_core::fuzzing::jwk;

fn main() {
    fuzz!(|data: &[u8]| {
        let plain = jwk(data, None);
        let named = jwk(data, Some("k"));
        if let (Ok(plain), Ok(named)) = (&plain, &named) {
            assert_eq!(plain.len(), named.len());
        }
        if let Ok(keys) = plain {
            for key in keys {
                let _ = key.describe();
                let _ = key.algorithms();
            }
        }
    });
}
