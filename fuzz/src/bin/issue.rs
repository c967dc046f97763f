//! Issuance (`jwt_login`) from an arbitrary authenticator answer, checked
//! against verification with the matching public keys.
//!
//! Input: `mode` byte (signing key, ttl, issuer/audience policy), 8 bytes of
//! `now`, then the authenticator's 200 body.
//!
//! Oracles: no panic; an issued token is never already expired: it verifies
//! at `now` (unless the authenticator set a future `nbf`), its `exp` is after
//! `now` and no later than `now + ttl`.

use std::panic::AssertUnwindSafe;

use afl::fuzz;
use jwt_core::{IssuePolicy, Signer, Verifier, VerifyError, VerifyPolicy};
use jwt_core_fuzz::{private_keys, ring, take_u64};

fn main() {
    let keys = private_keys();
    // HMAC, Ed25519 and P-256 sign fast enough for a fuzz loop.
    let signers: Vec<Signer> = [0, 5, 2]
        .iter()
        .map(|&i| Signer::new(&ring(&keys[i..=i]), None).expect("signer"))
        .collect();
    let ttls = [1u64, 60, 3600, 86_400 * 400];
    let with_claims = IssuePolicy {
        ttl: 3600,
        issuer: Some("https://idp.example".to_owned()),
        audiences: vec!["api".to_owned(), "web".to_owned()],
    };
    let checked = Verifier::new(
        VerifyPolicy {
            issuer: with_claims.issuer.clone(),
            audiences: vec!["web".to_owned()],
            ..VerifyPolicy::default()
        },
        ring(&keys),
        0,
    )
    .expect("verifier");
    let open = Verifier::new(VerifyPolicy::default(), ring(&keys), 0).expect("verifier");

    // Not RefUnwindSafe (`dyn` algorithm references); a panic aborts anyway.
    let fixtures = AssertUnwindSafe((signers, checked, open, with_claims));

    fuzz!(|data: &[u8]| {
        let (signers, checked, open, with_claims) = &*fixtures;
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let (raw_now, body) = take_u64(rest);
        // Realistic clocks: below 2^52 every whole second is exact in f64.
        let now = raw_now % (1 << 52);
        let signer = &signers[usize::from(mode) % signers.len()];
        let ttl = ttls[usize::from(mode >> 2) % ttls.len()];
        let (policy, verifier) = if mode & 0x10 != 0 {
            (
                IssuePolicy {
                    ttl,
                    ..with_claims.clone()
                },
                checked,
            )
        } else {
            (
                IssuePolicy {
                    ttl,
                    ..IssuePolicy::default()
                },
                open,
            )
        };
        let Ok(issued) = signer.issue(body, &policy, now) else {
            return;
        };
        assert!(issued.expires_at > now, "issued an expired token");
        assert!(issued.expires_at <= now + ttl, "exp beyond the ttl");
        assert_eq!(issued.expires_in, issued.expires_at - now);
        match verifier.verify(issued.token.as_bytes(), now) {
            Ok(token) => assert_eq!(token.expires_at(), Some(issued.expires_at)),
            // The authenticator may delay the token on purpose.
            Err(VerifyError::NotYetValid { .. }) => {}
            // Bodies near the size limit make tokens the verifier refuses
            // before parsing: see fuzz/README.md.
            Err(VerifyError::TooLarge { .. }) => {}
            Err(e) => panic!("an issued token does not verify: {e:?}"),
        }
    });
}
