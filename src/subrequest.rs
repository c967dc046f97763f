//! In-memory subrequests: what `jwt_login` (the authenticator) and `jwt_key_request` (a JWKS)
//! share. Both start a `NGX_HTTP_SUBREQUEST_IN_MEMORY | WAITED` subrequest to a local URI and
//! read its answer in the post-subrequest handler: status, headers and the body nginx kept in
//! memory (one buffer, at most the target location's `subrequest_output_buffer_size`).

use std::ffi::c_void;
use std::ptr;

use ngx::ffi::{
    ngx_buf_t, ngx_http_post_subrequest_t, ngx_http_request_t, ngx_http_subrequest, ngx_int_t,
    ngx_palloc, ngx_str_t, ngx_uint_t, NGX_HTTP_SUBREQUEST_IN_MEMORY, NGX_HTTP_SUBREQUEST_WAITED,
    NGX_OK,
};
use ngx::http::list_iterator;

use crate::response_headers::pool_bytes;

/// A post-subrequest handler: `(subrequest, data, rc) -> rc`.
pub type DoneHandler =
    unsafe extern "C" fn(*mut ngx_http_request_t, *mut c_void, ngx_int_t) -> ngx_int_t;

/// Starts an in-memory subrequest of `r` to `uri` (`args`: its query string) whose end calls
/// `done(sr, data, rc)`. Returns the subrequest, not yet running.
///
/// # Safety
/// `r` is a live request; `data` stays valid until `done` has run (request-pool memory does).
pub unsafe fn start_in_memory(
    r: *mut ngx_http_request_t,
    uri: &str,
    args: Option<&str>,
    done: DoneHandler,
    data: *mut c_void,
) -> Option<*mut ngx_http_request_t> {
    // SAFETY: r is live (caller's contract).
    let pool = unsafe { (*r).pool };
    // SAFETY: allocated from the request pool, which outlives the subrequest.
    let ps = unsafe { ngx_palloc(pool, std::mem::size_of::<ngx_http_post_subrequest_t>()) }
        .cast::<ngx_http_post_subrequest_t>();
    if ps.is_null() {
        return None;
    }
    // SAFETY: ps points to writable memory of the right size.
    unsafe {
        ps.write(ngx_http_post_subrequest_t {
            handler: Some(done),
            data,
        })
    };
    let mut uri = pool_bytes(pool, uri.as_bytes())?;
    let mut args = match args {
        Some(args) => Some(pool_bytes(pool, args.as_bytes())?),
        None => None,
    };
    let args_ptr = args
        .as_mut()
        .map_or(ptr::null_mut(), |a| a as *mut ngx_str_t);
    let mut sr: *mut ngx_http_request_t = ptr::null_mut();
    let flags = (NGX_HTTP_SUBREQUEST_IN_MEMORY | NGX_HTTP_SUBREQUEST_WAITED) as ngx_uint_t;
    // SAFETY: all pointers are valid; nginx keeps uri and args, which live in the request pool.
    let rc = unsafe { ngx_http_subrequest(r, &mut uri, args_ptr, &mut sr, ps, flags) };
    (rc == NGX_OK as ngx_int_t && !sr.is_null()).then_some(sr)
}

/// The in-memory body of a finished subrequest (empty when there is none).
pub fn body(sr: &ngx_http_request_t) -> &[u8] {
    // SAFETY: for in-memory subrequests `out` is NULL or one buffer with the whole body.
    match unsafe { sr.out.as_ref().and_then(|out| out.buf.as_ref()) } {
        Some(buf) => buffer_bytes(buf),
        None => &[],
    }
}

/// The value of the subrequest's first output header called `name` (case-insensitive).
pub fn header<'a>(sr: &'a ngx_http_request_t, name: &[u8]) -> Option<&'a [u8]> {
    // SAFETY: headers_out.headers is the subrequest's initialised list of output headers.
    unsafe { list_iterator(&sr.headers_out.headers) }
        .find(|(key, _)| key.as_bytes().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_bytes())
}

/// An in-memory subrequest whose response did not fit `subrequest_output_buffer_size` fails
/// inside ngx_http_output_filter, which marks the *client* connection as broken and would drop
/// the client's request without an answer. When the client is in fact still there, this undoes
/// that and returns true: the caller treats the subrequest as failed and answers the client.
pub fn recover_from_too_big_response(sr: &ngx_http_request_t) -> bool {
    // SAFETY: the subrequest shares the client's connection, alive while its request is.
    let client = unsafe { &mut *sr.connection };
    if client.error() != 0 && client_still_there(client) {
        client.set_error(0);
        return true;
    }
    false
}

/// A client that really went away has its read side at EOF or in error (nginx's broken
/// connection check sets both `eof` and `error`).
fn client_still_there(c: &ngx::ffi::ngx_connection_t) -> bool {
    // SAFETY: a live connection always has its read and write events.
    let (read, write) = unsafe { (&*c.read, &*c.write) };
    read.eof() == 0 && read.error() == 0 && write.error() == 0 && c.timedout() == 0
}

/// Whether the in-memory body is the whole response. nginx finishes a subrequest whose upstream
/// closed early (a short `Content-Length` body, a chunked body without its last chunk) like a
/// complete one, after logging "upstream prematurely closed connection".
pub fn arrived_whole(sr: &ngx_http_request_t, received: usize) -> bool {
    let announced = sr.headers_out.content_length_n;
    if announced >= 0 && u64::try_from(announced) != Ok(received as u64) {
        return false;
    }
    // SAFETY: NULL or the subrequest's upstream, which lives in its pool.
    let Some(u) = (unsafe { sr.upstream.as_ref() }) else {
        return true;
    };
    if u.header_sent() == 0 {
        // The upstream never answered: nginx's own error page, complete by construction.
        return true;
    }
    // Bytes the upstream still expected: the proxy module counts them down to 0 (-1 when the end
    // of the connection ends the body).
    let pending = if u.buffering() != 0 {
        // SAFETY: NULL or the upstream's event pipe.
        unsafe { u.pipe.as_ref() }.map_or(0, |pipe| pipe.length)
    } else {
        u.length
    };
    pending <= 0
}

fn buffer_bytes(buf: &ngx_buf_t) -> &[u8] {
    if buf.pos.is_null() || buf.last.is_null() || buf.last < buf.pos {
        return &[];
    }
    // SAFETY: pos..last is the readable region of an in-memory buffer.
    unsafe { std::slice::from_raw_parts(buf.pos, buf.last.offset_from(buf.pos) as usize) }
}
