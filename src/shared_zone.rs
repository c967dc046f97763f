//! The module's shared memory zone: what every worker must see at once.
//!
//! It holds:
//! * the key sets fetched with `jwt_key_request`, one [`KeySetSlot`] per source, so that N
//!   workers fetch a provider's JWKS once, not N times, and agree on when to fetch it again;
//! * the counters of `jwt_status` ([`crate::metrics`]);
//! * the revocation set of `jwt_logout` ([`DenySet`]): every worker sees a logout at once.
//!
//! The zone exists when a configuration uses the module; its size is `jwt_shared_memory`
//! (default 1m).
//!
//! Layout: nginx's slab allocator manages the zone; its `data` points at a [`Root`] holding a
//! list of slots. A slot's `generation` and `expires_at` are atomics so that the per-request
//! check ("is my copy still current and fresh?") takes no lock; everything else in a slot is
//! read and written under the slab pool's mutex. The zone survives a reload with the same size
//! (nginx hands the old `data` to the init callback), so a reload does not refetch fresh sets.
//!
//! Pointers stored in the zone are valid in every worker: nginx maps the zone before forking,
//! at the same address in all processes.

use std::ffi::c_void;
use std::ptr::{self, addr_of_mut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use jwt_core::key_refresh::RefreshState;
use ngx::core::SlabPool;

use crate::metrics;
use ngx::ffi::{
    ngx_conf_t, ngx_int_t, ngx_shared_memory_add, ngx_shm_zone_t, ngx_slab_alloc_locked,
    ngx_slab_calloc, ngx_slab_free_locked, ngx_slab_pool_t, ngx_str_t, NGX_ERROR, NGX_OK,
};

/// The smallest size that holds the zone's fixed part (the revocation set's buckets, about
/// 33k) with room to spare.
pub const MIN_SIZE: usize = 128 * 1024;

static ZONE_NAME: &[u8] = b"ngx_http_jwt_module";

/// Changes whenever [`Root`], [`KeySetSlot`] or [`DenyEntry`] change shape.
const LAYOUT: u64 = 0x6a77_7400_0000_0003;

/// Buckets of the revocation set's hash table (a power of two).
const DENY_BUCKETS: usize = 4096;

/// The zone's first allocation.
#[repr(C)]
struct Root {
    /// [`LAYOUT`] of the module that created the zone. A reload keeps the zone of the previous
    /// configuration: a module built with another layout must not read it.
    layout: u64,
    /// Counts the configurations (cycles) that used the zone: 1 at creation, +1 per reload.
    cycle: u64,
    /// Singly linked list of slots, appended under the slab mutex, never shortened.
    slots: *mut KeySetSlot,
    /// `jwt_status`' counters, indexed by [`crate::metrics::Counter`].
    counters: [AtomicU64; metrics::COUNT],
    /// `jwt_logout`'s revoked token ids, under the slab mutex.
    deny: DenySet,
}

/// Revoked token ids until their `exp`: a chained hash table keyed by [`jwt_core::jti_digest`]
/// (a token id can be any length; its digest is 16 bytes), entries allocated from the slab.
/// Expired entries are dropped as lookups and inserts walk past them.
#[repr(C)]
pub struct DenySet {
    buckets: [*mut DenyEntry; DENY_BUCKETS],
    /// Live entries (including expired ones not dropped yet). Written under the mutex, read
    /// without it: an empty set costs a verification no lock.
    count: AtomicUsize,
}

#[repr(C)]
struct DenyEntry {
    next: *mut DenyEntry,
    digest: [u8; 16],
    /// Unix time after which the token is expired anyway and the entry can go.
    expires_at: u64,
}

/// What [`Zone::revoke`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeResult {
    Revoked,
    /// The set holds `capacity` live entries, or the zone has no memory left.
    Full,
}

/// One `jwt_key_request` source's shared state.
#[repr(C)]
pub struct KeySetSlot {
    next: *mut KeySetSlot,
    name: *mut u8,
    name_len: usize,
    /// The last cycle whose workers looked the slot up. A slot two reloads old belongs to no
    /// configuration that can still start a fetch, so its set may be freed when room is short.
    cycle: u64,
    /// Bumped each time a new key set is stored; 0 until the first one.
    pub generation: AtomicU64,
    /// Unix time after which the stored set is refreshed; 0 while there is none.
    pub expires_at: AtomicU64,
    /// Under the slab mutex from here on.
    pub guarded: Guarded,
}

/// The part of a slot read and written only under the slab pool's mutex.
#[repr(C)]
pub struct Guarded {
    jwks: *mut u8,
    jwks_len: usize,
    /// Who fetches and when the next fetch may happen (see [`jwt_core::key_refresh`]).
    pub refresh: RefreshState,
    /// The worker process that claimed the fetch in flight: if it died, the claim is void.
    pub fetcher_pid: i32,
}

impl Guarded {
    /// The stored JWKS document.
    pub fn jwks(&self) -> &[u8] {
        if self.jwks.is_null() {
            return &[];
        }
        // SAFETY: jwks points at jwks_len bytes allocated in the zone by `store_jwks`, freed
        // only under the same mutex the caller holds.
        unsafe { std::slice::from_raw_parts(self.jwks, self.jwks_len) }
    }
}

/// Adds the zone to the configuration being parsed (once per configuration).
pub fn add_zone(cf: &mut ngx_conf_t, size: usize) -> Result<*mut ngx_shm_zone_t, String> {
    let mut name = ngx_str_t {
        len: ZONE_NAME.len(),
        data: ZONE_NAME.as_ptr().cast_mut(),
    };
    let tag = ptr::addr_of!(crate::ngx_http_jwt_module)
        .cast_mut()
        .cast::<c_void>();
    // SAFETY: cf is the configuration being parsed; nginx copies nothing from `name` but keeps
    // the pointer, which is static.
    let zone = unsafe { ngx_shared_memory_add(cf, &mut name, size, tag) };
    // SAFETY: NULL or a zone entry of this cycle.
    let Some(entry) = (unsafe { zone.as_mut() }) else {
        return Err("cannot add the module's shared memory zone".into());
    };
    entry.init = Some(init_zone);
    Ok(zone)
}

unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old_data: *mut c_void) -> ngx_int_t {
    // SAFETY: nginx calls init with this cycle's zone entry, mapped.
    let zone = unsafe { &mut *zone };
    if !old_data.is_null() {
        // A reload with the same size: the previous cycle's zone, mapping and data carry over.
        // SAFETY: old_data is the Root this function allocated for the previous cycle.
        if unsafe { (*old_data.cast::<Root>()).layout } != LAYOUT {
            ngx::ngx_log_error!(
                ngx::ffi::NGX_LOG_EMERG,
                zone.shm.log,
                "jwt: the shared memory zone was made by another version of the module: \
                 restart nginx (not reload) after upgrading the module"
            );
            return NGX_ERROR as ngx_int_t;
        }
        zone.data = old_data;
        // SAFETY: as above; the master runs this before the new workers start, while old
        // workers may still read the zone: only atomics and a plain counter are written.
        unsafe { start_cycle(old_data.cast::<Root>()) };
        return NGX_OK as ngx_int_t;
    }
    let pool = zone.shm.addr.cast::<ngx_slab_pool_t>();
    // SAFETY: a freshly mapped zone starts with its initialised slab pool.
    let root = unsafe { ngx_slab_calloc(pool, std::mem::size_of::<Root>()) };
    if root.is_null() {
        return NGX_ERROR as ngx_int_t;
    }
    // SAFETY: as above; `data` is the slab pool's user pointer; root has room for a Root.
    unsafe {
        (*root.cast::<Root>()).layout = LAYOUT;
        (*root.cast::<Root>()).cycle = 1;
        (*pool).data = root;
        // A full zone is reported by the module (a `warn` naming jwt_shared_memory), not by
        // the slab allocator's `crit` line.
        (*pool).set_log_nomem(0);
    }
    zone.data = root;
    NGX_OK as ngx_int_t
}

/// A reload: the new configuration may point a source's URI at another provider, so every
/// fetched set is refreshed by the first request that needs it (the old set serves meanwhile).
///
/// # Safety
/// `root` is the zone's Root.
unsafe fn start_cycle(root: *mut Root) {
    // SAFETY: the caller's contract; slots are never freed.
    unsafe {
        (*root).cycle += 1;
        let mut slot = (*root).slots;
        while let Some(s) = slot.as_ref() {
            s.expires_at.store(0, Ordering::Release);
            slot = s.next;
        }
    }
}

/// The zone as a running worker sees it.
#[derive(Clone, Copy)]
pub struct Zone(*mut ngx_shm_zone_t);

impl Zone {
    /// # Safety
    /// `zone` was returned by [`add_zone`] for the configuration in use, whose zones are mapped
    /// and initialised (true at request time).
    pub unsafe fn new(zone: *mut ngx_shm_zone_t) -> Option<Zone> {
        // SAFETY: the caller's contract.
        let entry = unsafe { zone.as_ref() }?;
        if entry.data.is_null() || entry.shm.addr.is_null() {
            return None;
        }
        Some(Zone(zone))
    }

    fn slab(&self) -> Option<SlabPool> {
        // SAFETY: the zone is mapped and initialised (constructor's contract).
        unsafe { SlabPool::from_shm_zone(&*self.0) }
    }

    fn pool(&self) -> *mut ngx_slab_pool_t {
        // SAFETY: as above.
        unsafe { (*self.0).shm.addr.cast() }
    }

    fn root(&self) -> *mut Root {
        // SAFETY: as above; data is the Root allocated by init_zone.
        unsafe { (*self.0).data.cast() }
    }

    /// The slot named `name`, created on first use; `None` when the zone is full.
    pub fn key_set_slot(&self, name: &str) -> Option<&'static KeySetSlot> {
        let slab = self.slab()?;
        let _locked = slab.lock();
        // SAFETY: the list is only modified under the mutex held here; slots are never freed.
        unsafe {
            let mut slot = (*self.root()).slots;
            while let Some(existing) = slot.as_ref() {
                let existing_name = std::slice::from_raw_parts(existing.name, existing.name_len);
                if existing_name == name.as_bytes() {
                    (*slot).cycle = (*self.root()).cycle;
                    return Some(existing);
                }
                slot = existing.next;
            }
            let new = self.alloc_or_reclaim_locked(std::mem::size_of::<KeySetSlot>())?;
            let name_copy = match self.alloc_locked(name.len().max(1)) {
                Some(copy) => copy,
                None => {
                    ngx_slab_free_locked(self.pool(), new.cast());
                    return None;
                }
            };
            ptr::copy_nonoverlapping(name.as_ptr(), name_copy, name.len());
            let new = new.cast::<KeySetSlot>();
            new.write(KeySetSlot {
                next: (*self.root()).slots,
                name: name_copy,
                name_len: name.len(),
                cycle: (*self.root()).cycle,
                generation: AtomicU64::new(0),
                expires_at: AtomicU64::new(0),
                guarded: Guarded {
                    jwks: ptr::null_mut(),
                    jwks_len: 0,
                    refresh: RefreshState::default(),
                    fetcher_pid: 0,
                },
            });
            (*self.root()).slots = new;
            Some(&*new)
        }
    }

    /// Runs `f` on the slot's guarded part under the zone's mutex.
    pub fn with_guarded<R>(&self, slot: &KeySetSlot, f: impl FnOnce(&mut Guarded) -> R) -> R {
        let slab = self.slab();
        let _locked = slab.as_ref().map(SlabPool::lock);
        // SAFETY: the guarded part is only accessed under the mutex held here (a zone always
        // has its slab pool, so the lock is always taken); the slot lives in the zone.
        let guarded = unsafe { &mut *addr_of_mut!((*ptr::from_ref(slot).cast_mut()).guarded) };
        f(guarded)
    }

    /// Replaces the slot's JWKS with `jwks` and publishes it as a new generation, under the
    /// mutex. Returns the new generation, or `None` when the zone has no room (the old set
    /// stays).
    pub fn store_jwks(&self, slot: &KeySetSlot, jwks: &[u8], expires_at: u64) -> Option<u64> {
        let slab = self.slab()?;
        let _locked = slab.lock();
        // SAFETY: the mutex is held.
        let copy = unsafe { self.alloc_or_reclaim_locked(jwks.len().max(1)) }?;
        // SAFETY: under the mutex; `copy` has room for jwks.len() bytes; the old buffer was
        // allocated by this function and nothing else refers to it once replaced.
        unsafe {
            ptr::copy_nonoverlapping(jwks.as_ptr(), copy, jwks.len());
            let guarded = &mut *addr_of_mut!((*ptr::from_ref(slot).cast_mut()).guarded);
            if !guarded.jwks.is_null() {
                ngx_slab_free_locked(self.pool(), guarded.jwks.cast());
            }
            guarded.jwks = copy;
            guarded.jwks_len = jwks.len();
        }
        slot.expires_at.store(expires_at, Ordering::Release);
        Some(slot.generation.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Adds one to `counter`.
    pub fn count(&self, counter: metrics::Counter) {
        if let Some(c) = self.counter(counter as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counter at `index` ([`crate::metrics::Counter`]).
    pub fn counter(&self, index: usize) -> Option<&'static AtomicU64> {
        // SAFETY: the Root lives as long as the zone; the counters are atomics.
        unsafe { (*self.root()).counters.get(index) }
    }

    /// Adds `digest` to the revocation set until `expires_at`; at most `capacity` live entries.
    pub fn revoke(
        &self,
        digest: [u8; 16],
        expires_at: u64,
        now: u64,
        capacity: usize,
    ) -> RevokeResult {
        let Some(slab) = self.slab() else {
            return RevokeResult::Full;
        };
        let _locked = slab.lock();
        // SAFETY: the set is only touched under the mutex held here.
        let deny = unsafe { &mut *addr_of_mut!((*self.root()).deny) };
        let bucket = bucket_of(&digest);
        // SAFETY: as above; entries were allocated by this function.
        unsafe {
            if let Some(entry) = self.find_locked(deny, bucket, &digest, now) {
                (*entry).expires_at = (*entry).expires_at.max(expires_at);
                return RevokeResult::Revoked;
            }
            if deny.count.load(Ordering::Relaxed) >= capacity {
                self.purge_expired_locked(deny, now);
            }
            if deny.count.load(Ordering::Relaxed) >= capacity {
                return RevokeResult::Full;
            }
            let Some(memory) = self.alloc_locked(std::mem::size_of::<DenyEntry>()) else {
                return RevokeResult::Full;
            };
            let entry = memory.cast::<DenyEntry>();
            entry.write(DenyEntry {
                next: deny.buckets[bucket],
                digest,
                expires_at,
            });
            deny.buckets[bucket] = entry;
            deny.count.fetch_add(1, Ordering::Release);
        }
        RevokeResult::Revoked
    }

    /// Whether the revocation set is empty (one atomic read, no lock).
    pub fn nothing_revoked(&self) -> bool {
        // SAFETY: the count is an atomic of the zone's Root.
        unsafe { (*self.root()).deny.count.load(Ordering::Acquire) == 0 }
    }

    /// Whether `digest` is revoked (and not expired) now.
    pub fn is_revoked(&self, digest: &[u8; 16], now: u64) -> bool {
        if self.nothing_revoked() {
            return false;
        }
        let Some(slab) = self.slab() else {
            return false;
        };
        let _locked = slab.lock();
        // SAFETY: the set is only touched under the mutex held here.
        let deny = unsafe { &mut *addr_of_mut!((*self.root()).deny) };
        // SAFETY: as above.
        unsafe { self.find_locked(deny, bucket_of(digest), digest, now) }.is_some()
    }

    /// Finds a live entry in `bucket`, dropping the expired ones on the way.
    ///
    /// # Safety
    /// The slab mutex is held.
    unsafe fn find_locked(
        &self,
        deny: &mut DenySet,
        bucket: usize,
        digest: &[u8; 16],
        now: u64,
    ) -> Option<*mut DenyEntry> {
        let mut link: *mut *mut DenyEntry = &mut deny.buckets[bucket];
        // SAFETY: the caller holds the mutex; every entry in a chain is a live allocation.
        unsafe {
            while let Some(entry) = (*link).as_mut() {
                if entry.expires_at <= now {
                    *link = entry.next;
                    ngx_slab_free_locked(self.pool(), ptr::from_mut(entry).cast());
                    deny.count.fetch_sub(1, Ordering::Release);
                    continue;
                }
                if entry.digest == *digest {
                    return Some(entry);
                }
                link = &mut entry.next;
            }
        }
        None
    }

    /// # Safety
    /// The slab mutex is held.
    unsafe fn purge_expired_locked(&self, deny: &mut DenySet, now: u64) {
        const NONE: [u8; 16] = [0xff; 16];
        for bucket in 0..DENY_BUCKETS {
            // SAFETY: the caller's contract; a digest of all 0xff bytes is only compared.
            unsafe { self.find_locked(deny, bucket, &NONE, now) };
        }
    }

    /// Allocates, freeing the sets of slots no running configuration uses when the zone is
    /// full (a reload that renamed a source leaves its old slot behind).
    ///
    /// # Safety
    /// The caller holds the slab mutex.
    unsafe fn alloc_or_reclaim_locked(&self, size: usize) -> Option<*mut u8> {
        // SAFETY: the caller's contract.
        unsafe {
            if let Some(p) = self.alloc_locked(size) {
                return Some(p);
            }
            self.reclaim_locked();
            self.alloc_locked(size)
        }
    }

    /// # Safety
    /// The caller holds the slab mutex.
    unsafe fn reclaim_locked(&self) {
        // SAFETY: the caller holds the mutex; slots and their buffers are live allocations.
        unsafe {
            let current = (*self.root()).cycle;
            let mut slot = (*self.root()).slots;
            while let Some(s) = slot.as_mut() {
                if s.cycle.saturating_add(1) < current && !s.guarded.jwks.is_null() {
                    ngx_slab_free_locked(self.pool(), s.guarded.jwks.cast());
                    s.guarded.jwks = ptr::null_mut();
                    s.guarded.jwks_len = 0;
                    s.expires_at.store(0, Ordering::Release);
                }
                slot = s.next;
            }
        }
    }

    /// # Safety
    /// The caller holds the slab mutex.
    unsafe fn alloc_locked(&self, size: usize) -> Option<*mut u8> {
        // SAFETY: the caller's contract.
        let p = unsafe { ngx_slab_alloc_locked(self.pool(), size) };
        (!p.is_null()).then_some(p.cast())
    }
}

fn bucket_of(digest: &[u8; 16]) -> usize {
    usize::from(u16::from_le_bytes([digest[0], digest[1]])) % DENY_BUCKETS
}
