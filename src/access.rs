//! `jwt_verify`: the access-phase handler.
//!
//! It answers like nginx's own access modules do, so `satisfy any|all`, `allow`/`deny` and
//! `auth_basic` combine with it: `NGX_OK` lets the request through, `NGX_DECLINED` means "not
//! my business", 401/403 deny (nginx's access checker then applies `satisfy`).

use jwt_core::VerifyError;
use ngx::core::Status;
use ngx::ffi::{
    ngx_http_get_indexed_variable, ngx_http_request_t, ngx_int_t, ngx_uint_t, NGX_LOG_INFO,
};
use ngx::http::Request;

use crate::conf::{loc_conf, JwtLocConf, RequireRule};
use crate::glue::push_header_out;
use crate::verification::outcome;

pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls phase handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    check_access(request).into()
}

fn check_access(r: &mut Request) -> Status {
    // Subrequests are not re-verified (as auth_request does): the main request was.
    if !r.is_main() {
        return Status::NGX_DECLINED;
    }
    let Some(conf) = loc_conf(r) else {
        return Status::NGX_DECLINED;
    };
    if !conf.verify_enabled() {
        return Status::NGX_DECLINED;
    }
    let log = r.log();
    let rejection = match outcome(r) {
        Some(Ok(_)) => None,
        Some(Err(error)) => {
            log_rejection(log, error);
            Some(challenge_for(conf, error))
        }
        // Merge guarantees a verifier wherever jwt_verify is on; fail closed regardless.
        None => return Status(ngx::ffi::NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t),
    };
    if let Some(challenge) = rejection {
        return deny(r, conf.failure_status(), challenge);
    }
    for rule in conf.require_rules() {
        if let Some(variable) = first_unmet(r, rule) {
            ngx::ngx_log_error!(
                NGX_LOG_INFO,
                log,
                "jwt: token accepted but \"jwt_require\" failed on ${variable}"
            );
            return deny(r, rule.status, &conf.challenge.insufficient_scope);
        }
    }
    Status::NGX_OK
}

fn log_rejection(log: *mut ngx::ffi::ngx_log_t, error: &VerifyError) {
    ngx::ngx_log_error!(
        NGX_LOG_INFO,
        log,
        "jwt: token rejected ({}): {}",
        error.code(),
        error
    );
}

/// RFC 6750 §3: no error code when the request carried no token at all.
fn challenge_for(conf: &'static JwtLocConf, error: &VerifyError) -> &'static str {
    if matches!(error, VerifyError::Missing) {
        &conf.challenge.no_token
    } else {
        &conf.challenge.invalid_token
    }
}

/// The first variable of the rule that is empty or "0".
fn first_unmet<'a>(r: &mut Request, rule: &'a RequireRule) -> Option<&'a str> {
    let raw: *mut ngx_http_request_t = r.into();
    rule.variables.iter().find_map(|(name, index)| {
        // SAFETY: the index was obtained from ngx_http_get_variable_index at configuration time.
        let value = unsafe { ngx_http_get_indexed_variable(raw, *index as ngx_uint_t).as_ref() };
        let satisfied = match value {
            Some(v) if v.not_found() == 0 && v.len() > 0 && !v.data.is_null() => {
                // SAFETY: a found variable value points at `len` readable bytes.
                let bytes = unsafe { std::slice::from_raw_parts(v.data, v.len() as usize) };
                bytes != b"0"
            }
            _ => false,
        };
        (!satisfied).then_some(name.as_str())
    })
}

fn deny(r: &mut Request, status: u16, challenge: &str) -> Status {
    let raw: &mut ngx_http_request_t = r.as_mut();
    match push_header_out(raw, b"WWW-Authenticate", challenge.as_bytes()) {
        // Registering it as *the* www_authenticate header lets `satisfy any` clear it when
        // another access module grants access.
        Ok(header) => raw.headers_out.www_authenticate = header,
        Err(status) => return status,
    }
    Status(status as ngx_int_t)
}
