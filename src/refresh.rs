//! `jwt_refresh`: the content handler that trades a valid token for a fresh one (new `iat`,
//! `exp`, `jti`; the same other claims), answered like `jwt_login`.
//!
//! Bounded twice: `jwt_refresh_max_age` caps how long after the original login a token can
//! still be refreshed (the original time travels in `auth_time`, see
//! [`jwt_core::renewal`]), and a token expired more than `jwt_refresh_grace` ago (default: any
//! expired token) is refused. A revoked token is refused like everywhere else.

use jwt_core::renewal::{renewal_claims, RenewPolicy};
use jwt_core::VerifyError;
use ngx::core::Status;
use ngx::ffi::{
    ngx_conf_t, ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_LOG_ERR,
    NGX_LOG_INFO,
};
use ngx::http::{HttpModuleLocationConf, Method, NgxHttpCoreModule, Request};

use std::sync::Arc;

use crate::access::{challenge_for, deny, log_rejection};
use crate::browser;
use crate::conf::parse::once;
use crate::conf::{loc_conf, JwtLocConf, Setting, Settings};
use crate::login::send_token;
use crate::metrics::{count, Counter};
use crate::response_headers::not_allowed;
use crate::revocation;
use crate::token_source::find_token;
use crate::verification::{now, record_outcome};

/// `jwt_refresh` (location).
pub fn jwt_refresh(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.refresh)?;
    let clcf =
        NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("no http core location configuration")?;
    clcf.handler = Some(refresh_handler);
    s.refresh = Some(Setting::here(cf, ()));
    Ok(())
}

unsafe extern "C" fn refresh_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    refresh(request)
}

fn refresh(r: &mut Request) -> ngx_int_t {
    let rc = r.discard_request_body();
    if rc != Status::NGX_OK {
        return rc.into();
    }
    if r.method() != Method::POST {
        return not_allowed(r, b"POST");
    }
    let Some(conf) = loc_conf(r) else {
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    };
    if let Err(status) = browser::check_same_origin(r, conf, "jwt_refresh") {
        count(r, Counter::RefreshRefused);
        return status;
    }
    match renew(r, conf) {
        Renewal::Issued(rc) => {
            count(r, Counter::RefreshIssued);
            rc
        }
        Renewal::Refused(challenge) => {
            count(r, Counter::RefreshRefused);
            deny(r, 401, challenge).into()
        }
        Renewal::Failed(rc) => {
            count(r, Counter::RefreshRefused);
            rc
        }
    }
}

enum Renewal {
    /// A new token was sent (the handler's result code).
    Issued(ngx_int_t),
    /// The presented token cannot be renewed (logged): 401 with this challenge.
    Refused(&'static str),
    /// Answered otherwise (an error status, logged).
    Failed(ngx_int_t),
}

/// Verifies the presented token (with the clock moved back by the grace, so that a token
/// expired less than that ago still passes), then signs its claims again.
fn renew(r: &mut Request, conf: &'static JwtLocConf) -> Renewal {
    const FAILED: Renewal = Renewal::Failed(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t);
    let (Some(verifier), Some(signer), Some(issue_policy)) =
        (&conf.verifier, &conf.signer, &conf.issue_policy)
    else {
        return FAILED;
    };
    let policy = RenewPolicy {
        max_age: conf.refresh_max_age(),
        grace: conf.refresh_grace(),
    };
    let now = now();
    let log = r.log();
    let Some(token) = find_token(r, conf.token_source()) else {
        log_rejection(log, &VerifyError::Missing);
        return Renewal::Refused(&conf.challenge.no_token);
    };
    // The grace only excuses `exp`: check at the real time first, so that `nbf` is not moved.
    let outcome = match verifier.verify(token, now) {
        Err(VerifyError::Expired { .. }) if policy.grace > 0 => {
            verifier.verify(token, policy.verify_time(now))
        }
        result => result,
    }
    .and_then(|verified| revocation::check(r, conf, &verified).map(|()| verified));
    // Later reads of $jwt_* here (the access log) use this result instead of verifying again.
    let verified = match record_outcome(r, outcome) {
        Some(Ok(verified)) => Arc::clone(verified),
        Some(Err(error)) => {
            log_rejection(log, error);
            return Renewal::Refused(challenge_for(conf, error));
        }
        None => return FAILED,
    };
    let claims = match renewal_claims(&verified, &policy, now) {
        Ok(claims) => claims,
        Err(e) => {
            ngx::ngx_log_error!(NGX_LOG_INFO, r.log(), "jwt_refresh: {e}; no token issued");
            return Renewal::Failed(deny(r, 401, &conf.challenge.invalid_token).into());
        }
    };
    let issued = match signer.issue(&claims, issue_policy, now) {
        Ok(issued) => issued,
        Err(e) => {
            ngx::ngx_log_error!(NGX_LOG_ERR, r.log(), "jwt_refresh: {e}; no token issued");
            return FAILED;
        }
    };
    match send_token(r, conf, &issued) {
        Ok(rc) => Renewal::Issued(rc),
        Err(reason) => {
            ngx::ngx_log_error!(NGX_LOG_ERR, r.log(), "jwt_refresh: {reason}");
            FAILED
        }
    }
}
