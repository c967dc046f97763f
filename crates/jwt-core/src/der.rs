//! Just enough DER (X.690) to find out what a key file holds: the outer
//! structure of SubjectPublicKeyInfo, PKCS#8, PKCS#1, SEC1 and X.509. The
//! crypto backend re-parses the same bytes strictly; this reader only has to
//! be safe on hostile input (no panics, no recursion) and precise enough to
//! name the key kind, curve and RSA size in operator-facing messages.
//!
//! Hand-written rather than taken from RustCrypto's `der`, `spki`, `pkcs1`,
//! `pkcs8`, `sec1`, `x509-cert` and `pem-rfc7468`: decided by measuring a
//! prototype that read the same structures with those crates (der 0.8.3,
//! spki 0.8.1, pkcs1 0.8.0, pkcs8 0.11.0, sec1 0.8.1, x509-cert 0.3.0,
//! pem-rfc7468 1.0.0; rustc 1.95, 2 cores, `-j2`, cold release builds) and
//! loaded every fixture as the same key kind:
//!
//! - build time: `cargo build --release -p ngx-jwt` 83-87 s -> 87-97 s
//!   (+4 to +10 s; nginx and aws-lc dominate), `-p jwt-core` alone
//!   37-39 s -> 45-56 s (+8 to +18 s);
//! - stripped .so: 3,282,104 -> 3,402,256 bytes (+120 KB, +3.7%);
//! - crates: `cargo tree -p jwt-core -e normal` 21 -> 49 lines, 17 -> 29
//!   distinct crates (der, der_derive, a second syn, const-oid, flagset,
//!   spki, pkcs1, pkcs8, sec1, x509-cert, pem-rfc7468, base64ct);
//! - messages: the refusals an operator meets (RSA-1024, secp256k1, DSA,
//!   Ed448, encrypted PKCS#8, wrong OID) are this crate's own text either
//!   way. For broken DER the crates give byte positions ("ASN.1 DER message
//!   is incomplete: expected 151, actual 150 at DER byte 150", "unexpected
//!   ASN.1 DER tag: expected INTEGER, got SEQUENCE") where this reader names
//!   the field ("element longer than its container", "missing
//!   PrivateKeyInfo version"): no clearer. They were worse where it matters:
//!   a legacy `Proc-Type: 4,ENCRYPTED` key became "PEM Base64 error: invalid
//!   Base64 encoding" and a SEC1 key with explicit curve parameters
//!   "unexpected ASN.1 DER tag: expected OBJECT IDENTIFIER, got SEQUENCE",
//!   both losing the fix; so those checks, and the multi-block PEM scan
//!   (pem-rfc7468 decodes one block only), would have stayed here anyway.
//!
//! The switch would have saved about 300 lines; not worth the cost above,
//! since aws-lc parses the key strictly after this reader. Fuzzed (fuzz/,
//! target `der`) and property-tested (src/proptests.rs).

use std::fmt::Write as _;

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
/// `[0]` constructed, explicit context tag (X.509 version, SEC1 parameters).
pub(crate) const CONTEXT_0: u8 = 0xa0;

/// Object identifiers, as their DER content bytes.
pub(crate) mod oid {
    /// 1.2.840.113549.1.1.1 rsaEncryption
    pub(crate) const RSA_ENCRYPTION: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// 1.2.840.113549.1.1.10 id-RSASSA-PSS
    pub(crate) const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    /// 1.2.840.10045.2.1 id-ecPublicKey
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.840.10045.3.1.7 prime256v1 (P-256)
    pub(crate) const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// 1.3.132.0.34 secp384r1 (P-384)
    pub(crate) const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// 1.3.132.0.35 secp521r1 (P-521)
    pub(crate) const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// 1.3.132.0.10 secp256k1
    pub(crate) const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
    /// 1.3.101.112 id-Ed25519
    pub(crate) const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    /// 1.3.101.113 id-Ed448
    pub(crate) const ED448: &[u8] = &[0x2b, 0x65, 0x71];
    /// 1.3.101.110 id-X25519
    pub(crate) const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
    /// 1.2.840.10040.4.1 id-dsa
    pub(crate) const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
}

/// Why a DER structure could not be read. Static text: never echoes input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DerError(pub(crate) &'static str);

/// One tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    /// The whole element, header included (e.g. to hand an SPKI to the backend).
    pub(crate) whole: &'a [u8],
}

/// A cursor over consecutive DER elements.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next element, whatever its tag.
    pub(crate) fn any(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let (&tag, after_tag) = input.split_first().ok_or(DerError("truncated element"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-byte tags are not used by key formats"));
        }
        let (&first, mut after_len) = after_tag
            .split_first()
            .ok_or(DerError("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError("unsupported length encoding"));
            }
            if after_len.len() < count {
                return Err(DerError("truncated length"));
            }
            let (len_bytes, rest) = after_len.split_at(count);
            after_len = rest;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if after_len.len() < len {
            return Err(DerError("element longer than its container"));
        }
        let header_len = input.len() - after_len.len();
        let (content, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok(Tlv {
            tag,
            content,
            whole: &input[..header_len + len],
        })
    }

    /// Reads the next element and checks its tag; returns its content.
    pub(crate) fn read(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        let tlv = self.any()?;
        if tlv.tag != tag {
            return Err(DerError(what));
        }
        Ok(tlv.content)
    }

    /// Reads the next element if it has `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Enters a SEQUENCE: returns a reader over its content.
    pub(crate) fn sequence(&mut self, what: &'static str) -> Result<Reader<'a>, DerError> {
        self.read(SEQUENCE, what).map(Reader::new)
    }
}

/// Reads a whole buffer as exactly one SEQUENCE (trailing bytes are an error:
/// a key file is one structure per PEM block).
pub(crate) fn outer_sequence<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<Reader<'a>, DerError> {
    let mut reader = Reader::new(bytes);
    let inner = reader.sequence(what)?;
    if !reader.is_empty() {
        return Err(DerError("trailing bytes after the key structure"));
    }
    Ok(inner)
}

/// The content of a BIT STRING holding whole bytes (the key formats never use
/// a partial final byte).
pub(crate) fn bit_string_bytes(content: &[u8]) -> Result<&[u8], DerError> {
    match content.split_first() {
        Some((0, bytes)) => Ok(bytes),
        _ => Err(DerError("BIT STRING with unused bits")),
    }
}

/// An unsigned INTEGER's magnitude without the sign/leading zero bytes.
pub(crate) fn unsigned_integer(content: &[u8]) -> &[u8] {
    let start = content
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(content.len());
    &content[start..]
}

/// Number of significant bits of a big-endian magnitude.
pub(crate) fn bit_length(magnitude: &[u8]) -> usize {
    let magnitude = unsigned_integer(magnitude);
    match magnitude.first() {
        None => 0,
        Some(&top) => (magnitude.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// Dotted form of an OID, for naming an unsupported algorithm or curve.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    let mut out = String::new();
    let mut arcs = Vec::new();
    let mut value: u128 = 0;
    for &byte in content {
        value = (value << 7) | u128::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
        if value > u128::from(u64::MAX) {
            return "(unreadable OID)".to_owned();
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "(empty OID)".to_owned();
    };
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let _ = write!(out, "{a}.{b}");
    for arc in rest {
        let _ = write!(out, ".{arc}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let short = [0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00];
        let mut r = Reader::new(&short);
        let tlv = r.any().unwrap();
        assert_eq!(
            (tlv.tag, tlv.content, tlv.whole.len()),
            (0x04, &[0xaa, 0xbb][..], 4)
        );
        assert_eq!(r.any().unwrap().tag, 0x05);
        assert!(r.is_empty());

        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        let tlv = Reader::new(&long).any().unwrap();
        assert_eq!(tlv.content.len(), 256);
        assert_eq!(tlv.whole.len(), 260);
    }

    #[test]
    fn rejects_truncation_and_odd_encodings() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x01],
            &[0x30, 0x81],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(Reader::new(bad).any().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn oids_and_integers() {
        assert_eq!(oid_to_string(oid::RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
        assert_eq!(oid_to_string(oid::P521), "1.3.132.0.35");
        assert_eq!(oid_to_string(oid::ED448), "1.3.101.113");
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01, 0xff]), 9);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(unsigned_integer(&[0, 0, 5]), &[5]);
        assert_eq!(bit_string_bytes(&[0, 1, 2]).unwrap(), &[1, 2]);
        assert!(bit_string_bytes(&[3, 1]).is_err());
        assert!(bit_string_bytes(&[]).is_err());
    }
}
