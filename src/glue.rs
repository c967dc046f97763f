//! Small helpers shared by the directive setters and the handlers: directive arguments,
//! configuration-file positions, pool strings and response headers.

use std::fmt;

use ngx::core::Status;
use ngx::ffi::{
    ngx_conf_t, ngx_http_request_t, ngx_list_push, ngx_pool_t, ngx_str_t, ngx_table_elt_t,
    NGX_LOG_EMERG,
};

/// Where a directive was written, so errors found later (at merge time) can still name it.
#[derive(Clone, Debug, Default)]
pub struct ConfSite {
    file: String,
    line: usize,
}

impl ConfSite {
    /// The position of the directive nginx is parsing right now.
    pub fn current(cf: &ngx_conf_t) -> ConfSite {
        if cf.conf_file.is_null() {
            return ConfSite::default();
        }
        // SAFETY: while a directive is parsed, conf_file points at the file being read.
        let file = unsafe { &*cf.conf_file };
        ConfSite {
            file: String::from_utf8_lossy(file.file.name.as_bytes()).into_owned(),
            line: file.line,
        }
    }
}

impl fmt::Display for ConfSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The arguments of the directive being parsed; `[0]` is the directive name.
pub fn args(cf: &ngx_conf_t) -> &[ngx_str_t] {
    // SAFETY: during a directive's set handler, cf.args is an array of ngx_str_t.
    unsafe { (*cf.args).as_slice() }
}

/// Lossy text of an nginx string, for messages and parsing of ASCII arguments.
pub fn text(s: &ngx_str_t) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

/// Logs a configuration error that belongs to a directive read earlier (nginx's own
/// `ngx_conf_log_error` would name the current line instead).
pub fn conf_error_at(cf: &ngx_conf_t, site: &ConfSite, message: impl fmt::Display) {
    ngx::ngx_log_error!(NGX_LOG_EMERG, cf.log, "{message} in {site}");
}

/// Copies bytes into the request pool; `None` when the pool is exhausted.
pub fn pool_bytes(pool: *mut ngx_pool_t, bytes: &[u8]) -> Option<ngx_str_t> {
    if bytes.is_empty() {
        return Some(ngx_str_t::empty());
    }
    // SAFETY: pool is a live nginx pool; from_bytes copies `bytes` into it.
    unsafe { ngx_str_t::from_bytes(pool, bytes) }
}

/// Adds an output header to the request (`r->headers_out.headers`).
///
/// Returns the element so callers can also point `headers_out` shortcuts at it.
pub fn push_header_out(
    r: &mut ngx_http_request_t,
    name: &'static [u8],
    value: &[u8],
) -> Result<*mut ngx_table_elt_t, Status> {
    let value = pool_bytes(r.pool, value).ok_or(Status::NGX_ERROR)?;
    // SAFETY: headers_out.headers is an initialised ngx_list_t of ngx_table_elt_t.
    let h = unsafe { ngx_list_push(&mut r.headers_out.headers) } as *mut ngx_table_elt_t;
    if h.is_null() {
        return Err(Status::NGX_ERROR);
    }
    // SAFETY: h points to a freshly pushed, writable list element.
    unsafe {
        (*h).hash = 1;
        // nginx never writes through a header's key, so a static name needs no pool copy.
        (*h).key = ngx_str_t {
            len: name.len(),
            data: name.as_ptr() as *mut u8,
        };
        (*h).value = value;
        (*h).lowcase_key = std::ptr::null_mut();
    }
    // Since 1.23.0, headers of the same name are chained through `next`.
    #[cfg(nginx1_23_0)]
    // SAFETY: as above.
    unsafe {
        (*h).next = std::ptr::null_mut()
    };
    Ok(h)
}

/// Current time in unix seconds (nginx's cached clock: no syscall per request).
pub fn now() -> u64 {
    u64::try_from(ngx::ffi::ngx_time()).unwrap_or(0)
}
