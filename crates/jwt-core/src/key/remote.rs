//! Key sets that identity providers publish at their `jwks_uri` (RFC 7517
//! §5; OpenID Connect Discovery), fetched at run time.
//!
//! Unlike a `jwt_key_file`, which the operator wrote and which fails the
//! configuration on any flaw, a remote set is read **leniently per key and
//! strictly per set**:
//!
//! * a key this module cannot or must not use is *skipped*, with one log line
//!   in [`RemoteKeySet::skipped`] (`key #3 (kid "abc"): "use" is "enc"`):
//!   providers publish encryption keys, other curves and future key types
//!   next to their signing keys, and one odd key must not cost the others;
//! * the set itself must be a JSON object with a `"keys"` array, at most
//!   [`MAX_REMOTE_JWKS_LEN`] bytes, and hold at least one usable key; else
//!   [`parse_remote_jwks`] fails, so that a broken or empty answer never
//!   replaces a good set the caller already has.
//!
//! Skipped: `use` other than "sig"; `key_ops` without "verify"; a JWE `alg`
//! or any `alg` that is not a supported JWS algorithm; `kty` "oct" (a secret
//! is never taken from the network: whoever can answer the fetch could then
//! mint tokens); unknown `kty`; OKP curves other than Ed25519; EC curves
//! other than P-256/384/521; RSA under 2048 (or over 8192) bits; an `alg`
//! that does not fit the key; malformed members. Unknown members (`x5c`,
//! `x5t`, `x5t#S256`, Entra's `issuer`...) are ignored. Private members are
//! ignored too: only the public half is used, and a remote key never signs.
//!
//! `alg` is honoured when present. Without it, EC and OKP keys have exactly
//! one algorithm anyway (by curve; EdDSA); an RSA key verifies RS256 only,
//! unless the verifier's `jwt_algorithms` names other RSA algorithms (see
//! [`Key::alg_inferred`]). Duplicate kids are kept: the verifier picks by kid,
//! then by algorithm.
//!
//! The members are read by jwk.rs's reader (the same one as for key files),
//! so both accept exactly the same key encodings.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;

use super::asn1::{RSA_MAX_BITS, RSA_MIN_BITS};
use super::jwk::{self, Jwk, Object};
use super::{Key, KeyError, KeyKind};
use crate::alg::Algorithm;
use crate::der;
use crate::verify::quoted;

/// The largest remote JWKS accepted, in bytes. Real sets are a few KiB
/// (a 2048-bit key with its certificate is about 2.5 KiB); the bound keeps a
/// hostile or broken endpoint from making every worker parse megabytes.
pub const MAX_REMOTE_JWKS_LEN: usize = 1 << 20;

/// The usable keys of one remote JWKS, and a log line per key skipped.
#[derive(Clone, Debug)]
pub struct RemoteKeySet {
    keys: Vec<Key>,
    skipped: Vec<String>,
    /// Union of the keys' default algorithms, in [`Algorithm::ALL`] order.
    supported: Vec<Algorithm>,
}

impl RemoteKeySet {
    /// The usable keys, in document order. Never empty.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// One line per key skipped, in document order, e.g.
    /// `key #2 (kid "enc-1"): "use" is "enc"`.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false for a set from [`parse_remote_jwks`]; here for `len`.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every algorithm at least one key verifies by default (an inferred RSA
    /// key counts RS256 only), in [`Algorithm::ALL`] order.
    pub fn supported_algorithms(&self) -> &[Algorithm] {
        &self.supported
    }
}

/// Reads a JWKS as fetched from an identity provider (see the module
/// documentation for the rules).
pub fn parse_remote_jwks(bytes: &[u8]) -> Result<RemoteKeySet, KeyError> {
    if bytes.len() > MAX_REMOTE_JWKS_LEN {
        return Err(KeyError::RemoteJwksTooLarge {
            len: bytes.len(),
            max: MAX_REMOTE_JWKS_LEN,
        });
    }
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| not_a_jwks(format!("it is not valid JSON ({e})")))?;
    let Value::Object(document) = document else {
        return Err(not_a_jwks("it is not a JSON object"));
    };
    let keys = match document.get("keys") {
        Some(Value::Array(keys)) => keys,
        Some(_) => return Err(not_a_jwks("\"keys\" is not an array")),
        None => return Err(not_a_jwks("it has no \"keys\" member")),
    };
    let mut usable = Vec::with_capacity(keys.len());
    let mut skipped = Vec::new();
    for (index, value) in keys.iter().enumerate() {
        match remote_key(value, index) {
            Ok(key) => usable.push(key),
            Err(line) => skipped.push(line),
        }
    }
    if usable.is_empty() {
        return Err(KeyError::NoUsableRemoteKeys { skipped });
    }
    let supported = Algorithm::ALL
        .into_iter()
        .filter(|alg| usable.iter().any(|key| key.supports(*alg)))
        .collect();
    Ok(RemoteKeySet {
        keys: usable,
        skipped,
        supported,
    })
}

fn not_a_jwks(reason: impl Into<String>) -> KeyError {
    KeyError::NotAJwks {
        reason: reason.into(),
    }
}

/// The key at `index`, or the log line saying why it is skipped.
fn remote_key(value: &Value, index: usize) -> Result<Key, String> {
    let location = format!("key #{}", index + 1);
    let Value::Object(object) = value else {
        return Err(format!("{location}: is not a JSON object"));
    };
    usable_key(object, location).map_err(|e| e.to_string())
}

fn usable_key(object: &Object, location: String) -> Result<Key, KeyError> {
    let jwk = Jwk::remote(object, location)?;
    check_use(&jwk)?;
    check_key_ops(&jwk)?;
    let alg = signature_algorithm(&jwk)?;
    let parts = match jwk.required_str("kty")? {
        "RSA" => {
            check_rsa_size(&jwk)?;
            jwk.rsa()?
        }
        "EC" => {
            check_curve(&jwk, &EC_CURVES)?;
            jwk.ec()?
        }
        "OKP" => {
            check_curve(&jwk, &["Ed25519"])?;
            jwk.okp()?
        }
        "oct" => {
            return Err(
                jwk.error("a shared secret (\"kty\" \"oct\") is never taken from a remote key set")
            )
        }
        other => return Err(jwk.error(format!("unsupported \"kty\" {}", quoted(other)))),
    };
    let kid = jwk.kid().map(str::to_owned);
    match alg {
        Some(alg) => {
            let key = parts.kind.describe(false);
            parts
                .restrict(alg)
                .map(|parts| parts.into_key(kid))
                .map_err(|_| jwk.error(format!("\"alg\" {alg} does not fit this {key}")))
        }
        None if matches!(parts.kind, KeyKind::Rsa { .. }) => Ok(parts.into_inferred_rsa_key(kid)),
        None => Ok(parts.into_key(kid)),
    }
}

/// RFC 7517 §4.2: "sig" or absent. Anything else (`enc`, or a value this
/// module does not know) says the key is not for checking signatures.
fn check_use(jwk: &Jwk<'_>) -> Result<(), KeyError> {
    match jwk.optional_str("use")? {
        None | Some("sig") => Ok(()),
        Some(other) => Err(jwk.error(format!("\"use\" is {}", quoted(other)))),
    }
}

/// RFC 7517 §4.3: when present, the key may only be used for the operations
/// listed; checking a signature is "verify".
fn check_key_ops(jwk: &Jwk<'_>) -> Result<(), KeyError> {
    let Some(ops) = jwk.member("key_ops") else {
        return Ok(());
    };
    let ops = ops
        .as_array()
        .filter(|ops| ops.iter().all(Value::is_string))
        .ok_or_else(|| jwk.error("\"key_ops\" is not an array of strings"))?;
    if ops.iter().any(|op| op == "verify") {
        Ok(())
    } else {
        Err(jwk.error("\"key_ops\" does not include \"verify\""))
    }
}

/// The JWK's `alg` if any; a JWE or unknown `alg` means the key is skipped.
fn signature_algorithm(jwk: &Jwk<'_>) -> Result<Option<Algorithm>, KeyError> {
    let Some(name) = jwk.optional_str("alg")? else {
        return Ok(None);
    };
    if let Some(alg) = Algorithm::from_name(name) {
        return Ok(Some(alg));
    }
    let what = if jwk::is_jwe_algorithm(name) {
        "an encryption (JWE) algorithm"
    } else {
        "not a supported JWS algorithm"
    };
    Err(jwk.error(format!("\"alg\" {} is {what}", quoted(name))))
}

/// The JWK `crv` names of the supported EC curves.
const EC_CURVES: [&str; 3] = ["P-256", "P-384", "P-521"];

/// Checked here rather than left to jwk.rs, whose messages quote the curve in
/// full: fine for a key file, not for a network value headed for the log.
fn check_curve(jwk: &Jwk<'_>, supported: &[&str]) -> Result<(), KeyError> {
    let crv = jwk.required_str("crv")?;
    if supported.contains(&crv) {
        Ok(())
    } else {
        Err(jwk.error(format!(
            "unsupported \"crv\" {}: {} only",
            quoted(crv),
            supported.join(", ")
        )))
    }
}

/// The size rule, stated for a log line about someone else's key (the key
/// file message tells the operator how to generate a bigger one).
fn check_rsa_size(jwk: &Jwk<'_>) -> Result<(), KeyError> {
    let bits = der::bit_length(&jwk.bytes("n")?);
    if bits < RSA_MIN_BITS {
        Err(jwk.error(format!(
            "RSA key is {bits} bits, under the {RSA_MIN_BITS} that RFC 7518 §3.3 requires"
        )))
    } else if bits > RSA_MAX_BITS {
        Err(jwk.error(format!(
            "RSA key is {bits} bits, over the {RSA_MAX_BITS} supported"
        )))
    } else {
        Ok(())
    }
}

/// The tail of [`KeyError::NoUsableRemoteKeys`]'s message: how many keys were
/// skipped and why (the first few, so that one log line stays readable).
pub(crate) fn skipped_summary(skipped: &[String]) -> String {
    const SHOWN: usize = 4;
    if skipped.is_empty() {
        return ": \"keys\" is empty".to_owned();
    }
    let mut out = format!(" ({} skipped: ", skipped.len());
    out.push_str(&skipped[..skipped.len().min(SHOWN)].join("; "));
    if skipped.len() > SHOWN {
        out.push_str("; …");
    }
    out.push(')');
    out
}

/// The remote key set currently in force for one `jwks_uri`, shared by the
/// verifiers that use it (Send + Sync).
///
/// The caller fetches, parses with [`parse_remote_jwks`] and [`install`]s;
/// a failed fetch or parse installs nothing, so the last good set stays.
///
/// [`install`]: RemoteKeys::install
pub struct RemoteKeys {
    current: RwLock<Option<Installed>>,
    /// Bumped by every install, under the write lock. Verifiers tag cached
    /// tokens with it; reading it is one atomic load, so a cache hit never
    /// takes the lock.
    epoch: AtomicU64,
}

/// The set in force and the numbers it was installed under.
#[derive(Clone)]
pub(crate) struct Installed {
    pub(crate) set: Arc<RemoteKeySet>,
    pub(crate) generation: u64,
    pub(crate) epoch: u64,
}

impl RemoteKeys {
    /// No set yet: verification that needs a remote key fails with a `key`
    /// error saying none has been fetched.
    pub fn new() -> Self {
        RemoteKeys {
            current: RwLock::new(None),
            epoch: AtomicU64::new(0),
        }
    }

    /// Makes `set` the current set. `generation` is the caller's own number
    /// for it (e.g. a fetch counter shared by the workers), reported by
    /// [`RemoteKeys::generation`]. Tokens verified under the previous set are
    /// re-verified on their next use, even if `generation` did not change.
    pub fn install(&self, set: RemoteKeySet, generation: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let epoch = self.epoch.load(Ordering::Relaxed).wrapping_add(1);
        *current = Some(Installed {
            set: Arc::new(set),
            generation,
            epoch,
        });
        self.epoch.store(epoch, Ordering::Release);
    }

    /// The generation of the current set; `None` before the first install.
    pub fn generation(&self) -> Option<u64> {
        self.read().as_ref().map(|installed| installed.generation)
    }

    /// Whether a set (never empty) is installed.
    pub fn has_keys(&self) -> bool {
        self.read()
            .as_ref()
            .is_some_and(|installed| !installed.set.is_empty())
    }

    /// The current set, e.g. to log its keys.
    pub fn current(&self) -> Option<Arc<RemoteKeySet>> {
        self.read()
            .as_ref()
            .map(|installed| Arc::clone(&installed.set))
    }

    /// The current set with its numbers, taken together so that one
    /// verification sees one set.
    pub(crate) fn snapshot(&self) -> Option<Installed> {
        self.read().clone()
    }

    /// The epoch of the current set (0 before the first install).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Installed>> {
        // Nothing panics while the lock is held; a poisoned lock still
        // guards a consistent value.
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for RemoteKeys {
    fn default() -> Self {
        RemoteKeys::new()
    }
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.read();
        f.debug_struct("RemoteKeys")
            .field(
                "generation",
                &current.as_ref().map(|installed| installed.generation),
            )
            .field(
                "keys",
                &current.as_ref().map(|installed| installed.set.keys()),
            )
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests;
