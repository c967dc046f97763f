//! `jwt_login_cookie NAME [attribute ...]`: the cookie `jwt_login` sets with
//! the token it issues, and the `Set-Cookie` value it sends.
//!
//! Hand-written rather than built on a cookie crate: the input is a handful of
//! directive arguments read once at configuration time, the output one header
//! value, and the rules are this directive's own (defaults that `Name=value`
//! replaces and `Name=off` drops), which no cookie crate models. What matters
//! for safety is kept explicit: the name must be an RFC 6265 token and no
//! attribute may carry `;` or a control character, so a directive can never
//! split or inject header text.
//!
//! Rules:
//! * defaults, in order: `Path=/; HttpOnly; Secure; SameSite=Lax`;
//! * `Name=value` or `Name` replaces the default of the same name
//!   (case-insensitive), keeping its place; `Name=off` drops it; any other
//!   attribute is appended (`Other=off` for an attribute that is not there is
//!   ignored);
//! * `Max-Age=N` (seconds) or `Max-Age=off` (a session cookie); by default
//!   `Max-Age` is the issued token's `expires_in`, so the cookie goes when the
//!   token expires.

/// A parsed `jwt_login_cookie`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginCookie {
    pub name: String,
    /// Attributes after `NAME=<jwt>`, in order, already rendered (`Path=/`, `HttpOnly`, ...).
    pub attributes: Vec<String>,
    pub max_age: MaxAge,
}

/// The cookie's `Max-Age`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxAge {
    /// The token's lifetime (default): the cookie goes when the token expires.
    TokenLifetime,
    /// `Max-Age=N`.
    Seconds(u64),
    /// `Max-Age=off`: a session cookie.
    Off,
}

/// Why a `jwt_login_cookie` directive is refused, for the nginx error log at
/// configuration time. Messages name the offending argument and the directive.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    /// Not an RFC 6265 cookie-name (an RFC 7230 token).
    #[error("invalid cookie name \"{0}\" in \"jwt_login_cookie\"")]
    InvalidName(String),

    /// An attribute holding `;` or a control character.
    #[error("invalid cookie attribute \"{0}\" in \"jwt_login_cookie\"")]
    InvalidAttribute(String),

    /// `Max-Age=` followed by neither a number nor `off`.
    #[error("invalid \"{0}\" in \"jwt_login_cookie\": Max-Age takes a number of seconds or off")]
    MaxAgeValue(String),

    /// `Max-Age` without `=`.
    #[error("invalid \"{0}\" in \"jwt_login_cookie\": use Max-Age=N or Max-Age=off")]
    MaxAgeWithoutValue(String),
}

/// The defaults, in the order they are rendered.
const DEFAULT_ATTRIBUTES: [(&str, Option<&str>); 4] = [
    ("Path", Some("/")),
    ("HttpOnly", None),
    ("Secure", None),
    ("SameSite", Some("Lax")),
];

/// RFC 7230 `token` (RFC 6265 §4.1.1 cookie-name): visible ASCII except
/// separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// Parses the directive's arguments: `name`, then the attributes. See the
/// module documentation for the rules.
pub fn parse_login_cookie<S: AsRef<str>>(
    name: &str,
    params: &[S],
) -> Result<LoginCookie, CookieError> {
    if !is_token(name) {
        return Err(CookieError::InvalidName(name.to_owned()));
    }
    let mut attributes: Vec<(String, Option<String>)> = DEFAULT_ATTRIBUTES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect();
    let mut max_age = MaxAge::TokenLifetime;
    for param in params {
        let param = param.as_ref();
        if param.bytes().any(|b| b == b';' || b.is_ascii_control()) {
            return Err(CookieError::InvalidAttribute(param.to_owned()));
        }
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        if key.eq_ignore_ascii_case("Max-Age") {
            max_age = match value {
                Some("off") => MaxAge::Off,
                Some(n) => MaxAge::Seconds(
                    n.parse()
                        .map_err(|_| CookieError::MaxAgeValue(param.to_owned()))?,
                ),
                None => return Err(CookieError::MaxAgeWithoutValue(param.to_owned())),
            };
            continue;
        }
        let existing = attributes
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(key));
        let owned = (key.to_owned(), value.map(str::to_owned));
        match (existing, value) {
            (Some(i), Some("off")) => {
                attributes.remove(i);
            }
            (Some(i), _) => attributes[i] = owned,
            (None, Some("off")) => {}
            (None, _) => attributes.push(owned),
        }
    }
    let attributes = attributes
        .into_iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k,
        })
        .collect();
    Ok(LoginCookie {
        name: name.to_owned(),
        attributes,
        max_age,
    })
}

impl LoginCookie {
    /// The `Set-Cookie` header value for an issued token: `NAME=<token>`, then
    /// `Max-Age` (the token's `expires_in`, the configured seconds, or none),
    /// then the attributes, separated by `"; "`.
    ///
    /// `token` is a compact JWS: base64url and dots, all valid cookie-octets
    /// (RFC 6265 §4.1.1), so it is written as is.
    pub fn set_cookie_value(&self, token: &str, expires_in: u64) -> String {
        let attributes_len: usize = self.attributes.iter().map(|a| a.len() + 2).sum();
        let mut value =
            String::with_capacity(self.name.len() + 1 + token.len() + 30 + attributes_len);
        value.push_str(&self.name);
        value.push('=');
        value.push_str(token);
        let max_age = match self.max_age {
            MaxAge::TokenLifetime => Some(expires_in),
            MaxAge::Seconds(n) => Some(n),
            MaxAge::Off => None,
        };
        if let Some(seconds) = max_age {
            value.push_str("; Max-Age=");
            value.push_str(&seconds.to_string());
        }
        for attribute in &self.attributes {
            value.push_str("; ");
            value.push_str(attribute);
        }
        value
    }
}

impl LoginCookie {
    /// The `Set-Cookie` value that deletes the cookie (`jwt_logout`): an empty value with
    /// `Max-Age=0` and the same attributes, since a browser only replaces a cookie of the same
    /// name, `Path` and `Domain` (RFC 6265 §5.3).
    pub fn clear_cookie_value(&self) -> String {
        let mut value = format!("{}=; Max-Age=0", self.name);
        for attribute in &self.attributes {
            value.push_str("; ");
            value.push_str(attribute);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_keeps_the_attributes_that_identify_the_cookie() {
        let c = parse("s", &["Path=/app", "Domain=example.com", "Max-Age=600"]).unwrap();
        assert_eq!(
            c.clear_cookie_value(),
            "s=; Max-Age=0; Path=/app; HttpOnly; Secure; SameSite=Lax; Domain=example.com"
        );
    }

    fn parse(name: &str, params: &[&str]) -> Result<LoginCookie, CookieError> {
        parse_login_cookie(name, params)
    }

    #[test]
    fn defaults() {
        let c = parse("jwt", &[]).unwrap();
        assert_eq!(c.name, "jwt");
        assert_eq!(
            c.attributes,
            ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]
        );
        assert_eq!(c.max_age, MaxAge::TokenLifetime);
        assert_eq!(
            c.set_cookie_value("a.b.c", 3600),
            "jwt=a.b.c; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
    }

    #[test]
    fn replace_drop_and_append() {
        let c = parse(
            "s",
            &[
                "path=/app",
                "Secure=off",
                "samesite=Strict",
                "Domain=example.com",
                "Partitioned",
                "Unknown=off",
            ],
        )
        .unwrap();
        assert_eq!(
            c.attributes,
            [
                "path=/app",
                "HttpOnly",
                "samesite=Strict",
                "Domain=example.com",
                "Partitioned"
            ]
        );
        // A later argument wins over an earlier one.
        let c = parse("s", &["Path=/a", "Path=/b", "HttpOnly=off", "HttpOnly"]).unwrap();
        assert_eq!(
            c.attributes,
            ["Path=/b", "Secure", "SameSite=Lax", "HttpOnly"]
        );
    }

    #[test]
    fn max_age() {
        let c = parse("s", &["Max-Age=60"]).unwrap();
        assert_eq!(c.max_age, MaxAge::Seconds(60));
        assert_eq!(
            c.set_cookie_value("t", 3600),
            "s=t; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        let c = parse("s", &["max-age=off", "Path=off", "HttpOnly=off"]).unwrap();
        assert_eq!(c.max_age, MaxAge::Off);
        assert_eq!(c.set_cookie_value("t", 3600), "s=t; Secure; SameSite=Lax");
        let c = parse("s", &["Max-Age=0"]).unwrap();
        assert_eq!(c.max_age, MaxAge::Seconds(0));
        let c = parse(
            "s",
            &["Path=off", "HttpOnly=off", "Secure=off", "SameSite=off"],
        )
        .unwrap();
        assert_eq!(c.set_cookie_value("t", 5), "s=t; Max-Age=5");
    }

    #[test]
    fn errors_keep_the_directive_messages() {
        for (name, params, message) in [
            (
                "",
                &[][..],
                "invalid cookie name \"\" in \"jwt_login_cookie\"",
            ),
            (
                "a b",
                &[],
                "invalid cookie name \"a b\" in \"jwt_login_cookie\"",
            ),
            (
                "a=b",
                &[],
                "invalid cookie name \"a=b\" in \"jwt_login_cookie\"",
            ),
            (
                "caf\u{e9}",
                &[],
                "invalid cookie name \"caf\u{e9}\" in \"jwt_login_cookie\"",
            ),
            (
                "s",
                &["Path=/; Evil=1"],
                "invalid cookie attribute \"Path=/; Evil=1\" in \"jwt_login_cookie\"",
            ),
            (
                "s",
                &["Domain=a\r\nX: y"],
                "invalid cookie attribute \"Domain=a\r\nX: y\" in \"jwt_login_cookie\"",
            ),
            (
                "s",
                &["Max-Age=soon"],
                "invalid \"Max-Age=soon\" in \"jwt_login_cookie\": Max-Age takes a number of \
                 seconds or off",
            ),
            (
                "s",
                &["Max-Age=-1"],
                "invalid \"Max-Age=-1\" in \"jwt_login_cookie\": Max-Age takes a number of \
                 seconds or off",
            ),
            (
                "s",
                &["Max-Age"],
                "invalid \"Max-Age\" in \"jwt_login_cookie\": use Max-Age=N or Max-Age=off",
            ),
        ] {
            assert_eq!(parse(name, params).unwrap_err().to_string(), message);
        }
    }
}
