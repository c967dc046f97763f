//! When to fetch a remote key set again (`jwt_key_request`, `jwt_key_cache`).
//!
//! The state lives in shared memory, one [`RefreshState`] per key source, read and written
//! under a lock by every worker; [`decide`] is the whole policy, so it can be tested here:
//!
//! * a fresh set is used as is;
//! * an expired set, or none, is fetched by one request at a time across all workers (a
//!   *claim*); while it is claimed, requests that have an (expired) set go on with it, and
//!   requests with nothing to verify with wait for it;
//! * a token whose `kid` is unknown causes a fetch only when the last fetch (of any cause)
//!   started at least a refetch interval ago, across all workers: random kids can never make
//!   the gateway flood the provider;
//! * after a failed fetch, the next attempt waits for the refetch interval;
//! * a claim older than [`CLAIM_TIMEOUT`] is taken over (its worker died, or the fetch hangs).

/// Seconds after which a claim is considered abandoned.
pub const CLAIM_TIMEOUT: u64 = 30;

/// `jwt_key_cache time [refetch=time]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// How long a fetched set is used before it is fetched again.
    pub lifetime: u64,
    /// The shortest time between two fetches after a failure or for unknown kids, and the
    /// floor of a response's `max-age`.
    pub refetch: u64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            lifetime: crate::defaults::KEY_CACHE_LIFETIME,
            refetch: crate::defaults::KEY_REFETCH_INTERVAL,
        }
    }
}

impl RefreshPolicy {
    /// How long a set fetched now is used: `lifetime`, shortened by the response's `max-age`
    /// but never below `refetch` (a provider answering `max-age=0` must not make every request
    /// refetch).
    pub fn lifetime_for(&self, max_age: Option<u64>) -> u64 {
        let lifetime = self.lifetime.max(1);
        match max_age {
            Some(max_age) => max_age.max(self.refetch).min(lifetime),
            None => lifetime,
        }
    }
}

/// A source's shared fetch bookkeeping (unix seconds; 0 = never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RefreshState {
    /// When the fetch in flight started; 0 when none is.
    pub fetching_since: u64,
    /// No fetch for an expired or missing set before this (set after a failure).
    pub retry_after: u64,
    /// When the last fetch started, whatever caused it: an unknown kid refetches only a
    /// refetch interval after it (a set fetched a second ago will not have a new key yet).
    pub last_fetch: u64,
    /// The last "fetch failed" warning, logged once per refetch interval.
    pub last_warning: u64,
}

/// What the set looks like to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetStatus {
    /// A good set was fetched at least once.
    pub has_set: bool,
    /// Unix time at which it expires.
    pub expires_at: u64,
}

/// What a request needing keys does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Verify with the keys there are.
    Proceed,
    /// Another request is fetching: wait for it.
    Wait,
    /// This request fetches (the claim is now its own).
    Fetch,
}

/// The policy, applied under the source's lock. `unknown_kid`: the request's token names a kid
/// the current set lacks.
pub fn decide(
    policy: &RefreshPolicy,
    state: &mut RefreshState,
    set: SetStatus,
    now: u64,
    unknown_kid: bool,
) -> Decision {
    let fresh = set.has_set && now < set.expires_at;
    if fresh && !unknown_kid {
        return Decision::Proceed;
    }
    if claimed(state, now) {
        return if set.has_set && !unknown_kid {
            Decision::Proceed
        } else {
            Decision::Wait
        };
    }
    if unknown_kid {
        if state.last_fetch != 0 && now < state.last_fetch.saturating_add(policy.refetch) {
            return Decision::Proceed;
        }
    } else if now < state.retry_after {
        return Decision::Proceed;
    }
    state.last_fetch = now;
    state.fetching_since = now.max(1);
    Decision::Fetch
}

/// Whether a fetch is in flight (claimed, and the claim not abandoned).
pub fn claimed(state: &RefreshState, now: u64) -> bool {
    state.fetching_since != 0 && now < state.fetching_since.saturating_add(CLAIM_TIMEOUT)
}

/// A fetch brought a good set.
pub fn succeeded(state: &mut RefreshState) {
    state.fetching_since = 0;
    state.retry_after = 0;
}

/// A fetch failed: the next attempt waits for the refetch interval. Returns whether to log a
/// warning (once per interval).
pub fn failed(policy: &RefreshPolicy, state: &mut RefreshState, now: u64) -> bool {
    state.fetching_since = 0;
    state.retry_after = now.saturating_add(policy.refetch);
    let warn = state.last_warning == 0 || now >= state.last_warning.saturating_add(policy.refetch);
    if warn {
        state.last_warning = now;
    }
    warn
}

/// The request that claimed a fetch went away before its answer (the client closed the
/// connection, which ends the subrequest too). Not the provider's failure, so no refetch
/// interval; but with a set to serve meanwhile, the next attempt waits a second, so that a
/// client closing connections on purpose cannot turn every request into a fetch.
pub fn abandoned(state: &mut RefreshState, now: u64, has_set: bool) {
    state.fetching_since = 0;
    if has_set {
        state.retry_after = state.retry_after.max(now.saturating_add(1));
    }
}

/// `max-age` of a `Cache-Control` response header; `no-cache` and `no-store` count as 0 (which
/// [`RefreshPolicy::lifetime_for`] raises to the refetch interval).
pub fn max_age(cache_control: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(cache_control).ok()?;
    text.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(0);
        }
        let seconds = lower.strip_prefix("max-age=")?;
        seconds.trim_matches('"').parse().ok()
    })
}

#[cfg(test)]
mod tests;
