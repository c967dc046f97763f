//! A JWKS as an identity provider's endpoint (or an attacker in its place) may answer
//! `jwt_key_request`: the lenient per-key reader (`parse_remote_jwks`), and the
//! `Cache-Control` parser that sets how long the set is kept.
//!
//! Oracles: no panic; a set that loads has at least one key, none of which can sign (only
//! public halves are taken from the network); every "skipped" log line is one bounded line.

use afl::fuzz;
use jwt_core::key_refresh::max_age;
use jwt_core::parse_remote_jwks;

fn main() {
    fuzz!(|data: &[u8]| {
        let _ = max_age(data);
        if let Ok(set) = parse_remote_jwks(data) {
            assert!(!set.is_empty());
            for key in set.keys() {
                assert!(!key.can_sign(), "a remote key must never sign");
                let _ = key.public_jwk();
            }
            for line in set.skipped() {
                assert!(!line.contains('\n') && line.len() < 1024, "{line:?}");
            }
        }
    });
}
