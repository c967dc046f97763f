//! Token verification (`jwt_verify`): RFC 7515 signature rules, RFC 7519
//! claim rules and RFC 8725 (JWT BCP) hardening.
//!
//! Order of checks. The payload is attacker-controlled until the signature
//! says otherwise, so nothing reads it before then: an unauthenticated token
//! never reaches the JSON parser with its claims (RFC 8725 §3.1's spirit:
//! trust nothing before the signature). The header must be read first, since
//! it names the algorithm and key.
//!
//! 1. size (`too_large`), then three `.`-separated segments (`malformed`);
//! 2. header: base64url JSON object with a string `alg`; `none` in any
//!    casing, an unknown name or one outside the allow-list → `algorithm`;
//!    any `crit` → `crit`; `kid`, if present, a string (else `malformed`);
//! 3. signature segment: base64url and non-empty (`malformed`);
//! 4. key choice by `kid` and algorithm (`key`), then the signature over the
//!    still-encoded `header.payload` with each candidate key until one
//!    verifies (`signature`). A forged token therefore fails here whatever
//!    its payload holds, even if that is not base64 or not JSON;
//! 5. claims (only for a validly signed token): base64url JSON object;
//!    `exp`/`nbf`/`iat` numbers; `exp` present when required (all
//!    `malformed`);
//! 6. `iss` (`issuer`) and `aud` (`audience`);
//! 7. time: `exp` (`expired`), `nbf` (`not_yet_valid`), both with leeway.
//!
//! The cost of this order: a garbage payload under a plausible header now
//! costs a signature check before it is refused (an RSA/EC verify, tens of
//! microseconds) instead of a failed parse. That bounds nothing new: any
//! well-formed forged token always cost that much.
//!
//! Tokens that pass 1–6 are cached by their exact bytes; a cache hit runs only
//! step 7 again.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::alg::{Algorithm, Family};
use crate::cache::TokenCache;
use crate::defaults;
use crate::key::KeyRing;
use crate::token::{self, Malformed, NumericDate, Part};

/// What `jwt_verify` accepts, fixed at configuration time.
#[derive(Clone, Debug)]
pub struct VerifyPolicy {
    /// Allow-list of `alg` values; `None` = everything the key ring supports.
    pub algorithms: Option<Vec<Algorithm>>,
    /// Clock skew tolerated for `exp` and `nbf`, in seconds.
    pub leeway: u64,
    /// Reject tokens without `exp` (code `malformed`). Default on.
    pub require_exp: bool,
    /// Required `iss`, compared exactly.
    pub issuer: Option<String>,
    /// Accepted audiences: `aud` must contain one. Empty = not checked.
    pub audiences: Vec<String>,
    /// Largest compact token accepted, in bytes.
    pub max_token_len: usize,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            algorithms: None,
            leeway: defaults::LEEWAY,
            require_exp: defaults::REQUIRE_EXP,
            issuer: None,
            audiences: Vec::new(),
            max_token_len: defaults::MAX_TOKEN_LEN,
        }
    }
}

/// A configuration that cannot work, reported when nginx loads it.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("jwt_verify needs at least one key: add a jwt_key_file")]
    NoKeys,

    #[error("jwt_algorithms is empty: list at least one algorithm or remove the directive")]
    NoAlgorithms,

    #[error(
        "jwt_algorithms lists {alg} but no jwt_key_file key can verify it; {hint} or remove {alg}"
    )]
    AlgorithmWithoutKey { alg: Algorithm, hint: String },
}

/// What kind of key the operator should add to support `alg`.
fn key_hint(alg: Algorithm) -> String {
    match alg.family() {
        Family::Hmac => format!(
            "add an HMAC secret of at least {} bytes",
            alg.min_hmac_secret_len().unwrap_or(32)
        ),
        Family::Rsa => "add an RSA key (2048 bits or more)".to_owned(),
        Family::Ec => match alg {
            Algorithm::ES384 => "add an EC P-384 key".to_owned(),
            Algorithm::ES512 => "add an EC P-521 key".to_owned(),
            _ => "add an EC P-256 key".to_owned(),
        },
        Family::Okp => "add an Ed25519 key".to_owned(),
    }
}

/// Why a token was rejected.
///
/// [`VerifyError::code`] gives the stable machine-readable class; `Display`
/// gives the detail for the error log. Messages never contain the token or key
/// bytes; values taken from the token (alg, kid, iss, aud) are quoted,
/// escaped and cut to 64 characters.
///
/// Code decisions:
/// * `missing`: no token presented (the glue's case), or an empty token;
/// * `malformed`: any structural problem, including a header without `alg` or
///   with a non-string `alg`/`kid`, non-numeric `exp`/`nbf`/`iat`, **a missing
///   `exp` when the policy requires one** (the token lacks a required part; it
///   is not "expired"), and an empty signature segment;
/// * `algorithm`: `alg` is `none` (any casing), unknown, or not allowed;
/// * `crit`: the header has a `crit` parameter (no extension is understood);
/// * `key`: no configured key has the token's `kid`, or the keys with that
///   `kid` cannot verify the token's `alg`, or (without `kid`) no key can;
/// * `signature`: candidate keys exist and none verifies the signature;
/// * `issuer`/`audience`: `iss` missing or different / `aud` missing, of the
///   wrong type, or naming no accepted audience;
/// * `expired`/`not_yet_valid`: time checks, after everything else.
///
/// Claim problems (`malformed` for the claims, `issuer`, `audience`, the time
/// codes) are only ever reported for a token whose signature verified: a
/// forged token gets `signature` (or `key`) whatever its payload holds.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no token in the request")]
    Missing,

    #[error("token is {len} bytes, over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },

    #[error("malformed token: {0}")]
    Malformed(Malformed),

    #[error("{0}")]
    Algorithm(AlgorithmRejected),

    #[error("token header has \"crit\"; no JWS extension is supported (RFC 7515 §4.1.11)")]
    Crit,

    #[error("{0}")]
    Key(NoKey),

    #[error("{alg} signature does not verify with any of {tried} candidate key(s)")]
    Signature { alg: Algorithm, tried: usize },

    #[error("token expired at {exp}, now {now}, leeway {leeway}s")]
    Expired {
        exp: NumericDate,
        now: u64,
        leeway: u64,
    },

    #[error("token not valid before {nbf}, now {now}, leeway {leeway}s")]
    NotYetValid {
        nbf: NumericDate,
        now: u64,
        leeway: u64,
    },

    #[error("token issuer is {found}, expected {expected:?}")]
    Issuer { expected: String, found: String },

    #[error("token audience {found} names none of the accepted audiences {expected:?}")]
    Audience {
        expected: Vec<String>,
        found: String,
    },
}

impl VerifyError {
    /// One of "missing", "malformed", "too_large", "algorithm", "key",
    /// "signature", "expired", "not_yet_valid", "issuer", "audience", "crit".
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::Algorithm(_) => "algorithm",
            VerifyError::Crit => "crit",
            VerifyError::Key(_) => "key",
            VerifyError::Signature { .. } => "signature",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::Issuer { .. } => "issuer",
            VerifyError::Audience { .. } => "audience",
        }
    }
}

impl From<Malformed> for VerifyError {
    fn from(m: Malformed) -> Self {
        VerifyError::Malformed(m)
    }
}

/// Why the token's `alg` is refused (code `algorithm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgorithmRejected {
    /// `none` in any casing: an unsecured JWS (RFC 8725 §3.1).
    Unsecured(String),
    /// Not a JWS algorithm this module implements.
    Unknown(String),
    /// Implemented but not in the allow-list.
    NotAllowed(Algorithm),
}

impl fmt::Display for AlgorithmRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgorithmRejected::Unsecured(name) => {
                write!(f, "token alg {name} (an unsecured JWS) is never accepted")
            }
            AlgorithmRejected::Unknown(name) => {
                write!(f, "token alg {name} is not a supported JWS algorithm")
            }
            AlgorithmRejected::NotAllowed(alg) => write!(f, "token alg {alg} is not allowed"),
        }
    }
}

/// Why no key could be tried (code `key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKey {
    /// No configured key has the token's `kid`.
    UnknownKid(String),
    /// Keys with that `kid` exist but none supports the token's `alg`.
    KidCannotVerify { kid: String, alg: Algorithm },
    /// Without `kid`: no key supports the token's `alg`.
    NoKeyForAlgorithm(Algorithm),
}

impl fmt::Display for NoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoKey::UnknownKid(kid) => write!(f, "no configured key has the token's kid {kid}"),
            NoKey::KidCannotVerify { kid, alg } => {
                write!(f, "the key(s) with kid {kid} cannot verify {alg}")
            }
            NoKey::NoKeyForAlgorithm(alg) => write!(f, "no configured key can verify {alg}"),
        }
    }
}

/// A token-supplied string made safe for a log line: quoted, escaped, cut.
fn quoted(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out = String::with_capacity(s.len().min(MAX_CHARS) + 2);
    out.push('"');
    for c in s.chars().take(MAX_CHARS) {
        out.extend(c.escape_debug());
    }
    out.push('"');
    if s.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A token whose signature and claims were accepted.
#[derive(Debug)]
pub struct VerifiedToken {
    algorithm: Algorithm,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    expiration: Option<NumericDate>,
    not_before: Option<NumericDate>,
    payload_json: OnceLock<String>,
}

impl VerifiedToken {
    /// The `alg` that verified.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A JOSE header parameter.
    pub fn header(&self, name: &str) -> Option<&Value> {
        self.header.get(name)
    }

    /// A top-level claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// A claim inside nested objects, e.g. `["realm_access", "roles"]`.
    /// An empty path yields `None`.
    pub fn claim_path<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.claims.get(first.as_ref())?, |value, name| {
                value.get(name.as_ref())
            })
    }

    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The claims as compact JSON, serialised on first use and then kept.
    pub fn payload_json(&self) -> &str {
        self.payload_json
            .get_or_init(|| serde_json::to_string(&self.claims).unwrap_or_default())
    }

    /// `exp` in whole seconds (fractions dropped, clamped to `0..=u64::MAX`).
    pub fn expires_at(&self) -> Option<u64> {
        self.expiration.map(NumericDate::as_secs)
    }

    #[cfg(test)]
    pub(crate) fn for_tests(claims: Map<String, Value>) -> VerifiedToken {
        VerifiedToken {
            algorithm: Algorithm::HS256,
            header: Map::new(),
            claims,
            expiration: None,
            not_before: None,
            payload_json: OnceLock::new(),
        }
    }
}

/// Verifies tokens against one location's policy and keys. Built once at
/// configuration time; shared by reference (Send + Sync).
pub struct Verifier {
    policy: VerifyPolicy,
    ring: KeyRing,
    allowed: Vec<Algorithm>,
    cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("keys", &self.ring.keys())
            .field("allowed", &self.allowed)
            .field("cache", &self.cache.is_some())
            .finish()
    }
}

impl Verifier {
    /// Checks the policy against the keys: every allowed algorithm needs a key
    /// that can verify it. `cache_capacity` = 0 disables the cache.
    pub fn new(
        policy: VerifyPolicy,
        ring: KeyRing,
        cache_capacity: usize,
    ) -> Result<Verifier, PolicyError> {
        if ring.is_empty() {
            return Err(PolicyError::NoKeys);
        }
        let supported = ring.supported_algorithms();
        let allowed = match &policy.algorithms {
            None => supported,
            Some(list) if list.is_empty() => return Err(PolicyError::NoAlgorithms),
            Some(list) => {
                if let Some(&alg) = list.iter().find(|alg| !supported.contains(alg)) {
                    return Err(PolicyError::AlgorithmWithoutKey {
                        alg,
                        hint: key_hint(alg),
                    });
                }
                Algorithm::ALL
                    .into_iter()
                    .filter(|alg| list.contains(alg))
                    .collect()
            }
        };
        Ok(Verifier {
            policy,
            ring,
            allowed,
            cache: TokenCache::new(cache_capacity),
        })
    }

    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// The effective allow-list, in [`Algorithm::ALL`] order.
    pub fn allowed_algorithms(&self) -> &[Algorithm] {
        &self.allowed
    }

    /// Verifies a compact JWS exactly as received (no "Bearer "). `now` is
    /// unix time in seconds.
    pub fn verify(&self, token: &[u8], now: u64) -> Result<Arc<VerifiedToken>, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        if token.len() > self.policy.max_token_len {
            return Err(VerifyError::TooLarge {
                len: token.len(),
                max: self.policy.max_token_len,
            });
        }
        if let Some(hit) = self.cache.as_ref().and_then(|cache| cache.get(token)) {
            self.check_time(&hit, now)?;
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_uncached(token)?);
        self.check_time(&verified, now)?;
        if let Some(cache) = &self.cache {
            cache.insert(token, Arc::clone(&verified));
        }
        Ok(verified)
    }

    /// Steps 1–6: everything that does not depend on the clock.
    ///
    /// One buffer, sized up front for all three decoded segments, receives
    /// header, signature and (once the signature holds) claims: a verification
    /// makes a single allocation for decoding, as before the reorder. A forged
    /// token reserves room for a payload it never decodes; that costs nothing
    /// extra (it is the same one allocation).
    fn verify_uncached(&self, token: &[u8]) -> Result<VerifiedToken, VerifyError> {
        let segments = token::split(token)?;
        let mut decoded = Vec::with_capacity(token::decoded_capacity(&segments));

        let range = token::decode_into(segments.header, Part::Header, &mut decoded)?;
        let header = token::json_object(&decoded[range], Part::Header)?;
        let algorithm = self.header_algorithm(&header)?;
        if header.contains_key("crit") {
            return Err(VerifyError::Crit);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(Malformed::KidNotString.into()),
        };

        let range = token::decode_into(segments.signature, Part::Signature, &mut decoded)?;
        if range.is_empty() {
            return Err(Malformed::EmptySignature.into());
        }
        self.check_signature(algorithm, kid, segments.signing_input, &decoded[range])?;

        // Authentic from here on: the payload may be parsed.
        let range = token::decode_into(segments.payload, Part::Claims, &mut decoded)?;
        let claims = token::json_object(&decoded[range], Part::Claims)?;
        let expiration = token::numeric_date(&claims, "exp")?;
        let not_before = token::numeric_date(&claims, "nbf")?;
        token::numeric_date(&claims, "iat")?;
        if expiration.is_none() && self.policy.require_exp {
            return Err(Malformed::MissingExpiration.into());
        }

        self.check_issuer(&claims)?;
        self.check_audience(&claims)?;
        Ok(VerifiedToken {
            algorithm,
            header,
            claims,
            expiration,
            not_before,
            payload_json: OnceLock::new(),
        })
    }

    fn header_algorithm(&self, header: &Map<String, Value>) -> Result<Algorithm, VerifyError> {
        let name = match header.get("alg") {
            None => return Err(Malformed::MissingAlgorithm.into()),
            Some(Value::String(name)) => name,
            Some(_) => return Err(Malformed::AlgorithmNotString.into()),
        };
        if name.eq_ignore_ascii_case("none") {
            return Err(VerifyError::Algorithm(AlgorithmRejected::Unsecured(
                quoted(name),
            )));
        }
        let alg = Algorithm::from_name(name)
            .ok_or_else(|| VerifyError::Algorithm(AlgorithmRejected::Unknown(quoted(name))))?;
        if !self.allowed.contains(&alg) {
            return Err(VerifyError::Algorithm(AlgorithmRejected::NotAllowed(alg)));
        }
        Ok(alg)
    }

    /// Tries, in ring order, every key that matches `kid` (when given) and
    /// supports `alg`. A key only has verifiers for its own family, so an RSA
    /// key can never be used as an HMAC secret, nor a secret for RS256.
    fn check_signature(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        let mut kid_seen = false;
        let mut tried = 0;
        for key in self.ring.keys() {
            if let Some(kid) = kid {
                if key.kid() != Some(kid) {
                    continue;
                }
                kid_seen = true;
            }
            let Some(verifier) = key.verifier(alg) else {
                continue;
            };
            tried += 1;
            if verifier.verify(signing_input, signature) {
                return Ok(());
            }
        }
        if tried > 0 {
            return Err(VerifyError::Signature { alg, tried });
        }
        Err(VerifyError::Key(match kid {
            Some(kid) if kid_seen => NoKey::KidCannotVerify {
                kid: quoted(kid),
                alg,
            },
            Some(kid) => NoKey::UnknownKid(quoted(kid)),
            None => NoKey::NoKeyForAlgorithm(alg),
        }))
    }

    fn check_issuer(&self, claims: &Map<String, Value>) -> Result<(), VerifyError> {
        let Some(expected) = &self.policy.issuer else {
            return Ok(());
        };
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == expected => Ok(()),
            other => Err(VerifyError::Issuer {
                expected: expected.clone(),
                found: describe_claim(other),
            }),
        }
    }

    /// `aud` is a string or an array of strings (RFC 7519 §4.1.3); one of them
    /// must be an accepted audience.
    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), VerifyError> {
        let expected = &self.policy.audiences;
        if expected.is_empty() {
            return Ok(());
        }
        let accepted = |aud: &Value| {
            aud.as_str()
                .is_some_and(|a| expected.iter().any(|e| e == a))
        };
        let aud = claims.get("aud");
        let ok = match aud {
            Some(Value::String(_)) => aud.is_some_and(accepted),
            Some(Value::Array(list)) => list.iter().any(accepted),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(VerifyError::Audience {
                expected: expected.clone(),
                found: describe_claim(aud),
            })
        }
    }

    /// Step 6, run on every request including cache hits. `exp` is the first
    /// instant the token is invalid (RFC 7519 §4.1.4).
    fn check_time(&self, token: &VerifiedToken, now: u64) -> Result<(), VerifyError> {
        let leeway = self.policy.leeway;
        let (now_f, leeway_f) = (now as f64, leeway as f64);
        if let Some(exp) = token.expiration {
            if now_f >= exp.0 + leeway_f {
                return Err(VerifyError::Expired { exp, now, leeway });
            }
        }
        if let Some(nbf) = token.not_before {
            if now_f + leeway_f < nbf.0 {
                return Err(VerifyError::NotYetValid { nbf, now, leeway });
            }
        }
        Ok(())
    }
}

/// A claim value for an error message: quoted string, JSON type, or "absent".
fn describe_claim(value: Option<&Value>) -> String {
    match value {
        None => "absent".to_owned(),
        Some(Value::String(s)) => quoted(s),
        Some(Value::Array(items)) => {
            let shown: Vec<Cow<'_, str>> = items
                .iter()
                .take(4)
                .map(|v| match v {
                    Value::String(s) => Cow::Owned(quoted(s)),
                    _ => Cow::Borrowed("(not a string)"),
                })
                .collect();
            let more = if items.len() > 4 { ", …" } else { "" };
            format!("[{}{more}]", shown.join(", "))
        }
        Some(Value::Object(_)) => "an object".to_owned(),
        Some(Value::Number(_)) => "a number".to_owned(),
        Some(Value::Bool(_)) => "a boolean".to_owned(),
        Some(Value::Null) => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests;
