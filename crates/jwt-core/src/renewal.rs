//! The re-issue step of `jwt_refresh`: a client POSTs a valid token and receives a fresh
//! one with the same claims, so that a session outlives one token's `exp` without a new
//! login, while `jwt_refresh_max_age` still bounds how long it can be kept alive that way.
//!
//! # Contract with the caller
//!
//! [`renewal_claims`] judges only the session's age; everything else is the caller's, in
//! this order:
//! 1. verify the presented token with the location's [`crate::Verifier`] at
//!    [`RenewPolicy::verify_time`] (`now - grace`, `jwt_refresh_grace`), so that a token
//!    that expired less than `grace` seconds ago still verifies (a client that wakes up a little late is not
//!    logged out) while signature, algorithm, `iss`, `aud` and `typ` are checked as for
//!    any request;
//! 2. refuse it if it is revoked ([`crate::RevocationList::revokes`], the shared deny set);
//! 3. call [`renewal_claims`] with the real clock;
//! 4. hand the bytes to [`crate::Signer::issue`], which adds a fresh `iat`, `exp` (now +
//!    `jwt_token_ttl`), `jti` and the configured `iss`/`aud`.
//!
//! # Claims
//!
//! The session's *origin* is the token's `auth_time` (the original login time; OpenID
//! Connect Core §2 names the claim), or, on the first refresh of a token that lacks one,
//! its `iat`. A token with neither, or with one that is not a number, is refused: its
//! session cannot be bounded, so it fails closed. The origin is taken in whole seconds
//! (fractions dropped) and never later than now (an issuer whose clock runs ahead does
//! not buy its sessions extra time).
//!
//! The renewed claims are every claim of the token except `iat`, `exp`, `nbf` and `jti`,
//! plus `auth_time` = origin, so the origin survives any number of refreshes. `exp` must
//! go: [`crate::Signer::issue`] keeps an `exp` sooner than its own, so the new token would
//! die with the old one; `nbf` and the others describe the old token, not the new one.
//!
//! `max_age` bounds refreshes, not tokens: a refresh at exactly origin + `max_age` still
//! succeeds, and the token it yields lives one `jwt_token_ttl` more. A session therefore
//! ends at most `max_age` + `jwt_token_ttl` after the login.

use serde_json::{Map, Value};

use crate::defaults;
use crate::token::NumericDate;
use crate::verify::VerifiedToken;

/// The claim that carries the original login time through refreshes.
pub const AUTH_TIME: &str = "auth_time";

/// The claims a renewed token does not inherit (see the module documentation).
const NOT_INHERITED: [&str; 4] = ["iat", "exp", "nbf", "jti"];

/// How `jwt_refresh` renews tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewPolicy {
    /// `jwt_refresh_max_age`: longest time, in seconds, from the login (`auth_time`) to a
    /// refresh; `None` = no limit.
    pub max_age: Option<u64>,
    /// `jwt_refresh_grace`: seconds after its `exp` during which a token may still be
    /// renewed. Applied by the caller, see [`RenewPolicy::verify_time`].
    pub grace: u64,
}

/// No `max_age` (the `jwt_refresh_max_age` default, [`defaults::REFRESH_MAX_AGE`], is the
/// module's to apply: a policy built without it bounds nothing) and the default grace.
impl Default for RenewPolicy {
    fn default() -> Self {
        RenewPolicy {
            max_age: defaults::REFRESH_MAX_AGE,
            grace: defaults::REFRESH_GRACE,
        }
    }
}

impl RenewPolicy {
    /// The clock to verify the presented token at: `now - grace`, so that a token expired
    /// less than `grace` seconds ago (plus the verifier's leeway) still verifies.
    pub fn verify_time(&self, now: u64) -> u64 {
        now.saturating_sub(self.grace)
    }
}

/// Why a verified token is not renewed.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error(
        "the token has neither \"auth_time\" nor \"iat\": the age of its session is unknown, \
         so it is not renewed"
    )]
    NoOrigin,

    #[error(
        "the token's \"{0}\" is not a number: the age of its session is unknown, \
         so it is not renewed"
    )]
    NotNumeric(&'static str),

    #[error(
        "the session began at {origin}, more than max_age {max_age}s ago: \
         the client must log in again"
    )]
    TooOld { origin: u64, max_age: u64 },

    #[error("the renewed claims do not serialise: {0}")]
    Serialize(#[source] serde_json::Error),
}

impl RenewError {
    /// One of "no_origin", "not_numeric", "too_old", "serialize".
    pub fn code(&self) -> &'static str {
        match self {
            RenewError::NoOrigin => "no_origin",
            RenewError::NotNumeric(_) => "not_numeric",
            RenewError::TooOld { .. } => "too_old",
            RenewError::Serialize(_) => "serialize",
        }
    }
}

/// The JSON object to hand to [`crate::Signer::issue`] for the renewal of `token`, which
/// the caller has verified (see the module documentation). `now` is unix time in seconds.
pub fn renewal_claims(
    token: &VerifiedToken,
    policy: &RenewPolicy,
    now: u64,
) -> Result<Vec<u8>, RenewError> {
    let origin = origin(token, now)?;
    if let Some(max_age) = policy.max_age {
        if now > origin.saturating_add(max_age) {
            return Err(RenewError::TooOld { origin, max_age });
        }
    }
    let mut claims: Map<String, Value> = token
        .claims()
        .iter()
        .filter(|(name, _)| !NOT_INHERITED.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    claims.insert(AUTH_TIME.to_owned(), origin.into());
    serde_json::to_vec(&claims).map_err(RenewError::Serialize)
}

/// When the session began: `auth_time`, else `iat`, in whole seconds, at most `now`.
fn origin(token: &VerifiedToken, now: u64) -> Result<u64, RenewError> {
    // A present but non-numeric `auth_time` is refused rather than skipped for `iat`:
    // falling back would restart the session's clock at the last refresh.
    let (name, value) = match (token.claim(AUTH_TIME), token.claim("iat")) {
        (Some(auth_time), _) => (AUTH_TIME, auth_time),
        (None, Some(iat)) => ("iat", iat),
        (None, None) => return Err(RenewError::NoOrigin),
    };
    let seconds = value.as_f64().ok_or(RenewError::NotNumeric(name))?;
    Ok(NumericDate(seconds).as_secs().min(now))
}

#[cfg(test)]
mod tests;
