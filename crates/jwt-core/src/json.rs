//! Claim values as text, for nginx variables and headers.

use std::borrow::Cow;

use serde_json::Value;

/// Strings raw (unescaped, unquoted); numbers, booleans and null as their JSON
/// text; objects and arrays as compact JSON.
pub fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        // Serialising a Value cannot fail (keys are strings, no I/O).
        Value::Array(_) | Value::Object(_) => Cow::Owned(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_of_each_json_type() {
        assert_eq!(value_text(&json!("a \"b\"\n")), "a \"b\"\n");
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
}
