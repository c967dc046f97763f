//! State attached to one request for the request's whole life.
//!
//! nginx's per-module context (`r->ctx`) is wiped by every internal redirect (`rewrite ...
//! last`, `error_page`, `try_files`, named locations), but variable values computed before the
//! redirect stay cached in `r->variables` and may point into our state. So the state is kept
//! in the request pool with a cleanup handler instead, and found again by walking the pool's
//! cleanup list: it is dropped only when the pool is destroyed, after the log phase, when
//! nginx can no longer read anything that points into it. (nginx's realip module finds its
//! state after a redirect the same way.) `r->ctx` is used as a cache of the pointer, so the
//! walk happens at most once per redirect.
//!
//! A subrequest shares its parent's pool, so each entry remembers the request it belongs to.

use std::any::TypeId;
use std::ffi::c_void;
use std::ptr;

use ngx::ffi::{ngx_http_request_t, ngx_pool_cleanup_add, ngx_pool_cleanup_pt};

/// The first part of every entry: whose it is and what it holds. Entries are recognised by
/// their cleanup handler, one non-generic function, so that no generic function's address
/// is compared (those may differ between codegen units).
#[repr(C)]
struct Header {
    request: *const ngx_http_request_t,
    type_id: TypeId,
    drop_value: unsafe fn(*mut Header),
}

/// What the pool's cleanup entry points at.
#[repr(C)]
struct Entry<T> {
    header: Header,
    value: T,
}

/// The pool cleanup handler of every entry.
#[inline(never)]
unsafe extern "C" fn drop_entry(data: *mut c_void) {
    let header = data.cast::<Header>();
    // SAFETY: nginx calls this once, with the `data` registered by `attach`, when the pool is
    // destroyed; nothing reads the entry afterwards.
    unsafe { ((*header).drop_value)(header) }
}

/// Drops the `Entry<T>` that starts with `header`.
///
/// # Safety
/// `header` is the header of a live `Entry<T>`, dropped only once.
unsafe fn drop_value<T>(header: *mut Header) {
    // SAFETY: guaranteed by the caller; `Entry<T>` is `repr(C)` with the header first.
    unsafe { ptr::drop_in_place(header.cast::<Entry<T>>()) }
}

/// The request's `T`, created with `T::default()` on first use.
///
/// `ctx_slot` is the module's `r->ctx` slot to cache the pointer in (`None` for types that are
/// not looked up often enough to deserve it). Returns `None` only when the pool is exhausted.
///
/// # Safety
/// `r` must be a live request, and no other reference to its `T` may be alive: callers hold
/// the result only within one call from nginx (single-threaded worker).
pub unsafe fn get_or_create<'r, T: Default + 'static>(
    r: *mut ngx_http_request_t,
    ctx_slot: Option<usize>,
) -> Option<&'r mut T> {
    // SAFETY: r is live (caller's contract).
    let request = unsafe { &mut *r };
    if let Some(slot) = ctx_slot {
        // SAFETY: ctx has one slot per HTTP module; `slot` is this module's ctx_index.
        let cached = unsafe { *request.ctx.add(slot) }.cast::<T>();
        // SAFETY: the slot holds NULL or a pointer set below to a live `T` of this request.
        if let Some(value) = unsafe { cached.as_mut() } {
            return Some(value);
        }
    }
    // SAFETY: as above; the found or new entry lives until the pool is destroyed.
    let value = unsafe { find::<T>(request).or_else(|| attach::<T>(request)) }?;
    if let Some(slot) = ctx_slot {
        // SAFETY: as above.
        unsafe { *request.ctx.add(slot) = ptr::from_mut(value).cast() };
    }
    Some(value)
}

/// The request's existing `T`, if any.
///
/// # Safety
/// As [`get_or_create`].
pub unsafe fn get<'r, T: 'static>(r: *mut ngx_http_request_t) -> Option<&'r mut T> {
    // SAFETY: r is live (caller's contract).
    unsafe { find::<T>(&*r) }
}

/// # Safety
/// `r` is live; the returned reference must not outlive its pool.
unsafe fn find<'r, T: 'static>(r: &ngx_http_request_t) -> Option<&'r mut T> {
    let handler: ngx_pool_cleanup_pt = Some(drop_entry);
    // SAFETY: a live request's pool is live; its cleanup list is a NULL-terminated list.
    let mut cleanup = unsafe { (*r.pool).cleanup };
    // SAFETY: each node is a live ngx_pool_cleanup_t of this pool.
    while let Some(node) = unsafe { cleanup.as_ref() } {
        #[allow(unpredictable_function_pointer_comparisons)] // one non-generic function
        if node.handler == handler {
            // SAFETY: nodes with this handler point at an entry written by `attach`.
            let header = unsafe { &*node.data.cast::<Header>() };
            if ptr::eq(header.request, r) && header.type_id == TypeId::of::<T>() {
                // SAFETY: the type id says the entry is an `Entry<T>`.
                return Some(unsafe { &mut (*node.data.cast::<Entry<T>>()).value });
            }
        }
        cleanup = node.next;
    }
    None
}

/// # Safety
/// `r` is live; the returned reference must not outlive its pool.
unsafe fn attach<'r, T: Default + 'static>(r: &ngx_http_request_t) -> Option<&'r mut T> {
    // Allocation and registration in one call: nginx allocates `size` bytes for the entry
    // and returns NULL (without writing anything) when the pool is exhausted.
    // SAFETY: the pool is live.
    let cleanup = unsafe { ngx_pool_cleanup_add(r.pool, std::mem::size_of::<Entry<T>>()) };
    // SAFETY: NULL or a fresh cleanup node.
    let cleanup = unsafe { cleanup.as_mut() }?;
    let entry = cleanup.data.cast::<Entry<T>>();
    if entry.is_null() || !entry.is_aligned() {
        // Pool memory is aligned to NGX_ALIGNMENT (a machine word); refuse a T that needs more.
        return None;
    }
    // SAFETY: entry points at `size_of::<Entry<T>>()` writable, aligned bytes.
    unsafe {
        entry.write(Entry {
            header: Header {
                request: r,
                type_id: TypeId::of::<T>(),
                drop_value: drop_value::<T>,
            },
            value: T::default(),
        })
    };
    // Only now that the entry is initialised may the pool ever drop it.
    cleanup.handler = Some(drop_entry);
    // SAFETY: just initialised; lives until the pool is destroyed.
    Some(unsafe { &mut (*entry).value })
}
