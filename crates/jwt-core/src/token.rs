//! JWS Compact Serialization (RFC 7515 §7.1) of a JWT: three base64url
//! segments, `header.payload.signature`.
//!
//! Parsing is strict: exactly two dots, the URL-safe alphabet without padding
//! and canonical trailing bits (RFC 7515 §2), JSON objects for header and
//! claims. Nothing here looks at keys or time.
//!
//! Hand-written (on top of the `base64` and `serde_json` crates) rather than
//! taken from a JWT crate: splitting on two dots is a few lines, and a JWT
//! crate would decode and validate claims in its own order and types, while
//! the verifier must control the order (header, then signature, then claims:
//! see verify.rs) and report each failure with its own code. Fuzzed and
//! property-tested (fuzz/, src/proptests.rs).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

mod members;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use members::check_against_map as check_members_against_map;
pub(crate) use members::{read as read_members, ClaimMembers, DateMember, HeaderMembers};

/// The three segments of a compact token, still encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segments<'t> {
    pub(crate) header: &'t [u8],
    pub(crate) payload: &'t [u8],
    pub(crate) signature: &'t [u8],
    /// `header "." payload`: the bytes the signature covers.
    pub(crate) signing_input: &'t [u8],
}

/// A part of a token, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    Claims,
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Claims => "claims",
            Part::Signature => "signature",
        })
    }
}

/// Why a token is structurally invalid (error code `malformed`). The text
/// never quotes the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not exactly three `.`-separated segments.
    Segments,
    /// A segment is not unpadded base64url.
    Base64(Part),
    /// Header or claims are not JSON.
    Json(Part),
    /// Header or claims are JSON but not an object.
    NotObject(Part),
    /// The header has no `alg`.
    MissingAlgorithm,
    /// The header's `alg` is not a string.
    AlgorithmNotString,
    /// The header's `kid` is not a string.
    KidNotString,
    /// `exp`, `nbf` or `iat` is present but not a JSON number.
    NotNumericDate(&'static str),
    /// The policy requires `exp` and the token has none.
    MissingExpiration,
    /// The signature segment is empty.
    EmptySignature,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Segments => f.write_str("expected three segments separated by '.'"),
            Malformed::Base64(part) => write!(f, "{part} is not base64url without padding"),
            Malformed::Json(part) => write!(f, "{part} is not valid JSON"),
            Malformed::NotObject(part) => write!(f, "{part} is not a JSON object"),
            Malformed::MissingAlgorithm => f.write_str("header has no \"alg\""),
            Malformed::AlgorithmNotString => f.write_str("header \"alg\" is not a string"),
            Malformed::KidNotString => f.write_str("header \"kid\" is not a string"),
            Malformed::NotNumericDate(claim) => write!(f, "claim \"{claim}\" is not a number"),
            Malformed::MissingExpiration => {
                f.write_str("token has no \"exp\" claim and the policy requires one")
            }
            Malformed::EmptySignature => f.write_str("signature is empty"),
        }
    }
}

/// Splits on the two dots; a third dot (JWE has four) is malformed.
pub(crate) fn split(token: &[u8]) -> Result<Segments<'_>, Malformed> {
    // memchr: a vectorised scan (a byte-at-a-time loop was 8% of an HS256 verification).
    let mut dots = memchr::memchr_iter(b'.', token);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(Malformed::Segments);
    };
    Ok(Segments {
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &token[..second],
    })
}

/// Decodes one segment, appending to `buf`; returns the decoded range.
/// On failure `buf` is left as it was.
pub(crate) fn decode_into(
    segment: &[u8],
    part: Part,
    buf: &mut Vec<u8>,
) -> Result<std::ops::Range<usize>, Malformed> {
    let start = buf.len();
    buf.resize(start + base64::decoded_len_estimate(segment.len()), 0);
    match URL_SAFE_NO_PAD.decode_slice(segment, &mut buf[start..]) {
        Ok(written) => {
            buf.truncate(start + written);
            Ok(start..start + written)
        }
        Err(_) => {
            buf.truncate(start);
            Err(Malformed::Base64(part))
        }
    }
}

/// Decodes one segment into a buffer of its own.
pub(crate) fn decode(segment: &[u8], part: Part) -> Result<Vec<u8>, Malformed> {
    let mut buf = Vec::new();
    decode_into(segment, part, &mut buf)?;
    Ok(buf)
}

/// Decodes a signature segment into `stack` when it fits (a signature of any RSA key up to
/// 8192 bits does), else into a new vector: one allocation less per verification.
pub(crate) fn decode_signature<'b>(
    segment: &[u8],
    stack: &'b mut [u8; MAX_STACK_SIGNATURE],
) -> Result<std::borrow::Cow<'b, [u8]>, Malformed> {
    if base64::decoded_len_estimate(segment.len()) > MAX_STACK_SIGNATURE {
        return decode(segment, Part::Signature).map(std::borrow::Cow::Owned);
    }
    match URL_SAFE_NO_PAD.decode_slice(segment, &mut stack[..]) {
        Ok(written) => Ok(std::borrow::Cow::Borrowed(&stack[..written])),
        Err(_) => Err(Malformed::Base64(Part::Signature)),
    }
}

/// Bytes of [`decode_signature`]'s stack buffer.
pub(crate) const MAX_STACK_SIGNATURE: usize = 1024;

/// A decoded header or claims set as text: JSON is UTF-8 (RFC 8259 §8.1), and the members
/// are read from `&str` (see [`members`]). `Json(part)` otherwise.
pub(crate) fn json_text(bytes: Vec<u8>, part: Part) -> Result<String, Malformed> {
    String::from_utf8(bytes).map_err(|_| Malformed::Json(part))
}

/// A NumericDate claim (RFC 7519 §2): seconds since the epoch, integer or
/// not. Absent → `None`; present but not a number → malformed.
pub(crate) fn numeric_date(
    member: Option<DateMember>,
    name: &'static str,
) -> Result<Option<NumericDate>, Malformed> {
    match member {
        None => Ok(None),
        Some(DateMember::Number(n)) => Ok(Some(NumericDate(n))),
        Some(DateMember::NotNumber) => Err(Malformed::NotNumericDate(name)),
    }
}

/// Seconds since the epoch, as a JSON number may hold them: possibly
/// fractional, negative or beyond `u64`. Comparisons are done in `f64`, which
/// is exact for every integer time until the year 285 million.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct NumericDate(pub f64);

impl NumericDate {
    /// Whole seconds, clamped to `0..=u64::MAX` (float-to-int casts saturate).
    pub fn as_secs(self) -> u64 {
        self.0.floor() as u64
    }
}

impl fmt::Display for NumericDate {
    /// Whole seconds as an integer; anything else in `f64`'s shortest
    /// round-trip form, which switches to exponent notation for huge values
    /// (`1e300`, not three hundred digits in a log line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            write!(f, "{}", self.0 as i64)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_needs_exactly_two_dots() {
        let s = split(b"a.b.c").unwrap();
        assert_eq!(
            (s.header, s.payload, s.signature),
            (&b"a"[..], &b"b"[..], &b"c"[..])
        );
        assert_eq!(s.signing_input, b"a.b");
        let s = split(b"..").unwrap();
        assert_eq!(
            (s.header, s.payload, s.signature),
            (&b""[..], &b""[..], &b""[..])
        );
        for bad in [&b""[..], b"abc", b"a.b", b"a.b.c.d", b"a.b.c.d.e", b"...."] {
            assert_eq!(split(bad).unwrap_err(), Malformed::Segments, "{bad:?}");
        }
    }

    #[test]
    fn base64url_is_strict() {
        let mut buf = Vec::new();
        assert_eq!(decode_into(b"eyJ9", Part::Header, &mut buf).unwrap(), 0..3);
        assert_eq!(&buf, b"{\"}");
        let range = decode_into(b"AQ", Part::Claims, &mut buf).unwrap();
        assert_eq!(&buf[range], &[1]);
        for bad in [&b"AQ=="[..], b"AQ=", b"a+b/", b"A", b"AR", b"a b", b"a\nb"] {
            let before = buf.len();
            assert_eq!(
                decode_into(bad, Part::Signature, &mut buf).unwrap_err(),
                Malformed::Base64(Part::Signature),
                "{bad:?}"
            );
            assert_eq!(buf.len(), before);
        }
    }

    #[test]
    fn json_text_is_utf8() {
        assert_eq!(json_text(b"{}".to_vec(), Part::Header).unwrap(), "{}");
        assert_eq!(
            json_text(b"{\"a\":\"\xff\"}".to_vec(), Part::Claims).unwrap_err(),
            Malformed::Json(Part::Claims)
        );
    }

    #[test]
    fn numeric_dates() {
        let claims: members::ClaimMembers = members::read(
            r#"{"exp":1700000000,"nbf":"1","iat":18446744073709551615}"#,
            Part::Claims,
        )
        .unwrap();
        assert_eq!(
            numeric_date(claims.exp, "exp").unwrap(),
            Some(NumericDate(1.7e9))
        );
        assert_eq!(
            numeric_date(claims.nbf, "nbf").unwrap_err(),
            Malformed::NotNumericDate("nbf")
        );
        assert!(numeric_date(claims.iat, "iat").unwrap().is_some());
        assert_eq!(numeric_date(None, "exp").unwrap(), None);
        assert_eq!(NumericDate(-3.0).as_secs(), 0);
        assert_eq!(NumericDate(1e300).as_secs(), u64::MAX);
        assert_eq!(NumericDate(1.5).as_secs(), 1);
        assert_eq!(NumericDate(1_700_000_000.0).to_string(), "1700000000");
        assert_eq!(NumericDate(1.5).to_string(), "1.5");
        assert_eq!(NumericDate(-3.0).to_string(), "-3");
        assert_eq!(NumericDate(-0.0).to_string(), "0");
        assert_eq!(NumericDate(1e300).to_string(), "1e300");
        assert_eq!(NumericDate(-1.5e19).to_string(), "-1.5e19");
        assert_eq!(NumericDate(f64::NAN).to_string(), "NaN");
    }
}
