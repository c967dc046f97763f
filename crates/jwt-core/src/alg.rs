//! JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;

/// A JWS `alg` this module can verify and sign with.
///
/// `none` is deliberately absent: an unsecured JWS is never acceptable here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

/// The key type an algorithm needs (the JWK `kty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `oct`: a shared HMAC secret.
    Hmac,
    /// `RSA`: PKCS#1 v1.5 and PSS signatures.
    Rsa,
    /// `EC`: ECDSA over a NIST curve.
    Ec,
    /// `OKP`: EdDSA over Ed25519.
    Okp,
}

impl Algorithm {
    /// Every algorithm, in the order the RFCs list them. Lists derived from it
    /// (e.g. [`crate::KeyRing::supported_algorithms`]) keep this order.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The JOSE name, as it appears in a header's `alg`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Exact, case-sensitive lookup of a JOSE name (RFC 7515 §4.1.1: `alg`
    /// values are case-sensitive). `"none"` yields `None`.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == s)
    }

    /// The key type this algorithm needs.
    pub fn family(self) -> Family {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Family::Rsa,
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Family::Ec,
            Algorithm::EdDSA => Family::Okp,
        }
    }

    /// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
    /// `None` for non-HMAC algorithms.
    pub fn min_hmac_secret_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Hmac => "HMAC",
            Family::Rsa => "RSA",
            Family::Ec => "EC",
            Family::Okp => "OKP",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.to_string(), alg.name());
        }
    }

    #[test]
    fn names_are_case_sensitive_and_none_is_unknown() {
        for name in [
            "hs256", "Hs256", "EDDSA", "eddsa", "none", "None", "NONE", "", "HS256 ",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn families() {
        assert_eq!(Algorithm::HS384.family(), Family::Hmac);
        assert_eq!(Algorithm::PS512.family(), Family::Rsa);
        assert_eq!(Algorithm::RS256.family(), Family::Rsa);
        assert_eq!(Algorithm::ES512.family(), Family::Ec);
        assert_eq!(Algorithm::EdDSA.family(), Family::Okp);
    }

    #[test]
    fn hmac_minimum_lengths_follow_rfc7518() {
        assert_eq!(Algorithm::HS256.min_hmac_secret_len(), Some(32));
        assert_eq!(Algorithm::HS384.min_hmac_secret_len(), Some(48));
        assert_eq!(Algorithm::HS512.min_hmac_secret_len(), Some(64));
        assert_eq!(Algorithm::RS256.min_hmac_secret_len(), None);
    }
}
