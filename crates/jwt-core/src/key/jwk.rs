//! JSON Web Keys (RFC 7517) and key sets, for kty `oct`, `RSA`, `EC` and `OKP`
//! (RFC 7518 §6, RFC 8037 §2).
//!
//! Members honoured: `kty`, `kid`, `alg` (restricts the key to that one
//! algorithm; an `alg` that does not fit the key is an error) and `use`.
//!
//! Encryption keys are *skipped*, not rejected: identity providers publish
//! them next to their signing keys (Keycloak's `.../certs`), and the JWKS
//! should be usable as downloaded. A key counts as an encryption key when its
//! `use` is not `"sig"` or its `alg` is a JWE key-management algorithm. A set
//! left with no signature key is an error.
//!
//! The JSON is serde_json's; the members are read by hand rather than through
//! a JWK crate or derived structs so that every problem is reported with its
//! location ("JWKS key #2 (kid \"abc\")") and the fix, encryption keys can be
//! skipped instead of failing the whole set, and private components go
//! straight into aws-lc key objects. Fuzzed and property-tested.
//!
//! The same reader serves the key sets identity providers publish (remote.rs:
//! lenient per key, public halves only) and [`public_jwk`] writes a key back
//! as a public JWK for publication.

use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::asn1::{self, FormatError};
use super::{Key, KeyError, KeyKind, KeyParts};
use crate::alg::Algorithm;
use crate::crypto::{self, Curve, SigningKey};
use crate::der;

pub(super) type Object = Map<String, Value>;

pub(crate) fn load(bytes: &[u8], kid_param: Option<&str>) -> Result<Vec<Key>, KeyError> {
    let value: Value = serde_json::from_slice(bytes).map_err(KeyError::InvalidJson)?;
    let Value::Object(object) = value else {
        return Err(invalid(
            "key file",
            "a JSON array or scalar is neither a JWK nor a JWKS",
        ));
    };
    if let Some(keys) = object.get("keys") {
        load_set(keys, kid_param)
    } else {
        let key = Jwk::new(&object, "JWK".to_owned())?;
        if key.is_for_encryption()? {
            return Err(KeyError::NoSignatureKeys { skipped: 1 });
        }
        Ok(vec![key.into_key(kid_param)?])
    }
}

fn load_set(keys: &Value, kid_param: Option<&str>) -> Result<Vec<Key>, KeyError> {
    let Value::Array(keys) = keys else {
        return Err(invalid("JWKS", "\"keys\" is not an array"));
    };
    let mut jwks = Vec::with_capacity(keys.len());
    let mut skipped = 0;
    for (index, value) in keys.iter().enumerate() {
        let location = format!("JWKS key #{}", index + 1);
        let Value::Object(object) = value else {
            return Err(invalid(&location, "is not a JSON object"));
        };
        let jwk = Jwk::new(object, location)?;
        if jwk.is_for_encryption()? {
            skipped += 1;
        } else {
            jwks.push(jwk);
        }
    }
    if jwks.is_empty() {
        return Err(KeyError::NoSignatureKeys { skipped });
    }
    if let Some(kid) = kid_param {
        if jwks.len() > 1 {
            return Err(KeyError::KidForSeveralKeys {
                kid: kid.to_owned(),
                count: jwks.len(),
            });
        }
    }
    jwks.into_iter()
        .map(|jwk| jwk.into_key(kid_param))
        .collect()
}

fn invalid(location: &str, reason: impl Into<String>) -> KeyError {
    KeyError::InvalidJwk {
        location: location.to_owned(),
        reason: reason.into(),
    }
}

/// One JWK object being read; `location` names it in errors ("JWKS key #2
/// (kid \"abc\")").
pub(super) struct Jwk<'a> {
    object: &'a Object,
    location: String,
    kid: Option<&'a str>,
    /// A remote key: private members are ignored, so the key never signs.
    public_only: bool,
}

impl<'a> Jwk<'a> {
    fn new(object: &'a Object, location: String) -> Result<Jwk<'a>, KeyError> {
        Jwk::read_kid(object, location, false)
    }

    /// A key of a remote set: the public half only, and the kid (network
    /// input headed for the error log) quoted, escaped and cut.
    pub(super) fn remote(object: &'a Object, location: String) -> Result<Jwk<'a>, KeyError> {
        Jwk::read_kid(object, location, true)
    }

    fn read_kid(
        object: &'a Object,
        mut location: String,
        public_only: bool,
    ) -> Result<Jwk<'a>, KeyError> {
        let kid = match object.get("kid") {
            None => None,
            Some(Value::String(kid)) if kid.is_empty() => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(invalid(&location, "\"kid\" is not a string")),
        };
        if let Some(kid) = kid {
            location = if public_only {
                format!("{location} (kid {})", crate::verify::quoted(kid))
            } else {
                format!("{location} (kid {kid:?})")
            };
        }
        Ok(Jwk {
            object,
            location,
            kid,
            public_only,
        })
    }

    pub(super) fn kid(&self) -> Option<&'a str> {
        self.kid
    }

    pub(super) fn member(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name)
    }

    pub(super) fn error(&self, reason: impl Into<String>) -> KeyError {
        invalid(&self.location, reason)
    }

    pub(super) fn optional_str(&self, name: &str) -> Result<Option<&'a str>, KeyError> {
        match self.object.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(format!("\"{name}\" is not a string"))),
        }
    }

    pub(super) fn required_str(&self, name: &str) -> Result<&'a str, KeyError> {
        self.optional_str(name)?
            .ok_or_else(|| self.error(format!("\"{name}\" is missing")))
    }

    /// A base64url member (RFC 7518 §6: Base64urlUInt and octet sequences).
    /// Padding is tolerated: a harmless leniency towards whoever wrote the
    /// key file or published the set.
    pub(super) fn bytes(&self, name: &str) -> Result<Vec<u8>, KeyError> {
        let text = self.required_str(name)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| {
                self.error(format!(
                    "\"{name}\" is not base64url (URL-safe alphabet, no padding)"
                ))
            })
    }

    fn optional_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, KeyError> {
        match self.object.get(name) {
            None => Ok(None),
            Some(_) => self.bytes(name).map(Some),
        }
    }

    /// The private scalar `d`, unless only the public half is wanted: then it
    /// is not even decoded, so a malformed one cannot cost the public key.
    fn private_d(&self) -> Result<Option<Vec<u8>>, KeyError> {
        if self.public_only {
            Ok(None)
        } else {
            self.optional_bytes("d")
        }
    }

    /// `use` other than "sig", or a JWE key-management `alg` (RFC 7518 §4.1).
    fn is_for_encryption(&self) -> Result<bool, KeyError> {
        if let Some(key_use) = self.optional_str("use")? {
            return Ok(key_use != "sig");
        }
        Ok(is_jwe_algorithm(
            self.optional_str("alg")?.unwrap_or_default(),
        ))
    }

    fn algorithm(&self) -> Result<Option<Algorithm>, KeyError> {
        match self.optional_str("alg")? {
            None => Ok(None),
            Some(name) => Algorithm::from_name(name).map(Some).ok_or_else(|| {
                self.error(format!(
                    "\"alg\" {name:?} is not a supported JWS signature algorithm"
                ))
            }),
        }
    }

    fn into_key(self, kid_param: Option<&str>) -> Result<Key, KeyError> {
        let kid = match (kid_param, self.kid) {
            (Some(param), Some(own)) if param != own => {
                return Err(KeyError::KidConflict {
                    param: param.to_owned(),
                    jwk: own.to_owned(),
                })
            }
            (param, own) => own.or(param).map(str::to_owned),
        };
        let alg = self.algorithm()?;
        let parts = match self.required_str("kty")? {
            "oct" => self.oct()?,
            "RSA" => self.rsa()?,
            "EC" => self.ec()?,
            "OKP" => self.okp()?,
            other => {
                return Err(self.error(format!(
                    "unsupported \"kty\" {other:?}: use oct, RSA, EC or OKP"
                )))
            }
        };
        let parts = match alg {
            Some(alg) => parts.restrict(alg).map_err(|e| self.error(e.to_string()))?,
            None => parts,
        };
        Ok(parts.into_key(kid))
    }

    fn oct(&self) -> Result<KeyParts, KeyError> {
        let secret = self.bytes("k")?;
        KeyParts::hmac(&secret).map_err(|e| match e {
            KeyError::Empty => self.error("\"k\" is empty"),
            other => self.error(other.to_string()),
        })
    }

    pub(super) fn rsa(&self) -> Result<KeyParts, KeyError> {
        let n = self.bytes("n")?;
        let e = self.bytes("e")?;
        let n = strip_leading_zeros(&n);
        let e = strip_leading_zeros(&e);
        asn1::check_rsa_bits(n).map_err(|err| self.error(err.to_string()))?;
        let Some(d) = self.private_d()? else {
            return asn1::rsa_public(n, e, None).map_err(|err| self.format_error(err));
        };
        if self.object.contains_key("oth") {
            return Err(self.error("multi-prime RSA keys (\"oth\") are not supported"));
        }
        let missing: Vec<&str> = ["p", "q", "dp", "dq", "qi"]
            .into_iter()
            .filter(|name| !self.object.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(self.error(format!(
                "RSA private key (it has \"d\") lacks {}: export it with all CRT members",
                missing.join(", ")
            )));
        }
        let (p, q) = (self.bytes("p")?, self.bytes("q")?);
        let (dp, dq, qi) = (self.bytes("dp")?, self.bytes("dq")?, self.bytes("qi")?);
        let components = KeyPairComponents {
            public_key: PublicKeyComponents { n, e },
            d: d.as_slice(),
            p: p.as_slice(),
            q: q.as_slice(),
            dP: dp.as_slice(),
            dQ: dq.as_slice(),
            qInv: qi.as_slice(),
        };
        let pair = RsaKeyPair::from_components(&components)
            .map_err(|err| self.error(format!("RSA private key rejected: {err}")))?;
        asn1::rsa_from_pair(pair).map_err(|err| self.format_error(err))
    }

    pub(super) fn ec(&self) -> Result<KeyParts, KeyError> {
        let crv = self.required_str("crv")?;
        let curve = Curve::from_jwk_name(crv).ok_or_else(|| {
            self.error(
                KeyError::UnsupportedCurve {
                    name: format!("{crv:?}"),
                }
                .to_string(),
            )
        })?;
        let len = curve.coordinate_len();
        let x = self.bytes("x")?;
        let y = self.bytes("y")?;
        if x.len() != len || y.len() != len {
            return Err(self.error(format!(
                "\"x\" and \"y\" of a {crv} key must be {len} bytes each (RFC 7518 §6.2.1.2)"
            )));
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04); // SEC1 uncompressed point
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let Some(d) = self.private_d()? else {
            let verifier = crypto::ec_verifier(curve, &point)
                .map_err(|err| self.error(format!("EC public key rejected: {err}")))?;
            return Ok(KeyParts {
                kind: KeyKind::Ec(curve),
                verifiers: vec![(curve.algorithm(), verifier)],
                signing: None,
            });
        };
        if d.len() != len {
            return Err(self.error(format!("\"d\" of a {crv} key must be {len} bytes")));
        }
        let pair = EcdsaKeyPair::from_private_key_and_public_key(curve.signing(), &d, &point)
            .map_err(|err| self.error(format!("EC private key rejected: {err}")))?;
        asn1::ec_from_pair(curve, pair).map_err(|err| self.format_error(err))
    }

    pub(super) fn okp(&self) -> Result<KeyParts, KeyError> {
        let crv = self.required_str("crv")?;
        if crv != "Ed25519" {
            return Err(self.error(format!(
                "unsupported OKP \"crv\" {crv:?}: only Ed25519 is supported"
            )));
        }
        let x = self.bytes("x")?;
        let signing = match self.private_d()? {
            None => None,
            Some(d) => Some(SigningKey::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(&d, &x)
                    .map_err(|err| self.error(format!("Ed25519 private key rejected: {err}")))?,
            )),
        };
        let public = match &signing {
            Some(SigningKey::Ed25519(pair)) => pair.public_key().as_ref().to_vec(),
            _ => x,
        };
        let verifier = crypto::ed25519_verifier(&public)
            .map_err(|err| self.error(format!("Ed25519 public key rejected: {err}")))?;
        Ok(KeyParts {
            kind: KeyKind::Ed25519,
            verifiers: vec![(Algorithm::EdDSA, verifier)],
            signing,
        })
    }

    fn format_error(&self, err: FormatError) -> KeyError {
        match err {
            FormatError::Der(der) => self.error(der.0),
            FormatError::Key(key) => self.error(key.to_string()),
        }
    }
}

/// A JWE key-management `alg` (RFC 7518 §4.1): the mark of an encryption key.
pub(super) fn is_jwe_algorithm(alg: &str) -> bool {
    let jwe_prefixes = [
        "RSA1_5", "RSA-OAEP", "ECDH-ES", "A128", "A192", "A256", "PBES2",
    ];
    alg == "dir" || jwe_prefixes.iter().any(|p| alg.starts_with(p))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

// ---- writing: a key's public half as a JWK --------------------------------------

/// The public JWK of a key whose public half the backend encoded as `spki`
/// (SubjectPublicKeyInfo DER). Integers are minimal big-endian (RFC 7518
/// §2 Base64urlUInt: no leading zero octets), coordinates full length (§6.2.1.2).
/// `None` for an HMAC secret, or if `spki` does not hold what `kind` says
/// (which the backend's own encoding never does).
pub(super) fn public_jwk(
    kind: KeyKind,
    kid: Option<&str>,
    alg: Algorithm,
    spki: &[u8],
) -> Option<Object> {
    let public = spki_public_key(spki)?;
    let mut jwk = Object::new();
    let mut put = |name: &str, value: Value| jwk.insert(name.to_owned(), value);
    let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
    match kind {
        KeyKind::Hmac { .. } => return None,
        KeyKind::Rsa { .. } => {
            let (n, e) = rsa_public_key(public)?;
            put("kty", "RSA".into());
            put("n", b64(n));
            put("e", b64(e));
        }
        KeyKind::Ec(curve) => {
            // SEC1 uncompressed point: 0x04 || x || y, each coordinate_len.
            let xy = public.strip_prefix(&[0x04])?;
            if xy.len() != 2 * curve.coordinate_len() {
                return None;
            }
            let (x, y) = xy.split_at(curve.coordinate_len());
            put("kty", "EC".into());
            put("crv", curve.name().into());
            put("x", b64(x));
            put("y", b64(y));
        }
        KeyKind::Ed25519 => {
            put("kty", "OKP".into());
            put("crv", "Ed25519".into());
            put("x", b64(public));
        }
    }
    if let Some(kid) = kid {
        put("kid", kid.into());
    }
    put("alg", alg.name().into());
    put("use", "sig".into());
    Some(jwk)
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo.
fn spki_public_key(spki: &[u8]) -> Option<&[u8]> {
    let mut spki = der::outer_sequence(spki, "SubjectPublicKeyInfo").ok()?;
    spki.sequence("AlgorithmIdentifier").ok()?;
    let bits = spki.read(der::BIT_STRING, "subjectPublicKey").ok()?;
    der::bit_string_bytes(bits).ok()
}

/// (n, e) of a PKCS#1 RSAPublicKey, without leading zero octets.
fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut key = der::outer_sequence(der, "RSAPublicKey").ok()?;
    let n = der::unsigned_integer(key.read(der::INTEGER, "modulus").ok()?);
    let e = der::unsigned_integer(key.read(der::INTEGER, "exponent").ok()?);
    Some((n, e))
}
