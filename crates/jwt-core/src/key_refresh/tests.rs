use proptest::prelude::*;

use super::*;

const POLICY: RefreshPolicy = RefreshPolicy {
    lifetime: 600,
    refetch: 30,
};

fn none() -> SetStatus {
    SetStatus {
        has_set: false,
        expires_at: 0,
    }
}

fn set_until(expires_at: u64) -> SetStatus {
    SetStatus {
        has_set: true,
        expires_at,
    }
}

#[test]
fn first_request_fetches_and_the_others_wait() {
    let mut state = RefreshState::default();
    assert_eq!(
        decide(&POLICY, &mut state, none(), 100, false),
        Decision::Fetch
    );
    assert_eq!(
        decide(&POLICY, &mut state, none(), 100, false),
        Decision::Wait
    );
    assert_eq!(
        decide(&POLICY, &mut state, none(), 101, true),
        Decision::Wait
    );
    succeeded(&mut state);
    assert_eq!(
        decide(&POLICY, &mut state, set_until(700), 101, false),
        Decision::Proceed
    );
}

#[test]
fn an_expired_set_keeps_serving_while_one_request_refreshes_it() {
    let mut state = RefreshState::default();
    let expired = set_until(100);
    assert_eq!(
        decide(&POLICY, &mut state, expired, 100, false),
        Decision::Fetch
    );
    assert_eq!(
        decide(&POLICY, &mut state, expired, 100, false),
        Decision::Proceed
    );
}

#[test]
fn a_failure_waits_for_the_refetch_interval() {
    let mut state = RefreshState::default();
    assert_eq!(
        decide(&POLICY, &mut state, none(), 100, false),
        Decision::Fetch
    );
    assert!(failed(&POLICY, &mut state, 100));
    assert_eq!(
        decide(&POLICY, &mut state, none(), 129, false),
        Decision::Proceed
    );
    assert_eq!(
        decide(&POLICY, &mut state, none(), 130, false),
        Decision::Fetch
    );
    assert!(
        !failed(&POLICY, &mut state, 129),
        "warned once per interval"
    );
    assert!(failed(&POLICY, &mut state, 130));
}

#[test]
fn unknown_kids_refetch_once_per_interval() {
    let mut state = RefreshState::default();
    let fresh = set_until(10_000);
    assert_eq!(
        decide(&POLICY, &mut state, none(), 60, false),
        Decision::Fetch
    );
    succeeded(&mut state);
    // The set was fetched 10 s ago: an unknown kid does not refetch yet.
    assert_eq!(
        decide(&POLICY, &mut state, fresh, 70, true),
        Decision::Proceed
    );
    assert_eq!(
        decide(&POLICY, &mut state, fresh, 100, true),
        Decision::Fetch
    );
    succeeded(&mut state);
    for now in 100..130 {
        assert_eq!(
            decide(&POLICY, &mut state, fresh, now, true),
            Decision::Proceed
        );
    }
    assert_eq!(
        decide(&POLICY, &mut state, fresh, 130, true),
        Decision::Fetch
    );
}

#[test]
fn an_abandoned_claim_is_taken_over() {
    let mut state = RefreshState::default();
    assert_eq!(
        decide(&POLICY, &mut state, none(), 100, false),
        Decision::Fetch
    );
    assert_eq!(
        decide(&POLICY, &mut state, none(), 129, false),
        Decision::Wait
    );
    assert_eq!(
        decide(&POLICY, &mut state, none(), 130, false),
        Decision::Fetch
    );
    abandoned(&mut state, 131, false);
    assert_eq!(
        decide(&POLICY, &mut state, none(), 131, false),
        Decision::Fetch
    );
}

#[test]
fn max_age_shortens_the_lifetime_down_to_the_refetch_interval() {
    assert_eq!(POLICY.lifetime_for(None), 600);
    assert_eq!(POLICY.lifetime_for(Some(3600)), 600);
    assert_eq!(POLICY.lifetime_for(Some(120)), 120);
    assert_eq!(POLICY.lifetime_for(Some(0)), 30);
}

#[test]
fn cache_control() {
    assert_eq!(max_age(b"public, max-age=3600"), Some(3600));
    assert_eq!(max_age(b"Max-Age=\"60\", must-revalidate"), Some(60));
    assert_eq!(max_age(b"no-store"), Some(0));
    assert_eq!(max_age(b"private, no-cache"), Some(0));
    assert_eq!(max_age(b"public"), None);
    assert_eq!(max_age(b"max-age=x"), None);
    assert_eq!(max_age(b"\xff"), None);
}

/// One step of a simulated run: a request at some second, with or without an unknown kid,
/// and what happens to fetches this request starts (they complete, good or bad, or never).
#[derive(Clone, Debug)]
struct Step {
    advance: u64,
    unknown_kid: bool,
    fetch_result: u8,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0u64..20, any::<bool>(), 0u8..3).prop_map(|(advance, unknown_kid, fetch_result)| Step {
            advance,
            unknown_kid,
            fetch_result,
        }),
        1..300,
    )
}

proptest! {
    /// Whatever the requests, a fetch caused by an unknown kid starts at least `refetch` after
    /// the previous fetch of any cause, at
    /// most one fetch is in flight at a time (while its claim is valid), and a request that
    /// has a fresh set never waits.
    #[test]
    fn fetches_are_bounded(steps in steps(), refetch in 1u64..60, lifetime in 1u64..600) {
        let policy = RefreshPolicy { lifetime, refetch };
        let mut state = RefreshState::default();
        let mut set = none();
        let mut now = 1000;
        let mut fetches: Vec<u64> = Vec::new();
        let mut in_flight_since: Option<u64> = None;
        for step in steps {
            now += step.advance;
            let fresh = set.has_set && now < set.expires_at;
            let decision = decide(&policy, &mut state, set, now, step.unknown_kid);
            if fresh && !step.unknown_kid {
                prop_assert_eq!(decision, Decision::Proceed);
            }
            if decision == Decision::Fetch {
                if let Some(since) = in_flight_since {
                    prop_assert!(now >= since + CLAIM_TIMEOUT, "two fetches in flight");
                }
                if step.unknown_kid {
                    if let Some(&last) = fetches.last() {
                        prop_assert!(now >= last + refetch, "fetches at {} and {} (kid)", last, now);
                    }
                }
                fetches.push(now);
                match step.fetch_result {
                    0 => {
                        succeeded(&mut state);
                        set = set_until(now + policy.lifetime_for(None));
                        in_flight_since = None;
                    }
                    1 => {
                        failed(&policy, &mut state, now);
                        in_flight_since = None;
                    }
                    _ => in_flight_since = Some(now),
                }
            }
            if decision == Decision::Wait {
                prop_assert!(in_flight_since.is_some() && (!set.has_set || step.unknown_kid));
            }
        }
    }

    #[test]
    fn lifetime_is_within_bounds(max_age in proptest::option::of(any::<u64>()), refetch in 0u64..1000, lifetime in 0u64..100_000) {
        let policy = RefreshPolicy { lifetime, refetch };
        let chosen = policy.lifetime_for(max_age);
        prop_assert!(chosen <= lifetime.max(1));
        prop_assert!(chosen >= refetch.min(lifetime.max(1)));
    }

    #[test]
    fn max_age_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = max_age(&bytes);
    }
}
