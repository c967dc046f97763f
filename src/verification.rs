//! The per-request verification result: the token is found and verified at most once per
//! request, by whichever asks first (the access handler or a `$jwt_*` variable), and the result
//! is kept in the request's module context.

use std::sync::Arc;

use jwt_core::{VerifiedToken, Verifier, VerifyError};
use ngx::ffi::{ngx_http_complex_value, ngx_http_request_t, ngx_str_t};
use ngx::http::{HttpModule, Request};

use crate::conf::{loc_conf, TokenSource};
use crate::glue::now;
use crate::Module;

pub type Outcome = Result<Arc<VerifiedToken>, VerifyError>;

/// The verifier (key ring + policy) and token source a result was computed with.
#[derive(Clone, Copy, PartialEq, Eq)]
struct OutcomeKey {
    verifier: *const Verifier,
    source: TokenSource,
}

/// Module context of a request. Allocated from the request pool with a cleanup that drops it,
/// so the verified token (and every variable value borrowed from it) lives as long as the
/// request.
#[derive(Default)]
pub struct RequestCtx {
    /// The result and what produced it: a request can move between locations (`rewrite ...
    /// last`), and a result is only reused where the same verifier reads the same token.
    outcome: Option<(OutcomeKey, Outcome)>,
    /// State of a `jwt_login` exchange (unused elsewhere).
    pub login: crate::login::LoginState,
}

/// This request's module context, created on first use. `None` only when the pool is exhausted.
pub fn request_ctx(r: &mut Request) -> Option<&mut RequestCtx> {
    let existing = r
        .get_module_ctx::<RequestCtx>(Module::module())
        .map(|c| c as *const RequestCtx);
    let ctx = match existing {
        Some(ctx) => ctx as *mut RequestCtx,
        None => {
            let ctx = r.pool().allocate(RequestCtx::default());
            if ctx.is_null() {
                return None;
            }
            r.set_module_ctx(ctx.cast(), Module::module());
            ctx
        }
    };
    // SAFETY: the context lives in the request pool, which outlives this borrow of `r`; nginx
    // is single-threaded and no other reference to it is alive across this call.
    Some(unsafe { &mut *ctx })
}

/// The verification result for this request, computed on first use.
///
/// `None` when the location has no key ring (nothing to verify with).
pub fn outcome(r: &mut Request) -> Option<&Outcome> {
    let conf = loc_conf(r)?;
    let verifier = conf.verifier.as_ref()?;
    let key = OutcomeKey {
        verifier: Arc::as_ptr(verifier),
        source: conf.token_source(),
    };
    let fresh = match &request_ctx(r)?.outcome {
        Some((computed_with, _)) if *computed_with == key => None,
        _ => Some(match find_token(r, key.source) {
            Some(token) => verifier.verify(token, now()),
            None => Err(VerifyError::Missing),
        }),
    };
    let ctx = request_ctx(r)?;
    if let Some(outcome) = fresh {
        ctx.outcome = Some((key, outcome));
    }
    ctx.outcome.as_ref().map(|(_, outcome)| outcome)
}

/// The token as presented, or `None` when the request carries none.
fn find_token(r: &mut Request, source: TokenSource) -> Option<&'static [u8]> {
    let raw: *mut ngx_http_request_t = r.into();
    match source {
        TokenSource::BearerHeader => {
            // SAFETY: r is a live request; headers_in.authorization is NULL or a parsed header.
            let header = unsafe { (*raw).headers_in.authorization.as_ref() }?;
            // SAFETY: header values live in the request pool for the whole request.
            let value = unsafe { header_bytes(&header.value) };
            bearer_token(value)
        }
        TokenSource::Value(cv) => {
            let mut value = ngx_str_t::empty();
            // SAFETY: cv was compiled at configuration time; the value is allocated from (or
            // points into memory owned by) the request.
            if unsafe { ngx_http_complex_value(raw, cv, &mut value) } != 0 {
                return None;
            }
            // SAFETY: as above, valid for the request's lifetime.
            let token = unsafe { header_bytes(&value) };
            (!token.is_empty()).then_some(token)
        }
    }
}

/// # Safety
/// `s` must point to memory that outlives the request.
unsafe fn header_bytes(s: &ngx_str_t) -> &'static [u8] {
    if s.len == 0 || s.data.is_null() {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}

/// `Bearer <token>` with a case-insensitive scheme (RFC 6750 §2.1, RFC 7235 §2.1).
/// Another scheme (say `Basic`) means no bearer token was presented.
pub fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    if value.len() <= SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &value[SCHEME.len()..];
    if rest[0] != b' ' && rest[0] != b'\t' {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}
