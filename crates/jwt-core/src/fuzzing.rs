//! Entry points for the coverage-guided fuzzer in `fuzz/`, compiled only with
//! the `fuzzing` feature (never by the nginx module). They reach internal
//! parsers directly, so that the fuzzer mutates DER and JWK JSON themselves
//! rather than the PEM and base64 armor that `load_keys` expects around them.
//! Not a stable API.

use crate::der::{self, Reader};
use crate::key::{asn1, jwk, pem};
use crate::{Algorithm, Key, KeyError};

/// The PEM labels `load_keys` accepts, indexed by the fuzzer's selector byte.
pub const PEM_LABELS: [&str; 6] = [
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "CERTIFICATE",
];

/// Parses `der` as the structure that PEM label `PEM_LABELS[selector % 6]`
/// calls for; true if it yields a key.
pub fn der_key(selector: u8, der: &[u8]) -> bool {
    let parse = match selector % 6 {
        0 => asn1::from_spki,
        1 => asn1::from_pkcs1_public,
        2 => asn1::from_pkcs8,
        3 => asn1::from_pkcs1_private,
        4 => asn1::from_sec1,
        _ => asn1::from_certificate,
    };
    parse(der).is_ok()
}

/// Walks `bytes` with the generic DER reader, descending into every
/// constructed element (iteratively: the reader itself never recurses), and
/// renders every OID. Returns the number of elements read.
pub fn der_walk(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut pending = vec![Reader::new(bytes)];
    // Bounded: every element read consumes at least two bytes of its parent.
    while let Some(mut reader) = pending.pop() {
        while let Ok(tlv) = reader.any() {
            count += 1;
            if tlv.tag == der::OID {
                let _ = der::oid_to_string(tlv.content);
            }
            if tlv.tag & 0x20 != 0 {
                pending.push(Reader::new(tlv.content));
            }
        }
    }
    let _ = der::outer_sequence(bytes, "x");
    count
}

/// The PEM splitter alone: the number of blocks found.
pub fn pem_blocks(bytes: &[u8]) -> Result<usize, KeyError> {
    pem::blocks(bytes).map(|blocks| blocks.len())
}

/// JWK / JWKS parsing alone, whatever the first byte is.
pub fn jwk(bytes: &[u8], kid: Option<&str>) -> Result<Vec<Key>, KeyError> {
    jwk::load(bytes, kid)
}

/// Signs `signing_input` with `key`, to build validly signed tokens whose
/// payload the fuzzer controls (the verifier reads claims only after the
/// signature holds).
pub fn sign(key: &Key, alg: Algorithm, signing_input: &[u8]) -> Option<Vec<u8>> {
    key.sign(alg, signing_input)
}

/// The members reader of header and claims (token/members.rs) against serde_json's map, on
/// arbitrary text; panics where they disagree (see `check_against_map` there for the oracle).
pub fn members_agree_with_map(bytes: &[u8]) {
    let checked = crate::token::check_members_against_map(bytes);
    assert!(checked.is_ok(), "{checked:?}");
}
