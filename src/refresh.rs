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
    ngx_conf_t, ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR,
    NGX_HTTP_NOT_ALLOWED, NGX_LOG_ERR, NGX_LOG_INFO,
};
use ngx::http::{HttpModuleLocationConf, Method, NgxHttpCoreModule, Request};

use crate::access::{challenge_for, deny, log_rejection};
use crate::conf::parse::once;
use crate::conf::{loc_conf, JwtLocConf, Setting, Settings};
use crate::login::send_token;
use crate::metrics::{count, Counter};
use crate::response_headers::push_header_out;
use crate::revocation;
use crate::token_source::find_token;
use crate::verification::now;

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
        return match push_header_out(r.as_mut(), b"Allow", b"POST") {
            Ok(_) => NGX_HTTP_NOT_ALLOWED as ngx_int_t,
            Err(status) => status.into(),
        };
    }
    let Some(conf) = loc_conf(r) else {
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    };
    match renew(r, conf) {
        Ok(rc) => {
            count(r, Counter::RefreshIssued);
            rc
        }
        Err(error) => {
            count(r, Counter::RefreshRefused);
            log_rejection(r.log(), &error);
            deny(r, 401, challenge_for(conf, &error)).into()
        }
    }
}

/// Verifies the presented token (with the clock moved back by the grace, so that a token
/// expired less than that ago still passes), then signs its claims again.
fn renew(r: &mut Request, conf: &'static JwtLocConf) -> Result<ngx_int_t, VerifyError> {
    let (Some(verifier), Some(signer), Some(issue_policy)) =
        (&conf.verifier, &conf.signer, &conf.issue_policy)
    else {
        return Ok(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t);
    };
    let policy = RenewPolicy {
        max_age: conf.refresh_max_age(),
        grace: conf.refresh_grace(),
    };
    let now = now();
    let token = find_token(r, conf.token_source()).ok_or(VerifyError::Missing)?;
    let verified = verifier.verify(token, now.saturating_sub(policy.grace))?;
    revocation::check(r, conf, &verified)?;
    let claims = match renewal_claims(&verified, &policy, now) {
        Ok(claims) => claims,
        Err(e) => {
            ngx::ngx_log_error!(NGX_LOG_INFO, r.log(), "jwt_refresh: {e}; no token issued");
            return Ok(deny(r, 401, &conf.challenge.invalid_token).into());
        }
    };
    let issued = match signer.issue(&claims, issue_policy, now) {
        Ok(issued) => issued,
        Err(e) => {
            ngx::ngx_log_error!(NGX_LOG_ERR, r.log(), "jwt_refresh: {e}; no token issued");
            return Ok(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t);
        }
    };
    Ok(send_token(r, conf, &issued).unwrap_or_else(|reason| {
        ngx::ngx_log_error!(NGX_LOG_ERR, r.log(), "jwt_refresh: {reason}");
        NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t
    }))
}
