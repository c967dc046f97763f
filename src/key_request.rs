//! `jwt_key_request`: an identity provider's keys, fetched through nginx and shared by all
//! workers.
//!
//! The JWKS is fetched by an in-memory subrequest to a local URI, which the operator points at
//! the provider's `jwks_uri` with `proxy_pass`: TLS, `resolver`, timeouts and proxying are
//! nginx's own. The subrequest carries none of the client's request headers or body (the
//! client's `Authorization` and cookies never reach the provider).
//!
//! What every worker sees lives in the module's shared zone ([`crate::shared_zone`]): the last
//! good JWKS document, its generation, when it expires, and who is fetching. Each worker keeps
//! the parsed keys of the generation it last saw ([`KeySource::sync`]) and re-parses only when
//! the generation changes, so a request normally costs two atomic loads.
//!
//! When a request needs keys ([`prepare`], from the access handler):
//! * fresh set: go on;
//! * no set, or the set expired: the request *claims* the fetch (one claim per source across
//!   workers) and waits for its subrequest; other requests go on with the expired set, or, when
//!   there is none, wait for the claim to end (polling the zone, like `limit_req`'s delay);
//! * a token whose `kid` is unknown ([`refetch_for_unknown_kid`]): a refetch once the last
//!   fetch (of any cause, in any worker) is a refetch interval old; until then such tokens fail
//!   with `key` without a fetch, so random kids cannot make the gateway flood the provider.
//!
//! The policy itself (who fetches, who waits, when) is [`jwt_core::key_refresh`].
//!
//! A fetch that fails (no answer, a status other than 200, a body that is not a usable JWKS)
//! never replaces a good set: the last good one keeps serving (a `warn` once per interval),
//! and the next attempt waits for the refetch interval.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use jwt_core::key_refresh::{self, Decision, RefreshPolicy, SetStatus};
use jwt_core::{parse_remote_jwks, RemoteKeys};
use ngx::core::Status;
use ngx::ffi::{
    kill, ngx_add_timer, ngx_handle_read_event, ngx_handle_write_event, ngx_http_block_reading,
    ngx_http_core_run_phases, ngx_http_finalize_request, ngx_http_request_t, ngx_http_test_reading,
    ngx_int_t, ngx_list_init, ngx_log_t, ngx_pid, ngx_shm_zone_t, ngx_table_elt_t, ESRCH,
    NGX_AGAIN, NGX_ERROR, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_LOG_ERR, NGX_LOG_NOTICE,
    NGX_LOG_WARN, NGX_OK,
};
use ngx::http::Request;

use crate::conf::LocalUri;
use crate::metrics::Counter;
use crate::request_local;
use crate::shared_zone::{KeySetSlot, Zone};
use crate::subrequest;
use crate::verification::now;

/// How often a request waiting for another request's fetch looks at the zone again.
const POLL_INTERVAL_MS: usize = 20;

/// One JWKS source of the configuration: a URI in a server, with its cache policy. Locations
/// that name the same URI in the same server with the same `jwt_key_cache` share it (and its
/// keys, and its slot in the zone).
pub struct KeySource {
    /// Identifies the source in the zone, across workers and reloads.
    pub name: String,
    pub target: LocalUri,
    pub cache: RefreshPolicy,
    /// The keys this worker uses, shared with the verifiers of the source.
    pub keys: Arc<RemoteKeys>,
    zone: *mut ngx_shm_zone_t,
    /// The zone's slot, looked up on first use in each worker.
    slot: Cell<Option<&'static KeySetSlot>>,
}

impl KeySource {
    pub fn new(
        name: String,
        target: LocalUri,
        cache: RefreshPolicy,
        zone: *mut ngx_shm_zone_t,
    ) -> KeySource {
        KeySource {
            name,
            target,
            cache,
            keys: Arc::new(RemoteKeys::new()),
            zone,
            slot: Cell::new(None),
        }
    }

    fn zone(&self) -> Option<Zone> {
        // SAFETY: the zone was added for this configuration, which is the one in use.
        unsafe { Zone::new(self.zone) }
    }

    fn slot(&self) -> Option<(Zone, &'static KeySetSlot)> {
        let zone = self.zone()?;
        if let Some(slot) = self.slot.get() {
            return Some((zone, slot));
        }
        let slot = zone.key_set_slot(&self.name)?;
        self.slot.set(Some(slot));
        Some((zone, slot))
    }

    /// Brings this worker's keys up to the zone's generation (another worker may have fetched).
    pub fn sync(&self, log: *mut ngx_log_t) {
        let Some((zone, slot)) = self.slot() else {
            return;
        };
        let generation = slot.generation.load(Ordering::Acquire);
        if generation == 0 || self.keys.generation() == Some(generation) {
            return;
        }
        let (jwks, generation) = zone.with_guarded(slot, |g| {
            (g.jwks().to_vec(), slot.generation.load(Ordering::Acquire))
        });
        if jwks.is_empty() {
            // Reclaimed after two reloads without use (see shared_zone): nothing to parse.
            return;
        }
        match parse_remote_jwks(&jwks) {
            Ok(set) => self.keys.install(set, generation),
            // Only sets that parsed are stored; this would take a corrupted zone.
            Err(e) => {
                ngx::ngx_log_error!(
                    NGX_LOG_ERR,
                    log,
                    "jwt: the shared key set of \"jwt_key_request {}\" no longer parses: {e}",
                    self.target.uri
                );
            }
        }
    }

    fn set_status(slot: &KeySetSlot) -> SetStatus {
        SetStatus {
            has_set: slot.generation.load(Ordering::Acquire) != 0,
            expires_at: slot.expires_at.load(Ordering::Acquire),
        }
    }

    /// What a request needing this source's keys does now.
    fn decide(&self, now: u64, unknown_kid: bool) -> Decision {
        let Some((zone, slot)) = self.slot() else {
            // No zone memory for a slot: nothing to fetch into; fail closed (`key`).
            return Decision::Proceed;
        };
        let set = Self::set_status(slot);
        if set.has_set && now < set.expires_at && !unknown_kid {
            // The hot path: no lock.
            return Decision::Proceed;
        }
        zone.with_guarded(slot, |g| {
            if key_refresh::claimed(&g.refresh, now) && !process_alive(g.fetcher_pid) {
                // The worker that claimed the fetch died (its request with it): nobody will
                // answer the waiting requests.
                key_refresh::abandoned(&mut g.refresh, now, false);
            }
            let decision = key_refresh::decide(&self.cache, &mut g.refresh, set, now, unknown_kid);
            if decision == Decision::Fetch {
                // SAFETY: ngx_pid is set once at process start.
                g.fetcher_pid = unsafe { ngx_pid };
            }
            decision
        })
    }

    /// Whether some request, in any worker, is fetching this source now.
    fn fetch_in_flight(&self, now: u64) -> bool {
        let Some((zone, slot)) = self.slot() else {
            return false;
        };
        zone.with_guarded(slot, |g| key_refresh::claimed(&g.refresh, now))
    }

    /// The request that claimed a fetch ended without its answer (the client went away).
    fn abandon(&self, now: u64) {
        if let Some((zone, slot)) = self.slot() {
            let has_set = Self::set_status(slot).has_set;
            zone.with_guarded(slot, |g| {
                key_refresh::abandoned(&mut g.refresh, now, has_set)
            });
        }
    }

    /// Stores a good set for every worker and uses it here at once.
    fn store(&self, jwks: &[u8], max_age: Option<u64>, now: u64, log: *mut ngx_log_t) {
        let Some((zone, slot)) = self.slot() else {
            return;
        };
        let set = match parse_remote_jwks(jwks) {
            Ok(set) => set,
            Err(e) => return self.fail(&e.to_string(), now, log),
        };
        for skipped in set.skipped() {
            ngx::ngx_log_error!(
                NGX_LOG_NOTICE,
                log,
                "jwt: \"jwt_key_request {}\": {skipped}: skipped",
                self.target.uri
            );
        }
        let expires_at = now + self.cache.lifetime_for(max_age);
        let unchanged = zone.with_guarded(slot, |g| g.jwks() == jwks);
        if unchanged {
            // The same document again: keep the generation (and every worker's token cache).
            slot.expires_at.store(expires_at, Ordering::Release);
            zone.count(Counter::KeyFetchUnchanged);
        } else {
            let Some(generation) = zone.store_jwks(slot, jwks, expires_at) else {
                return self.fail(
                    "the shared memory zone is full: raise \"jwt_shared_memory\"",
                    now,
                    log,
                );
            };
            ngx::ngx_log_error!(
                NGX_LOG_NOTICE,
                log,
                "jwt: \"jwt_key_request {}\": fetched {} key(s)",
                self.target.uri,
                set.len()
            );
            self.keys.install(set, generation);
            zone.count(Counter::KeyFetchOk);
        }
        zone.with_guarded(slot, |g| key_refresh::succeeded(&mut g.refresh));
    }

    /// A failed fetch: keep what there is; the next attempt waits for the refetch interval.
    fn fail(&self, reason: &str, now: u64, log: *mut ngx_log_t) {
        let Some((zone, slot)) = self.slot() else {
            return;
        };
        let has_set = Self::set_status(slot).has_set;
        zone.count(Counter::KeyFetchFailed);
        let warn = zone.with_guarded(slot, |g| {
            key_refresh::failed(&self.cache, &mut g.refresh, now)
        });
        if warn {
            let consequence = if has_set {
                "the previous key set keeps serving"
            } else {
                "there is no key set yet, tokens are refused (\"key\")"
            };
            ngx::ngx_log_error!(
                NGX_LOG_WARN,
                log,
                "jwt: \"jwt_key_request {}\" failed: {reason}; {consequence}; next attempt in \
                 {}s at the earliest",
                self.target.uri,
                self.cache.refetch
            );
        }
    }
}

/// What the access handler does next.
pub enum KeyStep {
    /// Verify now.
    Ready,
    /// Return this status (`NGX_AGAIN` while waiting for keys, or an error).
    Return(Status),
}

/// A request's part in fetching keys.
#[derive(Default)]
struct KeyFetch {
    /// The source this request claimed a fetch for, until its answer is processed.
    in_flight: Option<*const KeySource>,
    /// The fetch's subrequest (in the request pool): its answer is final once it is `done`.
    subrequest: Option<*mut ngx_http_request_t>,
    /// What the subrequest answered, as of the post-subrequest handler's last call.
    answer: Answer,
    /// This request already had its one refetch (or wait) for an unknown kid.
    kid_refetch_used: bool,
    /// This request waits for another request's fetch to end (not merely for fresh keys).
    waiting_for_fetch: bool,
}

/// A JWKS subrequest's answer. The post-subrequest handler runs once per finalization: a status
/// answered through nginx's error page or an `error_page` redirect finalizes the subrequest
/// again with the final answer, so each call overwrites the previous one and the parent reads
/// the last, once the subrequest is done.
#[derive(Default)]
struct Answer {
    rc: ngx_int_t,
    status: usize,
    body: Vec<u8>,
    complete: bool,
    /// Sticky: a response over `subrequest_output_buffer_size` was cut.
    too_big: bool,
    max_age: Option<u64>,
}

impl Drop for KeyFetch {
    /// A request that ends before its fetch did (the client went away) gives the claim back.
    fn drop(&mut self) {
        if let Some(source) = self.in_flight.take() {
            // SAFETY: sources live as long as the configuration, longer than any request.
            if let Some(source) = unsafe { source.as_ref() } {
                source.abandon(now());
            }
        }
    }
}

fn fetch_state(r: &mut Request) -> Option<&mut KeyFetch> {
    let raw: *mut ngx_http_request_t = r.into();
    // SAFETY: r is live; the state is only borrowed within one call from nginx.
    unsafe { request_local::get_or_create::<KeyFetch>(raw, None) }
}

/// Makes sure the source's keys are there before the request is verified.
pub fn prepare(r: &mut Request, source: &KeySource) -> KeyStep {
    source.sync(r.log());
    let Some(state) = fetch_state(r) else {
        return KeyStep::Return(Status::NGX_ERROR);
    };
    if state.in_flight.is_some() {
        // SAFETY: the subrequest lives in this request's pool.
        let done = state
            .subrequest
            .is_some_and(|sr| unsafe { (*sr).done() } != 0);
        if !done {
            return KeyStep::Return(Status::NGX_AGAIN);
        }
        process_answer(r);
    }
    let waiting = fetch_state(r).is_some_and(|state| state.waiting_for_fetch);
    if waiting {
        if source.fetch_in_flight(now()) {
            return KeyStep::Return(wait(r));
        }
        if let Some(state) = fetch_state(r) {
            state.waiting_for_fetch = false;
        }
        // The fetch may have brought a newer set than the one just synced.
        source.sync(r.log());
    }
    act(r, source, source.decide(now(), false))
}

/// The token's `kid` is not in the set: refetch once (if the interval allows), then verify
/// again. `Ready` means "no refetch": the rejection stands.
pub fn refetch_for_unknown_kid(r: &mut Request, source: &KeySource) -> KeyStep {
    match fetch_state(r) {
        Some(state) if !state.kid_refetch_used => state.kid_refetch_used = true,
        _ => return KeyStep::Ready,
    }
    match source.decide(now(), true) {
        Decision::Proceed => KeyStep::Ready,
        decision => act(r, source, decision),
    }
}

fn act(r: &mut Request, source: &KeySource, decision: Decision) -> KeyStep {
    match decision {
        Decision::Proceed => KeyStep::Ready,
        Decision::Wait => {
            if let Some(state) = fetch_state(r) {
                state.waiting_for_fetch = true;
            }
            KeyStep::Return(wait(r))
        }
        Decision::Fetch => match start_fetch(r, source) {
            Ok(()) => KeyStep::Return(Status::NGX_AGAIN),
            Err(reason) => {
                source.fail(reason, now(), r.log());
                KeyStep::Ready
            }
        },
    }
}

fn start_fetch(r: &mut Request, source: &KeySource) -> Result<(), &'static str> {
    let state = fetch_state(r).ok_or("out of memory")?;
    state.in_flight = Some(ptr::from_ref(source));
    let state_ptr = ptr::from_mut(state).cast::<c_void>();
    let raw: *mut ngx_http_request_t = r.into();
    let target = &source.target;
    // SAFETY: r is live; the state lives in the request pool, longer than the subrequest.
    let sr = unsafe {
        subrequest::start_in_memory(raw, &target.uri, target.args.as_deref(), fetched, state_ptr)
    };
    let Some(sr) = sr else {
        if let Some(state) = fetch_state(r) {
            state.in_flight = None;
        }
        return Err("cannot start the subrequest");
    };
    if let Some(state) = fetch_state(r) {
        state.subrequest = Some(sr);
    }
    // SAFETY: sr was just created by nginx and is not running yet; its pool is the request's.
    if unsafe { detach_from_client(sr) }.is_err() {
        return Err("out of memory");
    }
    Ok(())
}

/// A JWKS fetch is not the client's request: it gets no client header (no `Authorization`, no
/// cookie, no `Range`, no `Accept-Encoding`) and no body.
///
/// # Safety
/// `sr` is a subrequest just created by `ngx_http_subrequest`, not yet running.
unsafe fn detach_from_client(sr: *mut ngx_http_request_t) -> Result<(), ()> {
    // SAFETY: the caller's contract; headers_in was a shallow copy of the parent's, replaced
    // here by an empty one in the subrequest's pool (the parent's).
    unsafe {
        let sr = &mut *sr;
        sr.headers_in = std::mem::zeroed();
        let rc = ngx_list_init(
            &mut sr.headers_in.headers,
            sr.pool,
            1,
            std::mem::size_of::<ngx_table_elt_t>(),
        );
        if rc != NGX_OK as ngx_int_t {
            return Err(());
        }
        sr.headers_in.content_length_n = -1;
        sr.headers_in.keep_alive_n = -1;
        sr.request_body = ptr::null_mut();
    }
    Ok(())
}

/// Post-subrequest handler: records the answer (see [`Answer`]); the parent processes it.
unsafe extern "C" fn fetched(
    sr: *mut ngx_http_request_t,
    data: *mut c_void,
    rc: ngx_int_t,
) -> ngx_int_t {
    // SAFETY: data is the parent's KeyFetch (request pool), sr the subrequest being finalized.
    let (state, sr) = unsafe { (&mut *data.cast::<KeyFetch>(), &*sr) };
    let too_big = subrequest::recover_from_too_big_response(sr);
    let body = subrequest::body(sr);
    let answer = &mut state.answer;
    answer.too_big |= too_big;
    answer.rc = if too_big { NGX_ERROR as ngx_int_t } else { rc };
    answer.status = sr.headers_out.status;
    answer.complete = subrequest::arrived_whole(sr, body.len());
    answer.body = body.to_vec();
    answer.max_age = subrequest::header(sr, b"Cache-Control").and_then(key_refresh::max_age);
    if too_big {
        return NGX_OK as ngx_int_t;
    }
    rc
}

/// The subrequest is over: store its set for every worker, or record the failure.
fn process_answer(r: &mut Request) {
    let log = r.log();
    let Some(state) = fetch_state(r) else {
        return;
    };
    let answer = std::mem::take(&mut state.answer);
    state.subrequest = None;
    let Some(source) = state.in_flight.take() else {
        return;
    };
    // SAFETY: sources live as long as the configuration.
    let Some(source) = (unsafe { source.as_ref() }) else {
        return;
    };
    let now = now();
    if answer.too_big || answer.rc == NGX_ERROR as ngx_int_t || !answer.complete {
        source.fail(
            "the response was not received whole (bigger than the location's \
             subrequest_output_buffer_size, or cut off)",
            now,
            log,
        );
    } else if answer.status != 200 {
        let reason = if answer.status == 0 {
            format!("no response (subrequest result {})", answer.rc)
        } else {
            format!("the response status is {}, not 200", answer.status)
        };
        source.fail(&reason, now, log);
    } else {
        source.store(&answer.body, answer.max_age, now, log);
    }
}

/// Waits for another request's fetch: the request sleeps on a timer and runs its phases again
/// (the access handler then looks at the zone again), as `limit_req` delays requests.
fn wait(r: &mut Request) -> Status {
    let raw: &mut ngx_http_request_t = r.as_mut();
    raw.read_event_handler = Some(ngx_http_test_reading);
    raw.write_event_handler = Some(wake_up);
    // SAFETY: a live request's connection and its write event are live.
    unsafe {
        let wev = (*raw.connection).write;
        (*wev).set_delayed(1);
        ngx_add_timer(wev, POLL_INTERVAL_MS as _);
    }
    Status(NGX_AGAIN as ngx_int_t)
}

unsafe extern "C" fn wake_up(r: *mut ngx_http_request_t) {
    // SAFETY: nginx calls request handlers with a live request and connection.
    unsafe {
        let c = (*r).connection;
        let wev = (*c).write;
        if (*wev).delayed() != 0 {
            // Woken by something else than the timer: keep sleeping.
            if ngx_handle_write_event(wev, 0) != NGX_OK as ngx_int_t {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t);
            }
            return;
        }
        if ngx_handle_read_event((*c).read, 0) != NGX_OK as ngx_int_t {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t);
            return;
        }
        (*r).read_event_handler = Some(ngx_http_block_reading);
        (*r).write_event_handler = Some(ngx_http_core_run_phases);
        ngx_http_core_run_phases(r);
    }
}

/// Whether process `pid` still runs (a worker of this nginx: same user, so `kill(pid, 0)` is
/// allowed). Unknown pids (0) count as alive: only a provable death voids a claim.
fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { kill(pid, 0) } == 0 {
        return true;
    }
    ngx::ffi::ngx_errno() != ESRCH as i32
}
