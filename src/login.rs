//! `jwt_login`: the content handler that issues tokens.
//!
//! The flow, in the shape of nginx's auth_request module:
//! 1. [`login_handler`] accepts POST only and reads the client body with nginx's machinery
//!    (`client_max_body_size`, buffering to temp files, chunked bodies all apply);
//! 2. [`body_ready`] starts an in-memory POST subrequest to the authenticator location, which
//!    shares the parent's request body and headers;
//! 3. [`subrequest_done`] copies the authenticator's status, content type and body (it may run
//!    more than once, only the first call counts);
//! 4. [`resume`] runs in the parent once the subrequest is over: a 200 JSON object becomes a
//!    signed token, anything else passes through.
//!
//! The exchange's state ([`LoginState`]) is attached to the request (see
//! [`crate::request_local`]). Reading the body, the subrequest and finalizing use nginx's C
//! calls directly: ngx 0.5's `Request::subrequest` sends a header-only subrequest with a faked
//! body, and it has no wrapper for reading the client body or finalizing a request.

use std::ffi::c_void;
use std::ptr;

use jwt_core::IssuedToken;
use ngx::core::Status;
use ngx::ffi::{
    ngx_conf_t, ngx_http_finalize_request, ngx_http_read_client_request_body, ngx_http_request_t,
    ngx_int_t, ngx_str_t, ngx_uint_t, NGX_ERROR, NGX_HTTP_BAD_GATEWAY,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_OK, NGX_HTTP_POST, NGX_HTTP_SPECIAL_RESPONSE,
    NGX_LOG_ERR, NGX_OK,
};
use ngx::http::{list_iterator, HttpModuleLocationConf, Method, NgxHttpCoreModule, Request};

use crate::browser;
use crate::conf::directives::local_uri;
use crate::conf::parse::{arg, once};
use crate::conf::{loc_conf, JwtLocConf, Setting, Settings};
use crate::metrics::{count, Counter};
use crate::request_local;
use crate::response_headers::{not_allowed, push_header_out, send_body};
use crate::subrequest;
use crate::verification::now;

/// What the authenticator answered, captured from the subrequest.
#[derive(Default)]
pub struct LoginState {
    /// The subrequest was created (guards against running the exchange twice).
    started: bool,
    /// The post-subrequest handler ran; the fields below are final.
    done: bool,
    status: ngx_uint_t,
    /// The subrequest's own result code (`NGX_ERROR` when, for example, its response did not
    /// fit `subrequest_output_buffer_size`).
    rc: ngx_int_t,
    content_type: Vec<u8>,
    /// The authenticator's headers that keep their meaning for the client (see
    /// [`PASSED_HEADERS`]), forwarded with a non-200 answer.
    headers: Vec<(&'static [u8], Vec<u8>)>,
    body: Vec<u8>,
    /// The body arrived whole (as long as announced, and the upstream expected no more).
    complete: bool,
}

/// Headers of a non-200 authenticator answer that reach the client with it: where a redirect
/// goes (an MFA step, say), how to authenticate, when to retry. Others (cookies, caching,
/// hop-by-hop) stay behind: the client talks to nginx, not to the application.
const PASSED_HEADERS: [&[u8]; 4] = [
    b"Location",
    b"WWW-Authenticate",
    b"Retry-After",
    // The client asked for that encoding (the subrequest carries its Accept-Encoding).
    CONTENT_ENCODING,
];
const CONTENT_ENCODING: &[u8] = b"Content-Encoding";

/// `jwt_login uri` (location): this location's content handler issues tokens.
pub fn jwt_login(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.login)?;
    let target = local_uri(cf, &arg(cf, 1))?;
    let clcf =
        NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("no http core location configuration")?;
    clcf.handler = Some(login_handler);
    s.login = Some(Setting::here(cf, target));
    Ok(())
}

unsafe extern "C" fn login_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    if request.method() != Method::POST {
        // Discarding the body keeps the connection reusable.
        let rc = request.discard_request_body();
        if rc != Status::NGX_OK {
            return rc.into();
        }
        return not_allowed(request, b"POST");
    }
    // A browser login that sets a cookie: refuse one posted from another site (login CSRF,
    // which would log the victim in to the attacker's account).
    if let Some(conf) = loc_conf(request) {
        // Every request, not only those that look like a browser's: a page can post with
        // any Content-Type and Accept, and only Sec-Fetch-Site and Origin are beyond its reach.
        let sets_cookie = conf.login_redirect().is_some() || conf.login_cookie().is_some();
        if sets_cookie {
            if let Err(status) = browser::check_same_origin(request, conf, "jwt_login") {
                let rc = request.discard_request_body();
                if rc != Status::NGX_OK {
                    return rc.into();
                }
                return status;
            }
        }
    }
    // SAFETY: r is live; body_ready runs once the whole body is available.
    let rc = unsafe { ngx_http_read_client_request_body(r, Some(body_ready)) };
    if rc >= NGX_HTTP_SPECIAL_RESPONSE as ngx_int_t {
        return rc;
    }
    Status::NGX_DONE.into()
}

/// Client body read: start the authenticator subrequest.
unsafe extern "C" fn body_ready(r: *mut ngx_http_request_t) {
    if let Err(status) = start_subrequest(r) {
        // SAFETY: r is live; finalizing with an error status answers the client.
        unsafe { ngx_http_finalize_request(r, status) };
    }
}

fn start_subrequest(r: *mut ngx_http_request_t) -> Result<(), ngx_int_t> {
    const FAILED: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    // SAFETY: r is the live main request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    let conf = loc_conf(request).ok_or(FAILED)?;
    let target = conf.login().ok_or(FAILED)?;
    // SAFETY: r is live; the state is borrowed only within this call.
    let state = unsafe { request_local::get_or_create::<LoginState>(r, None) }.ok_or(FAILED)?;
    if state.started {
        return Ok(());
    }
    state.started = true;
    let state_ptr = ptr::from_mut(state).cast::<c_void>();
    // SAFETY: r is live; the parent waits for the subrequest before anything else runs in it.
    unsafe { (*r).write_event_handler = Some(resume) };
    // SAFETY: r is live; the state lives in the request pool, longer than the subrequest.
    let sr = unsafe {
        subrequest::start_in_memory(
            r,
            &target.uri,
            target.args.as_deref(),
            subrequest_done,
            state_ptr,
        )
    }
    .ok_or(FAILED)?;
    // The subrequest inherits the parent's method (POST already) only by accident of the
    // implementation; state it, as the authenticator contract says POST.
    // SAFETY: sr was just created by nginx and is not running yet.
    unsafe {
        (*sr).method = NGX_HTTP_POST as ngx_uint_t;
        (*sr).method_name = ngx_str_t {
            len: 4,
            data: b"POST".as_ptr() as *mut u8,
        };
    }
    Ok(())
}

/// Post-subrequest handler: capture the authenticator's answer (first call only).
unsafe extern "C" fn subrequest_done(
    sr: *mut ngx_http_request_t,
    data: *mut c_void,
    rc: ngx_int_t,
) -> ngx_int_t {
    // SAFETY: data is the parent's LoginState (request pool, see start_subrequest), sr the
    // finished subrequest.
    let (state, sr) = unsafe { (&mut *data.cast::<LoginState>(), &*sr) };
    if state.done {
        return rc;
    }
    state.done = true;
    state.rc = rc;
    state.status = sr.headers_out.status;
    if state.status == 0 && rc >= NGX_HTTP_SPECIAL_RESPONSE as ngx_int_t {
        state.status = rc as ngx_uint_t;
    }
    state.content_type = sr.headers_out.content_type.as_bytes().to_vec();
    // SAFETY: headers_out.headers is the subrequest's initialised list of output headers.
    for (name, value) in unsafe { list_iterator(&sr.headers_out.headers) } {
        let passed = PASSED_HEADERS
            .iter()
            .find(|passed| passed.eq_ignore_ascii_case(name.as_bytes()));
        if let Some(&passed) = passed {
            state.headers.push((passed, value.as_bytes().to_vec()));
        }
    }
    state.body = subrequest::body(sr).to_vec();
    state.complete = subrequest::arrived_whole(sr, state.body.len());
    if subrequest::recover_from_too_big_response(sr) {
        state.rc = NGX_ERROR as ngx_int_t;
        return NGX_OK as ngx_int_t;
    }
    rc
}

/// Parent's write handler: once the subrequest is over, answer the client.
unsafe extern "C" fn resume(r: *mut ngx_http_request_t) {
    // SAFETY: nginx calls event handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    // SAFETY: r is live; the state is borrowed only within this call.
    let rc = match unsafe { request_local::get::<LoginState>(r) } {
        Some(state) if !state.done => return,
        Some(state) => {
            let state = std::mem::take(state);
            respond(request, &state)
        }
        None => NGX_ERROR as ngx_int_t,
    };
    // SAFETY: r is live; this completes the request.
    unsafe { ngx_http_finalize_request(r, rc) };
}

fn respond(r: &mut Request, state: &LoginState) -> ngx_int_t {
    let log = r.log();
    let outcome = match unusable(state) {
        Some(reason) => Err(reason),
        None if state.status != NGX_HTTP_OK as ngx_uint_t => {
            // No status at all (the subrequest failed before answering) becomes our 502.
            let counter = match state.status {
                0..=199 => Counter::LoginError,
                status => Counter::login_passed(status),
            };
            count(r, counter);
            if (400..500).contains(&state.status) {
                if let Some(failure) = browser_failure(r) {
                    return browser::see_other(r, &failure);
                }
            }
            return pass_through(r, state);
        }
        None => issue(r, &state.body),
    };
    match outcome {
        Ok(rc) => {
            count(r, Counter::LoginIssued);
            rc
        }
        Err(reason) => {
            ngx::ngx_log_error!(NGX_LOG_ERR, log, "jwt_login: {reason}; no token issued");
            count(r, Counter::LoginError);
            NGX_HTTP_BAD_GATEWAY as ngx_int_t
        }
    }
}

/// An answer that must not be used, whatever its status: a cut-off body would be signed (200) or
/// passed on (other statuses) as if it were whole.
fn unusable(state: &LoginState) -> Option<String> {
    if state.rc == NGX_ERROR as ngx_int_t || !state.complete {
        return Some(format!(
            "authenticator answered {} but its response was not received whole (bigger than \
             the authenticator location's subrequest_output_buffer_size, or cut off)",
            state.status
        ));
    }
    let encoding = state
        .headers
        .iter()
        .find(|(name, _)| *name == CONTENT_ENCODING)
        .map(|(_, value)| value.as_slice())
        .filter(|value| !value.is_empty() && !value.eq_ignore_ascii_case(b"identity"));
    match encoding {
        Some(encoding) if state.status == NGX_HTTP_OK as ngx_uint_t => Some(format!(
            "authenticator answered 200 with Content-Encoding: {}; add \
             `proxy_set_header Accept-Encoding \"\";` to the authenticator location",
            String::from_utf8_lossy(encoding)
        )),
        _ => None,
    }
}

fn issue(r: &mut Request, body: &[u8]) -> Result<ngx_int_t, String> {
    let conf = loc_conf(r).ok_or("the location has no configuration")?;
    let (Some(signer), Some(policy)) = (conf.signer.as_ref(), conf.issue_policy.as_ref()) else {
        return Err("the location has no signing key".into());
    };
    let issued = signer
        .issue(body, policy, now())
        .map_err(|e| e.to_string())?;
    match conf.login_redirect() {
        Some(redirect) if browser::is_browser(r) => {
            // A browser: the session as a cookie, and on to where the user was going.
            set_cookie(r, conf, &issued)?;
            let destination = browser::login_destination(r, redirect);
            Ok(browser::see_other(r, &destination))
        }
        _ => send_token(r, conf, &issued),
    }
}

/// Where a browser whose login the application refused goes (`jwt_login_redirect ...
/// failure=`), if anywhere.
fn browser_failure(r: &Request) -> Option<String> {
    let redirect = loc_conf(r)?.login_redirect()?;
    if !browser::is_browser(r) {
        return None;
    }
    browser::login_failure_destination(r, redirect)
}

fn set_cookie(r: &mut Request, conf: &JwtLocConf, issued: &IssuedToken) -> Result<(), String> {
    if let Some(cookie) = conf.login_cookie() {
        let value = cookie.set_cookie_value(&issued.token, issued.expires_in);
        push_header_out(r.as_mut(), b"Set-Cookie", value.as_bytes())
            .map_err(|_| "out of memory")?;
    }
    Ok(())
}

/// The answer of a login (and of `jwt_refresh`): the token as JSON, and as a cookie when
/// `jwt_login_cookie` is set; never cached.
pub fn send_token(
    r: &mut Request,
    conf: &JwtLocConf,
    issued: &IssuedToken,
) -> Result<ngx_int_t, String> {
    let answer = token_response(issued);
    set_cookie(r, conf, issued)?;
    push_header_out(r.as_mut(), b"Cache-Control", b"no-store").map_err(|_| "out of memory")?;
    Ok(send_body(
        r,
        NGX_HTTP_OK as ngx_uint_t,
        b"application/json",
        answer.as_bytes(),
    ))
}

/// `{"token":...,"token_type":"Bearer","expires_in":N}`, `token` first as in the Lua recipe.
/// A compact JWS is base64url and dots only, so it needs no JSON escaping.
fn token_response(issued: &IssuedToken) -> String {
    format!(
        "{{\"token\":\"{}\",\"token_type\":\"Bearer\",\"expires_in\":{}}}",
        issued.token, issued.expires_in
    )
}

/// Any answer but 200: the client gets the authenticator's status, body and content type.
fn pass_through(r: &mut Request, state: &LoginState) -> ngx_int_t {
    if state.status < 200 {
        // No usable status at all (the subrequest failed before answering).
        return NGX_HTTP_BAD_GATEWAY as ngx_int_t;
    }
    for (name, value) in &state.headers {
        if let Err(status) = push_header_out(r.as_mut(), name, value) {
            return status.into();
        }
    }
    if state.body.is_empty() {
        // Let nginx produce its standard page for this status.
        return state.status as ngx_int_t;
    }
    send_body(r, state.status, &state.content_type, &state.body)
}
