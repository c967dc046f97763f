//! `jwt_jwks`: the content handler that publishes the location's public keys as a JWKS
//! (RFC 7517), so that applications and other gateways can verify `jwt_login` tokens.
//!
//! The document is built once at configuration time (see `JwtLocConf::prepare_jwks`); HMAC
//! secrets never appear in it.

use jwt_core::defaults;
use ngx::core::Status;
use ngx::ffi::{ngx_conf_t, ngx_http_request_t, ngx_int_t, NGX_HTTP_OK};
use ngx::http::{HttpModuleLocationConf, Method, NgxHttpCoreModule, Request};

use crate::conf::parse::{args, once, text};
use crate::conf::{loc_conf, JwksPublication, Setting, Settings};
use crate::response_headers::{not_allowed, push_header_out, send_body};

/// The largest `max-age` caches must honour (RFC 9111 §1.2.2: 2^31 seconds).
const MAX_AGE_LIMIT: u64 = 1 << 31;

/// `jwt_jwks [max_age=time]` (location).
pub fn jwt_jwks(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.jwks)?;
    let mut publication = JwksPublication {
        max_age: defaults::JWKS_MAX_AGE,
    };
    if let Some(raw) = args(cf).get(1).map(text) {
        let value = raw.strip_prefix("max_age=").ok_or_else(|| {
            format!(
                "invalid parameter \"{raw}\" in \"jwt_jwks\": the only parameter is \
                 max_age=TIME (default 5m)"
            )
        })?;
        publication.max_age = crate::conf::directives::time_value(value)
            .filter(|seconds| *seconds <= MAX_AGE_LIMIT)
            .ok_or_else(|| {
                format!(
                    "invalid time \"{value}\" in \"jwt_jwks\": from 0 to 68y (RFC 9111's \
                     2147483648 seconds; examples: 5m, 1h)"
                )
            })?;
    }
    let clcf =
        NgxHttpCoreModule::location_conf_mut(&*cf).ok_or("no http core location configuration")?;
    clcf.handler = Some(jwks_handler);
    s.jwks = Some(Setting::here(cf, publication));
    Ok(())
}

unsafe extern "C" fn jwks_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a live request.
    let request = unsafe { Request::from_ngx_http_request(r) };
    publish(request)
}

fn publish(r: &mut Request) -> ngx_int_t {
    let rc = r.discard_request_body();
    if rc != Status::NGX_OK {
        return rc.into();
    }
    if !matches!(r.method(), Method::GET | Method::HEAD) {
        return not_allowed(r, b"GET, HEAD");
    }
    let Some(conf) = loc_conf(r) else {
        return Status::NGX_ERROR.into();
    };
    let (Some(document), Some(publication)) = (&conf.jwks_document, &conf.settings.jwks) else {
        return Status::NGX_ERROR.into();
    };
    let cache_control = format!("public, max-age={}", publication.value.max_age);
    if let Err(status) = push_header_out(r.as_mut(), b"Cache-Control", cache_control.as_bytes()) {
        return status.into();
    }
    send_body(
        r,
        NGX_HTTP_OK as _,
        b"application/jwk-set+json",
        document.as_bytes(),
    )
}
