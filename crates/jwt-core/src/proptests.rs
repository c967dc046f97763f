//! Property tests (proptest) of every hand-written parser and rule. One file for all of them
//! (over 600 lines) so that the strategies that shape inputs are shared.
//!
//! Three kinds of property:
//! * **robustness**: any input (arbitrary bytes, or inputs shaped to get past
//!   the first checks) yields a result without panicking and within
//!   [`LIMIT`]: these run inside nginx workers;
//! * **models**: the verdict equals a direct restatement of the rule (claim
//!   dates, `aud`, `iss`, `jwt_require`, bearer scheme);
//! * **round trips**: encode → parse gives back what was encoded (tokens for
//!   every algorithm, DER TLVs and OIDs, PEM armor, cookies, bearer values),
//!   and a valid token with any single bit flipped never verifies.
//!
//! The coverage-guided fuzzer in fuzz/ explores the same entry points for
//! longer; these run on every `cargo test` and shrink a failure to a minimal
//! case, which proptest saves under `proptest-regressions/` and replays first
//! on later runs (commit that file, and better still turn the case into an
//! ordinary unit test next to its module).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

use crate::test_support::{b64, fixture, key, ring, secret};
use crate::*;

const NOW: u64 = 1_700_000_000;

/// Any single call on any input generated here must finish within this. It
/// is far above the real cost (microseconds) so that a loaded CI machine does
/// not flake, and far below what a quadratic or exponential blow-up on the
/// generated sizes would take.
const LIMIT: Duration = Duration::from_secs(1);

/// The arbitrary-input properties cost microseconds a case: four times the
/// default case count still keeps the whole file around a second.
fn robustness() -> Config {
    Config::with_cases(1024)
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    assert!(elapsed < LIMIT, "{what} took {elapsed:?}");
    out
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Bytes drawn mostly from the characters tokens and their JSON are made of,
/// so that random strings get past the first checks more often.
fn token_like(max: usize) -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] = b"eyJhbGciOiJIUzI1NiJ9.-_=+/{}\":,0123456789 \x00\xff";
    vec(select(ALPHABET), 0..max)
}

/// JSON values, nested up to three levels. Numbers are integers or exact
/// binary fractions, which survive a serialise/parse round trip bit for bit.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000).prop_map(|n| json!(f64::from(n) / 4.0)),
        any::<String>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(
        prop_oneof!["[a-z_]{1,8}", any::<String>()],
        json_value(),
        0..6,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// Object text whose members may repeat, with the registered names among them, and values
/// that may be nested or (rarely) out of the ranges a map accepts.
fn object_text_with_duplicates() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        select(&["exp", "nbf", "iat", "iss", "aud", "\\u0065xp", "sub"][..])
            .prop_map(str::to_owned),
        "[a-z]{1,4}",
    ];
    let value = prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        Just("1e400".to_owned()),
        Just(format!("{}{}", "[".repeat(130), "]".repeat(130))),
        Just("\"\\ud800\"".to_owned()),
    ];
    vec((name, value), 0..6).prop_map(|members| {
        let body: Vec<String> = members
            .iter()
            .map(|(name, value)| format!("\"{name}\":{value}"))
            .collect();
        format!("{{{}}}", body.join(",")).into_bytes()
    })
}

/// A compact token over exactly these header and claims texts.
fn sign_texts(key: &Key, alg: Algorithm, header: &str, claims: &str) -> String {
    crate::test_support::signed(key, alg, header, claims)
}

/// A private key for every algorithm, and its token verifier (all keys).
struct Ring {
    keys: Vec<(Algorithm, Key)>,
    verifier: Verifier,
}

fn all_algorithms() -> &'static Ring {
    static RING: OnceLock<Ring> = OnceLock::new();
    RING.get_or_init(|| {
        let hs = secret(64, b'k', None);
        let rsa = key("rsa2048.pkcs8.pem");
        let keys: Vec<(Algorithm, Key)> = Algorithm::ALL
            .into_iter()
            .map(|alg| {
                let key = match alg {
                    Algorithm::ES256 => key("p256.pkcs8.pem"),
                    Algorithm::ES384 => key("p384.pkcs8.pem"),
                    Algorithm::ES512 => key("p521.pkcs8.pem"),
                    Algorithm::EdDSA => key("ed25519.pkcs8.pem"),
                    alg if alg.family() == Family::Hmac => hs.clone(),
                    _ => rsa.clone(),
                };
                (alg, key)
            })
            .collect();
        // Random claims can make a large token; size is not under test.
        let policy = VerifyPolicy {
            max_token_len: 1 << 20,
            ..VerifyPolicy::default()
        };
        let verifier = Verifier::new(
            policy,
            ring(&[
                hs.clone(),
                rsa.clone(),
                key("p256.pkcs8.pem"),
                key("p384.pkcs8.pem"),
                key("p521.pkcs8.pem"),
                key("ed25519.pkcs8.pem"),
            ]),
            0,
        )
        .unwrap();
        Ring { keys, verifier }
    })
}

/// One valid token per algorithm, signed once (RSA signing is slow).
fn valid_tokens() -> &'static Vec<Vec<u8>> {
    static TOKENS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        all_algorithms()
            .keys
            .iter()
            .map(|(alg, key)| {
                let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
                let claims = format!(r#"{{"sub":"bits","exp":{}}}"#, NOW + 600);
                sign_texts(key, *alg, &header, &claims).into_bytes()
            })
            .collect()
    })
}

fn hs_verifier(policy: VerifyPolicy) -> (Key, Verifier) {
    // Random claims can make a large token; size is not under test.
    let policy = VerifyPolicy {
        max_token_len: 1 << 20,
        ..policy
    };
    let key = secret(32, b'p', None);
    let v = Verifier::new(policy, ring(std::slice::from_ref(&key)), 0).unwrap();
    (key, v)
}

// ---- JWS compact serialization (token.rs) ----------------------------------------

proptest! {
    #![proptest_config(robustness())]
    #[test]
    fn split_finds_exactly_two_dots(token in token_like(64)) {
        let dots = token.iter().filter(|&&b| b == b'.').count();
        match crate::token::split(&token) {
            Ok(s) => {
                prop_assert_eq!(dots, 2);
                let joined = [s.header, b".", s.payload, b".", s.signature].concat();
                prop_assert_eq!(&joined, &token);
                prop_assert_eq!(s.signing_input, &token[..s.header.len() + 1 + s.payload.len()]);
                for part in [s.header, s.payload, s.signature] {
                    prop_assert!(!part.contains(&b'.'));
                }
            }
            Err(e) => {
                prop_assert_ne!(dots, 2);
                prop_assert_eq!(e, Malformed::Segments);
            }
        }
    }

    #[test]
    fn base64url_decodes_what_it_encodes(data in bytes(200), prefix in bytes(8)) {
        let encoded = b64(&data);
        let mut buf = prefix.clone();
        let range = crate::token::decode_into(encoded.as_bytes(), Part::Claims, &mut buf).unwrap();
        prop_assert_eq!(&buf[range.clone()], &data[..]);
        prop_assert_eq!(&buf[..prefix.len()], &prefix[..]);
        prop_assert_eq!(range.start, prefix.len());
    }

    /// Canonical: whatever decodes re-encodes to the same text, so one
    /// payload has exactly one encoding (a flipped bit is never ignored), and
    /// a failure leaves the buffer as it was.
    #[test]
    fn base64url_any_text_decodes_canonically_or_not_at_all(
        text in vec(select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n."[..]), 0..64)
    ) {
        let mut buf = vec![9u8; 3];
        match crate::token::decode_into(&text, Part::Signature, &mut buf) {
            Ok(range) => prop_assert_eq!(b64(&buf[range]).into_bytes(), text),
            Err(e) => {
                prop_assert_eq!(e, Malformed::Base64(Part::Signature));
                prop_assert_eq!(&buf, &[9u8; 3]);
            }
        }
    }

    /// The signature decoder that uses a stack buffer agrees with the plain one, on both sides
    /// of the buffer's size.
    #[test]
    fn signature_decoding_on_the_stack_agrees(
        data in prop_oneof![bytes(64), vec(any::<u8>(), 1000..1050)],
        noise in token_like(4),
    ) {
        use crate::token::{decode, decode_signature, MAX_STACK_SIGNATURE};
        let mut text = b64(&data).into_bytes();
        text.extend_from_slice(&noise);
        let mut stack = [0u8; MAX_STACK_SIGNATURE];
        let on_stack = decode_signature(&text, &mut stack).map(|s| s.into_owned());
        prop_assert_eq!(on_stack, decode(&text, Part::Signature));
    }

    /// The members reader (token/members.rs) agrees with the map parse: same texts accepted,
    /// same failure kinds, each member the map's (the last duplicate), and the claims map
    /// built later from accepted text is that parse's map (`check_against_map`).
    #[test]
    fn members_read_what_the_map_holds(text in prop_oneof![
        bytes(64),
        token_like(64),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        object_text_with_duplicates(),
    ]) {
        let checked = crate::token::check_members_against_map(&text);
        prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
    }

    #[test]
    fn verify_never_panics_on_arbitrary_bytes(
        token in prop_oneof![bytes(300), token_like(300)],
        now in any::<u64>(),
    ) {
        let (_, v) = hs_verifier(VerifyPolicy::default());
        let result = bounded("verify", || v.verify(&token, now));
        prop_assert!(result.is_err());
    }

    #[test]
    fn verify_never_panics_with_any_header(
        header in prop_oneof![
            json_object().prop_map(|m| Value::Object(m).to_string()),
            (select(&["HS256", "none", "RS256", "ES512", "EdDSA", "x"][..]), json_value())
                .prop_map(|(alg, kid)| json!({"alg": alg, "kid": kid}).to_string()),
        ],
        claims in json_object(),
        signature in bytes(80),
    ) {
        let Ring { verifier, .. } = all_algorithms();
        let token = format!("{}.{}.{}", b64(&header), b64(Value::Object(claims).to_string()), b64(signature));
        let result = bounded("verify", || verifier.verify(token.as_bytes(), NOW));
        prop_assert!(result.is_err(), "{}", token);
    }
}

// ---- signatures: round trips and bit flips ---------------------------------------

#[test]
fn every_algorithm_round_trips_random_claims() {
    let Ring { keys, verifier } = all_algorithms();
    for (alg, key) in keys {
        let mut runner = TestRunner::new(Config::with_cases(24));
        runner
            .run(&(json_object(), any::<bool>()), |(mut claims, kid)| {
                // Time claims are the date rules' business (tested below).
                claims.remove("nbf");
                claims.remove("iat");
                claims.insert("exp".into(), json!(NOW + 600));
                let header = if kid {
                    json!({"alg": alg.name(), "typ": "JWT", "x": claims.len()})
                } else {
                    json!({"alg": alg.name()})
                };
                let text = Value::Object(claims.clone()).to_string();
                let token = sign_texts(key, *alg, &header.to_string(), &text);
                let verified = verifier.verify(token.as_bytes(), NOW).unwrap();
                prop_assert_eq!(verified.algorithm(), *alg);
                prop_assert_eq!(verified.claims(), &claims);
                prop_assert_eq!(verified.expires_at(), Some(NOW + 600));
                prop_assert_eq!(
                    serde_json::from_str::<Value>(verified.payload_json()).unwrap(),
                    Value::Object(claims)
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

proptest! {
    // Cheap (one verification per case), so more cases than the default.
    #![proptest_config(Config::with_cases(2048))]

    #[test]
    fn a_valid_token_with_any_bit_flipped_never_verifies(
        which in 0..Algorithm::ALL.len(),
        position in any::<Index>(),
        bit in 0u8..8,
    ) {
        let tokens = valid_tokens();
        let verifier = &all_algorithms().verifier;
        let mut token = tokens[which].clone();
        prop_assert!(verifier.verify(&token, NOW).is_ok());
        let i = position.index(token.len());
        token[i] ^= 1 << bit;
        let result = verifier.verify(&token, NOW);
        prop_assert!(result.is_err(), "{} verified with bit {} of byte {} flipped", Algorithm::ALL[which], bit, i);
    }
}

// ---- claim checks: dates, iss, aud ---------------------------------------------------

/// The JSON text of a date claim: numbers of every shape, the odd values the
/// rules must survive, and values of the wrong type.
fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "1",
                "-1",
                "0",
                "-0",
                "1e400",
                "1.5e308",
                "-1e300",
                "\"x\"",
                "null",
                "[]",
                "{}",
                "true",
                "18446744073709551616",
                "1700000000",
                "1700000000.5",
                "1699999999.999",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (NOW - 100..NOW + 100).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
    ]
}

/// What the claims step and the time step say about `claims` (a JSON text
/// already known to be validly signed), restated from RFC 7519 §4.1.4/§4.1.5.
fn expected_date_code(claims: &str, require_exp: bool, now: u64, leeway: u64) -> &'static str {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(claims) else {
        return "malformed";
    };
    // Present but not a number: malformed, checked in this order.
    let mut dates = [None; 3];
    for (date, name) in dates.iter_mut().zip(["exp", "nbf", "iat"]) {
        match map.get(name) {
            None => {}
            Some(Value::Number(n)) => *date = n.as_f64(),
            Some(_) => return "malformed",
        }
    }
    let [exp, nbf, _] = dates;
    if exp.is_none() && require_exp {
        return "malformed";
    }
    let (now, leeway) = (now as f64, leeway as f64);
    if exp.is_some_and(|exp| now >= exp + leeway) {
        return "expired";
    }
    if nbf.is_some_and(|nbf| now + leeway < nbf) {
        return "not_yet_valid";
    }
    "ok"
}

proptest! {
    #[test]
    fn date_claims_follow_the_rules(
        exp in proptest::option::of(date_text()),
        nbf in proptest::option::of(date_text()),
        iat in proptest::option::of(date_text()),
        require_exp in any::<bool>(),
        now in prop_oneof![any::<u64>(), NOW - 200..NOW + 200],
        leeway in prop_oneof![Just(0u64), 0u64..120, any::<u64>()],
    ) {
        let members: Vec<String> = [("exp", exp), ("nbf", nbf), ("iat", iat)]
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("\"{name}\":{v}")))
            .collect();
        let claims = format!("{{{}}}", members.join(","));
        let (key, v) = hs_verifier(VerifyPolicy { require_exp, leeway, ..Default::default() });
        let token = sign_texts(&key, Algorithm::HS256, r#"{"alg":"HS256"}"#, &claims);
        let got = match bounded("verify", || v.verify(token.as_bytes(), now)) {
            Ok(t) => {
                // expires_at is exp clamped to whole seconds, never a panic.
                let _ = t.expires_at();
                "ok"
            }
            Err(e) => e.code(),
        };
        prop_assert_eq!(got, expected_date_code(&claims, require_exp, now, leeway), "{}", claims);
    }

    #[test]
    fn audience_is_checked_against_the_accepted_list(
        accepted in vec("[ab]{0,2}", 0..3),
        aud in prop_oneof![
            Just(None),
            "[ab]{0,2}".prop_map(|s| Some(json!(s))),
            vec(prop_oneof!["[ab]{0,2}".prop_map(Value::from), json_value()], 0..4)
                .prop_map(|items| Some(Value::Array(items))),
            json_value().prop_map(Some),
        ],
    ) {
        let mut claims = json!({"exp": NOW + 60});
        if let Some(aud) = &aud {
            claims["aud"] = aud.clone();
        }
        let (key, v) = hs_verifier(VerifyPolicy { audiences: accepted.clone(), ..Default::default() });
        let token = sign_texts(&key, Algorithm::HS256, r#"{"alg":"HS256"}"#, &claims.to_string());
        let is_accepted = |v: &Value| v.as_str().is_some_and(|s| accepted.iter().any(|a| a == s));
        let expected_ok = accepted.is_empty()
            || match &aud {
                Some(Value::String(_)) => aud.as_ref().is_some_and(is_accepted),
                Some(Value::Array(items)) => items.iter().any(is_accepted),
                _ => false,
            };
        let got = v.verify(token.as_bytes(), NOW).map(|_| ()).map_err(|e| e.code());
        prop_assert_eq!(got, if expected_ok { Ok(()) } else { Err("audience") });
    }

    #[test]
    fn issuer_must_match_exactly(
        expected in proptest::option::of("[ab]{0,2}"),
        iss in proptest::option::of(prop_oneof!["[ab]{0,2}".prop_map(Value::from), json_value()]),
    ) {
        let mut claims = json!({"exp": NOW + 60});
        if let Some(iss) = &iss {
            claims["iss"] = iss.clone();
        }
        let (key, v) = hs_verifier(VerifyPolicy { issuer: expected.clone(), ..Default::default() });
        let token = sign_texts(&key, Algorithm::HS256, r#"{"alg":"HS256"}"#, &claims.to_string());
        let expected_ok = match &expected {
            None => true,
            Some(e) => iss.as_ref().and_then(Value::as_str) == Some(e.as_str()),
        };
        let got = v.verify(token.as_bytes(), NOW).map(|_| ()).map_err(|e| e.code());
        prop_assert_eq!(got, if expected_ok { Ok(()) } else { Err("issuer") });
    }

    #[test]
    fn claim_values_render_without_control_characters(value in json_value()) {
        let text = crate::json::value_text(&value);
        prop_assert!(!text.chars().any(|c| c.is_ascii_control()), "{:?}", text);
    }
}

// ---- DER (der.rs) and the key structures on it (key/asn1.rs) -------------------------

/// A DER TLV with a definite length in its shortest form.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The DER of every PEM fixture that holds a key or certificate.
fn fixture_ders() -> &'static Vec<(String, Vec<u8>)> {
    static DERS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    DERS.get_or_init(|| {
        [
            "rsa2048.pkcs8.pem",
            "rsa2048.pkcs1.pem",
            "rsa2048.spki.pem",
            "rsa2048.pkcs1-public.pem",
            "rsa2048.cert.pem",
            "p256.sec1.pem",
            "p384.pkcs8.pem",
            "p521.spki.pem",
            "ed25519.pkcs8.pem",
            "ed25519.cert.pem",
            "p256-explicit.spki.pem",
            "rsa-pss.pkcs8.pem",
        ]
        .into_iter()
        .map(|name| {
            let block = crate::key::pem::blocks(&fixture(name)).unwrap().remove(0);
            (block.label, block.der)
        })
        .collect()
    })
}

/// Runs every DER key parser on `der`.
fn parse_der_every_way(der: &[u8]) {
    use crate::key::asn1;
    let _ = asn1::from_spki(der);
    let _ = asn1::from_pkcs1_public(der);
    let _ = asn1::from_pkcs8(der);
    let _ = asn1::from_pkcs1_private(der);
    let _ = asn1::from_sec1(der);
    let _ = asn1::from_certificate(der);
}

proptest! {
    #![proptest_config(robustness())]
    #[test]
    fn der_reader_never_overreads(data in bytes(300)) {
        use crate::der::{outer_sequence, Reader};
        bounded("der", || {
            let mut reader = Reader::new(&data);
            let mut consumed = 0;
            while let Ok(element) = reader.any() {
                prop_assert!(data[consumed..].starts_with(element.whole));
                prop_assert!(element.whole.ends_with(element.content));
                prop_assert!(element.whole.len() >= element.content.len() + 2);
                prop_assert_eq!(element.whole[0], element.tag);
                consumed += element.whole.len();
            }
            let _ = outer_sequence(&data, "x");
            let _ = crate::der::oid_to_string(&data);
            let _ = crate::der::bit_length(&data);
            Ok(())
        })?;
    }

    #[test]
    fn der_tlv_round_trips(
        tag in any::<u8>().prop_filter("single-byte tag", |t| t & 0x1f != 0x1f),
        content in prop_oneof![bytes(140), bytes(300)],
        next in bytes(4),
    ) {
        let mut encoded = tlv(tag, &content);
        let element_len = encoded.len();
        encoded.extend_from_slice(&next);
        let mut reader = crate::der::Reader::new(&encoded);
        let element = reader.any().unwrap();
        prop_assert_eq!(element.tag, tag);
        prop_assert_eq!(element.content, &content[..]);
        prop_assert_eq!(element.whole.len(), element_len);
        prop_assert_eq!(reader.is_empty(), next.is_empty());
    }

    #[test]
    fn oids_render_their_arcs(
        first in 0u64..3,
        second in 0u64..40,
        big_second in any::<u32>(),
        rest in vec(any::<u64>(), 0..6),
    ) {
        // X.690 §8.19: the first two arcs share one subidentifier (40·a + b;
        // b may exceed 39 only under arc 2), each base-128, high bit = more.
        let second = if first == 2 { u64::from(big_second) } else { second };
        let mut content = Vec::new();
        for arc in std::iter::once(first * 40 + second).chain(rest.iter().copied()) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut v = arc >> 7;
            while v > 0 {
                groups.push((v & 0x7f) as u8 | 0x80);
                v >>= 7;
            }
            content.extend(groups.iter().rev());
        }
        let dotted: Vec<String> = [first, second].iter().chain(&rest).map(u64::to_string).collect();
        prop_assert_eq!(crate::der::oid_to_string(&content), dotted.join("."));
    }

    #[test]
    fn bit_length_matches_integer_arithmetic(value in any::<u128>(), zeros in 0usize..3) {
        let mut magnitude = vec![0u8; zeros];
        magnitude.extend_from_slice(&value.to_be_bytes());
        prop_assert_eq!(crate::der::bit_length(&magnitude), (128 - value.leading_zeros()) as usize);
    }

    #[test]
    fn key_structures_never_panic_on_arbitrary_der(data in bytes(400)) {
        bounded("asn1", || parse_der_every_way(&data));
    }

    #[test]
    fn key_structures_never_panic_on_mutated_real_der(
        which in any::<Index>(),
        edits in vec((any::<Index>(), any::<u8>()), 1..4),
        cut in any::<Index>(),
    ) {
        let (_, der) = &fixture_ders()[which.index(fixture_ders().len())];
        let mut der = der.clone();
        for (at, byte) in edits {
            let i = at.index(der.len());
            der[i] = byte;
        }
        let keep = cut.index(der.len() + 1);
        bounded("asn1 on mutated DER", || {
            parse_der_every_way(&der);
            parse_der_every_way(&der[..keep]);
        });
    }
}

// ---- PEM armor (key/pem.rs) -------------------------------------------------------------

fn pem_fragments() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            select(
                &[
                    "-----BEGIN ",
                    "-----END ",
                    "-----",
                    "PUBLIC KEY",
                    "PRIVATE KEY",
                    "\n",
                    "\r\n",
                    "AQID",
                    "MA==",
                    "Proc-Type: 4,ENCRYPTED",
                    ":",
                    "=",
                    "!",
                    " ",
                ][..]
            )
            .prop_map(|s| s.as_bytes().to_vec()),
            bytes(6),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(robustness())]
    #[test]
    fn pem_splitter_never_panics(text in prop_oneof![bytes(300), pem_fragments()]) {
        bounded("pem", || {
            if let Ok(blocks) = crate::key::pem::blocks(&text) {
                for block in blocks {
                    assert!(!block.label.contains('\n'));
                }
            }
            let _ = crate::key::pem::load(&text);
        });
    }

    #[test]
    fn pem_blocks_round_trip(
        blocks in vec(("[A-Z]{1,8}( [A-Z]{1,8})?", vec(any::<u8>(), 1..200)), 1..4),
        between in vec("[a-z .]{0,20}\n", 4),
        width in 4usize..80,
        crlf in any::<bool>(),
    ) {
        use base64::Engine as _;
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = between[0].clone();
        for (i, (label, der)) in blocks.iter().enumerate() {
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            text.push_str(&format!("-----BEGIN {label}-----{newline}"));
            for line in body.as_bytes().chunks(width) {
                text.push_str(std::str::from_utf8(line).unwrap());
                text.push_str(newline);
            }
            text.push_str(&format!("-----END {label}-----{newline}"));
            text.push_str(&between[(i + 1) % between.len()]);
        }
        let found = crate::key::pem::blocks(text.as_bytes()).unwrap();
        let found: Vec<(String, Vec<u8>)> = found.into_iter().map(|b| (b.label, b.der)).collect();
        prop_assert_eq!(found, blocks);
    }
}

// ---- JWK / JWKS (key/jwk.rs) and load_keys ------------------------------------------

/// A base64url member of a random length, or a value of the wrong type.
fn jwk_member() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![bytes(80), vec(any::<u8>(), 32..33), vec(any::<u8>(), 256..257)]
            .prop_map(|b| Value::from(b64(b))),
        1 => "[A-Za-z0-9_=+/-]{0,12}".prop_map(Value::from),
        1 => json_value(),
    ]
}

/// JWK-shaped objects: real member names and values, random combinations.
fn jwk_object() -> impl Strategy<Value = Value> {
    let kty = select(&["oct", "RSA", "EC", "OKP", "oct ", "DSA"][..]);
    let crv = proptest::option::of(select(
        &["P-256", "P-384", "P-521", "Ed25519", "X25519", "secp256k1"][..],
    ));
    let alg = proptest::option::of(select(
        &[
            "HS256", "HS512", "RS256", "PS384", "ES256", "ES512", "EdDSA", "RSA-OAEP", "dir",
            "none",
        ][..],
    ));
    let key_use = proptest::option::of(select(&["sig", "enc", "Sig"][..]));
    let members = btree_map(
        select(
            &[
                "k", "n", "e", "x", "y", "d", "p", "q", "dp", "dq", "qi", "oth",
            ][..],
        ),
        jwk_member(),
        0..6,
    );
    let kid = proptest::option::of(prop_oneof![
        "[a-z]{0,3}".prop_map(Value::from),
        json_value()
    ]);
    (kty, crv, alg, key_use, members, kid).prop_map(|(kty, crv, alg, key_use, members, kid)| {
        let mut object = Map::new();
        object.insert("kty".into(), kty.into());
        for (name, value) in [("crv", crv), ("alg", alg), ("use", key_use)] {
            if let Some(value) = value {
                object.insert(name.into(), value.into());
            }
        }
        if let Some(kid) = kid {
            object.insert("kid".into(), kid);
        }
        for (name, value) in members {
            object.insert(name.into(), value);
        }
        Value::Object(object)
    })
}

/// A real JWK fixture with one member replaced or removed.
fn mutated_fixture_jwk() -> impl Strategy<Value = Value> {
    let files = select(
        &[
            "rsa2048.private.jwk",
            "rsa2048.public.jwk",
            "p256.private.jwk",
            "p384.public.jwk",
            "p521.private.jwk",
            "ed25519.private.jwk",
            "ed25519.public.jwk",
        ][..],
    );
    (files, any::<Index>(), proptest::option::of(jwk_member())).prop_map(|(file, which, value)| {
        let mut jwk: Map<String, Value> = serde_json::from_slice(&fixture(file)).unwrap();
        let names: Vec<String> = jwk.keys().cloned().collect();
        let name = &names[which.index(names.len())];
        match value {
            Some(value) => jwk.insert(name.clone(), value),
            None => jwk.remove(name),
        };
        Value::Object(jwk)
    })
}

fn jwk_text() -> impl Strategy<Value = Vec<u8>> {
    let one = prop_oneof![jwk_object(), mutated_fixture_jwk()].boxed();
    prop_oneof![
        one.clone().prop_map(|v| v.to_string().into_bytes()),
        vec(one, 0..4).prop_map(|keys| json!({ "keys": keys }).to_string().into_bytes()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        bytes(200),
    ]
}

proptest! {
    #![proptest_config(robustness())]
    #[test]
    fn jwk_parsing_never_panics(text in jwk_text(), kid in proptest::option::of("[a-z]{1,3}")) {
        bounded("jwk", || {
            if let Ok(keys) = crate::key::jwk::load(&text, kid.as_deref()) {
                assert!(!keys.is_empty());
                for key in &keys {
                    assert!(!key.algorithms().is_empty());
                    let _ = key.describe();
                }
            }
        });
    }

    #[test]
    fn jwk_kid_and_alg_are_honoured(
        file in select(&["p256.public.jwk", "ed25519.private.jwk", "rsa2048.public.jwk"][..]),
        kid in "[a-zA-Z0-9]{1,10}",
        key_use in proptest::option::of(Just("sig")),
        with_alg in any::<bool>(),
    ) {
        let mut jwk: Map<String, Value> = serde_json::from_slice(&fixture(file)).unwrap();
        let alg = match jwk["kty"].as_str().unwrap() {
            "EC" => Algorithm::ES256,
            "OKP" => Algorithm::EdDSA,
            _ => Algorithm::PS512,
        };
        jwk.insert("kid".into(), kid.clone().into());
        if let Some(u) = key_use {
            jwk.insert("use".into(), u.into());
        }
        if with_alg {
            jwk.insert("alg".into(), alg.name().into());
        }
        let text = json!({"keys": [Value::Object(jwk)]}).to_string();
        let keys = load_keys(text.as_bytes(), None).unwrap();
        prop_assert_eq!(keys.len(), 1);
        prop_assert_eq!(keys[0].kid(), Some(kid.as_str()));
        prop_assert!(keys[0].supports(alg));
        if with_alg {
            prop_assert_eq!(keys[0].algorithms(), vec![alg]);
        }
    }

    #[test]
    fn load_keys_never_panics(
        data in prop_oneof![bytes(300), pem_fragments(), jwk_text()],
        kid in proptest::option::of(prop_oneof![Just(String::new()), "[a-z]{1,3}".prop_map(String::from)]),
    ) {
        bounded("load_keys", || {
            if let Ok(keys) = load_keys(&data, kid.as_deref()) {
                assert!(!keys.is_empty());
                if let Some(kid) = &kid {
                    assert!(keys.iter().all(|k| k.kid() == Some(kid.as_str())));
                }
            }
        });
    }

    #[test]
    fn a_raw_secret_loads_as_an_hmac_key(
        // 34+: a trailing "\r\n" is stripped and 32 bytes must remain.
        secret in vec(any::<u8>(), 34..128)
            .prop_filter("not JSON or PEM", |s| {
                !matches!(s.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
                    && !s.windows(10).any(|w| w == b"-----BEGIN")
            }),
    ) {
        let keys = load_keys(&secret, None).unwrap();
        prop_assert_eq!(keys.len(), 1);
        prop_assert_eq!(keys[0].family(), Family::Hmac);
        prop_assert!(keys[0].supports(Algorithm::HS256));
    }
}

// ---- Authorization: Bearer (bearer.rs) --------------------------------------------------

fn scheme_casing() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<bool>(), 6).prop_map(|upper| {
        b"bearer"
            .iter()
            .zip(upper)
            .map(|(&c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

proptest! {
    #[test]
    fn bearer_round_trips(
        scheme in scheme_casing(),
        gap in vec(select(&b" \t"[..]), 1..4),
        token in vec(any::<u8>(), 1..80)
            .prop_filter("no surrounding whitespace", |t| t == t.trim_ascii() && !t.is_empty()),
        trailing in vec(select(&b" \t\r\n"[..]), 0..3),
    ) {
        let value = [scheme, gap, token.clone(), trailing].concat();
        prop_assert_eq!(bearer_token(&value), Some(&token[..]));
    }

    #[test]
    fn bearer_parser_model(value in prop_oneof![bytes(40), scheme_casing().prop_flat_map(|s| bytes(12).prop_map(move |b| [s.clone(), b].concat()))]) {
        let expected = value
            .get(..6)
            .filter(|s| s.eq_ignore_ascii_case(b"bearer"))
            .and_then(|_| value.get(6))
            .filter(|b| matches!(b, b' ' | b'\t'))
            .map(|_| value[6..].trim_ascii())
            .filter(|t| !t.is_empty());
        prop_assert_eq!(bearer_token(&value), expected);
    }
}

// ---- jwt_login_cookie (cookie.rs) ----------------------------------------------------------

/// One directive argument: a known attribute in any casing, or another one.
fn cookie_param() -> impl Strategy<Value = String> {
    let known = select(
        &[
            "Path",
            "HttpOnly",
            "Secure",
            "SameSite",
            "Domain",
            "Partitioned",
        ][..],
    );
    let casing = vec(any::<bool>(), 12);
    let value = proptest::option::of(prop_oneof![Just("off".to_owned()), "[A-Za-z0-9/._-]{0,10}"]);
    prop_oneof![
        4 => (known, casing, value).prop_map(|(name, casing, value)| {
            let name: String = name
                .chars()
                .zip(casing)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            match value {
                Some(v) => format!("{name}={v}"),
                None => name,
            }
        }),
        1 => prop_oneof![Just("off".to_owned()), "[0-9]{1,6}", "[a-z]{1,3}"].prop_map(|v| format!("Max-Age={v}")),
        1 => Just("Max-Age".to_owned()),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(robustness())]
    #[test]
    fn cookie_parser_never_panics_and_never_injects(
        name in prop_oneof!["[A-Za-z0-9_.-]{1,12}", any::<String>()],
        params in vec(cookie_param(), 0..8),
        expires_in in any::<u64>(),
    ) {
        let result = bounded("cookie", || parse_login_cookie(&name, &params));
        match result {
            Ok(cookie) => {
                let value = cookie.set_cookie_value("h.p.s", expires_in);
                prop_assert!(!value.bytes().any(|b| b.is_ascii_control()), "{:?}", value);
                let separators = cookie.attributes.len() + usize::from(cookie.max_age != MaxAge::Off);
                prop_assert_eq!(value.matches("; ").count(), separators);
            }
            Err(e) => {
                // Every refusal names the directive and the argument.
                let message = e.to_string();
                prop_assert!(message.contains("\"jwt_login_cookie\""));
            }
        }
    }

    #[test]
    fn cookie_round_trips_through_its_set_cookie_value(
        name in "[A-Za-z0-9_.!#$%&'*+^`|~-]{1,12}",
        params in vec(cookie_param(), 0..8)
            .prop_filter("valid arguments", |p| p.iter().all(|s| !s.contains(';') && !s.bytes().any(|b| b.is_ascii_control()))),
        token in "[A-Za-z0-9_-]{1,20}\\.[A-Za-z0-9_-]{1,20}\\.[A-Za-z0-9_-]{1,20}",
        expires_in in any::<u64>(),
    ) {
        let Ok(cookie) = parse_login_cookie(&name, &params) else {
            // Only a bad Max-Age can fail here.
            prop_assert!(params.iter().any(|p| p.to_ascii_lowercase().starts_with("max-age")));
            return Ok(());
        };
        let value = cookie.set_cookie_value(&token, expires_in);
        let mut parts = value.split("; ");
        let first = format!("{name}={token}");
        prop_assert_eq!(parts.next(), Some(first.as_str()));
        let mut rest: Vec<&str> = parts.collect();
        match cookie.max_age {
            MaxAge::Off => {}
            MaxAge::TokenLifetime => prop_assert_eq!(rest.remove(0), format!("Max-Age={expires_in}")),
            MaxAge::Seconds(n) => prop_assert_eq!(rest.remove(0), format!("Max-Age={n}")),
        }
        prop_assert_eq!(&rest, &cookie.attributes);
        // The rendered attributes, given back as arguments, change nothing.
        let again = parse_login_cookie(&name, &cookie.attributes).unwrap();
        let mut expected = cookie.attributes.clone();
        // ...except that defaults the first pass dropped come back.
        for default in ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
            let default_name = default.split('=').next().unwrap();
            if !expected.iter().any(|a| a.split('=').next().unwrap().eq_ignore_ascii_case(default_name)) {
                expected.push(default.to_owned());
            }
        }
        let mut got = again.attributes.clone();
        got.sort();
        expected.sort();
        prop_assert_eq!(got, expected);
        // No attribute name appears twice.
        let mut names: Vec<String> = cookie.attributes.iter().map(|a| a.split('=').next().unwrap().to_ascii_lowercase()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        prop_assert_eq!(names.len(), before);
    }
}

// ---- jwt_require (require.rs) ------------------------------------------------------------

proptest! {
    #[test]
    fn require_is_met_unless_falsy(
        value in prop_oneof![
            bytes(8),
            select(&["", "0", "false", "null", "[]", "{}", " 0", "0 ", "False", "[ ]"][..])
                .prop_map(|s| s.as_bytes().to_vec()),
        ],
    ) {
        let falsy: [&[u8]; 6] = [b"", b"0", b"false", b"null", b"[]", b"{}"];
        prop_assert_eq!(require::satisfies(&value), !falsy.contains(&value.as_slice()));
    }
}

// ---- issuance (issue.rs) --------------------------------------------------------------------

fn signer_for_issue() -> &'static (Signer, Verifier) {
    static SIGNER: OnceLock<(Signer, Verifier)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let key = secret(32, b'i', None);
        let signer = Signer::new(&ring(std::slice::from_ref(&key)), None).unwrap();
        let verifier = Verifier::new(VerifyPolicy::default(), ring(&[key]), 0).unwrap();
        (signer, verifier)
    })
}

proptest! {
    #[test]
    fn issued_tokens_are_never_expired(
        claims in json_object(),
        exp in proptest::option::of(prop_oneof![
            date_text().prop_filter_map("JSON", |t| serde_json::from_str::<Value>(&t).ok()),
            (NOW - 10..NOW + 10).prop_map(Value::from),
        ]),
        nbf in proptest::option::of(prop_oneof![
            json_value(),
            (NOW - 10..NOW + 10).prop_map(Value::from),
        ]),
        now in prop_oneof![Just(NOW), 0u64..(1 << 52)],
        ttl in prop_oneof![1u64..10, Just(3600u64), 1u64..(1 << 40)],
    ) {
        let mut claims = claims;
        for (name, value) in [("exp", exp), ("nbf", nbf)] {
            match value {
                Some(value) => claims.insert(name.into(), value),
                None => claims.remove(name),
            };
        }
        let numeric_exp = claims.get("exp").and_then(Value::as_f64);
        let nbf = claims.get("nbf").cloned();
        let body = Value::Object(claims).to_string();
        let (signer, verifier) = signer_for_issue();
        let policy = IssuePolicy { ttl, ..Default::default() };
        let exp_in_past = numeric_exp.is_some_and(|e| e.floor() <= now as f64);
        let nbf_not_numeric = nbf.as_ref().is_some_and(|n| !n.is_number());
        match bounded("issue", || signer.issue(body.as_bytes(), &policy, now)) {
            Ok(issued) => {
                prop_assert!(!exp_in_past && !nbf_not_numeric);
                prop_assert!(issued.expires_at > now);
                prop_assert!(issued.expires_at <= now + ttl);
                prop_assert_eq!(issued.expires_in, issued.expires_at - now);
                if let Some(e) = numeric_exp {
                    prop_assert_eq!(issued.expires_at, (e.floor() as u64).min(now + ttl));
                }
                // The token jwt_login hands out is one jwt_verify accepts now,
                // unless the authenticator chose to delay it.
                let delayed = nbf.as_ref().and_then(Value::as_f64).is_some_and(|n| n > now as f64);
                match verifier.verify(issued.token.as_bytes(), now) {
                    Ok(verified) => {
                        prop_assert!(!delayed);
                        prop_assert_eq!(verified.expires_at(), Some(issued.expires_at));
                    }
                    Err(VerifyError::NotYetValid { .. }) => prop_assert!(delayed),
                    Err(VerifyError::TooLarge { .. }) => {}
                    Err(e) => prop_assert!(false, "issued token refused: {e}"),
                }
            }
            Err(IssueError::ExpNotInFuture { .. }) => prop_assert!(exp_in_past),
            Err(IssueError::NbfNotNumeric) => prop_assert!(!exp_in_past && nbf_not_numeric),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn issue_never_panics_on_arbitrary_bodies(body in prop_oneof![bytes(200), json_value().prop_map(|v| v.to_string().into_bytes())]) {
        let (signer, _) = signer_for_issue();
        let _ = bounded("issue", || signer.issue(&body, &IssuePolicy::default(), NOW));
    }
}
