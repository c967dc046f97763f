//! The verification results of one request.
//!
//! A request is verified at most once per (verifier, token source): by whichever asks first,
//! the access handler or a `$jwt_*` variable. What makes this subtle is that nginx caches
//! variable values per request, and a config can read a `$jwt_*` variable in one place (a
//! server-level `set`, a location left by `rewrite ... last`) and decide in another location
//! that verifies a different token with different keys. The rules that keep every decision on
//! the token the deciding location verified:
//!
//! * results are **append-only**: one per (verifier, token source), never replaced or freed
//!   before the request ends, because variable values handed to nginx point into them (the
//!   one exception is a failure, which nothing points into, dropped to verify again once a
//!   `jwt_key_request` fetch brought the token's `kid`);
//! * when a read comes from a (verifier, source) other than the previous read's, the cached
//!   values of the module's variables are **invalidated**, so later reads in the new location
//!   (headers, the log phase) are evaluated again there;
//! * every key under which a `$jwt_*` variable was read is **remembered**, so `jwt_require`
//!   can refuse to decide on another module's cached value (a `set` or `map` of a claim) that
//!   may hold a claim of a token this location did not verify.
//!
//! The state lives as long as the request, across internal redirects (see
//! [`crate::request_local`]).

use std::sync::Arc;

use jwt_core::{CacheUse, VerifiedToken, Verifier, VerifyError};
use ngx::ffi::{ngx_http_request_t, NGX_LOG_ERR};
use ngx::http::{HttpModule, Request};

use crate::conf::{loc_conf, TokenSource};
use crate::metrics::{count, Counter};
use crate::request_local;
use crate::revocation;
use crate::token_source::find_token;
use crate::Module;

pub type Outcome = Result<Arc<VerifiedToken>, VerifyError>;

/// The verifier (key ring + policy) and token source a result was computed with. A location
/// without a key ring has a null verifier.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OutcomeKey {
    verifier: *const Verifier,
    source: TokenSource,
}

/// Per-request verification state.
#[derive(Default)]
pub struct Verifications {
    /// Every result computed for this request. Append-only: variable values point into the
    /// tokens, and a (verifier, source) pair has one result for the whole request.
    outcomes: Outcomes,
    /// Where `$jwt_*` variables were read. Kept in the main request's state only:
    /// subrequests share the main request's cache of variable values (`sr->variables =
    /// r->variables`), so a value cached by a subrequest (an `auth_request` in the access
    /// phase, say) counts as read here.
    reads: Reads,
    /// The token source is being evaluated: a `$jwt_*` read now means `jwt_token` depends on
    /// the module's own variables (a cycle).
    resolving_token: bool,
}

/// Append-only results, the first one inline: nearly every request has exactly one, and it
/// then costs no allocation.
#[derive(Default)]
struct Outcomes {
    first: Option<(OutcomeKey, Outcome)>,
    more: Vec<(OutcomeKey, Outcome)>,
}

impl Outcomes {
    fn get(&self, key: OutcomeKey) -> Option<&Outcome> {
        self.first
            .iter()
            .chain(&self.more)
            .find(|(k, _)| *k == key)
            .map(|(_, outcome)| outcome)
    }

    /// Drops a *failed* result for `key`. A failure holds nothing that a variable value points
    /// into (`$jwt_error` is a static code), so this keeps the append-only promise for tokens.
    fn forget_failure(&mut self, key: OutcomeKey) {
        if matches!(&self.first, Some((k, Err(_))) if *k == key) {
            self.first = None;
        }
        self.more
            .retain(|(k, outcome)| !(*k == key && outcome.is_err()));
    }

    fn push(&mut self, key: OutcomeKey, outcome: Outcome) {
        match self.first {
            None => self.first = Some((key, outcome)),
            Some(_) => self.more.push((key, outcome)),
        }
    }
}

/// The keys `$jwt_*` variables were read under: the first, whether any other was seen, and
/// the most recent.
#[derive(Default)]
struct Reads {
    first: Option<OutcomeKey>,
    several: bool,
    last: Option<OutcomeKey>,
}

impl Reads {
    /// Records a read; returns whether it changed the key from the previous read.
    fn record(&mut self, key: OutcomeKey) -> bool {
        match self.first {
            None => self.first = Some(key),
            Some(first) => self.several |= first != key,
        }
        self.last.replace(key) != Some(key)
    }

    /// Whether some read happened under a key other than `key`.
    fn other_than(&self, key: OutcomeKey) -> bool {
        self.several || self.first.is_some_and(|first| first != key)
    }
}

/// This request's verification state.
fn state(r: &mut Request) -> Option<&mut Verifications> {
    let raw: *mut ngx_http_request_t = r.into();
    // SAFETY: r is live; the state is only borrowed within one call from nginx.
    unsafe { request_local::get_or_create(raw, Some(Module::module().ctx_index)) }
}

/// The main request's verification state, which records the variable reads of the main
/// request and of all its subrequests (they share one cache of variable values).
fn main_state(r: &mut Request) -> Option<&mut Verifications> {
    let raw: &mut ngx_http_request_t = r.as_mut();
    // SAFETY: a live request's `main` is its live main request (itself for the main one);
    // the state is only borrowed within one call from nginx, and no borrow of `r`'s own
    // state is held across this call.
    unsafe { request_local::get_or_create(raw.main, Some(Module::module().ctx_index)) }
}

/// The current location's (verifier, token source); `None` when the location has no
/// configuration.
pub fn current_key(r: &Request) -> Option<OutcomeKey> {
    let conf = loc_conf(r)?;
    Some(OutcomeKey {
        verifier: conf.verifier.as_ref().map_or(std::ptr::null(), Arc::as_ptr),
        source: conf.token_source(),
    })
}

/// The verification result for the current location, computed on first use (for the access
/// handler). `None` when the location has no key ring.
pub fn outcome(r: &mut Request) -> Option<&Outcome> {
    let key = current_key(r)?;
    outcome_for(r, key)
}

/// Forgets the current location's failed result so that the next look verifies again: the
/// access handler does that after fetching a key set that may hold the token's `kid`. Cached
/// values of the module's variables (`$jwt_error`) are invalidated with it.
pub fn forget_failure(r: &mut Request) {
    let Some(key) = current_key(r) else {
        return;
    };
    if let Some(state) = state(r) {
        state.outcomes.forget_failure(key);
    }
    crate::variables::invalidate_module_variables(r);
}

/// Forgets the current location's result if it failed for want of a key (`key`): the access
/// handler verifies again once the remote key set is there, as a `$jwt_*` read earlier in the
/// request (a server-level `set`) may have verified before the first fetch.
pub fn forget_key_failure(r: &mut Request) {
    let Some(key) = current_key(r) else {
        return;
    };
    let failed_for_key = matches!(
        state(r).and_then(|s| s.outcomes.get(key)),
        Some(Err(e)) if e.code() == "key"
    );
    if failed_for_key {
        forget_failure(r);
    }
}

/// Records a result computed outside [`outcome`] (`jwt_refresh` verifies with its grace) as the
/// current location's, so that later `$jwt_*` reads (the access log) use it instead of verifying
/// again; a failure recorded earlier is replaced, a success kept. Returns the location's result.
pub fn record_outcome(r: &mut Request, outcome: Outcome) -> Option<&Outcome> {
    let key = current_key(r)?;
    let recorded = state(r)?.outcomes.get(key).map(Result::is_ok);
    match recorded {
        Some(true) => {}
        Some(false) => {
            let verifications = state(r)?;
            verifications.outcomes.forget_failure(key);
            verifications.outcomes.push(key, outcome);
            crate::variables::invalidate_module_variables(r);
        }
        None => state(r)?.outcomes.push(key, outcome),
    }
    state(r)?.outcomes.get(key)
}

/// Records a `$jwt_*` variable read in the current location. Returns whether the read comes
/// from another (verifier, source) than the previous read, in which case the caller must
/// invalidate the module's cached variable values; `None` when the read must yield nothing
/// (no configuration, no memory, or a `jwt_token` that reads the module's own variables).
pub fn note_variable_read(r: &mut Request) -> Option<bool> {
    let key = current_key(r)?;
    let log = r.log();
    if state(r)?.resolving_token {
        ngx::ngx_log_error!(
            NGX_LOG_ERR,
            log,
            "jwt: \"jwt_token\" evaluates the module's own variables (through a map or a \
             similar variable); it must read the request only, such as $cookie_NAME"
        );
        return None;
    }
    Some(main_state(r)?.reads.record(key))
}

/// Whether a `$jwt_*` variable was read in this request under a (verifier, source) other than
/// `key`: then a cached value derived from a claim may belong to another token.
pub fn read_under_other_key(r: &mut Request, key: OutcomeKey) -> bool {
    main_state(r).is_some_and(|s| s.reads.other_than(key))
}

fn outcome_for(r: &mut Request, key: OutcomeKey) -> Option<&Outcome> {
    // SAFETY: the verifier pointer comes from the location's `Arc<Verifier>`, which lives as
    // long as the configuration, i.e. longer than this request.
    let verifier = unsafe { key.verifier.as_ref() }?;
    if state(r)?.outcomes.get(key).is_none() {
        if let Some(source) = loc_conf(r).and_then(|conf| conf.key_source.as_deref()) {
            // Another worker may have fetched a newer key set (see crate::key_request).
            source.sync(r.log());
        }
        state(r)?.resolving_token = true;
        let outcome = match find_token(r, key.source) {
            Some(token) => verify(r, verifier, token),
            None => Err(VerifyError::Missing),
        };
        let state = state(r)?;
        state.resolving_token = false;
        state.outcomes.push(key, outcome);
    }
    state(r)?.outcomes.get(key)
}

/// Verifies `token` and checks it against the revocations, counting cache hits and misses.
fn verify(r: &Request, verifier: &Verifier, token: &[u8]) -> Outcome {
    let (result, cache) = verifier.verify_traced(token, now());
    match cache {
        CacheUse::Hit => count(r, Counter::CacheHit),
        CacheUse::Miss => count(r, Counter::CacheMiss),
        CacheUse::Off => {}
    }
    let token = result?;
    if let Some(conf) = loc_conf(r) {
        revocation::check(r, conf, &token)?;
    }
    Ok(token)
}

/// Current time in unix seconds (nginx's cached clock: no syscall per request).
pub fn now() -> u64 {
    u64::try_from(ngx::ffi::ngx_time()).unwrap_or(0)
}
