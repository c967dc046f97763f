//! Unit tests and properties of the revocation file: its grammar, its errors, the RFC 3339
//! times, what a list revokes, and the `jti` digest.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map};

use super::*;

/// 2026-11-30T12:00:00Z.
const T: u64 = 1_796_040_000;

fn list(text: &str) -> RevocationList {
    RevocationList::parse(text.as_bytes()).unwrap()
}

fn error(text: &[u8]) -> RevocationFileError {
    RevocationList::parse(text).unwrap_err()
}

fn token(claims: serde_json::Value) -> VerifiedToken {
    let serde_json::Value::Object(claims) = claims else {
        panic!("claims must be an object");
    };
    VerifiedToken::for_tests(claims)
}

fn time(text: &str) -> Result<u64, String> {
    parse_time(text)
}

// ---- the format --------------------------------------------------------------------------

#[test]
fn the_documented_example_parses() {
    let l = list(
        "# Leaked in ticket 4711.\n\
         jti 4f1c2a9e-7d0b-4a57-9f3e-1f6a2b8c0d11\n\
         \n\
         sub alice 2026-11-30T12:00:00Z   # logged out everywhere\n\
         sub bob   1796040000\n",
    );
    assert_eq!(l.len(), 3);
    assert!(l.ids.contains("4f1c2a9e-7d0b-4a57-9f3e-1f6a2b8c0d11"));
    assert_eq!(l.subjects.get("alice"), Some(&T));
    assert_eq!(l.subjects.get("bob"), Some(&T));
}

#[test]
fn blank_lines_comments_and_whitespace_are_ignored() {
    let l = list(
        "\n   \n\t\n# comment\n   # indented comment\n#jti not-an-entry\n\
         \tjti\ta\t\r\n  jti   b   # trailing\r\njti c#d\njti e #\n",
    );
    let mut ids: Vec<&str> = l.ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b", "c#d", "e"]);
    // `5#x` is one word: not a time.
    assert!(RevocationList::parse(b"sub s 5#x").is_err());
    assert!(list("").is_empty());
    assert!(list("\n\n# nothing\n").is_empty());
    assert_eq!(list("jti a").len(), 1, "no final newline");
}

#[test]
fn a_byte_order_mark_starts_the_file_only() {
    assert_eq!(list("\u{feff}jti a\n").len(), 1);
    assert_eq!(list("\u{feff}\n").len(), 0);
    let err = error("jti a\n\u{feff}jti b\n".as_bytes());
    assert_eq!(err.line, 2);
}

#[test]
fn duplicates() {
    let l = list("jti a\njti a\njti b\n");
    assert_eq!(l.len(), 2);
    // The latest time wins, wherever it is.
    let l = list("sub s 200\nsub s 100\nsub s 300\nsub s 2\n");
    assert_eq!((l.len(), l.subjects.get("s")), (1, Some(&300)));
    let l = list("sub s 1\nsub t 9\n");
    assert_eq!(l.len(), 2);
}

#[test]
fn values_are_exact() {
    let l = list("jti Abc\nsub Alice 5\n");
    assert!(l.ids.contains("Abc") && !l.ids.contains("abc"));
    assert!(l.subjects.contains_key("Alice") && !l.subjects.contains_key("alice"));
    // A value may be any non-space UTF-8, including what a JSON string would escape.
    let l = list("jti é\"\\\u{7f}\n");
    assert!(l.ids.contains("é\"\\\u{7f}"));
}

#[test]
fn errors_name_the_line_and_the_fix() {
    let err = error(b"jti a\n\nfoo bar\n");
    assert_eq!(
        err,
        RevocationFileError {
            line: 3,
            reason: "unknown entry \"foo\"".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "line 3: unknown entry \"foo\"; expected \"jti VALUE\" or \"sub VALUE TIME\" \
         (TIME: unix seconds or 2026-11-30T12:00:00Z)"
    );
    let cases: [(&str, &str); 9] = [
        ("jti", "\"jti\" takes a value, found nothing"),
        ("jti # a comment", "\"jti\" takes a value, found nothing"),
        (
            "jti a b",
            "\"jti\" takes a value, found 2 words (a value cannot contain spaces; \
             start a comment with #)",
        ),
        ("sub", "\"sub\" takes a value and a time, found nothing"),
        (
            "sub alice",
            "\"sub\" takes a value and a time, found 1 word",
        ),
        (
            "sub alice 1 2",
            "\"sub\" takes a value and a time, found 3 words (a value cannot contain spaces; \
             start a comment with #)",
        ),
        ("JTI a", "unknown entry \"JTI\""),
        ("iat 5", "unknown entry \"iat\""),
        (
            "sub alice yesterday",
            "time \"yesterday\": not unix seconds nor a UTC time like 2026-11-30T12:00:00Z",
        ),
    ];
    for (line, reason) in cases {
        let err = error(format!("# first\n{line}\n").as_bytes());
        assert_eq!((err.line, err.reason.as_str()), (2, reason), "{line}");
    }
}

#[test]
fn a_line_that_is_not_utf8_is_an_error() {
    let err = error(b"jti a\njti \xff\xfe\njti b\n");
    assert_eq!(
        (err.line, err.reason.as_str()),
        (2, "not UTF-8 text (byte 5 of the line)")
    );
}

#[test]
fn error_values_are_quoted_and_cut() {
    let long = "x".repeat(100);
    let err = error(format!("{long} 1\n").as_bytes());
    assert_eq!(err.reason, format!("unknown entry \"{}\"…", "x".repeat(64)));
    let err = error("\u{1b}[31m 1\n".as_bytes());
    assert_eq!(err.reason, "unknown entry \"\\u{1b}[31m\"");
}

// ---- times -------------------------------------------------------------------------------

#[test]
fn unix_seconds() {
    assert_eq!(time("0"), Ok(0));
    assert_eq!(time("0001796040000"), Ok(T));
    assert_eq!(time("18446744073709551615"), Ok(u64::MAX));
    assert_eq!(
        time("18446744073709551616"),
        Err("time \"18446744073709551616\" is too large".into())
    );
    for bad in ["-1", "+1", "1.5", "1e9", "0x10", "１"] {
        assert!(time(bad).is_err(), "{bad}");
    }
}

#[test]
fn rfc3339_vectors() {
    // Checked against `date -u -d ... +%s`.
    let vectors = [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01Z", 1),
        ("2000-03-01T00:00:00Z", 951_868_800),
        ("2024-02-29T00:00:00Z", 1_709_164_800),
        ("2025-11-30T12:00:00Z", 1_764_504_000),
        ("2026-11-30T12:00:00Z", T),
        ("2026-11-30t12:00:00z", T),
        ("9999-12-31T23:59:59Z", 253_402_300_799),
    ];
    for (text, seconds) in vectors {
        assert_eq!(time(text), Ok(seconds), "{text}");
    }
}

#[test]
fn rfc3339_errors_say_what_is_wrong() {
    let cases = [
        ("2026-13-01T00:00:00Z", "month 13 is not in 1..=12"),
        ("2026-00-01T00:00:00Z", "month 0 is not in 1..=12"),
        ("2026-02-29T00:00:00Z", "day 29 is not in 1..=28"),
        ("1900-02-29T00:00:00Z", "year 1900 is not in 1970..=9999"),
        ("2100-02-29T00:00:00Z", "day 29 is not in 1..=28"),
        ("2026-04-31T00:00:00Z", "day 31 is not in 1..=30"),
        ("2026-04-00T00:00:00Z", "day 0 is not in 1..=30"),
        ("1969-12-31T23:59:59Z", "year 1969 is not in 1970..=9999"),
        ("2026-11-30T24:00:00Z", "hour 24 is not in 0..=23"),
        ("2026-11-30T12:60:00Z", "minute 60 is not in 0..=59"),
        ("2026-11-30T12:00:60Z", "second 60 is not in 0..=59"),
        (
            "2026-11-30T12:00:00.5Z",
            "fractions of a second are not accepted",
        ),
        (
            "2026-11-30T12:00:00+00:00",
            "only UTC times ending in Z are accepted",
        ),
        (
            "2026-11-30T12:00:00-05:00",
            "only UTC times ending in Z are accepted",
        ),
    ];
    for (text, why) in cases {
        assert_eq!(time(text), Err(format!("time \"{text}\": {why}")), "{text}");
    }
    assert_eq!(time("2028-02-29T00:00:00Z"), Ok(1_835_395_200));
    assert!(time("2000-02-29T00:00:00Z").is_ok());
    let shapeless = [
        "2026-11-30",
        "2026-11-30T12:00Z",
        "2026-11-30T12:00:00",
        "2026-11-30 12:00:00Z",
        "2026/11/30T12:00:00Z",
        "+026-11-30T12:00:00Z",
        "2026-1é-30T12:00:00Z",
        "２026-11-30T12:00:00Z",
        "20261130T120000Z",
        "",
    ];
    for text in shapeless {
        assert_eq!(
            time(text),
            Err(format!(
                "time {}: not unix seconds nor a UTC time like 2026-11-30T12:00:00Z",
                quoted(text)
            )),
            "{text}"
        );
    }
}

// ---- what a list revokes -----------------------------------------------------------------

#[test]
fn a_listed_jti_is_revoked() {
    let l = list("jti abc\n");
    assert_eq!(
        l.revokes(&token(json!({"jti": "abc", "sub": "x", "iat": 1}))),
        Some("jti \"abc\" is in the revocation file".into())
    );
    assert_eq!(l.revokes(&token(json!({"jti": "abd"}))), None);
    assert_eq!(l.revokes(&token(json!({"jti": "ABC"}))), None);
    assert_eq!(l.revokes(&token(json!({}))), None);
    // Only a string `jti` (RFC 7519 §4.1.7) is compared.
    let numeric = list("jti 123\n");
    assert_eq!(numeric.revokes(&token(json!({"jti": 123}))), None);
    assert!(numeric.revokes(&token(json!({"jti": "123"}))).is_some());
}

#[test]
fn a_listed_subject_is_revoked_for_tokens_issued_before_its_time() {
    let l = list("sub alice 1764504000\n");
    assert_eq!(
        l.revokes(&token(json!({"sub": "alice", "iat": 1_764_500_000}))),
        Some(
            "sub \"alice\" is revoked for tokens issued before 1764504000 (iat 1764500000)".into()
        )
    );
    assert!(l
        .revokes(&token(json!({"sub": "alice", "iat": 1_764_503_999.5})))
        .is_some_and(|why| why.ends_with("(iat 1764503999.5)")));
    // Issued at the time or later: a new login.
    for iat in [json!(1_764_504_000), json!(1_764_504_000.0), json!(1e300)] {
        assert_eq!(
            l.revokes(&token(json!({"sub": "alice", "iat": iat}))),
            None,
            "{iat}"
        );
    }
    // Other subjects, and a `sub` that is not a string, are not concerned.
    assert_eq!(l.revokes(&token(json!({"sub": "bob", "iat": 1}))), None);
    assert_eq!(l.revokes(&token(json!({"sub": ["alice"], "iat": 1}))), None);
    assert_eq!(l.revokes(&token(json!({"iat": 1}))), None);
}

#[test]
fn a_subject_token_without_a_numeric_iat_is_revoked() {
    let l = list("sub alice 100\n");
    for claims in [
        json!({"sub": "alice"}),
        json!({"sub": "alice", "iat": "1"}),
        json!({"sub": "alice", "iat": null}),
    ] {
        assert_eq!(
            l.revokes(&token(claims.clone())),
            Some(
                "sub \"alice\" is revoked for tokens issued before 100 \
                 (the token has no numeric auth_time or iat)"
                    .into()
            ),
            "{claims}"
        );
    }
    assert_eq!(
        l.revokes(&token(json!({"sub": "alice", "iat": -5}))),
        Some("sub \"alice\" is revoked for tokens issued before 100 (iat -5)".into())
    );
}

#[test]
fn the_jti_reason_comes_first_and_values_are_quoted() {
    let l = list("jti j\nsub s 100\n");
    assert_eq!(
        l.revokes(&token(json!({"jti": "j", "sub": "s"}))),
        Some("jti \"j\" is in the revocation file".into())
    );
    let long = "é".repeat(80);
    let l = list(&format!("jti {long}\nsub {long}\"\\ 100\n"));
    let why = l.revokes(&token(json!({"jti": long}))).unwrap();
    assert_eq!(
        why,
        format!("jti \"{}\"… is in the revocation file", "é".repeat(64))
    );
    let why = l
        .revokes(&token(json!({"sub": format!("{long}\"\\")})))
        .unwrap();
    assert!(
        why.starts_with(&format!("sub \"{}\"…", "é".repeat(64))),
        "{why}"
    );
}

#[test]
fn an_empty_list_revokes_nothing() {
    let l = RevocationList::default();
    assert_eq!((l.is_empty(), l.len()), (true, 0));
    assert_eq!(l.revokes(&token(json!({"jti": "", "sub": ""}))), None);
    let clone = list("jti a\n").clone();
    assert!(!clone.is_empty());
    assert!(format!("{clone:?}").contains("\"a\""));
}

// ---- jti digest --------------------------------------------------------------------------

#[test]
fn jti_digest_is_the_head_of_sha256() {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3...
    assert_eq!(
        jti_digest("abc"),
        [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23
        ]
    );
    assert_ne!(jti_digest("abc"), jti_digest("abd"));
    assert_ne!(jti_digest(""), [0; JTI_DIGEST_LEN]);
    assert_eq!(jti_digest(&"x".repeat(10_000)).len(), JTI_DIGEST_LEN);
}

// ---- properties --------------------------------------------------------------------------

/// Far above the real cost of a parse (microseconds), far below a blow-up.
const LIMIT: Duration = Duration::from_secs(1);

/// Days from 1970-01-01, counted year by year and month by month: a restatement of the
/// calendar independent of `days_from_civil`'s arithmetic.
fn days_by_counting(year: u64, month: u64, day: u64) -> u64 {
    let years: u64 = (1970..year)
        .map(|y| if is_leap_year(y) { 366 } else { 365 })
        .sum();
    let months: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    years + months + day - 1
}

/// A value word: no spaces or tabs, not starting with `#`.
fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9._@-]{1,12}", "[^ \t\r\n#][^ \t\r\n]{0,8}",]
}

fn blank() -> impl Strategy<Value = &'static str> {
    select(vec![" ", "\t", "  ", " \t "])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any bytes: a list or an error naming a line of the input, quickly.
    #[test]
    fn parse_never_panics(text in vec(any::<u8>(), 0..400)) {
        let start = Instant::now();
        let parsed = RevocationList::parse(&text);
        prop_assert!(start.elapsed() < LIMIT);
        if let Err(err) = parsed {
            let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
            prop_assert!((1..=lines).contains(&err.line));
        }
    }

    /// Text built from the grammar's pieces (entries, keywords, times, comments).
    #[test]
    fn parse_never_panics_on_near_misses(
        lines in vec(
            vec(select(vec![
                "jti", "sub", "#", "# x", "a", "1", "2026-11-30T12:00:00Z", "2026-02-30T00:00:00Z",
                "9999-99-99T99:99:99Z", "\u{feff}", "\r", "é", "18446744073709551616",
            ]), 0..5),
            0..20,
        ),
    ) {
        let text: Vec<String> = lines.iter().map(|words| words.join(" ")).collect();
        let _ = RevocationList::parse(text.join("\n").as_bytes());
    }

    /// Entries written with any spacing, comments and blank lines read back as the same
    /// sets, the latest time of each subject kept.
    #[test]
    fn written_entries_read_back(
        ids in btree_set(value(), 0..6),
        subjects in vec((value(), any::<u64>()), 0..6),
        gap in blank(),
        comment in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let note = if comment { format!("{gap}# note {gap} x") } else { String::new() };
        let mut text = format!("# header{end}{end}");
        for id in &ids {
            text.push_str(&format!("{gap}jti{gap}{id}{note}{end}"));
        }
        for (sub, time) in &subjects {
            text.push_str(&format!("sub{gap}{sub}{gap}{time}{note}{end}{gap}{end}"));
        }
        let l = RevocationList::parse(text.as_bytes()).unwrap();
        let mut expected_subjects = std::collections::HashMap::new();
        for (sub, time) in &subjects {
            let latest = expected_subjects.entry(sub.clone()).or_insert(*time);
            *latest = (*latest).max(*time);
        }
        let ids: HashSet<String> = ids.into_iter().collect();
        prop_assert_eq!(&l.ids, &ids);
        prop_assert_eq!(&l.subjects, &expected_subjects);
    }

    /// Every valid RFC 3339 UTC time is the day count times 86400 plus the time of day.
    #[test]
    fn rfc3339_times_count_days(
        year in 1970u64..=9999,
        month in 1u64..=12,
        day in 1u64..=31,
        hour in 0u64..24,
        minute in 0u64..60,
        second in 0u64..60,
    ) {
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
        let parsed = time(&text);
        if day > days_in_month(year, month) {
            prop_assert!(parsed.is_err(), "{}", text);
        } else {
            let expected =
                days_by_counting(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
            prop_assert_eq!(parsed, Ok(expected));
        }
    }

    /// The verdict equals the rule restated: a listed `jti`, or a listed `sub` with an `iat`
    /// before its time or no numeric `iat`.
    #[test]
    fn revokes_follows_the_rule(
        listed_ids in btree_set("[ab]{1,2}", 0..3),
        listed_subjects in btree_map("[ab]{1,2}", 0u64..8, 0..3),
        jti in proptest::option::of("[ab]{1,2}"),
        sub in proptest::option::of("[ab]{1,2}"),
        iat in proptest::option::of(prop_oneof![
            (0u64..10).prop_map(Value::from),
            (0i32..40).prop_map(|n| json!(f64::from(n) / 4.0)),
            Just(json!("3")),
        ]),
    ) {
        let mut text = String::new();
        for id in &listed_ids {
            text.push_str(&format!("jti {id}\n"));
        }
        for (sub, time) in &listed_subjects {
            text.push_str(&format!("sub {sub} {time}\n"));
        }
        let l = RevocationList::parse(text.as_bytes()).unwrap();
        let mut claims = Map::new();
        if let Some(jti) = &jti {
            claims.insert("jti".into(), jti.clone().into());
        }
        if let Some(sub) = &sub {
            claims.insert("sub".into(), sub.clone().into());
        }
        if let Some(iat) = &iat {
            claims.insert("iat".into(), iat.clone());
        }
        let by_jti = jti.as_ref().is_some_and(|jti| listed_ids.contains(jti));
        let by_sub = sub.as_ref().and_then(|sub| listed_subjects.get(sub)).is_some_and(|&t| {
            iat.as_ref().and_then(Value::as_f64).is_none_or(|iat| iat < t as f64)
        });
        let verdict = l.revokes(&VerifiedToken::for_tests(claims));
        prop_assert_eq!(verdict.is_some(), by_jti || by_sub);
    }
}

#[test]
fn a_session_that_began_before_the_cut_off_is_revoked_even_when_refreshed_after_it() {
    let list = RevocationList::parse(b"sub alice 1650000000\n").unwrap();
    let refreshed = crate::verify::VerifiedToken::for_tests(
        serde_json::json!({"sub": "alice", "auth_time": 1_600_000_000u64, "iat": 1_700_000_000u64})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert!(list
        .revokes(&refreshed)
        .unwrap()
        .contains("auth_time 1600000000"));
    let new_login = crate::verify::VerifiedToken::for_tests(
        serde_json::json!({"sub": "alice", "auth_time": 1_660_000_000u64, "iat": 1_700_000_000u64})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert_eq!(list.revokes(&new_login), None);
}
