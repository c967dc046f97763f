//! Memory handed to nginx at request time: strings copied into the request pool (variable
//! values, header values), response headers, and whole responses.

use std::ptr;

use ngx::core::Status;
use ngx::ffi::{
    ngx_chain_t, ngx_create_temp_buf, ngx_http_request_t, ngx_int_t, ngx_list_push, ngx_pool_t,
    ngx_str_t, ngx_table_elt_t, ngx_uint_t, NGX_ERROR, NGX_OK,
};
use ngx::http::Request;

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

/// 405 with `Allow: allow`, for a content handler asked with another method (the caller has
/// discarded the body).
pub fn not_allowed(r: &mut Request, allow: &[u8]) -> ngx_int_t {
    match push_header_out(r.as_mut(), b"Allow", allow) {
        Ok(_) => ngx::ffi::NGX_HTTP_NOT_ALLOWED as ngx_int_t,
        Err(status) => status.into(),
    }
}

/// Answers `r` with `status`, `content_type` and `body` (copied into the request pool).
pub fn send_body(
    r: &mut Request,
    status: ngx_uint_t,
    content_type: &[u8],
    body: &[u8],
) -> ngx_int_t {
    let pool = r.pool().as_ptr();
    let raw: &mut ngx_http_request_t = r.as_mut();
    raw.headers_out.status = status;
    raw.headers_out.content_length_n = body.len() as i64;
    if !content_type.is_empty() {
        let Some(ct) = pool_bytes(pool, content_type) else {
            return NGX_ERROR as ngx_int_t;
        };
        raw.headers_out.content_type = ct;
        raw.headers_out.content_type_len = ct.len;
    }
    let rc = r.send_header();
    if rc == Status::NGX_ERROR || rc.0 > NGX_OK as ngx_int_t || r.header_only() {
        return rc.into();
    }
    // SAFETY: the buffer comes from the request pool and is filled before use.
    let buf = unsafe { ngx_create_temp_buf(pool, body.len().max(1)) };
    if buf.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: buf has room for body.len() bytes.
    unsafe {
        ptr::copy_nonoverlapping(body.as_ptr(), (*buf).last, body.len());
        (*buf).last = (*buf).last.add(body.len());
        (*buf).set_last_buf(1);
        (*buf).set_last_in_chain(1);
    }
    let mut out = ngx_chain_t {
        buf,
        next: ptr::null_mut(),
    };
    // The chain and buffer stay alive until the filter returns.
    r.output_filter(&mut out).into()
}
