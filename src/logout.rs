//! `jwt_logout`: the content handler that revokes the presented token.
//!
//! The token's `jti` goes into the shared revocation set ([`crate::shared_zone::DenySet`])
//! until the token's `exp` (plus `jwt_leeway`), so every worker refuses it from the next request
//! on (`$jwt_error` = `revoked`); nothing is written to a file on the request path. The login
//! cookie, when `jwt_login_cookie` applies, is cleared. Answers 204.
//!
//! The set holds at most `jwt_logout_capacity` live entries (default 10000); expired entries
//! are dropped first. When it is still full the logout is refused with 503 and an error line:
//! evicting a live entry would silently make a logged-out token valid again, and a client told
//! that logout failed can retry or the operator can raise the capacity, where one whose token
//! quietly came back to life cannot know.

use jwt_core::{jti_digest, VerifiedToken};
use ngx::core::Status;
use ngx::ffi::{
    ngx_conf_t, ngx_http_request_t, ngx_http_send_header, ngx_int_t, NGX_HTTP_BAD_REQUEST,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_NO_CONTENT, NGX_HTTP_SERVICE_UNAVAILABLE, NGX_LOG_ERR,
    NGX_LOG_INFO,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, Method, NgxHttpCoreModule, Request};

use crate::access::{challenge_for, deny, log_rejection};
use crate::browser;
use crate::conf::parse::once;
use crate::conf::{loc_conf, JwtLocConf, Setting, Settings};
use crate::metrics::{count, Counter};
use crate::response_headers::{not_allowed, push_header_out};
use crate::shared_zone::{RevokeResult, Zone};
use crate::verification::{now, outcome};
use crate::Module;

/// `jwt_logout` (location).
pub fn jwt_logout(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.logout)?;
    let clcf =
        NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("no http core location configuration")?;
    clcf.handler = Some(logout_handler);
    s.logout = Some(Setting::here(cf, ()));
    Ok(())
}

unsafe extern "C" fn logout_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    logout(request)
}

fn logout(r: &mut Request) -> ngx_int_t {
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
    if let Err(status) = browser::check_same_origin(r, conf, "jwt_logout") {
        count(r, Counter::LogoutRefused);
        return status;
    }
    let log = r.log();
    let token = match outcome(r) {
        Some(Ok(token)) => std::sync::Arc::clone(token),
        Some(Err(error)) => {
            log_rejection(log, error);
            let challenge = challenge_for(conf, error);
            count(r, Counter::LogoutRefused);
            if conf.logout_redirect().is_some() && browser::is_browser(r) {
                // A page left open past the token's lifetime, a second tab: the browser is
                // logged out anyway; clear what it holds and land on the page.
                return no_content(r, conf);
            }
            return deny(r, 401, challenge).into();
        }
        None => return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t,
    };
    match revoke(r, conf, &token) {
        Ok(()) => {
            count(r, Counter::LogoutRevoked);
            no_content(r, conf)
        }
        Err(status) => status,
    }
}

fn revoke(r: &mut Request, conf: &JwtLocConf, token: &VerifiedToken) -> Result<(), ngx_int_t> {
    let log = r.log();
    let refuse = |reason: &str| {
        ngx::ngx_log_error!(NGX_LOG_INFO, log, "jwt_logout: {reason}; nothing revoked");
        NGX_HTTP_BAD_REQUEST as ngx_int_t
    };
    let Some(jti) = token.claim("jti").and_then(|v| v.as_str()) else {
        count(r, Counter::LogoutRefused);
        return Err(refuse(
            "the token has no string \"jti\" to revoke it by (jwt_login always writes one)",
        ));
    };
    let Some(exp) = token.expires_at() else {
        count(r, Counter::LogoutRefused);
        return Err(refuse(
            "the token has no \"exp\", so its revocation could never end; revoke such tokens \
             with jwt_revocation_file",
        ));
    };
    let leeway = conf.verifier.as_ref().map_or(0, |v| v.policy().leeway);
    let main = Module::main_conf(r).ok_or(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t)?;
    // SAFETY: the zone was added for the configuration this request runs under.
    let zone = main
        .zone
        .and_then(|zone| unsafe { Zone::new(zone.as_ptr()) })
        .ok_or(NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t)?;
    let expires_at = exp.saturating_add(leeway).saturating_add(1);
    match zone.revoke(jti_digest(jti), expires_at, now(), main.logout_capacity()) {
        RevokeResult::Revoked => Ok(()),
        RevokeResult::Full => {
            count(r, Counter::LogoutFull);
            ngx::ngx_log_error!(
                NGX_LOG_ERR,
                log,
                "jwt_logout: the revocation set is full ({} live entries, or no memory left in \
                 the zone): raise \"jwt_logout_capacity\" and \"jwt_shared_memory\"; token not \
                 revoked",
                main.logout_capacity()
            );
            Err(NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t)
        }
    }
}

/// 204 (a browser with `jwt_logout_redirect`: 303 to that page), clearing the login cookie
/// when one is configured.
fn no_content(r: &mut Request, conf: &JwtLocConf) -> ngx_int_t {
    if let Some(cookie) = conf.login_cookie() {
        let value = cookie.clear_cookie_value();
        if let Err(status) = push_header_out(r.as_mut(), b"Set-Cookie", value.as_bytes()) {
            return status.into();
        }
    }
    if let (Some(page), true) = (conf.logout_redirect(), browser::is_browser(r)) {
        // see_other adds Cache-Control: no-store itself.
        return browser::see_other(r, page);
    }
    if let Err(status) = push_header_out(r.as_mut(), b"Cache-Control", b"no-store") {
        return status.into();
    }
    let raw: &mut ngx_http_request_t = r.as_mut();
    raw.headers_out.status = NGX_HTTP_NO_CONTENT as _;
    raw.headers_out.content_length_n = -1;
    raw.set_header_only(1);
    // SAFETY: r is live; the headers are complete.
    unsafe { ngx_http_send_header(raw) }
}
