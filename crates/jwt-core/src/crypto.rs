//! The only place that talks to the crypto backend (aws-lc-rs).
//!
//! Keys are parsed once, at configuration time, into backend objects that are
//! ready to use: per-request work is just the MAC or signature check, which the
//! backend performs in constant time with respect to secret data.

use std::sync::{Mutex, PoisonError};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::{hmac, rand, signature};

use crate::alg::Algorithm;

/// NIST curves of ECDSA keys (RFC 7518 §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The one JWS algorithm defined for this curve.
    pub(crate) fn algorithm(self) -> Algorithm {
        match self {
            Curve::P256 => Algorithm::ES256,
            Curve::P384 => Algorithm::ES384,
            Curve::P521 => Algorithm::ES512,
        }
    }

    /// Octets of one coordinate (and of `d`) in JWK form (RFC 7518 §6.2.1.2).
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub(crate) fn from_jwk_name(name: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn verification(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }

    pub(crate) fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }
}

/// A key prepared to check one algorithm's signatures.
#[derive(Clone)]
pub(crate) enum VerifyingKey {
    /// Boxed: an HMAC key schedule is over 1 KiB.
    Hmac(Box<hmac::Key>),
    Public(signature::ParsedPublicKey),
}

impl VerifyingKey {
    /// True when `signature` is valid for `message`. The comparison is the
    /// backend's (constant time for HMAC), never a byte equality here.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyingKey::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            VerifyingKey::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

/// The SubjectPublicKeyInfo DER of a public verifier, re-encoded by the
/// backend (so one shape whatever the key was read from); `None` for HMAC,
/// which has no public half. For publishing a key as a JWK.
pub(crate) fn public_key_spki(key: &VerifyingKey) -> Option<Vec<u8>> {
    match key {
        VerifyingKey::Hmac(_) => None,
        VerifyingKey::Public(key) => key.as_der().ok().map(|der| der.as_ref().to_vec()),
    }
}

/// The private half of a key, able to sign.
pub(crate) enum SigningKey {
    /// HMAC signs with the same per-algorithm keys it verifies with.
    Hmac,
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
}

/// HMAC key schedules for every algorithm a secret is long enough for.
pub(crate) fn hmac_verifiers(secret: &[u8]) -> Vec<(Algorithm, VerifyingKey)> {
    [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
        .into_iter()
        .filter(|alg| {
            alg.min_hmac_secret_len()
                .is_some_and(|min| secret.len() >= min)
        })
        .filter_map(|alg| {
            let digest = match alg {
                Algorithm::HS256 => hmac::HMAC_SHA256,
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => return None,
            };
            Some((
                alg,
                VerifyingKey::Hmac(Box::new(hmac::Key::new(digest, secret))),
            ))
        })
        .collect()
}

const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn rsa_parameters(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

/// Verifiers for RS256..PS512 from the public components (big-endian, no
/// leading zeros).
pub(crate) fn rsa_verifiers(n: &[u8], e: &[u8]) -> Result<Vec<(Algorithm, VerifyingKey)>, String> {
    let components = signature::RsaPublicKeyComponents { n, e };
    RSA_ALGORITHMS
        .into_iter()
        .filter_map(|alg| rsa_parameters(alg).map(|params| (alg, params)))
        .map(|(alg, params)| {
            components
                .to_parsed_public_key(params)
                .map(|key| (alg, VerifyingKey::Public(key)))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The verifier of an EC public point (uncompressed SEC1 or an SPKI).
pub(crate) fn ec_verifier(curve: Curve, public: &[u8]) -> Result<VerifyingKey, String> {
    signature::ParsedPublicKey::new(curve.verification(), public)
        .map(VerifyingKey::Public)
        .map_err(|e| e.to_string())
}

/// The verifier of a raw 32-byte Ed25519 public key.
pub(crate) fn ed25519_verifier(public: &[u8]) -> Result<VerifyingKey, String> {
    signature::ParsedPublicKey::new(&signature::ED25519, public)
        .map(VerifyingKey::Public)
        .map_err(|e| e.to_string())
}

/// Signs `message` with `alg`; `None` if the key cannot (wrong family) or the
/// backend fails (e.g. no entropy).
pub(crate) fn sign(
    signing: &SigningKey,
    verifiers: &[(Algorithm, VerifyingKey)],
    alg: Algorithm,
    message: &[u8],
) -> Option<Vec<u8>> {
    match signing {
        SigningKey::Hmac => {
            verifiers
                .iter()
                .find(|(a, _)| *a == alg)
                .and_then(|(_, key)| match key {
                    VerifyingKey::Hmac(key) => Some(hmac::sign(key, message).as_ref().to_vec()),
                    VerifyingKey::Public(_) => None,
                })
        }
        SigningKey::Rsa(pair) => {
            let encoding = rsa_encoding(alg)?;
            let mut out = vec![0u8; pair.public_modulus_len()];
            pair.sign(encoding, &rand::SystemRandom::new(), message, &mut out)
                .ok()?;
            Some(out)
        }
        SigningKey::Ec(pair) => {
            let sig = pair.sign(&rand::SystemRandom::new(), message).ok()?;
            Some(sig.as_ref().to_vec())
        }
        SigningKey::Ed25519(pair) => Some(pair.sign(message).as_ref().to_vec()),
    }
}

/// Fills `out` from the system CSPRNG.
pub(crate) fn random(out: &mut [u8]) -> bool {
    rand::fill(out).is_ok()
}

/// Random bytes drawn ahead: see [`random_batched`].
static BATCH: Mutex<Batch> = Mutex::new(Batch {
    bytes: [0; BATCH_LEN],
    next: BATCH_LEN,
});
const BATCH_LEN: usize = 1024;

struct Batch {
    bytes: [u8; BATCH_LEN],
    /// The first byte not handed out yet.
    next: usize,
}

/// Fills `out` (a few bytes, such as a token id) from the CSPRNG through a per-process batch.
///
/// Why a batch: aws-lc's `RAND_bytes` costs about 340 ns a call on the development machine
/// whatever the length asked (each call reseeds from RDRAND and sets up its AES-CTR DRBG), a
/// fifth of issuing a token, while 1 KiB costs little more than 16 bytes. The bytes are the
/// CSPRNG's output, unchanged, each handed out once and wiped from the batch.
///
/// The batch belongs to one process: two copies of it would give the same ids twice. A process
/// that forks after drawing from it must call [`forget_random_batch`] in the child. (nginx
/// draws only in its workers, which never fork, and the module also empties the batch as each
/// worker starts.)
pub(crate) fn random_batched(out: &mut [u8]) -> bool {
    if out.len() > BATCH_LEN / 4 {
        return random(out);
    }
    let mut batch = BATCH.lock().unwrap_or_else(PoisonError::into_inner);
    if batch.next + out.len() > BATCH_LEN {
        if !random(&mut batch.bytes) {
            return false;
        }
        batch.next = 0;
    }
    let range = batch.next..batch.next + out.len();
    out.copy_from_slice(&batch.bytes[range.clone()]);
    batch.bytes[range].fill(0);
    batch.next += out.len();
    true
}

/// Throws away the random bytes drawn ahead (see [`random_batched`]): for the child of a fork.
pub fn forget_random_batch() {
    let mut batch = BATCH.lock().unwrap_or_else(PoisonError::into_inner);
    batch.bytes.fill(0);
    batch.next = BATCH_LEN;
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Draws across several batches, and across a forgotten batch, never repeat.
    #[test]
    fn batched_random_bytes_are_never_handed_out_twice() {
        let mut seen = HashSet::new();
        for round in 0..200 {
            if round == 100 {
                forget_random_batch();
            }
            let mut id = [0u8; 16];
            assert!(random_batched(&mut id));
            assert!(seen.insert(id), "repeated after {round} draws");
        }
        let mut big = [0u8; 600];
        assert!(random_batched(&mut big));
        assert!(big.iter().any(|&b| b != 0));
    }
}
