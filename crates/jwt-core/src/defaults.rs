//! Default settings of the directives, in one place: the nginx glue's
//! configuration merge and this crate's [`crate::VerifyPolicy`] and
//! [`crate::IssuePolicy`] defaults all read them from here, so they cannot
//! drift apart.

/// Tokens longer than this many bytes are refused (`too_large`) before any
/// parsing (no directive sets it). Generous for JWTs with many claims, small
/// enough that a hostile token costs little to turn away.
pub const MAX_TOKEN_LEN: usize = 8192;

/// `jwt_require_exp`: a token without `exp` is refused (`malformed`), since a
/// token that never expires stays usable forever once leaked.
pub const REQUIRE_EXP: bool = true;

/// `jwt_leeway`: tolerated clock skew for `exp`/`nbf`, in seconds.
pub const LEEWAY: u64 = 0;

/// `jwt_token_ttl`: lifetime of a token issued by `jwt_login`, in seconds.
pub const TOKEN_TTL: u64 = 3600;

/// `jwt_cache_size`: verified tokens kept per location (0 disables the cache).
pub const CACHE_SIZE: usize = 1024;

/// `jwt_realm`: the realm of the `WWW-Authenticate: Bearer` challenge.
pub const REALM: &str = "protected";

/// `jwt_key_cache`: how long a key set fetched with `jwt_key_request` is used, in seconds.
pub const KEY_CACHE_LIFETIME: u64 = 600;

/// `jwt_key_cache ... refetch=`: the shortest time between two fetches of a key set after a
/// failure or for an unknown `kid`, in seconds; also the floor of a response's `max-age`.
pub const KEY_REFETCH_INTERVAL: u64 = 30;

/// `jwt_shared_memory`: the size of the module's shared memory zone, in bytes.
pub const SHARED_MEMORY_SIZE: usize = 1024 * 1024;

/// `jwt_refresh_max_age`: how long after the original login (`auth_time`) a token can still
/// be refreshed, in seconds (`None`: `off`). On by default: a stolen token must not be kept
/// alive forever by refreshing it in time.
pub const REFRESH_MAX_AGE: Option<u64> = Some(86_400);

/// `jwt_refresh_grace`: how long after its `exp` a token can still be refreshed, in seconds.
/// 0: an expired token means a new login.
pub const REFRESH_GRACE: u64 = 0;

/// `jwt_logout_capacity`: live entries the shared revocation set holds.
pub const LOGOUT_CAPACITY: usize = 10_000;

/// `jwt_jwks max_age=`: the `Cache-Control: max-age` of a published JWKS, in seconds.
pub const JWKS_MAX_AGE: u64 = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IssuePolicy, RenewPolicy, VerifyPolicy};

    #[test]
    fn the_policies_default_to_these() {
        let verify = VerifyPolicy::default();
        assert_eq!(verify.max_token_len, MAX_TOKEN_LEN);
        assert_eq!(verify.require_exp, REQUIRE_EXP);
        assert_eq!(verify.leeway, LEEWAY);
        assert_eq!(IssuePolicy::default().ttl, TOKEN_TTL);
        assert_eq!(RenewPolicy::default().grace, REFRESH_GRACE);
        assert_eq!(RenewPolicy::default().max_age, REFRESH_MAX_AGE);
        // The documented values, so that a change here is deliberate.
        assert_eq!(
            (
                MAX_TOKEN_LEN,
                REQUIRE_EXP,
                LEEWAY,
                TOKEN_TTL,
                CACHE_SIZE,
                REALM
            ),
            (8192, true, 0, 3600, 1024, "protected")
        );
    }
}
