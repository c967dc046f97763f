//! The `Authorization` request header's bearer credentials (RFC 6750 §2.1).
//!
//! Hand-written rather than taken from an HTTP crate: it is a dozen lines of
//! byte comparison on a value nginx has already parsed as a header, and
//! pulling in a header-parsing dependency for it would grow the module for no
//! gain. The token itself is not validated here: [`crate::Verifier`] is strict
//! about its syntax, so anything odd this lets through fails there as
//! `malformed`.

/// `Bearer <token>` with a case-insensitive scheme (RFC 6750 §2.1, RFC 7235
/// §2.1: auth-schemes are case-insensitive), the scheme followed by at least
/// one space or tab. Surrounding ASCII whitespace is not part of the token.
///
/// Another scheme (say `Basic`), a bare `Bearer` or `Bearer` followed only by
/// whitespace means no bearer token was presented: `None`.
pub fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    let (scheme, rest) = value.split_at_checked(SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) || !matches!(rest.first(), Some(b' ' | b'\t')) {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// The `WWW-Authenticate` challenges of a realm (RFC 6750 §3), rendered once at
/// configuration time: without an error code for a request that carried no token (§3.1: no
/// error information then), `invalid_token` for a token that failed, `insufficient_scope` for
/// a valid token that a `jwt_require` rule refused.
///
/// The realm is written inside a quoted-string; the directive refuses realms with quotes,
/// backslashes or control characters, so it needs no escaping here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenges {
    pub no_token: String,
    pub invalid_token: String,
    pub insufficient_scope: String,
}

impl Challenges {
    pub fn for_realm(realm: &str) -> Challenges {
        let base = format!("Bearer realm=\"{realm}\"");
        Challenges {
            invalid_token: format!("{base}, error=\"invalid_token\""),
            insufficient_scope: format!("{base}, error=\"insufficient_scope\""),
            no_token: base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        let c = Challenges::for_realm("api");
        assert_eq!(c.no_token, r#"Bearer realm="api""#);
        assert_eq!(
            c.invalid_token,
            r#"Bearer realm="api", error="invalid_token""#
        );
        assert_eq!(
            c.insufficient_scope,
            r#"Bearer realm="api", error="insufficient_scope""#
        );
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for value in [
            &b"Bearer abc"[..],
            b"bearer abc",
            b"BEARER abc",
            b"bEaReR abc",
            b"Bearer\tabc",
            b"Bearer   abc  ",
            b"Bearer \t abc\t",
        ] {
            assert_eq!(bearer_token(value), Some(&b"abc"[..]), "{value:?}");
        }
    }

    #[test]
    fn the_token_is_taken_whole() {
        assert_eq!(
            bearer_token(b"Bearer eyJh.eyJz.c2ln"),
            Some(&b"eyJh.eyJz.c2ln"[..])
        );
        // Inner whitespace stays: the verifier rejects such a token.
        assert_eq!(bearer_token(b"Bearer a b"), Some(&b"a b"[..]));
        assert_eq!(bearer_token(b"Bearer a=="), Some(&b"a=="[..]));
    }

    #[test]
    fn no_bearer_token() {
        for value in [
            &b""[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer \t ",
            b"Bearerabc",
            b"Bearer-abc",
            b"Basic dXNlcjpwYXNz",
            b"Bear abc",
            b" Bearer abc",
            b"Bearer\nabc",
            b"Bearer\xff",
            b"\xff\xfe\xfd\xfc\xfb\xfa abc",
        ] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
