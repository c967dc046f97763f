//! The truth rule of `jwt_require`.

/// Whether a variable's value satisfies `jwt_require`. A value is **unmet**
/// when it is exactly empty, `0`, `false`, `null`, `[]` or `{}`, and met
/// otherwise.
///
/// Why these: claims reach variables as JSON text (see
/// [`crate::json::value_text`]), so a JSON falsy value (`false`, `null`, an
/// empty array or object, `0`) must never pass, and nginx's own convention
/// (as in `if ($var)`) treats empty and `0` as false. Comparison is on exact
/// bytes: ` 0`, `0.0`, `False` or `""` are met, as they are none of these
/// texts (an empty string claim renders as the empty value, which is unmet).
pub fn satisfies(value: &[u8]) -> bool {
    !matches!(value, b"" | b"0" | b"false" | b"null" | b"[]" | b"{}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falsy_values_are_unmet() {
        for value in [&b""[..], b"0", b"false", b"null", b"[]", b"{}"] {
            assert!(!satisfies(value), "{value:?}");
        }
    }

    #[test]
    fn everything_else_is_met() {
        for value in [
            &b"1"[..],
            b"true",
            b"admin",
            b" 0",
            b"0 ",
            b"00",
            b"0.0",
            b"-0",
            b"False",
            b"NULL",
            b"[ ]",
            b"{ }",
            b"[0]",
            b"\"\"",
            b"\x00",
        ] {
            assert!(satisfies(value), "{value:?}");
        }
    }
}
