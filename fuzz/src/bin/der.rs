//! The DER reader and the key structures on top of it (SPKI, PKCS#1, PKCS#8,
//! SEC1, X.509), fed raw DER without PEM armor, plus the PEM splitter.
//!
//! Input: a selector byte (which structure, see `PEM_LABELS`), then DER.

use afl::fuzz;
use jwt_core::fuzzing::{der_key, der_walk, pem_blocks};

fn main() {
    fuzz!(|data: &[u8]| {
        let Some((&selector, der)) = data.split_first() else {
            return;
        };
        let elements = der_walk(der);
        assert!(elements <= der.len() / 2, "more elements than header bytes");
        let _ = der_key(selector, der);
        let _ = pem_blocks(data);
    });
}
