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
//!    its payload holds, even if that is not base64 or not JSON. Candidates
//!    are the `jwt_key_file` keys, then the current remote set's, if any;
//! 5. `typ`, when the policy requires one (`typ`): a header value, but only
//!    judged once the signature holds, like the claims;
//! 6. claims (only for a validly signed token): base64url JSON object;
//!    `exp`/`nbf`/`iat` numbers; `exp` present when required (all
//!    `malformed`); then `iss` (`issuer`) and `aud` (`audience`);
//! 7. time: `exp` (`expired`), `nbf` (`not_yet_valid`), both with leeway.
//!
//! The cost of this order: a garbage payload under a plausible header now
//! costs a signature check before it is refused (an RSA/EC verify, tens of
//! microseconds) instead of a failed parse. That bounds nothing new: any
//! well-formed forged token always cost that much.
//!
//! Tokens that pass 1–6 are cached by their exact bytes; a cache hit runs only
//! step 7 again. With remote keys, an entry also records the key set it was
//! verified under (its epoch, see [`RemoteKeys`]) and is a hit only while that
//! set is current: a key the provider withdrew stops validating its tokens at
//! the next install, cached or not.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Map, Value};

use crate::alg::{Algorithm, Family};
use crate::cache::TokenCache;
use crate::defaults;
use crate::key::remote::{Installed, RemoteKeySet, RemoteKeys};
use crate::key::{Key, KeyRing};
use crate::token::{self, ClaimMembers, HeaderMembers, Malformed, NumericDate, Part};

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
    /// Required header `typ` (e.g. "at+jwt" for RFC 9068 access tokens),
    /// compared case-insensitively, "application/" implied when the value has
    /// no '/' (RFC 7515 §4.1.9). `None` = not checked.
    pub typ: Option<String>,
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
            typ: None,
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
/// * `expired`/`not_yet_valid`: time checks, after everything else;
/// * `revoked`: never returned by [`Verifier::verify`]; the caller builds it for a token
///   that verified but that a revocation (`jwt_revocation_file`, see
///   [`crate::RevocationList::revokes`], or a logout) withdrew.
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

    /// `found` is the header's `typ`, quoted, escaped and cut like every
    /// token-supplied value (or "absent", "a number"...); `expected` is the
    /// policy's, quoted the same way.
    #[error("token header \"typ\" is {found}, expected {expected}")]
    Type { expected: String, found: String },

    /// Why, as [`crate::RevocationList::revokes`] words it (token values already quoted).
    #[error("token revoked: {0}")]
    Revoked(String),
}

impl VerifyError {
    /// One of "missing", "malformed", "too_large", "algorithm", "key",
    /// "signature", "expired", "not_yet_valid", "issuer", "audience", "crit",
    /// "typ", "revoked".
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
            VerifyError::Type { .. } => "typ",
            VerifyError::Revoked(_) => "revoked",
        }
    }

    /// True when a newer remote key set might verify the token: no current
    /// key has its `kid`, or no remote set has been fetched yet. The caller
    /// may then refetch the set (rate-limited: any client can send such a
    /// token) and verify again.
    pub fn is_unknown_kid(&self) -> bool {
        matches!(
            self,
            VerifyError::Key(NoKey::UnknownKid(_) | NoKey::NotFetched)
        )
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
    /// No `jwt_key_file` key fits and the remote key set has not been
    /// fetched yet (or every fetch so far failed).
    NotFetched,
}

impl fmt::Display for NoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoKey::UnknownKid(kid) => write!(f, "no configured key has the token's kid {kid}"),
            NoKey::KidCannotVerify { kid, alg } => {
                write!(f, "the key(s) with kid {kid} cannot verify {alg}")
            }
            NoKey::NoKeyForAlgorithm(alg) => write!(f, "no configured key can verify {alg}"),
            NoKey::NotFetched => f.write_str(
                "no configured key fits the token and no remote key set has been fetched yet",
            ),
        }
    }
}

/// A token-supplied string made safe for a log line: quoted, escaped, cut.
pub(crate) fn quoted(s: &str) -> String {
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
///
/// Header and claims are kept as the JSON text that verified; each map is built from its text
/// the first time something asks for a member (a variable, a claim rule, a revocation list),
/// then kept with the token (and with it in the cache). The text was accepted by the same
/// parser, so building the map cannot fail (see `token/members.rs`).
#[derive(Debug)]
pub struct VerifiedToken {
    algorithm: Algorithm,
    header: Arc<CheckedHeader>,
    claims_json: String,
    claims: OnceLock<Map<String, Value>>,
    expiration: Option<NumericDate>,
    not_before: Option<NumericDate>,
    payload_json: OnceLock<String>,
}

/// The map of an object's text that `token/members.rs` accepted.
fn object_map(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

impl VerifiedToken {
    /// The `alg` that verified.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A JOSE header parameter.
    pub fn header(&self, name: &str) -> Option<&Value> {
        self.header
            .map
            .get_or_init(|| object_map(&self.header.json))
            .get(name)
    }

    /// A top-level claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims().get(name)
    }

    /// A claim inside nested objects, e.g. `["realm_access", "roles"]`.
    /// An empty path yields `None`.
    pub fn claim_path<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.claims().get(first.as_ref())?, |value, name| {
                value.get(name.as_ref())
            })
    }

    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| object_map(&self.claims_json))
    }

    /// The claims as compact JSON, serialised on first use and then kept.
    pub fn payload_json(&self) -> &str {
        self.payload_json
            .get_or_init(|| serde_json::to_string(self.claims()).unwrap_or_default())
    }

    /// `exp` in whole seconds (fractions dropped, clamped to `0..=u64::MAX`).
    pub fn expires_at(&self) -> Option<u64> {
        self.expiration.map(NumericDate::as_secs)
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn for_tests(claims: Map<String, Value>) -> VerifiedToken {
        VerifiedToken {
            algorithm: Algorithm::HS256,
            header: Arc::new(CheckedHeader {
                encoded: Box::default(),
                json: "{}".to_owned(),
                map: OnceLock::new(),
                algorithm: Algorithm::HS256,
                kid: None,
                typ: None,
            }),
            claims_json: serde_json::to_string(&claims).unwrap_or_default(),
            claims: OnceLock::from(claims),
            expiration: None,
            not_before: None,
            payload_json: OnceLock::new(),
        }
    }

    /// A token whose claims are this text, as verification keeps it.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_claims_text(claims_json: String) -> VerifiedToken {
        VerifiedToken {
            claims_json,
            claims: OnceLock::new(),
            ..VerifiedToken::for_tests(Map::new())
        }
    }
}

/// Whether a verification used the token cache, for the module's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Served from the cache: only the time checks ran.
    Hit,
    /// The cache was consulted and did not hold the token (or held it under a remote key
    /// set that has since been replaced): the token was verified in full.
    Miss,
    /// No cache was consulted: there is none (`jwt_cache_size 0`), or the token was refused
    /// before the lookup (empty, too large).
    Off,
}

/// Verifies tokens against one location's policy and keys. Built once at
/// configuration time; shared by reference (Send + Sync).
pub struct Verifier {
    policy: VerifyPolicy,
    /// The `jwt_key_file` keys; may be empty when there are remote keys.
    ring: KeyRing,
    /// The allow-list fixed at configuration time, in [`Algorithm::ALL`]
    /// order. With remote keys and no `jwt_algorithms`, the current remote
    /// set's algorithms are allowed on top of these (see [`Verifier::allows`]).
    allowed: Vec<Algorithm>,
    remote: Option<Arc<RemoteKeys>>,
    cache: Option<TokenCache>,
    /// See [`Verifier::checked_header`]. Workers are single-threaded: the lock is uncontended.
    last_header: Mutex<Option<Arc<CheckedHeader>>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("keys", &self.ring.keys())
            .field("allowed", &self.allowed)
            .field("remote", &self.remote)
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
        Verifier::build(policy, ring, cache_capacity, None)
    }

    /// A verifier whose candidate keys are `ring` (the `jwt_key_file` keys,
    /// possibly none) followed by whatever set `remote` holds when a token
    /// arrives.
    ///
    /// The keys of a remote set are unknown at configuration time, so a
    /// `jwt_algorithms` entry is only refused here when no key could ever
    /// serve it: an HS* algorithm without a `jwt_key_file` secret (a remote
    /// key is never a secret). Without `jwt_algorithms`, the allowed
    /// algorithms are those of the `ring` and of the current remote set
    /// (RS256 only for an RSA key published without `alg`); with it, an RSA
    /// key published without `alg` also verifies the RSA algorithms listed.
    pub fn with_remote_keys(
        policy: VerifyPolicy,
        ring: KeyRing,
        cache_capacity: usize,
        remote: Arc<RemoteKeys>,
    ) -> Result<Verifier, PolicyError> {
        Verifier::build(policy, ring, cache_capacity, Some(remote))
    }

    fn build(
        policy: VerifyPolicy,
        ring: KeyRing,
        cache_capacity: usize,
        remote: Option<Arc<RemoteKeys>>,
    ) -> Result<Verifier, PolicyError> {
        let allowed = static_allow_list(&policy, &ring, remote.is_some())?;
        Ok(Verifier {
            policy,
            ring,
            allowed,
            remote,
            cache: TokenCache::new(cache_capacity),
            last_header: Mutex::new(None),
        })
    }

    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// The allow-list fixed at configuration time, in [`Algorithm::ALL`]
    /// order: `jwt_algorithms`, or else every algorithm of the `jwt_key_file`
    /// keys. In the latter case a verifier with remote keys also allows, per
    /// token, the algorithms of the remote set current at that moment.
    pub fn allowed_algorithms(&self) -> &[Algorithm] {
        &self.allowed
    }

    /// The remote key set this verifier consults, if any.
    pub fn remote_keys(&self) -> Option<&Arc<RemoteKeys>> {
        self.remote.as_ref()
    }

    /// Verifies a compact JWS exactly as received (no "Bearer "). `now` is
    /// unix time in seconds.
    #[inline]
    pub fn verify(&self, token: &[u8], now: u64) -> Result<Arc<VerifiedToken>, VerifyError> {
        self.verify_traced(token, now).0
    }

    /// [`Verifier::verify`], also telling whether the token cache served the token. The
    /// [`CacheUse`] describes the lookup whatever the result: a cached token that has
    /// expired since is a `Hit` with an `expired` error.
    pub fn verify_traced(
        &self,
        token: &[u8],
        now: u64,
    ) -> (Result<Arc<VerifiedToken>, VerifyError>, CacheUse) {
        if let Err(refused) = self.check_size(token) {
            return (Err(refused), CacheUse::Off);
        }
        let Some(cache) = &self.cache else {
            return (self.verify_fresh(token, now, None), CacheUse::Off);
        };
        // One atomic load: the hit path takes no lock besides the cache's.
        let epoch = self.remote.as_ref().map_or(0, |remote| remote.epoch());
        if let Some(hit) = cache.get(token, epoch) {
            return (self.check_time(&hit, now).map(|()| hit), CacheUse::Hit);
        }
        (self.verify_fresh(token, now, Some(cache)), CacheUse::Miss)
    }

    /// Step 1's size rule, which holds before any cache lookup.
    fn check_size(&self, token: &[u8]) -> Result<(), VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        if token.len() > self.policy.max_token_len {
            return Err(VerifyError::TooLarge {
                len: token.len(),
                max: self.policy.max_token_len,
            });
        }
        Ok(())
    }

    /// Steps 1–7 without the cache lookup; a token that passes goes into `cache`.
    fn verify_fresh(
        &self,
        token: &[u8],
        now: u64,
        cache: Option<&TokenCache>,
    ) -> Result<Arc<VerifiedToken>, VerifyError> {
        // One snapshot for the whole verification, so that the algorithm
        // check, the key choice and the cache entry all see the same set.
        let installed = self.remote.as_ref().and_then(|remote| remote.snapshot());
        let verified = Arc::new(self.verify_uncached(token, installed.as_ref())?);
        self.check_time(&verified, now)?;
        if let Some(cache) = cache {
            let epoch = installed.as_ref().map_or(0, |installed| installed.epoch);
            cache.insert(token, Arc::clone(&verified), epoch);
        }
        Ok(verified)
    }

    /// Steps 1–6: everything that does not depend on the clock.
    ///
    /// Header and claims are read for the members verification needs only (see
    /// `token/members.rs`); their text is kept, and the whole header or claims map is built
    /// from it if something asks for another member later.
    fn verify_uncached(
        &self,
        token: &[u8],
        installed: Option<&Installed>,
    ) -> Result<VerifiedToken, VerifyError> {
        let segments = token::split(token)?;

        let header = self.checked_header(segments.header)?;
        let (algorithm, kid) = (header.algorithm, header.kid.as_deref());

        let mut stack = [0u8; token::MAX_STACK_SIGNATURE];
        let signature = token::decode_signature(segments.signature, &mut stack)?;
        if signature.is_empty() {
            return Err(Malformed::EmptySignature.into());
        }
        let candidates = Candidates {
            ring: self.ring.keys(),
            remote: installed.map(|installed| installed.set.as_ref()),
        };
        self.check_signature(
            algorithm,
            kid,
            candidates,
            segments.signing_input,
            &signature,
        )?;

        // Authentic from here on: the header's other members and the payload
        // may be judged.
        self.check_type(header.typ.as_ref())?;
        let claims_json =
            token::json_text(token::decode(segments.payload, Part::Claims)?, Part::Claims)?;
        let claims: ClaimMembers = token::read_members(&claims_json, Part::Claims)?;
        let expiration = token::numeric_date(claims.exp, "exp")?;
        let not_before = token::numeric_date(claims.nbf, "nbf")?;
        token::numeric_date(claims.iat, "iat")?;
        if expiration.is_none() && self.policy.require_exp {
            return Err(Malformed::MissingExpiration.into());
        }

        self.check_issuer(claims.iss.as_ref())?;
        self.check_audience(claims.aud.as_ref())?;
        Ok(VerifiedToken {
            algorithm,
            header,
            claims_json,
            claims: OnceLock::new(),
            expiration,
            not_before,
            payload_json: OnceLock::new(),
        })
    }

    /// Step 2: the header, decoded and checked, or the last one that passed if `encoded` is
    /// the same text. Tokens of one issuer share their header (same `alg`, `typ`, `kid`), so a
    /// cache miss usually skips decoding and reading it.
    fn checked_header(&self, encoded: &[u8]) -> Result<Arc<CheckedHeader>, VerifyError> {
        let mut last = self
            .last_header
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(header) = last.as_ref().filter(|h| *h.encoded == *encoded) {
            return Ok(Arc::clone(header));
        }
        let json = token::json_text(token::decode(encoded, Part::Header)?, Part::Header)?;
        let members: HeaderMembers = token::read_members(&json, Part::Header)?;
        let algorithm = self.header_algorithm(members.alg.as_ref())?;
        if members.crit {
            return Err(VerifyError::Crit);
        }
        let kid = match members.kid {
            None => None,
            Some(Value::String(kid)) => Some(kid),
            Some(_) => return Err(Malformed::KidNotString.into()),
        };
        let header = Arc::new(CheckedHeader {
            encoded: encoded.into(),
            json,
            map: OnceLock::new(),
            algorithm,
            kid,
            typ: members.typ,
        });
        *last = Some(Arc::clone(&header));
        Ok(header)
    }

    fn header_algorithm(&self, alg: Option<&Value>) -> Result<Algorithm, VerifyError> {
        let name = match alg {
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
        if !self.allows(alg) {
            return Err(VerifyError::Algorithm(AlgorithmRejected::NotAllowed(alg)));
        }
        Ok(alg)
    }

    /// The allow-list check. Without `jwt_algorithms`, a verifier with remote keys allows
    /// every asymmetric algorithm: the provider may publish a key of another family at any
    /// time (a move from RS256 to ES256), and such a token must reach the key step, where its
    /// unknown `kid` is a reason to fetch the set again, rather than be refused as
    /// `algorithm`. This opens nothing: a key only ever verifies its own family's algorithms,
    /// and a remote key is never an HMAC secret.
    fn allows(&self, alg: Algorithm) -> bool {
        if self.allowed.contains(&alg) {
            return true;
        }
        self.remote.is_some() && self.policy.algorithms.is_none() && alg.family() != Family::Hmac
    }

    /// Tries, in order (key file keys, then remote keys), every key that
    /// matches `kid` (when given) and supports `alg`. A key only has verifiers
    /// for its own family, so an RSA key can never be used as an HMAC secret,
    /// nor a secret for RS256.
    fn check_signature(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        candidates: Candidates<'_>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        // An RSA key published without `alg` serves the RSA algorithms the
        // operator listed, on top of its default RS256.
        let named_by_policy = self
            .policy
            .algorithms
            .as_ref()
            .is_some_and(|list| list.contains(&alg));
        let mut kid_seen = false;
        let mut tried = 0;
        for key in candidates.keys() {
            if let Some(kid) = kid {
                if key.kid() != Some(kid) {
                    continue;
                }
                kid_seen = true;
            }
            let Some(verifier) = key.verifier_opting_in(alg, named_by_policy) else {
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
        if self.remote.is_some() && candidates.remote.is_none() {
            return Err(VerifyError::Key(NoKey::NotFetched));
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

    /// `typ` (RFC 7515 §4.1.9), when the policy names one: RFC 9068 access
    /// tokens say "at+jwt", so that an ID token or another JWT of the same
    /// issuer cannot pass for one (RFC 8725 §3.11).
    fn check_type(&self, typ: Option<&Value>) -> Result<(), VerifyError> {
        let Some(expected) = &self.policy.typ else {
            return Ok(());
        };
        match typ {
            Some(Value::String(typ)) if same_media_type(expected, typ) => Ok(()),
            other => Err(VerifyError::Type {
                expected: quoted(expected),
                found: describe_claim(other),
            }),
        }
    }

    fn check_issuer(&self, iss: Option<&Value>) -> Result<(), VerifyError> {
        let Some(expected) = &self.policy.issuer else {
            return Ok(());
        };
        match iss {
            Some(Value::String(iss)) if iss == expected => Ok(()),
            other => Err(VerifyError::Issuer {
                expected: expected.clone(),
                found: describe_claim(other),
            }),
        }
    }

    /// `aud` is a string or an array of strings (RFC 7519 §4.1.3); one of them
    /// must be an accepted audience.
    fn check_audience(&self, aud: Option<&Value>) -> Result<(), VerifyError> {
        let expected = &self.policy.audiences;
        if expected.is_empty() {
            return Ok(());
        }
        let accepted = |aud: &Value| {
            aud.as_str()
                .is_some_and(|a| expected.iter().any(|e| e == a))
        };
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

/// The allow-list known at configuration time (see [`Verifier::new`] and
/// [`Verifier::with_remote_keys`]).
fn static_allow_list(
    policy: &VerifyPolicy,
    ring: &KeyRing,
    remote: bool,
) -> Result<Vec<Algorithm>, PolicyError> {
    let supported = ring.supported_algorithms();
    let Some(list) = &policy.algorithms else {
        return Ok(supported);
    };
    if list.is_empty() {
        return Err(PolicyError::NoAlgorithms);
    }
    // A remote key may turn out to serve any asymmetric algorithm, but it is
    // never an HMAC secret.
    let servable =
        |alg: Algorithm| supported.contains(&alg) || (remote && alg.family() != Family::Hmac);
    if let Some(&alg) = list.iter().find(|alg| !servable(**alg)) {
        return Err(PolicyError::AlgorithmWithoutKey {
            alg,
            hint: key_hint(alg),
        });
    }
    Ok(Algorithm::ALL
        .into_iter()
        .filter(|alg| list.contains(alg))
        .collect())
}

/// A header that passed step 2 (its `alg` is allowed, no `crit`, `kid` absent or a string),
/// shared by the tokens that carry the same encoded header.
#[derive(Debug)]
struct CheckedHeader {
    /// The base64url text, as in the token.
    encoded: Box<[u8]>,
    json: String,
    /// Built from `json` on first use (a `$jwt_header_*` variable).
    map: OnceLock<Map<String, Value>>,
    algorithm: Algorithm,
    kid: Option<String>,
    /// Judged per token, once its signature holds (step 5).
    typ: Option<Value>,
}

/// The keys one verification may try: the key file keys, then the remote
/// set current when it started.
#[derive(Clone, Copy)]
struct Candidates<'a> {
    ring: &'a [Key],
    remote: Option<&'a RemoteKeySet>,
}

impl<'a> Candidates<'a> {
    fn keys(self) -> impl Iterator<Item = &'a Key> {
        let remote: &'a [Key] = self.remote.map_or(&[], RemoteKeySet::keys);
        self.ring.iter().chain(remote)
    }
}

/// Media types compared as RFC 7515 §4.1.9 says: case-insensitively, with
/// "application/" implied before a value that has no '/'. So "at+jwt",
/// "AT+JWT" and "application/at+jwt" are one type; "text/at+jwt" another.
fn same_media_type(a: &str, b: &str) -> bool {
    short_media_type(a).eq_ignore_ascii_case(short_media_type(b))
}

/// The value without an "application/" prefix that §4.1.9 allows omitting.
fn short_media_type(value: &str) -> &str {
    const PREFIX: &str = "application/";
    match value.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => {
            let rest = &value[PREFIX.len()..];
            if rest.contains('/') {
                value
            } else {
                rest
            }
        }
        _ => value,
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
