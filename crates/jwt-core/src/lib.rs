//! JWT rules of ngx-jwt, free of nginx: key files, verification policy,
//! claims and issuance.
//!
//! * [`key`]: key files (PEM, JWK/JWKS, raw HMAC secret) into a [`KeyRing`];
//! * [`verify`]: [`Verifier`] checks compact JWS tokens against a [`VerifyPolicy`];
//! * [`issue`]: [`Signer`] turns an authenticator's JSON into a signed JWT;
//! * [`json`]: claim values as text;
//! * [`bearer`]: the token of an `Authorization: Bearer` header;
//! * [`cookie`]: the `jwt_login_cookie` directive and its `Set-Cookie` value;
//! * [`browser`]: the browser login flow: safe return paths, form fields, `Accept`, same origin;
//! * [`require`]: the truth rule of `jwt_require`;
//! * [`claim_rule`]: `jwt_require_claim`'s operators on claim paths;
//! * [`key_refresh`]: when a remote key set (`jwt_key_request`) is fetched again;
//! * [`revocation`]: `jwt_revocation_file` and the token-id digest of `jwt_logout`'s set;
//! * [`renewal`]: the claims `jwt_refresh` signs again (`auth_time` carried through);
//! * [`defaults`]: the directives' default settings, in one place.
//!
//! Nothing here panics on input: it runs inside nginx worker processes.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod alg;
pub mod bearer;
pub mod browser;
mod cache;
pub mod claim_rule;
pub mod cookie;
mod crypto;
pub mod defaults;
mod der;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod issue;
pub mod json;
pub mod key;
pub mod key_refresh;
pub mod renewal;
pub mod require;
pub mod revocation;
pub mod token;
pub mod verify;

pub use alg::{Algorithm, Family};
pub use bearer::bearer_token;
pub use claim_rule::{ClaimRule, ClaimRuleError, Unmet};
pub use cookie::{parse_login_cookie, CookieError, LoginCookie, MaxAge};
pub use crypto::forget_random_batch;
pub use issue::{IssueError, IssuePolicy, IssuedToken, Signer, SignerError};
pub use key::remote::{parse_remote_jwks, RemoteKeySet, RemoteKeys, MAX_REMOTE_JWKS_LEN};
pub use key::{load_keys, Key, KeyError, KeyRing};
pub use renewal::{renewal_claims, RenewError, RenewPolicy, AUTH_TIME};
pub use revocation::{jti_digest, RevocationFileError, RevocationList, JTI_DIGEST_LEN};
pub use token::{Malformed, NumericDate, Part};
pub use verify::{
    AlgorithmRejected, CacheUse, NoKey, PolicyError, VerifiedToken, Verifier, VerifyError,
    VerifyPolicy,
};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod proptests_remote;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
