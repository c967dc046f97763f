//! Memory handed to nginx at request time: strings copied into the request pool (variable
//! values, header values) and response headers.

use ngx::core::Status;
use ngx::ffi::{ngx_http_request_t, ngx_list_push, ngx_pool_t, ngx_str_t, ngx_table_elt_t};

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
