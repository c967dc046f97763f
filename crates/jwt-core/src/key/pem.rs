//! PEM armor (RFC 7468): find the blocks, decode their base64, and hand the
//! DER to the parser its label calls for.
//!
//! Hand-written rather than taken from the `pem` or `pem-rfc7468` crate
//! because the rules that matter here are this module's own: text around
//! blocks is ignored (as `openssl x509 -text` output and "Bag Attributes" put
//! it there), RFC 1421 headers reveal a legacy encrypted key (reported as
//! such, with the fix), and errors must say what is wrong without quoting key
//! material. The base64 itself is the `base64` crate's. Measured against a
//! `pem-rfc7468` 1.0 prototype (with RustCrypto DER; numbers at the top of
//! der.rs): it decodes one block per call and refuses text after it, so the
//! block scan stays here anyway; its strict grammar refused base64 that
//! OpenSSL reads (76-column lines with `decode_vec`, a `==` on its own line);
//! and it reported the legacy encrypted key as "PEM Base64 error: invalid
//! Base64 encoding" (or "PEM headers disallowed by RFC7468") instead of
//! saying it is encrypted and how to decrypt it; it also adds `base64ct`, a
//! second base64. Fuzzed and property-tested.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::asn1::{self, FormatError};
use super::{KeyError, KeyParts};

/// One `-----BEGIN label-----` ... `-----END label-----` block.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Every key in a PEM file. `EC PARAMETERS` blocks (which `openssl ecparam
/// -genkey` writes before the key) carry no key and are skipped.
pub(crate) fn load(bytes: &[u8]) -> Result<Vec<KeyParts>, KeyError> {
    let mut keys = Vec::new();
    for (index, block) in blocks(bytes)?.into_iter().enumerate() {
        let parse = match block.label.as_str() {
            "EC PARAMETERS" => continue,
            "PUBLIC KEY" => asn1::from_spki,
            "RSA PUBLIC KEY" => asn1::from_pkcs1_public,
            "PRIVATE KEY" => asn1::from_pkcs8,
            "RSA PRIVATE KEY" => asn1::from_pkcs1_private,
            "EC PRIVATE KEY" => asn1::from_sec1,
            "CERTIFICATE" => asn1::from_certificate,
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::EncryptedPem),
            _ => return Err(KeyError::UnsupportedPemLabel { label: block.label }),
        };
        let key = parse(&block.der).map_err(|e| match e {
            FormatError::Der(der) => KeyError::MalformedDer {
                label: block.label.clone(),
                index: index + 1,
                reason: der.0,
            },
            FormatError::Key(key) => key,
        })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(KeyError::NoPemKey);
    }
    Ok(keys)
}

/// Splits a PEM file into its blocks. Text outside blocks (comments, `openssl
/// x509 -text` output, "Bag Attributes") is ignored.
pub(crate) fn blocks(bytes: &[u8]) -> Result<Vec<Block>, KeyError> {
    let text = String::from_utf8_lossy(bytes);
    let mut rest: &str = &text;
    let mut out = Vec::new();
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let label_end = after_begin
            .find("-----")
            .ok_or(KeyError::MalformedPem("BEGIN line is not closed"))?;
        let label = &after_begin[..label_end];
        if label.contains(['\n', '\r']) {
            return Err(KeyError::MalformedPem("BEGIN line is not closed"));
        }
        let body_and_rest = &after_begin[label_end + "-----".len()..];
        let end_line = format!("-----END {label}-----");
        let body_end = body_and_rest.find(&end_line).ok_or(KeyError::MalformedPem(
            "a BEGIN line has no matching END line",
        ))?;
        let body = &body_and_rest[..body_end];
        rest = &body_and_rest[body_end + end_line.len()..];
        out.push(Block {
            label: label.to_owned(),
            der: decode_body(body)?,
        });
    }
    if out.is_empty() {
        return Err(KeyError::MalformedPem("no -----BEGIN line"));
    }
    Ok(out)
}

/// Base64 of a block body. RFC 1421 header lines (`Proc-Type: 4,ENCRYPTED`,
/// `DEK-Info: ...`) mark the legacy OpenSSL encryption.
fn decode_body(body: &str) -> Result<Vec<u8>, KeyError> {
    let mut base64 = String::with_capacity(body.len());
    for line in body.lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim() == "Proc-Type" && value.contains("ENCRYPTED") {
                return Err(KeyError::EncryptedPem);
            }
            continue;
        }
        base64.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
    }
    if base64.is_empty() {
        return Err(KeyError::MalformedPem("a PEM block is empty"));
    }
    STANDARD
        .decode(base64.as_bytes())
        .map_err(|_| KeyError::MalformedPem("a PEM block body is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_between_text() {
        let text = b"comment\n-----BEGIN A-----\nAQID\n-----END A-----\nmiddle\n\
            -----BEGIN B C-----\r\nBA\r\n==\r\n-----END B C-----\r\n";
        let found = blocks(text).unwrap();
        assert_eq!(
            found,
            vec![
                Block {
                    label: "A".into(),
                    der: vec![1, 2, 3]
                },
                Block {
                    label: "B C".into(),
                    der: vec![4]
                },
            ]
        );
    }

    #[test]
    fn structural_errors() {
        for (text, expect) in [
            (&b"-----BEGIN A\nAQID\n-----END A-----"[..], "not closed"),
            (
                b"-----BEGIN A-----\nAQID\n-----END B-----",
                "no matching END",
            ),
            (b"-----BEGIN A-----\n-----END A-----", "empty"),
            (
                b"-----BEGIN A-----\nA!ID\n-----END A-----",
                "not valid base64",
            ),
        ] {
            let err = blocks(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn legacy_encryption_headers_are_detected() {
        let text = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
            DEK-Info: AES-128-CBC,00\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(blocks(text), Err(KeyError::EncryptedPem)));
    }
}
