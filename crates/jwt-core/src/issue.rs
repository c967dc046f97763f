//! Token issuance (`jwt_login`): the authenticator's JSON answer becomes the
//! claims of a freshly signed JWT.
//!
//! Claim rules, applied over the authenticator's object:
//! * `iat` = now (overwritten);
//! * `exp` = now + ttl, unless the authenticator sent a numeric `exp`:
//!   - later than now + ttl: capped to now + ttl (the operator's ttl is the
//!     longest session the module hands out);
//!   - in the future but sooner: kept, in whole seconds (fractions dropped):
//!     the authenticator said the session ends then;
//!   - not in the future (at or before now once fractions are dropped, so
//!     including negative values), or not finite: an error
//!     ([`IssueError::ExpNotInFuture`], so the module answers 502). jwt_login
//!     never hands out a token that is already expired: extending the
//!     authenticator's session would be wrong, and a dead token would only
//!     send the client round in a login loop; the authenticator is at fault.
//!
//!   A non-numeric `exp` (a string, null, an object...) is treated as absent
//!   and replaced by now + ttl: it is not a NumericDate (RFC 7519 §2), so the
//!   authenticator did not state an expiry the token could carry;
//! * `nbf` is kept as the authenticator sent it (it may delay the token on
//!   purpose), but it must be a number: any other `nbf` is an error
//!   ([`IssueError::NbfNotNumeric`], 502), since `jwt_verify` refuses such a
//!   token as `malformed` and it would never be usable. Found by the fuzzer
//!   (fuzz/, target `issue`), whose oracle is "an issued token verifies";
//! * `jti` = 16 random bytes, base64url (overwritten);
//! * `iss` = the policy issuer when set (overwritten);
//! * `aud` = the policy audiences when set: one → string, several → array
//!   (overwritten).
//!
//! Header: `{"alg":..,"typ":"JWT"}` (or the `jwt_typ` type, see [`Signer::with_type`]) plus
//! `"kid"` when the key has one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::crypto;
use crate::defaults;
use crate::key::{Key, KeyRing};
use crate::token::NumericDate;

/// How `jwt_login` shapes the tokens it issues.
#[derive(Clone, Debug)]
pub struct IssuePolicy {
    /// Lifetime in seconds (an authenticator `exp` may shorten it). Must be
    /// at least 1: with 0 every token would be expired when issued (the glue
    /// refuses `jwt_token_ttl 0` at configuration time).
    pub ttl: u64,
    /// `iss` to set; `None` leaves the authenticator's.
    pub issuer: Option<String>,
    /// `aud` to set; empty leaves the authenticator's.
    pub audiences: Vec<String>,
}

impl Default for IssuePolicy {
    fn default() -> Self {
        IssuePolicy {
            ttl: defaults::TOKEN_TTL,
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

    #[error(
        "the authenticator's \"exp\" ({exp}) is not in the future (now {now}): \
         it would make an already expired token"
    )]
    ExpNotInFuture { exp: NumericDate, now: u64 },

    #[error(
        "the authenticator's \"nbf\" is not a number (RFC 7519 NumericDate): \
         jwt_verify would refuse the token as malformed"
    )]
    NbfNotNumeric,

    #[error(
        "the token would be {len} bytes, more than the {max} that jwt_verify accepts: \
         the authenticator's claims are too big"
    )]
    TooLarge { len: usize, max: usize },

    #[error("could not sign the token: {0}")]
    Sign(String),
}

impl IssueError {
    /// One of "empty", "invalid_json", "not_object", "exp_not_in_future",
    /// "nbf_not_numeric", "too_large", "sign".
    pub fn code(&self) -> &'static str {
        match self {
            IssueError::Empty => "empty",
            IssueError::InvalidJson(_) => "invalid_json",
            IssueError::NotObject => "not_object",
            IssueError::ExpNotInFuture { .. } => "exp_not_in_future",
            IssueError::NbfNotNumeric => "nbf_not_numeric",
            IssueError::TooLarge { .. } => "too_large",
            IssueError::Sign(_) => "sign",
        }
    }
}

/// A signed token and its lifetime, for the login response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds from now until `exp`: at least 1 for any ttl of at least 1
    /// (the glue refuses `jwt_token_ttl 0`).
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

/// `BASE64URL({"alg":..,"typ":..[,"kid":..]})` followed by the `.` of the signing input.
fn encode_header(alg: Algorithm, typ: &str, kid: Option<&str>) -> String {
    let mut header = format!(r#"{{"alg":"{}","typ":{}"#, alg.name(), Value::from(typ));
    if let Some(kid) = kid {
        header.push_str(r#","kid":"#);
        header.push_str(&Value::from(kid).to_string());
    }
    header.push('}');
    let mut encoded = URL_SAFE_NO_PAD.encode(header);
    encoded.push('.');
    encoded
}

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
        Ok(Signer {
            key: key.clone(),
            alg,
            encoded_header: encode_header(alg, "JWT", key.kid()),
        })
    }

    /// Writes `typ` into the header instead of `JWT`: the media type `jwt_typ` requires of
    /// the tokens verified where they are issued (RFC 9068's `at+jwt`), so that a gateway
    /// accepts its own tokens.
    pub fn with_type(mut self, typ: &str) -> Signer {
        self.encoded_header = encode_header(self.alg, typ, self.key.kid());
        self
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
        // Never hand out a token that jwt_verify would refuse (`too_large`).
        if token.len() > defaults::MAX_TOKEN_LEN {
            return Err(IssueError::TooLarge {
                len: token.len(),
                max: defaults::MAX_TOKEN_LEN,
            });
        }
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
    let exp = expiry(claims.get("exp").and_then(Value::as_f64), now, policy.ttl)?;
    if claims.get("nbf").is_some_and(|nbf| !nbf.is_number()) {
        return Err(IssueError::NbfNotNumeric);
    }
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

/// The issued token's `exp` from the authenticator's numeric `exp`, if any
/// (see the module documentation for the rules).
fn expiry(own: Option<f64>, now: u64, ttl: u64) -> Result<u64, IssueError> {
    let policy_exp = now.saturating_add(ttl);
    match own {
        None => Ok(policy_exp),
        // Whole seconds first, so that `now + 0.5` (which would be written as
        // `now`, already expired) is refused like `now` itself. The `f64`
        // comparison is exact for every whole second up to 2^53.
        Some(own) if !own.is_finite() || own.floor() <= now as f64 => {
            Err(IssueError::ExpNotInFuture {
                exp: NumericDate(own),
                now,
            })
        }
        Some(own) if own < policy_exp as f64 => Ok(own.floor() as u64),
        Some(_) => Ok(policy_exp),
    }
}

fn random_jti() -> Result<String, IssueError> {
    let mut bytes = [0u8; JTI_BYTES];
    if !crypto::random_batched(&mut bytes) {
        return Err(IssueError::Sign(
            "the system random generator failed".to_owned(),
        ));
    }
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests;
