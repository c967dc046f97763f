//! Keys and key files (`jwt_key_file`).
//!
//! A key file's format is recognised from its content, in this order:
//!
//! 1. empty → [`KeyError::Empty`];
//! 2. JSON (first non-whitespace byte `{` or `[`) → a JWKS or a single JWK
//!    (RFC 7517). Invalid JSON is an error, never an HMAC secret: a public JWKS
//!    used as a shared secret would let anyone forge tokens;
//! 3. PEM (the file contains `-----BEGIN`) → one key per PEM block. Text around
//!    the blocks is ignored, but a file that holds a PEM block is never read as
//!    a secret, for the same reason as above;
//! 4. anything else → a raw HMAC secret: the bytes, minus one trailing `\n` or
//!    `\r\n`, at least 32 bytes long (RFC 7518 §3.2).
//!
//! An RSA, EC or Ed25519 key only ever verifies its own family's algorithms
//! and a secret only HS256/384/512: that is what defeats algorithm confusion.
//!
//! Key sets fetched from an identity provider's `jwks_uri` follow other rules
//! (lenient per key, public keys only): see [`crate::parse_remote_jwks`]. Any
//! key's public half can be published again as a JWK ([`Key::public_jwk`],
//! [`KeyRing::public_jwks`]).

pub(crate) mod asn1;
pub(crate) mod jwk;
pub(crate) mod pem;
pub(crate) mod remote;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::alg::{Algorithm, Family};
use crate::crypto::{self, Curve, SigningKey, VerifyingKey};

/// One verification (and possibly signing) key.
///
/// Cheap to clone. `Debug` shows the kid, kind and algorithms, never key bytes.
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    kid: Option<String>,
    kind: KeyKind,
    /// One prepared verifier per algorithm the key may be used with, in
    /// [`Algorithm::ALL`] order; a JWK `alg` leaves exactly one.
    verifiers: Vec<(Algorithm, VerifyingKey)>,
    /// Verifiers the key may use only when the verifier's policy names their
    /// algorithm explicitly (see [`Key::alg_inferred`]); empty for every key
    /// read from a key file.
    opt_in: Vec<(Algorithm, VerifyingKey)>,
    signing: Option<SigningKey>,
}

/// What a key is, for messages and for the algorithms it fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Hmac { len: usize },
    Rsa { bits: usize },
    Ec(Curve),
    Ed25519,
}

/// A key before its kid and `alg` restriction are applied.
pub(crate) struct KeyParts {
    pub(crate) kind: KeyKind,
    pub(crate) verifiers: Vec<(Algorithm, VerifyingKey)>,
    pub(crate) signing: Option<SigningKey>,
}

impl KeyParts {
    /// An HMAC secret, usable for every HS* its length allows.
    pub(crate) fn hmac(secret: &[u8]) -> Result<KeyParts, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        if secret.len() < 32 {
            return Err(KeyError::SecretTooShort { len: secret.len() });
        }
        Ok(KeyParts {
            kind: KeyKind::Hmac { len: secret.len() },
            verifiers: crypto::hmac_verifiers(secret),
            signing: Some(SigningKey::Hmac),
        })
    }

    /// Keeps only `alg` (a JWK's `alg` member), or explains why it cannot.
    pub(crate) fn restrict(mut self, alg: Algorithm) -> Result<KeyParts, KeyError> {
        if self.verifiers.iter().any(|(a, _)| *a == alg) {
            self.verifiers.retain(|(a, _)| *a == alg);
            return Ok(self);
        }
        Err(match (self.kind, alg.min_hmac_secret_len()) {
            (KeyKind::Hmac { len }, Some(min)) => {
                KeyError::SecretTooShortForAlgorithm { len, alg, min }
            }
            (kind, _) => KeyError::AlgorithmDoesNotFit {
                alg,
                key: kind.describe(false),
            },
        })
    }

    pub(crate) fn into_key(self, kid: Option<String>) -> Key {
        Key {
            inner: Arc::new(KeyInner {
                kid,
                kind: self.kind,
                verifiers: self.verifiers,
                opt_in: Vec::new(),
                signing: self.signing,
            }),
        }
    }

    /// An RSA key of a remote set whose JWK has no `alg`: RS256 by default,
    /// the other RSA algorithms only where the policy names them. An identity
    /// provider that omits `alg` signs RS256 in practice; accepting PS* or
    /// RS384/512 from such a key unasked would widen what a token may choose.
    /// Public half only: a remote key never signs.
    pub(crate) fn into_inferred_rsa_key(self, kid: Option<String>) -> Key {
        let (verifiers, opt_in) = self
            .verifiers
            .into_iter()
            .partition(|(alg, _)| *alg == INFERRED_RSA_ALGORITHM);
        Key {
            inner: Arc::new(KeyInner {
                kid,
                kind: self.kind,
                verifiers,
                opt_in,
                signing: None,
            }),
        }
    }
}

/// What an RSA JWK without `alg` in a remote set verifies by default.
const INFERRED_RSA_ALGORITHM: Algorithm = Algorithm::RS256;

impl KeyKind {
    fn family(self) -> Family {
        match self {
            KeyKind::Hmac { .. } => Family::Hmac,
            KeyKind::Rsa { .. } => Family::Rsa,
            KeyKind::Ec(_) => Family::Ec,
            KeyKind::Ed25519 => Family::Okp,
        }
    }

    fn describe(self, private: bool) -> String {
        let half = if private { "private" } else { "public" };
        match self {
            KeyKind::Hmac { len } => format!("HMAC secret ({len} bytes)"),
            KeyKind::Rsa { bits } => format!("RSA-{bits} {half} key"),
            KeyKind::Ec(curve) => format!("EC {} {half} key", curve.name()),
            KeyKind::Ed25519 => format!("Ed25519 {half} key"),
        }
    }
}

impl Key {
    /// The key id (from the JWK `kid` or the directive's `kid=`).
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// The algorithms this key verifies (and signs, if [`Key::can_sign`]), in
    /// [`Algorithm::ALL`] order. For a key with [`Key::alg_inferred`], the
    /// default only (RS256).
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner.verifiers.iter().map(|(alg, _)| *alg).collect()
    }

    /// Whether this key may be used with `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.verifier(alg).is_some()
    }

    /// The key type.
    pub fn family(&self) -> Family {
        self.inner.kind.family()
    }

    /// An RSA key from a remote JWKS without `alg`: it verifies RS256, and
    /// the other RSA algorithms only for a verifier whose policy
    /// (`jwt_algorithms`) names them. Never true for a key-file key.
    pub fn alg_inferred(&self) -> bool {
        !self.inner.opt_in.is_empty()
    }

    /// An HMAC secret or a private key.
    pub fn can_sign(&self) -> bool {
        self.inner.signing.is_some()
    }

    /// HS256, RS256, ES256/ES384/ES512 by curve, or EdDSA (or the JWK's
    /// `alg`); `None` for a public key.
    pub fn default_sign_algorithm(&self) -> Option<Algorithm> {
        if self.can_sign() {
            self.inner.verifiers.first().map(|(alg, _)| *alg)
        } else {
            None
        }
    }

    /// E.g. "HMAC secret (48 bytes)", "RSA-2048 public key", "EC P-256
    /// private key", "Ed25519 public key". Never includes key material.
    pub fn describe(&self) -> String {
        let private = self.can_sign() && !matches!(self.inner.kind, KeyKind::Hmac { .. });
        self.inner.kind.describe(private)
    }

    /// Checks a JWS signature over `signing_input` (`BASE64URL(header) "."
    /// BASE64URL(payload)`) with this key. False if the key does not support
    /// `alg`. Exposed for callers that verify non-JWT JWS payloads and for the
    /// RFC test vectors.
    pub fn verify_signature(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verifier(alg)
            .is_some_and(|v| v.verify(signing_input, signature))
    }

    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&VerifyingKey> {
        find_verifier(&self.inner.verifiers, alg)
    }

    /// Like [`Key::verifier`], but also the opt-in algorithms of an
    /// [`Key::alg_inferred`] key when the policy names `alg` explicitly.
    pub(crate) fn verifier_opting_in(
        &self,
        alg: Algorithm,
        named_by_policy: bool,
    ) -> Option<&VerifyingKey> {
        self.verifier(alg).or_else(|| {
            named_by_policy
                .then(|| find_verifier(&self.inner.opt_in, alg))
                .flatten()
        })
    }

    /// The public half as a JWK (RFC 7517) for publication in a JWKS:
    /// `kty`, `kid` (if any), `alg`, `use` ("sig") and the public parameters
    /// (RFC 7518 §6), base64url without padding. `alg` is the key's own: its
    /// JWK `alg` when it was restricted to one, else RS256, ES256/ES384/ES512
    /// by curve, or EdDSA. `None` for an HMAC secret, which has no public half.
    pub fn public_jwk(&self) -> Option<Map<String, Value>> {
        let (alg, verifier) = self.inner.verifiers.first()?;
        let spki = crypto::public_key_spki(verifier)?;
        jwk::public_jwk(self.inner.kind, self.kid(), *alg, &spki)
    }

    /// Signs `signing_input`; `None` if the key cannot sign `alg` or the
    /// backend fails.
    pub(crate) fn sign(&self, alg: Algorithm, signing_input: &[u8]) -> Option<Vec<u8>> {
        if !self.supports(alg) {
            return None;
        }
        let signing = self.inner.signing.as_ref()?;
        crypto::sign(signing, &self.inner.verifiers, alg, signing_input)
    }
}

fn find_verifier(verifiers: &[(Algorithm, VerifyingKey)], alg: Algorithm) -> Option<&VerifyingKey> {
    verifiers.iter().find(|(a, _)| *a == alg).map(|(_, v)| v)
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid())
            .field("kind", &self.describe())
            .field("algorithms", &self.algorithms())
            .finish()
    }
}

/// Why a key file cannot be used. Each message says what is wrong and how to
/// fix it, for the nginx error log at configuration time.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file is empty")]
    Empty,

    #[error(
        "HMAC secret is {len} bytes; RFC 7518 §3.2 requires at least 32 (HS256): \
         generate one with `openssl rand -out FILE 64`"
    )]
    SecretTooShort { len: usize },

    #[error(
        "HMAC secret is {len} bytes but its JWK \"alg\" is {alg}, which needs at least {min} \
         (RFC 7518 §3.2): use a longer secret or a shorter hash"
    )]
    SecretTooShortForAlgorithm {
        len: usize,
        alg: Algorithm,
        min: usize,
    },

    #[error("JWK \"alg\" {alg} does not fit this {key}: fix or remove \"alg\"")]
    AlgorithmDoesNotFit { alg: Algorithm, key: String },

    #[error("kid= must not be empty")]
    EmptyKid,

    #[error(
        "kid=\"{kid}\" names a single key but the file holds {count}: \
         give each key its own \"kid\" in a JWKS, or split the file"
    )]
    KidForSeveralKeys { kid: String, count: usize },

    #[error("kid=\"{param}\" conflicts with the JWK's own \"kid\":\"{jwk}\": remove one of them")]
    KidConflict { param: String, jwk: String },

    #[error(
        "the PEM key is encrypted and nginx cannot ask for a passphrase: \
         decrypt it with `openssl pkey -in FILE -out PLAIN.pem`"
    )]
    EncryptedPem,

    #[error(
        "unsupported PEM block \"-----BEGIN {label}-----\": expected PUBLIC KEY, RSA PUBLIC KEY, \
         PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or CERTIFICATE"
    )]
    UnsupportedPemLabel { label: String },

    #[error("malformed PEM: {0}")]
    MalformedPem(&'static str),

    #[error("the PEM file holds no key (only EC PARAMETERS): add the key block")]
    NoPemKey,

    #[error(
        "malformed {label} in PEM block {index}: {reason}; re-export it with `openssl pkey` \
         (`openssl x509` for a certificate)"
    )]
    MalformedDer {
        label: String,
        index: usize,
        reason: &'static str,
    },

    #[error(
        "unsupported key type {name}: use RSA (2048 bits or more), \
         EC P-256/P-384/P-521 or Ed25519"
    )]
    UnsupportedKeyType { name: String },

    #[error(
        "unsupported elliptic curve {name}: JWS defines P-256 (ES256), P-384 (ES384) and \
         P-521 (ES512) only"
    )]
    UnsupportedCurve { name: String },

    #[error(
        "RSA key is {bits} bits; at least 2048 are required (RFC 7518 §3.3): \
         generate one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`"
    )]
    RsaTooSmall { bits: usize },

    #[error("RSA key is {bits} bits; keys above 8192 bits are not supported")]
    RsaTooLarge { bits: usize },

    #[error("the crypto library rejected the {what} ({reason}): check that the file is intact")]
    Rejected { what: String, reason: String },

    #[error(
        "the key file starts like JSON but is not valid JSON ({0}); it is not used as an HMAC \
         secret, because a public JWKS used as a shared secret would let anyone forge tokens"
    )]
    InvalidJson(#[source] serde_json::Error),

    #[error("{location}: {reason}")]
    InvalidJwk { location: String, reason: String },

    #[error(
        "the JWKS holds no signature key ({skipped} skipped as encryption keys): \
         add a key with \"use\":\"sig\" or without \"use\""
    )]
    NoSignatureKeys { skipped: usize },

    #[error("the remote JWKS is {len} bytes, over the {max}-byte limit")]
    RemoteJwksTooLarge { len: usize, max: usize },

    #[error("the remote JWKS is not usable: {reason}")]
    NotAJwks { reason: String },

    #[error(
        "the remote JWKS holds no usable signature key{}",
        remote::skipped_summary(.skipped)
    )]
    NoUsableRemoteKeys { skipped: Vec<String> },
}

/// Loads every key in one key file. `kid` comes from the directive's `kid=ID`
/// parameter: it names the file's only key (an error if the file holds
/// several) and must agree with a JWK's own `kid`.
pub fn load_keys(bytes: &[u8], kid: Option<&str>) -> Result<Vec<Key>, KeyError> {
    if kid == Some("") {
        return Err(KeyError::EmptyKid);
    }
    if bytes.is_empty() {
        return Err(KeyError::Empty);
    }
    match detect(bytes) {
        Format::Json => jwk::load(bytes, kid),
        Format::Pem => name_single_key(pem::load(bytes)?, kid),
        Format::Secret => name_single_key(vec![KeyParts::hmac(strip_one_newline(bytes))?], kid),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Format {
    Json,
    Pem,
    Secret,
}

fn detect(bytes: &[u8]) -> Format {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) {
        Format::Json
    } else if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        Format::Pem
    } else {
        Format::Secret
    }
}

/// Editors and `echo` add a final newline; it is not part of the secret.
fn strip_one_newline(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes)
}

/// Applies the directive's `kid=` to a PEM file or secret, which carry no kid.
fn name_single_key(parts: Vec<KeyParts>, kid: Option<&str>) -> Result<Vec<Key>, KeyError> {
    if let Some(kid) = kid {
        if parts.len() != 1 {
            return Err(KeyError::KidForSeveralKeys {
                kid: kid.to_owned(),
                count: parts.len(),
            });
        }
    }
    Ok(parts
        .into_iter()
        .map(|p| p.into_key(kid.map(str::to_owned)))
        .collect())
}

/// The configured keys of one location, in directive order.
#[derive(Clone, Default, Debug)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    pub fn new() -> Self {
        KeyRing::default()
    }

    pub fn push(&mut self, key: Key) {
        self.keys.push(key);
    }

    pub fn extend(&mut self, keys: Vec<Key>) {
        self.keys.extend(keys);
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Every algorithm at least one key supports, in [`Algorithm::ALL`] order.
    pub fn supported_algorithms(&self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|alg| self.keys.iter().any(|key| key.supports(*alg)))
            .collect()
    }

    /// The first key able to sign.
    pub fn signing_key(&self) -> Option<&Key> {
        self.keys.iter().find(|key| key.can_sign())
    }

    /// `{"keys":[...]}`: the [`Key::public_jwk`] of every key that has a
    /// public half, in ring order (HMAC secrets are left out). What a
    /// `jwks_uri` of tokens this ring signs would serve.
    pub fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter_map(Key::public_jwk)
            .map(Value::Object)
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests;
