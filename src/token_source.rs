//! Where a request's token comes from: `Authorization: Bearer` (the default) or the value of
//! `jwt_token`.

use jwt_core::bearer_token;
use ngx::ffi::{ngx_http_request_t, ngx_str_t};
use ngx::http::Request;

use crate::conf::TokenSource;

/// The token as presented, or `None` when the request carries none. The bytes live in the
/// request's memory (its headers or its pool) and are borrowed for as long as `r` is.
pub fn find_token(r: &Request, source: TokenSource) -> Option<&[u8]> {
    let raw: &ngx_http_request_t = r.as_ref();
    match source {
        TokenSource::BearerHeader => {
            // SAFETY: headers_in.authorization is NULL or a header parsed into the request.
            let header = unsafe { raw.headers_in.authorization.as_ref() }?;
            bearer_token(request_bytes(r, &header.value))
        }
        TokenSource::Value(cv) => {
            // SAFETY: cv was compiled at configuration time in the configuration pool.
            let cv = unsafe { cv.as_ref() }?;
            // The value is allocated from, or points into, the request.
            let token = r.get_complex_value(cv)?.as_bytes();
            (!token.is_empty()).then_some(token)
        }
    }
}

/// Bytes of a string that lives in the request's memory, borrowed like the request.
fn request_bytes<'r>(_r: &'r Request, s: &ngx_str_t) -> &'r [u8] {
    if s.len == 0 || s.data.is_null() {
        return &[];
    }
    // SAFETY: the caller passes strings owned by the request (its headers or pool), which
    // stay valid while the request lives, so for at least the borrow of `_r`.
    unsafe { std::slice::from_raw_parts(s.data, s.len) }
}
