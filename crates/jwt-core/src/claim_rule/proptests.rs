//! Property tests of `jwt_require_claim`: robustness on arbitrary JSON and
//! arguments, the operators against direct restatements of their rules, and
//! the canonical form read back as nginx reads arguments.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

use super::*;

/// Far above the real cost of a parse or check (microseconds), far below a
/// blow-up on the generated sizes.
const LIMIT: Duration = Duration::from_secs(1);

const OPERATORS: [&str; 8] = ["eq", "ne", "any", "all", "gt", "ge", "lt", "le"];

fn robustness() -> ProptestConfig {
    ProptestConfig::with_cases(1024)
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < LIMIT, "{what} took {:?}", start.elapsed());
    out
}

/// Short texts from an alphabet where words, spaces, dots, escapes, numbers
/// and booleans collide often.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab .\\\\1]{0,4}",
        select(vec![
            "1", "1.0", "-2", "1e0", "true", "false", "null", "a b"
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// Any JSON value, nested up to four levels, under keys that rules name.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        (-8i32..8).prop_map(|n| json!(f64::from(n) / 2.0)),
        text().prop_map(Value::from),
        "[ab ]{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(prop_oneof!["[ab]", text()], inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(prop_oneof!["[ab]", text()], json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

/// Well-formed arguments over the keys [`json_object`] uses, so that checks
/// reach the operators.
fn rule_args() -> impl Strategy<Value = Vec<String>> {
    (
        "[ab]{1,2}(\\.[ab]{1,2}){0,2}",
        select(OPERATORS.to_vec()),
        vec(text(), 1..4),
        select(vec![None, Some("error=401"), Some("error=403")]),
    )
        .prop_map(|(path, op, values, status)| {
            let mut args = vec![path, op.to_owned()];
            args.extend(values);
            args.extend(status.map(str::to_owned));
            args
        })
}

fn parse(args: &[String]) -> Result<ClaimRule, ClaimRuleError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ClaimRule::parse(&args)
}

fn met(args: &[&str], claim: &Value) -> bool {
    let rule = ClaimRule::parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let mut claims = Map::new();
    claims.insert(args[0].to_owned(), claim.clone());
    rule.check(&claims).is_ok()
}

/// `path op values...` as arguments.
fn args<'a>(path: &'a str, op: &'a str, values: &'a [String]) -> Vec<&'a str> {
    let mut args = vec![path, op];
    args.extend(values.iter().map(String::as_str));
    args
}

/// Non-empty words without a space, some sharing prefixes (`a`, `ab`, `a:b`).
fn word() -> impl Strategy<Value = String> {
    prop_oneof!["[ab:]{1,3}", "[^ ]{1,4}",]
}

/// Splits a canonical rule back into arguments the way nginx reads a
/// directive: `"..."` with `\"`, `\\`, `\t`, `\r`, `\n` unescaped (any other
/// `\x` kept as is), or bare words.
fn nginx_arguments(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {}
            '"' => {
                let mut arg = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('t') => arg.push('\t'),
                            Some('r') => arg.push('\r'),
                            Some('n') => arg.push('\n'),
                            Some(c @ ('"' | '\\' | '\'')) => arg.push(c),
                            Some(c) => arg.extend(['\\', c]),
                            None => arg.push('\\'),
                        },
                        c => arg.push(c),
                    }
                }
                args.push(arg);
            }
            c => {
                let mut arg = String::from(c);
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    arg.push(c);
                    chars.next();
                }
                args.push(arg);
            }
        }
    }
    args
}

/// A JSON number with its exact value in quarters, the claim, and a text for
/// it as a configured value. Integers span i64 and u64 (beyond f64's exact
/// range); fractions are quarters of integers below 2^40 (exact in f64); and
/// integers next to large floats (2^53, 2^63, the last f64 below 2^64) that
/// an f64 comparison would round into them.
fn exact_number() -> impl Strategy<Value = (i128, Value, String)> {
    const LARGE: [u64; 3] = [1 << 53, 1 << 63, u64::MAX - 2047];
    prop_oneof![
        (select(LARGE.to_vec()), -3i64..=3, any::<bool>()).prop_map(|(base, offset, float)| {
            if float {
                let f = base as f64;
                (i128::from(base) * 4, json!(f), format!("{f:?}"))
            } else {
                let n = i128::from(base) + i128::from(offset);
                let claim = i64::try_from(n)
                    .map(Value::from)
                    .unwrap_or_else(|_| json!(u64::try_from(n).unwrap()));
                (n * 4, claim, n.to_string())
            }
        }),
        any::<i64>().prop_map(|i| (i128::from(i) * 4, json!(i), i.to_string())),
        any::<u64>().prop_map(|u| (i128::from(u) * 4, json!(u), u.to_string())),
        (-4i64..4).prop_map(|i| (i128::from(i) * 4, json!(i), i.to_string())),
        (-(1i64 << 40)..(1 << 40), 0i64..4, any::<bool>()).prop_map(|(n, q, exp)| {
            let f = n as f64 + q as f64 / 4.0;
            let text = if exp {
                format!("{f:e}")
            } else {
                format!("{f:?}")
            };
            (i128::from(n) * 4 + i128::from(q), json!(f), text)
        }),
    ]
}

proptest! {
    #![proptest_config(robustness())]

    /// No argument list makes parse panic, and no parsed rule panics or takes
    /// long on any claims; its log line stays short and on one line.
    #[test]
    fn arbitrary_arguments_and_claims_never_panic(
        args in prop_oneof![
            vec(prop_oneof![text(), select(OPERATORS.to_vec()).prop_map(str::to_owned)], 0..6),
            rule_args(),
        ],
        claims in json_object(),
    ) {
        let Ok(rule) = bounded("parse", || parse(&args)) else { return Ok(()) };
        let _ = rule.to_string();
        prop_assert!(rule.status() == 401 || rule.status() == 403);
        if let Err(unmet) = bounded("check", || rule.check(&claims)) {
            let line = unmet.to_string();
            prop_assert!(!line.chars().any(|c| c.is_ascii_control()), "{}", line);
        }
    }

    /// Well-formed rules on the keys the claims use: the log line is bounded
    /// whatever the claim's size.
    #[test]
    fn unmet_lines_are_bounded(args in rule_args(), claims in json_object()) {
        let Ok(rule) = parse(&args) else { return Ok(()) };
        if let Err(unmet) = bounded("check", || rule.check(&claims)) {
            let line = unmet.to_string();
            prop_assert!(line.len() < 2048, "{}", line);
            prop_assert!(!line.chars().any(|c| c.is_ascii_control()), "{}", line);
        }
    }

    /// `any [v]` and `all [v]` are the same test.
    #[test]
    fn any_one_is_all_one(claim in json_value(), value in text()) {
        prop_assume!(!value.is_empty());
        let values = [value];
        prop_assert_eq!(
            met(&args("c", "any", &values), &claim),
            met(&args("c", "all", &values), &claim)
        );
    }

    /// `any` is a disjunction and `all` a conjunction of single-value tests.
    #[test]
    fn any_and_all_decompose(claim in json_value(), values in vec(text(), 1..4)) {
        prop_assume!(values.iter().all(|v| !v.is_empty()));
        let single = |v: &String| met(&args("c", "any", std::slice::from_ref(v)), &claim);
        prop_assert_eq!(met(&args("c", "any", &values), &claim), values.iter().any(single));
        prop_assert_eq!(met(&args("c", "all", &values), &claim), values.iter().all(single));
    }

    /// A scope string holds exactly the words of the same array, however the
    /// words are spaced.
    #[test]
    fn scope_string_is_its_array_of_words(
        words in vec(word(), 0..5),
        gaps in vec(0usize..3, 6),
        values in vec(prop_oneof![word(), text()], 1..4),
    ) {
        prop_assume!(values.iter().all(|v| !v.is_empty()));
        let mut scope = " ".repeat(gaps[0]);
        for (i, w) in words.iter().enumerate() {
            scope.push_str(w);
            scope.push_str(&" ".repeat(gaps[i + 1].max(1)));
        }
        let string = json!(scope);
        let array = json!(words);
        for op in ["any", "all"] {
            prop_assert_eq!(
                met(&args("scope", op, &values), &string),
                met(&args("scope", op, &values), &array),
                "{} {:?} on {:?}", op, values, scope
            );
        }
    }

    /// A word is held by a scope string iff it is one of its space-split words.
    #[test]
    fn scope_holds_exactly_its_words(scope in "[ab: ]{0,12}", w in "[ab:]{1,3}") {
        let model = scope.split(' ').any(|x| x == w);
        prop_assert_eq!(met(&["scope", "any", &w], &json!(scope)), model);
    }

    /// For a present string, number or boolean, `ne` is the negation of `eq`.
    #[test]
    fn ne_negates_eq_on_scalars(
        claim in prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-8i32..8).prop_map(|n| json!(f64::from(n) / 2.0)),
            text().prop_map(Value::from),
        ],
        values in vec(text(), 1..4),
    ) {
        prop_assert_eq!(
            met(&args("c", "ne", &values), &claim),
            !met(&args("c", "eq", &values), &claim)
        );
    }

    /// Arrays, objects and null meet neither `eq` nor `ne`.
    #[test]
    fn eq_and_ne_fail_closed_on_non_scalars(
        claim in json_value().prop_filter("non-scalar", |v| {
            matches!(v, Value::Null | Value::Array(_) | Value::Object(_))
        }),
        values in vec(text(), 1..4),
    ) {
        prop_assert!(!met(&args("c", "eq", &values), &claim));
        prop_assert!(!met(&args("c", "ne", &values), &claim));
    }

    /// Numbers compare by exact value, whatever their JSON form.
    #[test]
    fn numbers_compare_exactly(
        (a, claim, _) in exact_number(),
        (b, _, text) in exact_number(),
    ) {
        let order = a.cmp(&b);
        let bound = [text];
        prop_assert_eq!(met(&args("n", "eq", &bound), &claim), order == Ordering::Equal);
        prop_assert_eq!(met(&args("n", "gt", &bound), &claim), order == Ordering::Greater);
        prop_assert_eq!(met(&args("n", "ge", &bound), &claim), order != Ordering::Less);
        prop_assert_eq!(met(&args("n", "lt", &bound), &claim), order == Ordering::Less);
        prop_assert_eq!(met(&args("n", "le", &bound), &claim), order != Ordering::Greater);
    }

    /// Any member names, escaped into a path, lead to the nested claim.
    #[test]
    fn escaped_paths_reach_nested_claims(
        names in vec(any::<String>().prop_filter("non-empty", |s| !s.is_empty()), 1..4),
        value in "[a-z]{0,4}",
    ) {
        let path = path_text(&names);
        let mut claim = json!(value);
        for name in names.iter().skip(1).rev() {
            let mut object = Map::new();
            object.insert(name.clone(), claim);
            claim = Value::Object(object);
        }
        let mut claims = Map::new();
        claims.insert(names[0].clone(), claim);
        let rule = ClaimRule::parse(&[path.as_str(), "eq", value.as_str()]).unwrap();
        prop_assert!(rule.check(&claims).is_ok(), "{}", rule);
    }

    /// The canonical form, read back as nginx reads arguments, is the same rule.
    #[test]
    fn display_reads_back(
        path in "([ -~]{1,3})(\\.[ -~]{1,3}){0,2}",
        op in select(OPERATORS.to_vec()),
        values in vec(prop_oneof!["[ -~\t\r\n]{0,4}", "-?[0-9]{1,3}(\\.[0-9])?"], 1..3),
        status in select(vec!["", "error=401", "error=403"]),
    ) {
        let mut args = args(&path, op, &values);
        if !status.is_empty() {
            args.push(status);
        }
        let Ok(rule) = ClaimRule::parse(&args) else { return Ok(()) };
        let canonical = rule.to_string();
        let again = nginx_arguments(&canonical);
        let again: Vec<&str> = again.iter().map(String::as_str).collect();
        prop_assert_eq!(ClaimRule::parse(&again), Ok(rule), "{}", canonical);
    }
}
