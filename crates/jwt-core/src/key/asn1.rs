//! DER key formats: SubjectPublicKeyInfo (RFC 5280), PKCS#1 (RFC 8017),
//! PKCS#8 (RFC 5208/5958), SEC1 (RFC 5915) and X.509 certificates.
//!
//! The structure is read here to learn the key type, curve and RSA size (for
//! precise errors); the backend then builds its key objects from the same DER
//! (or from the components read here) and validates them fully.
//!
//! Hand-written on the small DER cursor in der.rs; only the fields needed to
//! pick the backend constructor and to explain a refusal are read. Kept
//! rather than RustCrypto's `spki`/`pkcs1`/`pkcs8`/`sec1`/`x509-cert` after
//! measuring a prototype (numbers at the top of der.rs): +4 to +10 s on a
//! cold 2-core module build, +120 KB (+3.7%) stripped .so, 17 -> 29 crates
//! under jwt-core, and no better messages (byte offsets instead of field
//! names; an explicit-parameters SEC1 key lost its re-export hint). Those
//! crates also parse more than is used here: `x509-cert` refused a
//! certificate with a malformed validity time that this reader, which does
//! not check validity by design, accepts.

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use super::{KeyError, KeyKind, KeyParts};
use crate::crypto::{self, Curve, SigningKey};
use crate::der::{self, oid, DerError, Reader, Tlv};

/// A DER reading error (reported with the PEM label) or a key error.
#[derive(Debug)]
pub(crate) enum FormatError {
    Der(DerError),
    Key(KeyError),
}

impl From<DerError> for FormatError {
    fn from(e: DerError) -> Self {
        FormatError::Der(e)
    }
}

impl From<KeyError> for FormatError {
    fn from(e: KeyError) -> Self {
        FormatError::Key(e)
    }
}

type Result<T> = std::result::Result<T, FormatError>;

/// The smallest and largest RSA moduli accepted (RFC 7518 §3.3 and the
/// backend's verification limit).
pub(crate) const RSA_MIN_BITS: usize = 2048;
pub(crate) const RSA_MAX_BITS: usize = 8192;

fn rejected(what: &str, reason: impl ToString) -> FormatError {
    FormatError::Key(KeyError::Rejected {
        what: what.to_owned(),
        reason: reason.to_string(),
    })
}

/// `PUBLIC KEY`: SubjectPublicKeyInfo ::= SEQUENCE { algorithm
/// AlgorithmIdentifier, subjectPublicKey BIT STRING }.
pub(crate) fn from_spki(der: &[u8]) -> Result<KeyParts> {
    let mut spki = der::outer_sequence(der, "SubjectPublicKeyInfo is not a SEQUENCE")?;
    let (algorithm, parameters) = algorithm_identifier(&mut spki)?;
    let public = der::bit_string_bytes(spki.read(der::BIT_STRING, "missing public key bits")?)?;
    match algorithm {
        oid::RSA_ENCRYPTION => from_pkcs1_public(public),
        oid::EC_PUBLIC_KEY => {
            let curve = named_curve(parameters)?;
            let verifier = crypto::ec_verifier(curve, public)
                .map_err(|e| rejected(&format!("EC {} public key", curve.name()), e))?;
            Ok(KeyParts {
                kind: KeyKind::Ec(curve),
                verifiers: vec![(curve.algorithm(), verifier)],
                signing: None,
            })
        }
        oid::ED25519 => {
            let verifier =
                crypto::ed25519_verifier(public).map_err(|e| rejected("Ed25519 public key", e))?;
            Ok(KeyParts {
                kind: KeyKind::Ed25519,
                verifiers: vec![(crate::Algorithm::EdDSA, verifier)],
                signing: None,
            })
        }
        other => Err(unsupported_key_type(other).into()),
    }
}

/// `RSA PUBLIC KEY`: RSAPublicKey ::= SEQUENCE { modulus INTEGER,
/// publicExponent INTEGER }.
pub(crate) fn from_pkcs1_public(der: &[u8]) -> Result<KeyParts> {
    let mut key = der::outer_sequence(der, "RSAPublicKey is not a SEQUENCE")?;
    let n = der::unsigned_integer(key.read(der::INTEGER, "missing RSA modulus")?);
    let e = der::unsigned_integer(key.read(der::INTEGER, "missing RSA exponent")?);
    rsa_public(n, e, None)
}

/// Public RSA parts from (n, e), plus the private half when there is one.
pub(crate) fn rsa_public(n: &[u8], e: &[u8], pair: Option<RsaKeyPair>) -> Result<KeyParts> {
    let bits = check_rsa_bits(n)?;
    let what = if pair.is_some() {
        "RSA private key"
    } else {
        "RSA public key"
    };
    let verifiers = crypto::rsa_verifiers(n, e).map_err(|e| rejected(what, e))?;
    Ok(KeyParts {
        kind: KeyKind::Rsa { bits },
        verifiers,
        signing: pair.map(SigningKey::Rsa),
    })
}

pub(crate) fn check_rsa_bits(n: &[u8]) -> std::result::Result<usize, KeyError> {
    let bits = der::bit_length(n);
    if bits < RSA_MIN_BITS {
        Err(KeyError::RsaTooSmall { bits })
    } else if bits > RSA_MAX_BITS {
        Err(KeyError::RsaTooLarge { bits })
    } else {
        Ok(bits)
    }
}

/// `PRIVATE KEY`: PrivateKeyInfo ::= SEQUENCE { version INTEGER,
/// privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING, ... }.
pub(crate) fn from_pkcs8(der: &[u8]) -> Result<KeyParts> {
    let mut info = der::outer_sequence(der, "PrivateKeyInfo is not a SEQUENCE")?;
    info.read(der::INTEGER, "missing PrivateKeyInfo version")?;
    let (algorithm, parameters) = algorithm_identifier(&mut info)?;
    let private = info.read(der::OCTET_STRING, "missing private key")?;
    match algorithm {
        oid::RSA_ENCRYPTION => {
            check_rsa_bits(rsa_private_modulus(private)?)?;
            let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| rejected("RSA private key", e))?;
            rsa_from_pair(pair)
        }
        oid::EC_PUBLIC_KEY => {
            let curve = match parameters {
                Some(_) => named_curve(parameters)?,
                // RFC 5915 §3 lets the curve live in the inner ECPrivateKey instead.
                None => sec1_curve(private)?,
            };
            ec_private(curve, der)
        }
        oid::ED25519 => {
            let pair =
                Ed25519KeyPair::from_pkcs8(der).map_err(|e| rejected("Ed25519 private key", e))?;
            let verifier = crypto::ed25519_verifier(pair.public_key().as_ref())
                .map_err(|e| rejected("Ed25519 private key", e))?;
            Ok(KeyParts {
                kind: KeyKind::Ed25519,
                verifiers: vec![(crate::Algorithm::EdDSA, verifier)],
                signing: Some(SigningKey::Ed25519(pair)),
            })
        }
        other => Err(unsupported_key_type(other).into()),
    }
}

/// `RSA PRIVATE KEY`: RSAPrivateKey ::= SEQUENCE { version, modulus,
/// publicExponent, privateExponent, prime1, prime2, exponent1, exponent2,
/// coefficient, ... }.
pub(crate) fn from_pkcs1_private(der: &[u8]) -> Result<KeyParts> {
    check_rsa_bits(rsa_private_modulus(der)?)?;
    let pair = RsaKeyPair::from_der(der).map_err(|e| rejected("RSA private key", e))?;
    rsa_from_pair(pair)
}

fn rsa_private_modulus(der: &[u8]) -> Result<&[u8]> {
    let mut key = der::outer_sequence(der, "RSAPrivateKey is not a SEQUENCE")?;
    key.read(der::INTEGER, "missing RSAPrivateKey version")?;
    Ok(der::unsigned_integer(
        key.read(der::INTEGER, "missing RSA modulus")?,
    ))
}

/// The verifiers come from the pair's own public key, so both halves agree.
pub(crate) fn rsa_from_pair(pair: RsaKeyPair) -> Result<KeyParts> {
    let public = pair.public_key().as_ref().to_vec();
    let mut key = der::outer_sequence(&public, "RSAPublicKey is not a SEQUENCE")?;
    let n = der::unsigned_integer(key.read(der::INTEGER, "missing RSA modulus")?);
    let e = der::unsigned_integer(key.read(der::INTEGER, "missing RSA exponent")?);
    rsa_public(n, e, Some(pair))
}

/// `EC PRIVATE KEY`: ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey
/// OCTET STRING, parameters [0] ECParameters OPTIONAL, publicKey [1] ... }.
pub(crate) fn from_sec1(der: &[u8]) -> Result<KeyParts> {
    let curve = sec1_curve(der)?;
    ec_private(curve, der)
}

fn sec1_curve(der: &[u8]) -> Result<Curve> {
    let mut key = der::outer_sequence(der, "ECPrivateKey is not a SEQUENCE")?;
    key.read(der::INTEGER, "missing ECPrivateKey version")?;
    key.read(der::OCTET_STRING, "missing EC private scalar")?;
    let parameters = key
        .optional(der::CONTEXT_0)?
        .ok_or(DerError("EC private key without curve parameters"))?;
    let mut inner = Reader::new(parameters.content);
    named_curve(Some(inner.any()?))
}

/// PKCS#8 or SEC1 DER of an EC private key on `curve`.
fn ec_private(curve: Curve, der: &[u8]) -> Result<KeyParts> {
    let what = format!("EC {} private key", curve.name());
    let pair =
        EcdsaKeyPair::from_private_key_der(curve.signing(), der).map_err(|e| rejected(&what, e))?;
    ec_from_pair(curve, pair)
}

pub(crate) fn ec_from_pair(curve: Curve, pair: EcdsaKeyPair) -> Result<KeyParts> {
    let verifier = crypto::ec_verifier(curve, pair.public_key().as_ref())
        .map_err(|e| rejected(&format!("EC {} private key", curve.name()), e))?;
    Ok(KeyParts {
        kind: KeyKind::Ec(curve),
        verifiers: vec![(curve.algorithm(), verifier)],
        signing: Some(SigningKey::Ec(pair)),
    })
}

/// `CERTIFICATE`: only its SubjectPublicKeyInfo is used. Validity, issuer and
/// chain are not checked: the file is trusted configuration, like a bare key.
pub(crate) fn from_certificate(der: &[u8]) -> Result<KeyParts> {
    let mut certificate = der::outer_sequence(der, "Certificate is not a SEQUENCE")?;
    let mut tbs = certificate.sequence("missing TBSCertificate")?;
    tbs.optional(der::CONTEXT_0)?; // version
    tbs.read(der::INTEGER, "missing serial number")?;
    tbs.sequence("missing signature algorithm")?;
    tbs.sequence("missing issuer")?;
    tbs.sequence("missing validity")?;
    tbs.sequence("missing subject")?;
    let spki = tbs.any()?;
    if spki.tag != der::SEQUENCE {
        return Err(DerError("missing SubjectPublicKeyInfo").into());
    }
    from_spki(spki.whole)
}

/// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.
fn algorithm_identifier<'a>(outer: &mut Reader<'a>) -> Result<(&'a [u8], Option<Tlv<'a>>)> {
    let mut identifier = outer.sequence("missing AlgorithmIdentifier")?;
    let algorithm = identifier.read(der::OID, "AlgorithmIdentifier without an OID")?;
    let parameters = if identifier.is_empty() {
        None
    } else {
        Some(identifier.any()?)
    };
    Ok((algorithm, parameters))
}

/// ECParameters must be a namedCurve OID (RFC 5480 §2.1.1).
fn named_curve(parameters: Option<Tlv<'_>>) -> Result<Curve> {
    let parameters = parameters.ok_or(DerError("EC key without curve parameters"))?;
    if parameters.tag != der::OID {
        return Err(KeyError::UnsupportedCurve {
            name: "given by explicit parameters (re-export it with \
                   `openssl pkey -ec_param_enc named_curve`)"
                .to_owned(),
        }
        .into());
    }
    match parameters.content {
        oid::P256 => Ok(Curve::P256),
        oid::P384 => Ok(Curve::P384),
        oid::P521 => Ok(Curve::P521),
        oid::SECP256K1 => Err(KeyError::UnsupportedCurve {
            name: "secp256k1".to_owned(),
        }
        .into()),
        other => Err(KeyError::UnsupportedCurve {
            name: der::oid_to_string(other),
        }
        .into()),
    }
}

fn unsupported_key_type(algorithm: &[u8]) -> KeyError {
    let name = match algorithm {
        oid::RSASSA_PSS => {
            "RSASSA-PSS (a PSS-only RSA key: use a plain RSA key, it signs PS256 too)".to_owned()
        }
        oid::ED448 => "Ed448".to_owned(),
        oid::X25519 => "X25519 (a key-agreement key)".to_owned(),
        oid::DSA => "DSA".to_owned(),
        other => der::oid_to_string(other),
    };
    KeyError::UnsupportedKeyType { name }
}
