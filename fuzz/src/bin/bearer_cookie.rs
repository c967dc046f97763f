//! The request-side parsers: `Authorization: Bearer`, `jwt_login_cookie` and
//! the `jwt_require` truth rule.
//!
//! Input: a selector byte, then
//! * 0: an Authorization header value;
//! * 1: `jwt_login_cookie` arguments, one per line (name first), then the
//!   issued token's `expires_in` in the last 8 bytes;
//! * other: a variable value for `jwt_require`.
//!
//! Oracles: no panic; a bearer token is a trimmed, non-empty sub-slice; a
//! rendered Set-Cookie value holds no control character and exactly as many
//! `; ` separators as it has attributes (nothing can be injected).

use afl::fuzz;
use jwt_core::cookie::{parse_login_cookie, MaxAge};
use jwt_core::{bearer_token, require::satisfies};
use jwt_core_fuzz::take_u64;

fn main() {
    fuzz!(|data: &[u8]| {
        let Some((&selector, rest)) = data.split_first() else {
            return;
        };
        match selector % 3 {
            0 => {
                if let Some(token) = bearer_token(rest) {
                    assert!(!token.is_empty());
                    assert_eq!(token, token.trim_ascii());
                    // A sub-slice of the value, after the scheme.
                    let start = token.as_ptr() as usize - rest.as_ptr() as usize;
                    assert!(start >= 7 && start + token.len() <= rest.len());
                }
            }
            1 => {
                let (expires_in, lines) = take_u64(rest);
                let Ok(text) = std::str::from_utf8(lines) else {
                    return;
                };
                let mut args = text.split('\n');
                let name = args.next().unwrap_or_default();
                let params: Vec<&str> = args.collect();
                let Ok(cookie) = parse_login_cookie(name, &params) else {
                    return;
                };
                let token = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
                let value = cookie.set_cookie_value(token, expires_in);
                assert!(!value.bytes().any(|b| b.is_ascii_control()), "{value:?}");
                let expected = cookie.attributes.len() + usize::from(cookie.max_age != MaxAge::Off);
                assert_eq!(value.matches("; ").count(), expected, "{value:?}");
                assert!(value.starts_with(&format!("{name}={token}")));
            }
            _ => {
                let met = satisfies(rest);
                let falsy: [&[u8]; 6] = [b"", b"0", b"false", b"null", b"[]", b"{}"];
                assert_eq!(met, !falsy.contains(&rest));
            }
        }
    });
}
