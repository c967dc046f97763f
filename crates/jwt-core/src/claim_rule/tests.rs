use serde_json::{json, Map, Value};

use super::*;

fn rule(args: &[&str]) -> ClaimRule {
    ClaimRule::parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn claims(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Whether `args` is met by the single claim `name: value`.
fn met_by(args: &[&str], value: Value) -> bool {
    let mut map = Map::new();
    map.insert(args[0].to_owned(), value);
    rule(args).check(&map).is_ok()
}

fn unmet_message(args: &[&str], value: Value) -> String {
    rule(args).check(&claims(value)).unwrap_err().to_string()
}

fn error(args: &[&str]) -> ClaimRuleError {
    ClaimRule::parse(args).unwrap_err()
}

// ---- eq ----------------------------------------------------------------------------

#[test]
fn eq_strings_are_byte_exact() {
    let args = ["role", "eq", "admin"];
    assert!(met_by(&args, json!("admin")));
    for near in [
        "superadmin",
        "admin ",
        " admin",
        "Admin",
        "ADMIN",
        "admin:read",
        "adm",
        "",
    ] {
        assert!(!met_by(&args, json!(near)), "{near:?}");
    }
    assert!(met_by(&["role", "eq", "user", "admin"], json!("admin")));
}

#[test]
fn eq_numbers_compare_numerically() {
    for value in ["1", "1.0", "1e0", "10e-1", "0.1e1"] {
        assert!(met_by(&["lvl", "eq", value], json!(1)), "{value}");
        assert!(met_by(&["lvl", "eq", value], json!(1.0)), "{value}");
    }
    assert!(met_by(&["lvl", "eq", "-0"], json!(0)));
    assert!(met_by(&["lvl", "eq", "0"], json!(-0.0)));
    // Not JSON numbers: never equal a number.
    for value in [
        "\"1\"", " 1", "1 ", "+1", "01", "1.", ".1", "0x1", "one", "true",
    ] {
        assert!(!met_by(&["lvl", "eq", value], json!(1)), "{value:?}");
    }
    assert!(!met_by(&["lvl", "eq", "2"], json!(1)));
    assert!(!met_by(&["lvl", "eq", "1.5"], json!(1)));
}

#[test]
fn eq_large_integers_are_exact() {
    // 2^53 + 1 has no f64: a float comparison would call these equal.
    let big = 9_007_199_254_740_993_u64;
    assert!(met_by(&["n", "eq", "9007199254740993"], json!(big)));
    assert!(!met_by(&["n", "eq", "9007199254740992"], json!(big)));
    assert!(!met_by(&["n", "eq", "9007199254740992.0"], json!(big)));
    assert!(met_by(
        &["n", "eq", "18446744073709551615"],
        json!(u64::MAX)
    ));
    assert!(met_by(
        &["n", "eq", "-9223372036854775808"],
        json!(i64::MIN)
    ));
    assert!(!met_by(
        &["n", "eq", "18446744073709551616"],
        json!(u64::MAX)
    ));
}

#[test]
fn eq_one_versus_true_versus_string_one() {
    // The value "1" equals the string "1" and the numbers 1 and 1.0, not true.
    assert!(met_by(&["x", "eq", "1"], json!("1")));
    assert!(met_by(&["x", "eq", "1"], json!(1)));
    assert!(met_by(&["x", "eq", "1"], json!(1.0)));
    assert!(!met_by(&["x", "eq", "1"], json!(true)));
    // A string claim compares as text: "1.0" is not "1".
    assert!(!met_by(&["x", "eq", "1"], json!("1.0")));
    assert!(!met_by(&["x", "eq", "1.0"], json!("1")));
    // Booleans by exactly true/false.
    assert!(met_by(&["x", "eq", "true"], json!(true)));
    assert!(met_by(&["x", "eq", "true"], json!("true")));
    assert!(!met_by(&["x", "eq", "true"], json!(1)));
    assert!(!met_by(&["x", "eq", "True"], json!(true)));
    assert!(!met_by(&["x", "eq", "false"], json!(true)));
    assert!(met_by(&["x", "eq", "false"], json!(false)));
}

#[test]
fn eq_never_matches_arrays_objects_or_null() {
    for claim in [json!(["admin"]), json!({"admin": true}), Value::Null] {
        assert!(!met_by(&["x", "eq", "admin"], claim.clone()), "{claim}");
        assert!(!met_by(&["x", "eq", "null"], claim.clone()), "{claim}");
    }
    assert!(!met_by(&["x", "eq", "[\"admin\"]"], json!(["admin"])));
}

#[test]
fn eq_unicode_is_not_normalised() {
    // "é" precomposed vs e + combining acute: different bytes.
    assert!(met_by(&["n", "eq", "caf\u{e9}"], json!("caf\u{e9}")));
    assert!(!met_by(&["n", "eq", "cafe\u{301}"], json!("caf\u{e9}")));
    assert!(!met_by(&["n", "eq", "STRASSE"], json!("stra\u{df}e")));
    assert!(met_by(&["n", "eq", "\u{1F600}"], json!("\u{1F600}")));
}

// ---- ne ----------------------------------------------------------------------------

#[test]
fn ne_is_met_by_present_scalars_equal_to_none() {
    let args = ["role", "ne", "guest", "anonymous"];
    assert!(met_by(&args, json!("admin")));
    assert!(met_by(&args, json!("Guest")));
    assert!(met_by(&args, json!("guest ")));
    assert!(met_by(&args, json!(1)));
    assert!(met_by(&args, json!(false)));
    assert!(!met_by(&args, json!("guest")));
    assert!(!met_by(&args, json!("anonymous")));
    assert!(!met_by(&["n", "ne", "1.0"], json!(1)));
}

#[test]
fn ne_fails_closed() {
    let args = ["role", "ne", "guest"];
    assert!(rule(&args).check(&Map::new()).is_err());
    for claim in [json!(["guest"]), json!(["admin"]), json!({}), Value::Null] {
        assert!(!met_by(&args, claim.clone()), "{claim}");
    }
    assert_eq!(
        unmet_message(&args, json!({})),
        r#"claim "role" is absent (ne "guest")"#
    );
    assert_eq!(
        unmet_message(&args, json!({"role": ["guest"]})),
        r#"claim "role" is an array, not a string, number or boolean (ne "guest")"#
    );
}

// ---- any ---------------------------------------------------------------------------

#[test]
fn any_on_scope_strings_matches_whole_words() {
    let args = ["scope", "any", "admin"];
    assert!(met_by(&args, json!("admin")));
    assert!(met_by(&args, json!("read admin write")));
    assert!(met_by(&args, json!("  admin  ")));
    assert!(met_by(&args, json!("admin admin")));
    for near in [
        "superadmin",
        "admin:read",
        "read:admin",
        "Admin",
        "read,admin",
        "read\tadmin",
        "read\u{a0}admin",
        "read\nadmin",
        "",
        " ",
    ] {
        assert!(!met_by(&args, json!(near)), "{near:?}");
    }
    assert!(met_by(
        &["scope", "any", "read\tadmin"],
        json!("read\tadmin")
    ));
}

#[test]
fn any_needs_one_of_several() {
    let args = ["scope", "any", "write", "admin"];
    assert!(met_by(&args, json!("read admin")));
    assert!(met_by(&args, json!(["write"])));
    assert!(!met_by(&args, json!("read")));
    assert!(!met_by(&args, json!([])));
}

#[test]
fn any_on_arrays_compares_elements_like_eq() {
    let args = ["roles", "any", "admin"];
    assert!(met_by(&args, json!(["user", "admin"])));
    assert!(!met_by(&args, json!(["superadmin", "admin "])));
    // An element is one value, not a space-separated list.
    assert!(!met_by(&args, json!(["user admin"])));
    assert!(met_by(
        &["g", "any", "Domain Admins"],
        json!(["Domain Admins"])
    ));
    // ... while a string claim is: a value with a space is never one of its words.
    assert!(!met_by(
        &["g", "any", "Domain Admins"],
        json!("Domain Admins")
    ));
    // Nested arrays are not searched.
    assert!(!met_by(&args, json!([["admin"]])));
    assert!(!met_by(&args, json!([{"admin": true}])));
}

#[test]
fn any_on_arrays_of_non_strings() {
    assert!(met_by(&["lvl", "any", "2"], json!([1, 2.0, 3])));
    assert!(met_by(&["lvl", "any", "2.0"], json!([1, 2, 3])));
    assert!(met_by(&["lvl", "any", "2"], json!(["2"])));
    assert!(!met_by(
        &["lvl", "any", "2"],
        json!([true, null, [2], {"2": 2}])
    ));
    assert!(met_by(&["f", "any", "true"], json!([false, true])));
    assert!(!met_by(&["f", "any", "1"], json!([true])));
    assert!(!met_by(&["f", "any", "null"], json!([null])));
}

#[test]
fn any_and_all_need_an_array_or_a_string() {
    for op in ["any", "all"] {
        for claim in [json!(1), json!(true), Value::Null, json!({"admin": 1})] {
            assert!(!met_by(&["r", op, "admin"], claim.clone()), "{op} {claim}");
        }
    }
    assert_eq!(
        unmet_message(&["r", "any", "1"], json!({"r": 1})),
        r#"claim "r" is a number, not an array or a string (any "1")"#
    );
}

#[test]
fn empty_scope_holds_nothing() {
    for claim in [json!(""), json!("   "), json!([])] {
        assert!(!met_by(&["scope", "any", "read"], claim.clone()), "{claim}");
        assert!(!met_by(&["scope", "all", "read"], claim.clone()), "{claim}");
    }
}

// ---- all ---------------------------------------------------------------------------

#[test]
fn all_needs_every_value() {
    let args = ["scope", "all", "read", "write"];
    assert!(met_by(&args, json!("write read")));
    assert!(met_by(&args, json!("read write read")));
    assert!(met_by(&args, json!(["read", "x", "write"])));
    assert!(!met_by(&args, json!("read")));
    assert!(!met_by(&args, json!("read writer")));
    assert!(!met_by(&args, json!(["read", "write:all"])));
    assert_eq!(
        unmet_message(&args, json!({"scope": "read openid"})),
        r#"claim "scope" does not hold "write" (all "read" "write")"#
    );
}

#[test]
fn duplicate_values_and_words_change_nothing() {
    assert!(met_by(&["s", "all", "a", "a"], json!("a")));
    assert!(met_by(&["s", "all", "a", "b"], json!("a a b b")));
    assert!(met_by(&["s", "any", "a", "a"], json!(["a", "a"])));
}

// ---- gt ge lt le --------------------------------------------------------------------

#[test]
fn comparisons_are_numeric() {
    let cases = [
        ("gt", 2, false),
        ("gt", 3, true),
        ("ge", 1, false),
        ("ge", 2, true),
        ("lt", 1, true),
        ("lt", 2, false),
        ("le", 2, true),
        ("le", 3, false),
    ];
    for (op, claim, met) in cases {
        assert_eq!(
            met_by(&["acr", op, "2"], json!(claim)),
            met,
            "{claim} {op} 2"
        );
        assert_eq!(
            met_by(&["acr", op, "2.0"], json!(f64::from(claim))),
            met,
            "{claim}.0 {op} 2.0"
        );
    }
    assert!(met_by(&["acr", "gt", "1.5"], json!(2)));
    assert!(!met_by(&["acr", "gt", "2.5"], json!(2)));
    assert!(met_by(&["acr", "lt", "-1"], json!(-1.5)));
    assert!(met_by(&["t", "ge", "1700000000"], json!(1_700_000_000)));
    assert!(met_by(&["t", "gt", "1e9"], json!(1_700_000_000)));
    // 2^53 + 1 > 2^53 although both round to the same f64.
    assert!(met_by(
        &["n", "gt", "9007199254740992.0"],
        json!(9_007_199_254_740_993_u64)
    ));
    assert!(met_by(
        &["n", "lt", "9007199254740993"],
        json!(9_007_199_254_740_992.0)
    ));
}

#[test]
fn comparisons_need_a_number_claim() {
    for claim in [json!("3"), json!(true), json!([3]), Value::Null, json!({})] {
        assert!(!met_by(&["acr", "gt", "2"], claim.clone()), "{claim}");
        assert!(!met_by(&["acr", "le", "2"], claim.clone()), "{claim}");
    }
    assert_eq!(
        unmet_message(&["acr", "gt", "2"], json!({"acr": "3"})),
        r#"claim "acr" is a string, not a number (gt 2)"#
    );
    assert_eq!(
        unmet_message(&["acr", "ge", "2"], json!({"acr": 1})),
        r#"claim "acr" is 1, not ge 2"#
    );
}

// ---- paths ---------------------------------------------------------------------------

#[test]
fn nested_paths() {
    let token = claims(json!({
        "realm_access": {"roles": ["offline_access", "admin"]},
        "resource_access": {"my.app": {"roles": ["editor"]}, "my": {"app": {"roles": ["x"]}}},
        "a.b": "dotted",
        "0": {"1": "digits"},
    }));
    let met = |args: &[&str]| rule(args).check(&token).is_ok();
    assert!(met(&["realm_access.roles", "any", "admin"]));
    assert!(met(&[r"resource_access.my\.app.roles", "any", "editor"]));
    assert!(!met(&[r"resource_access.my\.app.roles", "any", "x"]));
    assert!(met(&["resource_access.my.app.roles", "any", "x"]));
    assert!(met(&[r"a\.b", "eq", "dotted"]));
    assert!(!met(&["a.b", "eq", "dotted"]));
    assert!(met(&["0.1", "eq", "digits"]));
}

#[test]
fn paths_through_non_objects_are_absent() {
    let token = json!({"realm_access": "admin", "groups": ["a", "b"], "n": null});
    assert_eq!(
        unmet_message(&["realm_access.roles", "any", "admin"], token.clone()),
        r#"claim "realm_access.roles" is absent: "realm_access" is a string, not an object (any "admin")"#
    );
    // Arrays are not indexed.
    assert_eq!(
        unmet_message(&["groups.0", "eq", "a"], token.clone()),
        r#"claim "groups.0" is absent: "groups" is an array, not an object (eq "a")"#
    );
    assert!(rule(&["n.x", "ne", "a"]).check(&claims(token)).is_err());
}

#[test]
fn path_syntax() {
    assert_eq!(parse_path("a").unwrap(), ["a"]);
    assert_eq!(parse_path(r"a\.b.c").unwrap(), ["a.b", "c"]);
    assert_eq!(parse_path(r"a\\.b").unwrap(), ["a\\", "b"]);
    assert_eq!(parse_path(r"a\\\.b").unwrap(), ["a\\.b"]);
    assert_eq!(parse_path(r"\.").unwrap(), ["."]);
    assert_eq!(parse_path("é.😀").unwrap(), ["é", "😀"]);
    assert_eq!(parse_path(" a . b ").unwrap(), [" a ", " b "]);
    assert_eq!(parse_path(""), Err(ClaimRuleError::EmptyPath));
    for bad in [".", "a.", ".a", "a..b", r"a\..", r"\\.."] {
        assert_eq!(
            parse_path(bad),
            Err(ClaimRuleError::EmptyName(bad.to_owned())),
            "{bad}"
        );
    }
    for bad in [r"a\b", r"a\", r"\n", r"a\\\"] {
        assert_eq!(
            parse_path(bad),
            Err(ClaimRuleError::InvalidEscape(bad.to_owned())),
            "{bad}"
        );
    }
    for names in [vec!["a.b", "c\\", "\\.d"], vec!["x"], vec!["."]] {
        assert_eq!(parse_path(&path_text(&names)).unwrap(), names);
    }
}

// ---- configuration errors --------------------------------------------------------------

#[test]
fn configuration_errors_name_the_problem_and_the_fix() {
    let cases: [(&[&str], &str); 17] = [
        (
            &[],
            r#""jwt_require_claim" needs a claim path, an operator and a value, as in: jwt_require_claim scope any read"#,
        ),
        (
            &["scope"],
            r#""jwt_require_claim" needs a claim path, an operator and a value, as in: jwt_require_claim scope any read"#,
        ),
        (
            &["scope", "any"],
            r#"operator any in "jwt_require_claim" needs at least one value"#,
        ),
        (
            &["acr", "gt"],
            r#"operator gt in "jwt_require_claim" needs one number"#,
        ),
        (
            &["acr", "gt", "1", "2"],
            r#"operator gt in "jwt_require_claim" takes exactly one number, not 2 values"#,
        ),
        (
            &["acr", "le", "high"],
            r#""high" is not a number, in "jwt_require_claim" ... le: gt, ge, lt and le compare with one JSON number, such as 2, -1 or 1.5"#,
        ),
        (
            &["acr", "lt", " 2"],
            r#"" 2" is not a number, in "jwt_require_claim" ... lt: gt, ge, lt and le compare with one JSON number, such as 2, -1 or 1.5"#,
        ),
        (
            &["scope", "contains", "a"],
            r#"unknown operator "contains" in "jwt_require_claim": use any (holds at least one of the values) or all (holds every one)"#,
        ),
        (
            &["scope", "intersect", "a"],
            r#"unknown operator "intersect" in "jwt_require_claim": use any (holds at least one of the values) or all (holds every one)"#,
        ),
        (
            &["role", "in", "a"],
            r#"unknown operator "in" in "jwt_require_claim": use eq (equals one of the values)"#,
        ),
        (
            &["role", "nin", "a"],
            r#"unknown operator "nin" in "jwt_require_claim": use ne (equals none of the values)"#,
        ),
        (
            &["role", "EQ", "a"],
            r#"unknown operator "EQ" in "jwt_require_claim": operators are lowercase: eq, ne, any, all, gt, ge, lt or le"#,
        ),
        (
            &["role", "=", "a"],
            r#"unknown operator "=" in "jwt_require_claim": use eq, ne, any, all, gt, ge, lt or le"#,
        ),
        (
            &["scope", "all", "a", ""],
            r#"empty value for operator all in "jwt_require_claim": no scope word or role is empty; remove the "" argument"#,
        ),
        (
            &["role", "eq", "a", "error=500"],
            r#"invalid "error=500" in "jwt_require_claim": use error=401 or error=403"#,
        ),
        (
            &["role", "eq", "error=401", "a"],
            r#""error=401" in "jwt_require_claim" must be its last argument"#,
        ),
        (
            &["a..b", "eq", "x"],
            r#"empty claim name in path "a..b" in "jwt_require_claim": separate names with single dots, none at either end (a dot inside a name is written \.)"#,
        ),
    ];
    for (args, message) in cases {
        assert_eq!(error(args).to_string(), message, "{args:?}");
    }
    assert_eq!(
        error(&[r"a\b", "eq", "x"]).to_string(),
        r#"invalid escape in claim path "a\b" in "jwt_require_claim": only \. (a dot inside a name) and \\ (a backslash) are escapes"#
    );
    assert_eq!(
        error(&["", "eq", "x"]).to_string(),
        r#"empty claim path in "jwt_require_claim": name a claim, as in scope or realm_access.roles"#
    );
}

#[test]
fn status_option() {
    assert_eq!(rule(&["r", "eq", "a"]).status(), 403);
    assert_eq!(rule(&["r", "eq", "a", "error=403"]).status(), 403);
    assert_eq!(rule(&["r", "eq", "a", "error=401"]).status(), 401);
    for bad in [
        "error=",
        "error=40",
        "error=0401",
        "error=401 ",
        "error=404",
    ] {
        assert_eq!(
            error(&["r", "eq", "a", bad]),
            ClaimRuleError::InvalidStatus(bad.to_owned())
        );
    }
    assert_eq!(
        error(&["r", "eq", "error=401"]),
        ClaimRuleError::MissingValue {
            operator: "eq",
            needs: "at least one value"
        }
    );
    assert_eq!(error(&["error=401"]), ClaimRuleError::MissingArguments);
    // Only a prefix counts: "Error=401" is a value.
    assert!(met_by(&["r", "eq", "Error=401"], json!("Error=401")));
}

#[test]
fn empty_values_are_allowed_for_eq_and_ne() {
    assert!(met_by(&["s", "eq", ""], json!("")));
    assert!(!met_by(&["s", "eq", ""], json!(" ")));
    assert!(met_by(&["s", "ne", ""], json!("x")));
    assert!(!met_by(&["s", "ne", ""], json!("")));
    assert_eq!(
        error(&["s", "any", ""]),
        ClaimRuleError::EmptyValue { operator: "any" }
    );
}

// ---- messages -------------------------------------------------------------------------

#[test]
fn unmet_messages() {
    let token = json!({
        "role": "user",
        "realm_access": {"roles": ["user"]},
        "scope": "read",
        "admin": true,
    });
    let cases: [(&[&str], &str); 6] = [
        (
            &["role", "eq", "admin", "ops"],
            r#"claim "role" is "user", not eq "admin" "ops""#,
        ),
        (
            &["role", "ne", "user"],
            r#"claim "role" is "user", which ne "user" excludes"#,
        ),
        (
            &["realm_access.roles", "any", "admin"],
            r#"claim "realm_access.roles" holds none of "admin""#,
        ),
        (
            &["scope", "any", "admin", "write"],
            r#"claim "scope" holds none of "admin" "write""#,
        ),
        (
            &["admin", "eq", "false"],
            r#"claim "admin" is true, not eq "false""#,
        ),
        (&["sub", "any", "x"], r#"claim "sub" is absent (any "x")"#),
    ];
    for (args, message) in cases {
        assert_eq!(unmet_message(args, token.clone()), message, "{args:?}");
    }
}

#[test]
fn unmet_messages_cut_long_claims_and_escape_controls() {
    let long = "a".repeat(10_000);
    let message = unmet_message(&["sub", "eq", "x"], json!({ "sub": long }));
    assert_eq!(
        message,
        format!(r#"claim "sub" is "{}"…, not eq "x""#, "a".repeat(64))
    );
    let message = unmet_message(&["s", "eq", "x"], json!({"s": "a\r\nb\"c\\\u{0}"}));
    assert_eq!(message, r#"claim "s" is "a\r\nb\"c\\\x00", not eq "x""#);
    // A large array claim is never printed.
    let many: Vec<String> = (0..10_000).map(|i| format!("role{i}")).collect();
    let message = unmet_message(&["roles", "any", "admin"], json!({ "roles": many }));
    assert_eq!(message, r#"claim "roles" holds none of "admin""#);
    // Configured values are cut as well.
    let value = "v".repeat(100);
    let message = unmet_message(&["s", "eq", &value], json!({}));
    assert_eq!(
        message,
        format!(r#"claim "s" is absent (eq "{}"…)"#, "v".repeat(64))
    );
}

#[test]
fn display_is_canonical() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["scope", "any", "read", "write"],
            r#""scope" any "read" "write""#,
        ),
        (
            &["scope", "all", "read", "error=403"],
            r#""scope" all "read""#,
        ),
        (
            &["acr", "ge", "2.5", "error=401"],
            r#""acr" ge 2.5 error=401"#,
        ),
        (
            &[r"resource_access.my\.app.roles", "any", "a b"],
            r#""resource_access.my\\.app.roles" any "a b""#,
        ),
        (
            &["role", "eq", "say \"hi\"\t\\"],
            r#""role" eq "say \"hi\"\t\\""#,
        ),
        (&["x", "ne", ""], r#""x" ne """#),
    ];
    for (args, text) in cases {
        assert_eq!(rule(args).to_string(), text, "{args:?}");
    }
}

#[test]
fn rules_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<ClaimRule>();
    shared::<Unmet>();
}
