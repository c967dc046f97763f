//! The tiny subset of Perl that `--- section eval` bodies use, and Perl regex translation.
//!
//! Supported expression syntax (anything else is an error, never silently ignored):
//!
//! * `"double quoted"` and `qq{...}` strings with the escapes `\n \r \t \f \a \e \0 \NNN`
//!   (octal), `\xHH`, `\x{HHHH}`, `\\`, `\"`, `\$`, `\@` and `\<any>`; an unescaped
//!   `$name`/`@name` (variable interpolation) is rejected;
//! * `'single quoted'` and `q{...}` strings (only `\\` and `\'` escapes);
//! * `qr/.../flags` (any delimiter, bracketing ones nest) with flags `i m s x`;
//! * integer and decimal numbers (kept as strings, as Perl would print them);
//! * `[ a, b, ... ]` array references and `( ... )` grouping / lists, `,` or `=>` separated;
//! * the operators `.` (concatenation) and `x` (repetition; a parenthesised list on the left
//!   repeats the list), with Perl's precedence (`x` binds tighter than `.`);
//! * `#` comments, `undef`, and a trailing `;`.

use std::fmt;

mod eval;
mod regex;

pub use eval::eval;
pub use regex::{regex_of, translate_regex, PerlRegex};

/// A value produced by evaluating a Perl literal expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PVal {
    /// A string (Perl strings are byte strings).
    Str(Vec<u8>),
    /// A `qr//` regex: the pattern text and its flags (subset of `imsx`).
    Regex { pat: String, flags: String },
    /// An array reference or a list.
    List(Vec<PVal>),
    /// `undef`.
    Undef,
}

impl PVal {
    /// The string value, if this is a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            PVal::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short human-readable rendering, used in failure messages.
    pub fn describe(&self) -> String {
        match self {
            PVal::Str(s) => format!("\"{}\"", escape_bytes(s)),
            PVal::Regex { pat, flags } => format!("qr/{pat}/{flags}"),
            PVal::List(items) => {
                let inner: Vec<String> = items.iter().map(PVal::describe).collect();
                format!("[{}]", inner.join(", "))
            }
            PVal::Undef => "undef".into(),
        }
    }
}

impl fmt::Display for PVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Renders bytes the way failure reports show them: printable ASCII as is, the rest escaped.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"a\r\n\"\x01\xff"), "a\\r\\n\\\"\\x01\\xff");
    }
}
