//! `jwt_verify`: the access-phase handler.
//!
//! It answers like nginx's own access modules do, so `satisfy any|all`, `allow`/`deny` and
//! `auth_basic` combine with it: `NGX_OK` lets the request through, `NGX_DECLINED` means "not
//! my business", 401/403 deny (nginx's access checker then applies `satisfy`).

use std::sync::Arc;

use jwt_core::require::satisfies;
use jwt_core::VerifyError;
use ngx::core::Status;
use ngx::ffi::{ngx_http_get_flushed_variable, ngx_http_request_t, ngx_int_t, NGX_LOG_INFO};
use ngx::http::Request;

use crate::browser;
use crate::conf::{loc_conf, JwtLocConf, RequireRule};
use crate::key_request::{self, KeyStep};
use crate::metrics::{count, Counter};
use crate::response_headers::push_header_out;
use crate::variables::module_variable_indexes;
use crate::verification::{
    current_key, forget_failure, forget_key_failure, outcome, read_under_other_key,
};

pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls phase handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    check_access(request).into()
}

fn check_access(r: &mut Request) -> Status {
    // nginx itself skips the access phase for subrequests; kept for clarity.
    if !r.is_main() {
        return Status::NGX_DECLINED;
    }
    let Some(conf) = loc_conf(r) else {
        return Status::NGX_DECLINED;
    };
    if !conf.verify_enabled() && !conf.checks_tokens_itself() {
        return Status::NGX_DECLINED;
    }
    if let Some(source) = conf.key_source.as_deref() {
        // Also for jwt_refresh and jwt_logout: they verify in the content phase, where no
        // fetch can be waited for.
        if let KeyStep::Return(status) = key_request::prepare(r, source) {
            return status;
        }
        forget_key_failure(r);
    }
    if !conf.verify_enabled() {
        return Status::NGX_DECLINED;
    }
    let log = r.log();
    let unknown_kid = matches!(outcome(r), Some(Err(e)) if e.is_unknown_kid());
    if let (true, Some(source)) = (unknown_kid, conf.key_source.as_deref()) {
        // The provider may have rotated: fetch again (rate-limited), then verify again.
        if let KeyStep::Return(status) = key_request::refetch_for_unknown_kid(r, source) {
            forget_failure(r);
            return status;
        }
    }
    let token = match outcome(r) {
        Some(Ok(token)) => Arc::clone(token),
        Some(Err(error)) => {
            log_rejection(log, error);
            let challenge = challenge_for(conf, error);
            let counter = Counter::rejected(error.code());
            count(r, counter);
            if let Some(status) = browser::login_page_redirect(r, conf) {
                return status;
            }
            return deny(r, conf.failure_status(), challenge);
        }
        // Merge guarantees a verifier wherever jwt_verify is on; fail closed regardless.
        None => return Status(ngx::ffi::NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t),
    };
    count(r, Counter::VerifyOk);
    for rule in conf.require_rules() {
        if let Err(unmet) = check_rule(r, rule) {
            ngx::ngx_log_error!(NGX_LOG_INFO, log, "jwt: \"jwt_require\" failed: {unmet}");
            count(r, Counter::DeniedRequire);
            return deny(r, rule.status, &conf.challenge.insufficient_scope);
        }
    }
    for rule in conf.claim_rules() {
        if let Err(unmet) = rule.check(token.claims()) {
            ngx::ngx_log_error!(
                NGX_LOG_INFO,
                log,
                "jwt: \"jwt_require_claim {rule}\" failed: {unmet}"
            );
            count(r, Counter::DeniedRequireClaim);
            return deny(r, rule.status(), &conf.challenge.insufficient_scope);
        }
    }
    Status::NGX_OK
}

/// Checks one `jwt_require`: every variable must be met (see [`satisfies`]). Values are read
/// fresh for this location: the module's own variables are never served from nginx's cache,
/// and another variable (a `set` or `map` of a claim) is only trusted when no `$jwt_*`
/// variable was read in this request under another key ring or token source, since its
/// cached value could then hold a claim of a token this location did not verify.
fn check_rule(r: &mut Request, rule: &RequireRule) -> Result<(), String> {
    let module_variables = module_variable_indexes(r);
    let foreign_read = match current_key(r) {
        Some(key) => read_under_other_key(r, key),
        None => true,
    };
    let raw: *mut ngx_http_request_t = r.into();
    for (name, index) in &rule.variables {
        if foreign_read && !module_variables.contains(index) {
            return Err(format!(
                "${name} may hold a claim of a token this location did not verify ($jwt_ \
                 variables were read at another level or location of this request); require \
                 the $jwt_ variables themselves, or read claims only where they are verified"
            ));
        }
        // SAFETY: the index was obtained from ngx_http_get_variable_index at configuration time;
        // nginx re-evaluates a non-cacheable value (such as the module's) before returning it.
        let value = unsafe { ngx_http_get_flushed_variable(raw, *index).as_ref() };
        let met = match value {
            Some(v) if v.not_found() == 0 && !v.data.is_null() => {
                // SAFETY: a found variable value points at `len` readable bytes.
                satisfies(unsafe { std::slice::from_raw_parts(v.data, v.len() as usize) })
            }
            _ => false,
        };
        if !met {
            return Err(format!("${name} is empty, 0, false, null, [] or {{}}"));
        }
    }
    Ok(())
}

pub fn log_rejection(log: *mut ngx::ffi::ngx_log_t, error: &VerifyError) {
    ngx::ngx_log_error!(
        NGX_LOG_INFO,
        log,
        "jwt: token rejected ({}): {}",
        error.code(),
        error
    );
}

/// RFC 6750 §3: no error code when the request carried no token at all.
pub fn challenge_for(conf: &'static JwtLocConf, error: &VerifyError) -> &'static str {
    if matches!(error, VerifyError::Missing) {
        &conf.challenge.no_token
    } else {
        &conf.challenge.invalid_token
    }
}

/// Answers `status` with the `WWW-Authenticate` challenge.
pub fn deny(r: &mut Request, status: u16, challenge: &str) -> Status {
    let raw: &mut ngx_http_request_t = r.as_mut();
    match push_header_out(raw, b"WWW-Authenticate", challenge.as_bytes()) {
        // Registering it as *the* www_authenticate header lets `satisfy any` clear it when
        // another access module grants access.
        Ok(header) => raw.headers_out.www_authenticate = header,
        Err(status) => return status,
    }
    Status(status as ngx_int_t)
}
