//! JWT rules of ngx-jwt, free of nginx: key files, verification policy,
//! claims and issuance.
//!
//! * [`key`]: key files (PEM, JWK/JWKS, raw HMAC secret) into a [`KeyRing`];
//! * [`verify`]: [`Verifier`] checks compact JWS tokens against a [`VerifyPolicy`];
//! * [`issue`]: [`Signer`] turns an authenticator's JSON into a signed JWT;
//! * [`json`]: claim values as text.
//!
//! Nothing here panics on input: it runs inside nginx worker processes.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod alg;
mod cache;
mod crypto;
mod der;
pub mod issue;
pub mod json;
pub mod key;
pub mod token;
pub mod verify;

pub use alg::{Algorithm, Family};
pub use issue::{IssueError, IssuePolicy, IssuedToken, Signer, SignerError};
pub use key::{load_keys, Key, KeyError, KeyRing};
pub use token::{Malformed, NumericDate, Part};
pub use verify::{
    AlgorithmRejected, NoKey, PolicyError, VerifiedToken, Verifier, VerifyError, VerifyPolicy,
};

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
