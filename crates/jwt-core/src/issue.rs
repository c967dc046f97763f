//! Token issuance (`jwt_login`): the authenticator's JSON answer becomes the
//! claims of a freshly signed JWT.
//!
//! Claim rules, applied over the authenticator's object:
//! * `iat` = now (overwritten);
//! * `exp` = now + ttl, unless the authenticator sent a numeric `exp` that is
//!   sooner: then that one (whole seconds) is kept, **even if it is already
//!   past**: the authenticator said the session ends then, and extending it
//!   would be wrong; such a token simply fails verification (`expires_in` 0).
//!   A non-numeric `exp` is treated as absent and replaced;
//! * `jti` = 16 random bytes, base64url (overwritten);
//! * `iss` = the policy issuer when set (overwritten);
//! * `aud` = the policy audiences when set: one → string, several → array
//!   (overwritten).
//!
//! Header: `{"alg":..,"typ":"JWT"}` plus `"kid"` when the key has one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::crypto;
use crate::key::{Key, KeyRing};

/// How `jwt_login` shapes the tokens it issues.
#[derive(Clone, Debug)]
pub struct IssuePolicy {
    /// Lifetime in seconds (an authenticator `exp` may shorten it).
    pub ttl: u64,
    /// `iss` to set; `None` leaves the authenticator's.
    pub issuer: Option<String>,
    /// `aud` to set; empty leaves the authenticator's.
    pub audiences: Vec<String>,
}

impl Default for IssuePolicy {
    fn default() -> Self {
        IssuePolicy {
            ttl: 3600,
            issuer: None,
            audiences: Vec::new(),
        }
    }
}

/// A signing configuration that cannot work, reported at configuration time.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error(
        "jwt_login needs a key that can sign: an HMAC secret, a PEM private key or a JWK with \
         \"d\"; add one with jwt_key_file (no key is configured for this location)"
    )]
    NoKeys,

    #[error(
        "jwt_login needs a key that can sign: an HMAC secret, a PEM private key or a JWK with \
         \"d\"; the configured keys ({keys}) are public keys only"
    )]
    NoSigningKey { keys: String },

    #[error(
        "the signing key ({key}) cannot sign {alg}; it can sign {supported}: \
         choose one of those or use a key that fits {alg}"
    )]
    AlgorithmNotSupported {
        alg: Algorithm,
        key: String,
        supported: String,
    },
}

/// Why one issuance failed (at request time).
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("authenticator answered 200 with an empty body")]
    Empty,

    #[error("authenticator answered 200 with a body that is not JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),

    #[error("authenticator answered 200 with JSON that is not an object of claims")]
    NotObject,

    #[error("could not sign the token: {0}")]
    Sign(String),
}

impl IssueError {
    /// One of "empty", "invalid_json", "not_object", "sign".
    pub fn code(&self) -> &'static str {
        match self {
            IssueError::Empty => "empty",
            IssueError::InvalidJson(_) => "invalid_json",
            IssueError::NotObject => "not_object",
            IssueError::Sign(_) => "sign",
        }
    }
}

/// A signed token and its lifetime, for the login response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds from now until `exp` (0 if the authenticator's `exp` is past).
    pub expires_in: u64,
    /// The token's `exp`.
    pub expires_at: u64,
}

/// Signs tokens with one key and algorithm. Built once at configuration time;
/// shared by reference (Send + Sync).
#[derive(Debug)]
pub struct Signer {
    key: Key,
    alg: Algorithm,
    /// BASE64URL(header) followed by '.', computed once.
    encoded_header: String,
}

/// Random bytes in a `jti` (128 bits: collisions are not a concern).
const JTI_BYTES: usize = 16;

impl Signer {
    /// Uses the ring's first signing-capable key; `alg` defaults to that key's
    /// [`Key::default_sign_algorithm`].
    pub fn new(ring: &KeyRing, alg: Option<Algorithm>) -> Result<Signer, SignerError> {
        if ring.is_empty() {
            return Err(SignerError::NoKeys);
        }
        let key = ring
            .signing_key()
            .ok_or_else(|| SignerError::NoSigningKey {
                keys: ring
                    .keys()
                    .iter()
                    .map(Key::describe)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let supported = key.algorithms();
        let alg = match alg.or_else(|| key.default_sign_algorithm()) {
            Some(alg) if supported.contains(&alg) => alg,
            requested => {
                return Err(SignerError::AlgorithmNotSupported {
                    alg: requested.unwrap_or(Algorithm::HS256),
                    key: key.describe(),
                    supported: supported
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        let mut header = format!(r#"{{"alg":"{}","typ":"JWT""#, alg.name());
        if let Some(kid) = key.kid() {
            header.push_str(r#","kid":"#);
            header.push_str(&Value::from(kid).to_string());
        }
        header.push('}');
        let mut encoded_header = URL_SAFE_NO_PAD.encode(header);
        encoded_header.push('.');
        Ok(Signer {
            key: key.clone(),
            alg,
            encoded_header,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key tokens are signed with.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Issues a token from `body`, the authenticator's raw 200 response body.
    pub fn issue(
        &self,
        body: &[u8],
        policy: &IssuePolicy,
        now: u64,
    ) -> Result<IssuedToken, IssueError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(IssueError::Empty);
        }
        let claims = match serde_json::from_slice(body).map_err(IssueError::InvalidJson)? {
            Value::Object(claims) => claims,
            _ => return Err(IssueError::NotObject),
        };
        let (claims, expires_at) = apply_policy(claims, policy, now)?;
        let payload = serde_json::to_vec(&claims)
            .map_err(|e| IssueError::Sign(format!("claims do not serialise: {e}")))?;

        let mut token = self.encoded_header.clone();
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = self
            .key
            .sign(self.alg, token.as_bytes())
            .ok_or_else(|| IssueError::Sign(format!("the crypto library failed ({})", self.alg)))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(IssuedToken {
            token,
            expires_in: expires_at.saturating_sub(now),
            expires_at,
        })
    }
}

/// Sets the registered claims; returns the claims and their `exp`.
fn apply_policy(
    mut claims: Map<String, Value>,
    policy: &IssuePolicy,
    now: u64,
) -> Result<(Map<String, Value>, u64), IssueError> {
    let policy_exp = now.saturating_add(policy.ttl);
    let exp = match claims.get("exp").and_then(Value::as_f64) {
        Some(own) if own < policy_exp as f64 => own.floor() as u64,
        _ => policy_exp,
    };
    claims.insert("iat".to_owned(), now.into());
    claims.insert("exp".to_owned(), exp.into());
    claims.insert("jti".to_owned(), random_jti()?.into());
    if let Some(issuer) = &policy.issuer {
        claims.insert("iss".to_owned(), issuer.clone().into());
    }
    match policy.audiences.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".to_owned(), one.clone().into());
        }
        many => {
            claims.insert("aud".to_owned(), many.to_vec().into());
        }
    }
    Ok((claims, exp))
}

fn random_jti() -> Result<String, IssueError> {
    let mut bytes = [0u8; JTI_BYTES];
    if !crypto::random(&mut bytes) {
        return Err(IssueError::Sign(
            "the system random generator failed".to_owned(),
        ));
    }
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests;
