//! Unit tests and properties of the renewal claims: the origin rules, the `max_age` bound,
//! the claims that are and are not inherited, and a refresh chain through the real Signer
//! and Verifier.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;

use super::*;
use crate::test_support::{ring, secret};
use crate::{IssuePolicy, IssuedToken, Key, Signer, Verifier, VerifyPolicy};

/// `jwt_refresh_max_age off`.
const UNBOUNDED: RenewPolicy = RenewPolicy {
    max_age: None,
    grace: 0,
};

const NOW: u64 = 1_700_000_000;
const HOUR: u64 = 3600;

fn token(claims: Value) -> VerifiedToken {
    let Value::Object(claims) = claims else {
        panic!("claims must be an object");
    };
    VerifiedToken::for_tests(claims)
}

fn renew(claims: Value, policy: &RenewPolicy, now: u64) -> Result<Value, RenewError> {
    renewal_claims(&token(claims), policy, now).map(|bytes| serde_json::from_slice(&bytes).unwrap())
}

fn max_age(seconds: u64) -> RenewPolicy {
    RenewPolicy {
        max_age: Some(seconds),
        grace: 0,
    }
}

fn key() -> Key {
    secret(32, b'r', Some("r1"))
}

fn issue(signer: &Signer, claims: &[u8], now: u64) -> IssuedToken {
    signer.issue(claims, &IssuePolicy::default(), now).unwrap()
}

fn verify(verifier: &Verifier, issued: &IssuedToken, now: u64) -> Arc<VerifiedToken> {
    verifier.verify(issued.token.as_bytes(), now).unwrap()
}

fn payload(issued: &IssuedToken) -> Value {
    let part = issued.token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// ---- claims --------------------------------------------------------------------------------

#[test]
fn the_token_claims_are_kept_but_its_time_and_id() {
    let renewed = renew(
        json!({
            "sub": "alice", "iss": "idp", "aud": ["a", "b"], "roles": ["admin"],
            "nested": {"exp": 1, "iat": 2}, "iat": NOW - 10, "exp": NOW + 50,
            "nbf": NOW - 10, "jti": "old",
        }),
        &RenewPolicy::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(
        renewed,
        json!({
            "sub": "alice", "iss": "idp", "aud": ["a", "b"], "roles": ["admin"],
            "nested": {"exp": 1, "iat": 2}, "auth_time": NOW - 10,
        })
    );
}

#[test]
fn the_origin_is_auth_time_else_iat() {
    let p = UNBOUNDED;
    let both = json!({"auth_time": NOW - 500, "iat": NOW - 5});
    assert_eq!(renew(both, &p, NOW).unwrap()[AUTH_TIME], json!(NOW - 500));
    let iat_only = json!({"iat": NOW - 5});
    assert_eq!(renew(iat_only, &p, NOW).unwrap()[AUTH_TIME], json!(NOW - 5));
    // Whole seconds, fractions dropped (an earlier origin, never a later one).
    let fraction = json!({"auth_time": 1_699_999_000.9});
    assert_eq!(
        renew(fraction, &p, NOW).unwrap()[AUTH_TIME],
        json!(1_699_999_000u64)
    );
    // Never later than now: a clock running ahead buys no time.
    let ahead = json!({"auth_time": NOW + 30, "iat": NOW + 30});
    assert_eq!(renew(ahead, &p, NOW).unwrap()[AUTH_TIME], json!(NOW));
    let far = json!({"auth_time": 1e300});
    assert_eq!(
        renew(far, &max_age(10), NOW).unwrap()[AUTH_TIME],
        json!(NOW)
    );
    // Before 1970: the session is as old as can be.
    let negative = json!({"auth_time": -5});
    assert_eq!(
        renew(negative.clone(), &p, NOW).unwrap()[AUTH_TIME],
        json!(0)
    );
    assert!(matches!(
        renew(negative, &max_age(HOUR), NOW),
        Err(RenewError::TooOld { origin: 0, .. })
    ));
}

#[test]
fn a_token_without_iat_or_auth_time_is_refused() {
    let err = renew(
        json!({"sub": "alice", "exp": NOW + 5}),
        &RenewPolicy::default(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, RenewError::NoOrigin), "{err:?}");
    assert_eq!(err.code(), "no_origin");
    assert_eq!(
        err.to_string(),
        "the token has neither \"auth_time\" nor \"iat\": the age of its session is unknown, \
         so it is not renewed"
    );
}

#[test]
fn a_non_numeric_auth_time_is_refused_even_with_an_iat() {
    for bad in [
        json!("1700000000"),
        json!(null),
        json!([1]),
        json!({}),
        json!(true),
    ] {
        let err = renew(
            json!({"auth_time": bad, "iat": NOW}),
            &RenewPolicy::default(),
            NOW,
        )
        .unwrap_err();
        assert!(
            matches!(err, RenewError::NotNumeric(AUTH_TIME)),
            "{bad}: {err:?}"
        );
        assert_eq!(err.code(), "not_numeric");
        assert!(err
            .to_string()
            .starts_with("the token's \"auth_time\" is not a number"));
    }
    // The verifier refuses a non-numeric `iat` first; refused here too all the same.
    let err = renew(json!({"iat": "x"}), &RenewPolicy::default(), NOW).unwrap_err();
    assert!(matches!(err, RenewError::NotNumeric("iat")), "{err:?}");
}

#[test]
fn max_age_boundary() {
    let claims = json!({"sub": "alice", "auth_time": NOW});
    let p = max_age(8 * HOUR);
    assert!(renew(claims.clone(), &p, NOW).is_ok());
    assert!(
        renew(claims.clone(), &p, NOW + 8 * HOUR).is_ok(),
        "exactly at the limit"
    );
    let err = renew(claims.clone(), &p, NOW + 8 * HOUR + 1).unwrap_err();
    assert!(
        matches!(err, RenewError::TooOld { origin: NOW, max_age } if max_age == 8 * HOUR),
        "{err:?}"
    );
    assert_eq!(err.code(), "too_old");
    assert_eq!(
        err.to_string(),
        "the session began at 1700000000, more than max_age 28800s ago: \
         the client must log in again"
    );
    // No limit, and a limit that would overflow.
    assert!(renew(claims.clone(), &UNBOUNDED, u64::MAX).is_ok());
    assert!(renew(claims.clone(), &max_age(u64::MAX), u64::MAX).is_ok());
    assert!(renew(claims, &max_age(0), NOW + 1).is_err());
}

#[test]
fn the_policy_defaults_and_the_verify_time() {
    let p = RenewPolicy::default();
    assert_eq!((p.max_age, p.grace), (Some(86_400), 0));
    assert_eq!(p.verify_time(NOW), NOW);
    let grace = RenewPolicy {
        max_age: None,
        grace: 300,
    };
    assert_eq!(grace.verify_time(NOW), NOW - 300);
    assert_eq!(grace.verify_time(100), 0);
}

// ---- through the Signer and the Verifier ---------------------------------------------------

#[test]
fn renewed_claims_round_trip_through_the_signer() {
    let key = key();
    let signer = Signer::new(&ring(std::slice::from_ref(&key)), None).unwrap();
    let verifier = Verifier::new(VerifyPolicy::default(), ring(&[key]), 0).unwrap();
    let login = issue(
        &signer,
        br#"{"sub":"alice","roles":["admin"],"org":{"id":7},"nbf":1699999000}"#,
        NOW,
    );
    let old = verify(&verifier, &login, NOW);

    let later = NOW + 600;
    let claims = renewal_claims(&old, &RenewPolicy::default(), later).unwrap();
    let renewed = issue(&signer, &claims, later);
    let new = verify(&verifier, &renewed, later);
    for custom in ["sub", "roles", "org"] {
        assert_eq!(new.claim(custom), old.claim(custom), "{custom}");
    }
    assert_eq!(new.claim(AUTH_TIME), Some(&json!(NOW)));
    assert_eq!(new.claim("iat"), Some(&json!(later)));
    assert_eq!(new.expires_at(), Some(later + IssuePolicy::default().ttl));
    assert_eq!(renewed.expires_at, later + IssuePolicy::default().ttl);
    assert_ne!(new.claim("jti"), old.claim("jti"));
    assert!(new.claim("jti").is_some_and(Value::is_string));
    assert_eq!(new.claim("nbf"), None);
    assert_eq!(payload(&renewed)["sub"], json!("alice"));
}

#[test]
fn a_refresh_chain_keeps_auth_time() {
    let key = key();
    let signer = Signer::new(&ring(std::slice::from_ref(&key)), None).unwrap();
    let verifier = Verifier::new(VerifyPolicy::default(), ring(&[key]), 16).unwrap();
    let policy = RenewPolicy {
        max_age: Some(4 * HOUR),
        grace: 60,
    };
    let mut current = issue(&signer, br#"{"sub":"alice"}"#, NOW);
    let mut now = NOW;
    // Each refresh comes 30 s after the token expired: inside the grace.
    for _ in 0..3 {
        now = current.expires_at + 30;
        let old = verifier
            .verify(current.token.as_bytes(), policy.verify_time(now))
            .unwrap();
        let claims = renewal_claims(&old, &policy, now).unwrap();
        current = issue(&signer, &claims, now);
        let new = verify(&verifier, &current, now);
        assert_eq!(new.claim(AUTH_TIME), Some(&json!(NOW)));
        assert_eq!(new.claim("iat"), Some(&json!(now)));
    }
    assert_eq!(now, NOW + 3 * (HOUR + 30));
    // The fourth would come after max_age: the token verifies, the renewal is refused.
    now = current.expires_at + 30;
    let old = verifier
        .verify(current.token.as_bytes(), policy.verify_time(now))
        .unwrap();
    let err = renewal_claims(&old, &policy, now).unwrap_err();
    assert!(
        matches!(err, RenewError::TooOld { origin: NOW, max_age } if max_age == 4 * HOUR),
        "{err:?}"
    );
    // And past the grace, the token itself no longer verifies.
    let late = current.expires_at + 61;
    let err = verifier
        .verify(current.token.as_bytes(), policy.verify_time(late))
        .unwrap_err();
    assert_eq!(err.code(), "expired");
}

// ---- properties ----------------------------------------------------------------------------

/// JSON values whose numbers survive a serialise/parse round trip bit for bit.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000).prop_map(|n| json!(f64::from(n) / 4.0)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Claim names, often the ones the rules single out.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec!["iat", "exp", "nbf", "jti", "auth_time", "sub"]).prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// The origin rule restated: `auth_time` if present (a number, else refused), else `iat`.
fn expected_origin(claims: &Map<String, Value>, now: u64) -> Option<u64> {
    let value = claims.get(AUTH_TIME).or_else(|| claims.get("iat"))?;
    let seconds = value.as_f64()?;
    Some(if seconds <= 0.0 {
        0
    } else {
        (seconds.floor() as u64).min(now)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any claims: no panic; when renewed, the output minus `auth_time` is the input minus
    /// `iat`/`exp`/`nbf`/`jti`/`auth_time`, and `auth_time` is the origin.
    #[test]
    fn renewal_keeps_every_other_claim(
        claims in btree_map(claim_name(), json_value(), 0..8),
        max_age in proptest::option::of(prop_oneof![Just(0u64), any::<u64>()]),
        now in prop_oneof![any::<u64>(), NOW - 100..NOW + 100],
    ) {
        let claims: Map<String, Value> = claims.into_iter().collect();
        let policy = RenewPolicy { max_age, grace: 0 };
        let result = renewal_claims(&VerifiedToken::for_tests(claims.clone()), &policy, now);
        let Some(origin) = expected_origin(&claims, now) else {
            prop_assert!(
                matches!(result, Err(RenewError::NoOrigin | RenewError::NotNumeric(_))),
                "{:?}", result
            );
            return Ok(());
        };
        if max_age.is_some_and(|max_age| now > origin.saturating_add(max_age)) {
            prop_assert!(matches!(result, Err(RenewError::TooOld { .. })), "{:?}", result);
            return Ok(());
        }
        let Ok(Value::Object(mut output)) = serde_json::from_slice(&result.unwrap()) else {
            panic!("not a JSON object");
        };
        prop_assert_eq!(output.remove(AUTH_TIME), Some(Value::from(origin)));
        let mut expected = claims;
        for name in ["iat", "exp", "nbf", "jti", AUTH_TIME] {
            expected.remove(name);
        }
        prop_assert_eq!(output, expected);
    }
}
