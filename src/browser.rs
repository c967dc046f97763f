//! The browser side of the login gateway: where a browser is sent (`303 See Other`) instead of
//! getting JSON or a bare 401, and the cross-site check of the endpoints that trust a cookie.
//! The rules (what return path is safe, what a browser request is, what counts as same-origin)
//! are jwt-core's [`jwt_core::browser`]; this file reads the request and writes the answer.
//!
//! * `jwt_login_redirect uri [param=name] [failure=uri]`: a browser's login (an HTML form
//!   post) is answered with 303 to the return path it names (a query argument or form field,
//!   `return_to` by default) if that path is local, else to `uri`; a refused login goes to
//!   `failure` when set. API clients (JSON) keep the JSON answer.
//! * `jwt_login_page uri [param=name]`: a browser asking for a protected page without a valid
//!   token is sent to the login page with the page's address as the return path; API clients
//!   still get 401 and `WWW-Authenticate`.
//! * `jwt_logout_redirect uri`: a browser's logout lands on `uri` instead of a bare 204.
//! * Cross-site requests: `jwt_logout`, `jwt_refresh` and a browser login read a cookie the
//!   browser attaches by itself, so a request that `Sec-Fetch-Site` or `Origin` shows to come
//!   from another site is refused (403) before anything else.

use jwt_core::browser::{
    form_field, percent_encode_component, query_arg, safe_return_path, same_origin, wants_html,
    SameOrigin,
};
use ngx::core::Status;
use ngx::ffi::{
    ngx_chain_t, ngx_conf_t, ngx_http_core_loc_conf_t, ngx_http_request_t, ngx_int_t,
    NGX_HTTP_FORBIDDEN, NGX_HTTP_SATISFY_ALL, NGX_HTTP_SEE_OTHER, NGX_LOG_INFO,
};
use ngx::http::{list_iterator, HttpModuleLocationConf, NgxHttpCoreModule, Request};

use crate::conf::parse::{once, text, utf8_args};
use crate::conf::{JwtLocConf, Setting, Settings, TokenSource};
use crate::response_headers::push_header_out;

/// `jwt_login_redirect uri [param=name] [failure=uri]`.
#[derive(Clone, Debug)]
pub struct LoginRedirect {
    pub default: String,
    pub param: String,
    pub failure: Option<String>,
}

/// `jwt_login_page uri [param=name]`.
#[derive(Clone, Debug)]
pub struct LoginPage {
    pub uri: String,
    pub param: String,
}

const DEFAULT_PARAM: &str = "return_to";

pub fn jwt_login_redirect(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.login_redirect)?;
    let args = utf8_args(cf)?;
    let default = local_target(&args[0])?;
    let mut redirect = LoginRedirect {
        default,
        param: DEFAULT_PARAM.into(),
        failure: None,
    };
    for arg in &args[1..] {
        if let Some(param) = arg.strip_prefix("param=") {
            redirect.param = parameter_name(param)?;
        } else if let Some(failure) = arg.strip_prefix("failure=") {
            redirect.failure = Some(local_target(failure)?);
        } else {
            return Err(format!(
                "invalid parameter \"{arg}\" in \"jwt_login_redirect\": use param=NAME (the \
                 return path's field, default return_to) or failure=URI"
            ));
        }
    }
    s.login_redirect = Some(Setting::here(cf, redirect));
    Ok(())
}

pub fn jwt_login_page(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.login_page)?;
    let args = utf8_args(cf)?;
    let mut page = LoginPage {
        uri: local_target(&args[0])?,
        param: DEFAULT_PARAM.into(),
    };
    for arg in &args[1..] {
        match arg.strip_prefix("param=") {
            Some(param) => page.param = parameter_name(param)?,
            None => {
                return Err(format!(
                    "invalid parameter \"{arg}\" in \"jwt_login_page\": the only parameter is \
                     param=NAME (default return_to)"
                ))
            }
        }
    }
    s.login_page = Some(Setting::here(cf, page));
    Ok(())
}

pub fn jwt_logout_redirect(cf: &mut ngx_conf_t, s: &mut Settings) -> Result<(), String> {
    once(cf, &s.logout_redirect)?;
    let uri = local_target(&utf8_args(cf)?[0])?;
    s.logout_redirect = Some(Setting::here(cf, uri));
    Ok(())
}

/// Configured redirect targets are local paths too: the checks that protect users from a
/// crafted link protect them from a typo here.
fn local_target(uri: &str) -> Result<String, String> {
    safe_return_path(uri).map(str::to_owned).ok_or_else(|| {
        format!("\"{uri}\" is not a local path such as /login or /app/ (no scheme, host or \"//\")")
    })
}

fn parameter_name(name: &str) -> Result<String, String> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "invalid name \"{name}\": letters, digits, \"_\" and \"-\" only"
        ));
    }
    Ok(name.to_owned())
}

/// The value of request header `name` (case-insensitive), the first one, as bytes.
fn header_bytes<'r>(r: &'r Request, name: &str) -> Option<&'r [u8]> {
    let raw: &ngx_http_request_t = r.as_ref();
    // SAFETY: headers_in.headers is the request's initialised list of input headers, which
    // lives as long as the request.
    unsafe { list_iterator(&raw.headers_in.headers) }
        .find(|(key, _)| key.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, value)| value.as_bytes())
}

/// Request header `name` as text; `None` also when it is not UTF-8.
pub fn header_in<'r>(r: &'r Request, name: &str) -> Option<&'r str> {
    std::str::from_utf8(header_bytes(r, name)?).ok()
}

/// Like [`header_in`], with bytes that are not UTF-8 replaced rather than the header dropped.
fn header_in_lossy(r: &Request, name: &str) -> Option<String> {
    header_bytes(r, name).map(|value| String::from_utf8_lossy(value).into_owned())
}

/// A browser navigation or form post rather than an API call: the `Accept` header prefers
/// HTML, or the body is an HTML form's.
pub fn is_browser(r: &Request) -> bool {
    wants_html(header_in(r, "Accept"))
        || header_in(r, "Content-Type").is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Refuses (403) a request that comes from another site, for handlers that trust a cookie. A
/// request without `Sec-Fetch-Site` and `Origin` (not a browser, or an old one) passes: the
/// login cookie's `SameSite=Lax` keeps it off cross-site POSTs in current browsers.
pub fn check_same_origin(r: &mut Request, conf: &JwtLocConf, what: &str) -> Result<(), ngx_int_t> {
    if conf.token_source() == TokenSource::BearerHeader && what != "jwt_login" {
        // A header token is never attached by the browser on its own: nothing to forge.
        return Ok(());
    }
    // Lossy: a value that is not UTF-8 must be refused as unknown, not ignored as absent.
    let sec_fetch_site = header_in_lossy(r, "Sec-Fetch-Site");
    let origin = header_in_lossy(r, "Origin");
    let verdict = same_origin(
        sec_fetch_site.as_deref(),
        origin.as_deref(),
        header_in(r, "Host"),
    );
    match verdict {
        SameOrigin::Yes | SameOrigin::Unknown => Ok(()),
        SameOrigin::No(reason) => {
            ngx::ngx_log_error!(
                NGX_LOG_INFO,
                r.log(),
                "{what}: cross-site request refused: {reason}"
            );
            Err(NGX_HTTP_FORBIDDEN as ngx_int_t)
        }
    }
}

/// Where a successful browser login goes: the request's return path if it is local, else the
/// configured default.
pub fn login_destination(r: &Request, redirect: &LoginRedirect) -> String {
    return_path(r, &redirect.param).unwrap_or_else(|| redirect.default.clone())
}

/// Where a refused browser login goes, keeping the return path for the next attempt.
pub fn login_failure_destination(r: &Request, redirect: &LoginRedirect) -> Option<String> {
    let failure = redirect.failure.as_ref()?;
    Some(match return_path(r, &redirect.param) {
        Some(back) => with_arg(failure, &redirect.param, &back),
        None => failure.clone(),
    })
}

/// The request's return path: a query argument, else a field of an in-memory form body.
fn return_path(r: &Request, param: &str) -> Option<String> {
    let raw: &ngx_http_request_t = r.as_ref();
    let args = String::from_utf8_lossy(raw.args.as_bytes());
    let value = query_arg(&args, param).or_else(|| form_field(&request_body(r)?, param))?;
    safe_return_path(&value).map(str::to_owned)
}

/// The client body when nginx kept it in memory (a login form is small), at most 64k.
fn request_body(r: &Request) -> Option<Vec<u8>> {
    let raw: &ngx_http_request_t = r.as_ref();
    // SAFETY: NULL or the request body nginx read for jwt_login.
    let body = unsafe { raw.request_body.as_ref() }?;
    let mut bytes = Vec::new();
    let mut link: *mut ngx_chain_t = body.bufs;
    // SAFETY: bufs is a NULL-terminated chain of the request's buffers.
    while let Some(chain) = unsafe { link.as_ref() } {
        // SAFETY: every link has a buffer.
        let buf = unsafe { chain.buf.as_ref() }?;
        if buf.in_file() != 0 {
            return None;
        }
        if buf.pos.is_null() || buf.last <= buf.pos {
            // An empty buffer (the chunked-body filter ends the chain with one).
            link = chain.next;
            continue;
        }
        // SAFETY: pos..last is the buffer's readable memory.
        let part =
            unsafe { std::slice::from_raw_parts(buf.pos, buf.last.offset_from(buf.pos) as usize) };
        bytes.extend_from_slice(part);
        if bytes.len() > jwt_core::browser::MAX_FORM_LEN {
            return None;
        }
        link = chain.next;
    }
    Some(bytes)
}

/// `uri` with `name=value` appended to its query string.
fn with_arg(uri: &str, name: &str, value: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{name}={}", percent_encode_component(value))
}

/// Answers `303 See Other` to `location` (a local path).
pub fn see_other(r: &mut Request, location: &str) -> ngx_int_t {
    let raw: &mut ngx_http_request_t = r.as_mut();
    match push_header_out(raw, b"Location", location.as_bytes()) {
        Ok(header) => raw.headers_out.location = header,
        Err(status) => return status.into(),
    }
    if let Err(status) = push_header_out(r.as_mut(), b"Cache-Control", b"no-store") {
        return status.into();
    }
    NGX_HTTP_SEE_OTHER as ngx_int_t
}

/// `jwt_login_page`: a browser asking for a protected page without a valid token is sent to
/// the login page; `None` when the request is not a browser's page view (or `satisfy any`
/// lets another access module decide).
pub fn login_page_redirect(r: &mut Request, conf: &JwtLocConf) -> Option<Status> {
    let page = conf.login_page()?;
    let raw: &ngx_http_request_t = r.as_ref();
    let method = raw.method as u32;
    if method & (ngx::ffi::NGX_HTTP_GET | ngx::ffi::NGX_HTTP_HEAD) == 0 || !is_browser(r) {
        return None;
    }
    let clcf: &ngx_http_core_loc_conf_t = NgxHttpCoreModule::location_conf(r)?;
    if clcf.satisfy != NGX_HTTP_SATISFY_ALL as usize {
        return None;
    }
    let here = text(&raw.unparsed_uri);
    let location = match safe_return_path(&here) {
        Some(back) => with_arg(&page.uri, &page.param, back),
        None => page.uri.clone(),
    };
    Some(Status(see_other(r, &location)))
}
