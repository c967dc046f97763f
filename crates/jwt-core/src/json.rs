//! Claim values as text, for nginx variables and headers.

use std::borrow::Cow;

use serde_json::Value;

/// Strings raw (unescaped, unquoted); numbers, booleans and null as their JSON
/// text; objects and arrays as compact JSON.
///
/// Control characters inside strings (CR, LF, NUL, ...) become `\xHH`, as
/// nginx escapes its logs: these values end up in `proxy_set_header` and
/// `add_header`, and a signed claim holding "\r\n" must not inject headers.
/// Compact JSON needs no such care: serde_json escapes control characters.
pub fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => escape_controls(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        // Serialising a Value cannot fail (keys are strings, no I/O).
        Value::Array(_) | Value::Object(_) => Cow::Owned(v.to_string()),
    }
}

fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_ascii_control()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_control() {
            out.push_str(&format!("\\x{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_of_each_json_type() {
        assert_eq!(value_text(&json!("a \"b\"")), "a \"b\"");
        assert!(matches!(value_text(&json!("x")), Cow::Borrowed("x")));
        assert_eq!(value_text(&json!(42)), "42");
        assert_eq!(value_text(&json!(-1.5)), "-1.5");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!(false)), "false");
        assert_eq!(value_text(&Value::Null), "null");
        assert_eq!(value_text(&json!(["a", 1, null])), r#"["a",1,null]"#);
        assert_eq!(
            value_text(&json!({"b": {"c": [1]}, "a": "x"})),
            r#"{"a":"x","b":{"c":[1]}}"#
        );
        assert_eq!(value_text(&json!("")), "");
    }

    #[test]
    fn control_characters_cannot_reach_a_header() {
        assert_eq!(
            value_text(&json!("x\r\nX-Injected: yes")),
            "x\\x0D\\x0AX-Injected: yes"
        );
        assert_eq!(value_text(&json!("tab\there\u{7f}")), "tab\\x09here\\x7F");
        assert_eq!(
            value_text(&json!("caf\u{e9} \u{1F600}")),
            "caf\u{e9} \u{1F600}"
        );
        assert!(matches!(value_text(&json!("plain")), Cow::Borrowed(_)));
        assert_eq!(value_text(&json!(["a\nb"])), r#"["a\nb"]"#);
    }
}
