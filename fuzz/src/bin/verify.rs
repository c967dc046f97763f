//! Token verification against a fixed ring holding a key of every family.
//!
//! Input: `mode` byte, 8 bytes of `now` (little-endian), then
//! * even `mode`: the token, as received;
//! * odd `mode`: a claims payload (any bytes), which the harness wraps in a
//!   header and signs with a key of the ring, so that the claim checks (which
//!   run only once the signature holds) are reached too.
//!
//! Oracles: no panic; a token the harness signed never fails on its
//! algorithm, key or signature; the cached verifier agrees with the uncached
//! one.

use std::panic::AssertUnwindSafe;

use afl::fuzz;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_core::fuzzing::sign;
use jwt_core::{Algorithm, Verifier, VerifyError, VerifyPolicy};
use jwt_core_fuzz::{private_keys, ring, take_u64};

fn main() {
    let keys = private_keys();
    let strict = VerifyPolicy {
        issuer: Some("https://idp.example".to_owned()),
        audiences: vec!["api".to_owned(), "web".to_owned()],
        leeway: 30,
        ..VerifyPolicy::default()
    };
    let lax = VerifyPolicy {
        require_exp: false,
        ..VerifyPolicy::default()
    };
    let verifiers = [
        (
            Verifier::new(strict.clone(), ring(&keys), 0).expect("strict"),
            Verifier::new(strict, ring(&keys), 16).expect("strict cached"),
        ),
        (
            Verifier::new(lax.clone(), ring(&keys), 0).expect("lax"),
            Verifier::new(lax, ring(&keys), 16).expect("lax cached"),
        ),
    ];
    // Cheap signers only in the signed mode (RSA signing costs ~1 ms).
    let signers = [
        (&keys[0], Algorithm::HS256, "hs"),
        (&keys[0], Algorithm::HS512, "hs"),
        (&keys[5], Algorithm::EdDSA, "ed"),
        (&keys[2], Algorithm::ES256, "p256"),
    ];

    // The key objects hold `dyn` algorithm references, which are not
    // RefUnwindSafe; a panic aborts the process anyway, so nothing is observed
    // in a broken state.
    let fixtures = AssertUnwindSafe((verifiers, signers));

    fuzz!(|data: &[u8]| {
        let (verifiers, signers) = &*fixtures;
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let (now, rest) = take_u64(rest);
        let (token, signed_here) = if mode & 1 == 0 {
            (rest.to_vec(), false)
        } else {
            let (key, alg, kid) = signers[usize::from(mode >> 1) % signers.len()];
            let header = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#);
            let mut token = URL_SAFE_NO_PAD.encode(header);
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(rest, &mut token);
            let signature = sign(key, alg, token.as_bytes()).expect("fixture key signs");
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut token);
            (token.into_bytes(), true)
        };
        for (uncached, cached) in verifiers {
            let result = uncached.verify(&token, now);
            if signed_here {
                if let Err(e) = &result {
                    assert!(
                        !matches!(
                            e,
                            VerifyError::Algorithm(_)
                                | VerifyError::Key(_)
                                | VerifyError::Signature { .. }
                                | VerifyError::Crit
                                | VerifyError::Missing
                        ),
                        "a token signed by the ring failed with {e:?}"
                    );
                }
            }
            let first = cached.verify(&token, now);
            let second = cached.verify(&token, now);
            let code = |r: &Result<_, VerifyError>| r.as_ref().err().map(VerifyError::code);
            assert_eq!(code(&result), code(&first), "cache disagrees");
            assert_eq!(code(&first), code(&second), "cache hit disagrees");
            if let Ok(verified) = &result {
                // Reading every accessor must not panic either.
                let _ = verified.payload_json();
                let _ = verified.expires_at();
                let _ = verified.claim_path(&["a", "b"]);
            }
        }
    });
}
