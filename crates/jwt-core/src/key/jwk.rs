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

use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::asn1::{self, FormatError};
use super::{Key, KeyError, KeyKind, KeyParts};
use crate::alg::Algorithm;
use crate::crypto::{self, Curve, SigningKey};

type Object = Map<String, Value>;

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
struct Jwk<'a> {
    object: &'a Object,
    location: String,
    kid: Option<&'a str>,
}

impl<'a> Jwk<'a> {
    fn new(object: &'a Object, mut location: String) -> Result<Jwk<'a>, KeyError> {
        let kid = match object.get("kid") {
            None => None,
            Some(Value::String(kid)) if kid.is_empty() => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(invalid(&location, "\"kid\" is not a string")),
        };
        if let Some(kid) = kid {
            location = format!("{location} (kid {kid:?})");
        }
        Ok(Jwk {
            object,
            location,
            kid,
        })
    }

    fn error(&self, reason: impl Into<String>) -> KeyError {
        invalid(&self.location, reason)
    }

    fn optional_str(&self, name: &str) -> Result<Option<&'a str>, KeyError> {
        match self.object.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(format!("\"{name}\" is not a string"))),
        }
    }

    fn required_str(&self, name: &str) -> Result<&'a str, KeyError> {
        self.optional_str(name)?
            .ok_or_else(|| self.error(format!("\"{name}\" is missing")))
    }

    /// A base64url member (RFC 7518 §6: Base64urlUInt and octet sequences).
    /// Padding is tolerated here: this is configuration, not attacker input.
    fn bytes(&self, name: &str) -> Result<Vec<u8>, KeyError> {
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

    /// `use` other than "sig", or a JWE key-management `alg` (RFC 7518 §4.1).
    fn is_for_encryption(&self) -> Result<bool, KeyError> {
        if let Some(key_use) = self.optional_str("use")? {
            return Ok(key_use != "sig");
        }
        let alg = self.optional_str("alg")?.unwrap_or_default();
        let jwe_prefixes = [
            "RSA1_5", "RSA-OAEP", "ECDH-ES", "A128", "A192", "A256", "PBES2",
        ];
        Ok(alg == "dir" || jwe_prefixes.iter().any(|p| alg.starts_with(p)))
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

    fn rsa(&self) -> Result<KeyParts, KeyError> {
        let n = self.bytes("n")?;
        let e = self.bytes("e")?;
        let n = strip_leading_zeros(&n);
        let e = strip_leading_zeros(&e);
        asn1::check_rsa_bits(n).map_err(|err| self.error(err.to_string()))?;
        let Some(d) = self.optional_bytes("d")? else {
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

    fn ec(&self) -> Result<KeyParts, KeyError> {
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
        let Some(d) = self.optional_bytes("d")? else {
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

    fn okp(&self) -> Result<KeyParts, KeyError> {
        let crv = self.required_str("crv")?;
        if crv != "Ed25519" {
            return Err(self.error(format!(
                "unsupported OKP \"crv\" {crv:?}: only Ed25519 is supported"
            )));
        }
        let x = self.bytes("x")?;
        let signing = match self.optional_bytes("d")? {
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

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
