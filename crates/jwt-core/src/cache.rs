//! A bounded cache of verified tokens, keyed by the exact token bytes.
//!
//! Clients resend the same token on every request; an ES256 or EdDSA check
//! costs tens of microseconds, a lookup here well under one. Only tokens whose
//! signature and time-independent checks passed are stored, so a hit skips
//! exactly that work; the caller re-runs the time checks on every hit.
//!
//! Eviction is two generations: inserts go to `current`; when it is full it
//! becomes `previous` (dropping the old `previous`) and a fresh `current`
//! starts. A hit in `previous` moves the entry back to `current`, so tokens in
//! use survive and stale ones age out, at O(1) cost and with no bookkeeping on
//! the hit path.
//!
//! Each entry also carries the *key epoch* it was verified under: the install
//! count of the verifier's remote key set (always 0 without one). A lookup
//! under another epoch is a miss and drops the entry. Tagging entries, rather
//! than clearing caches when a set is installed, keeps the key set free of any
//! knowledge of the (several) verifiers and caches that use it, and costs the
//! hit path one integer comparison; stale entries go on the next lookup or
//! age out like any other.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use crate::verify::VerifiedToken;

type Generation = HashMap<Box<[u8]>, Entry, TokenHashBuilder>;

/// A verified token and the key epoch it was verified under.
type Entry = (Arc<VerifiedToken>, u64);

pub(crate) struct TokenCache {
    generation_capacity: usize,
    hash_builder: TokenHashBuilder,
    // Workers are single-threaded, so this lock is uncontended; it exists so
    // that a Verifier is Sync.
    generations: Mutex<Generations>,
}

struct Generations {
    current: Generation,
    previous: Generation,
}

impl TokenCache {
    /// Holds up to `capacity` tokens (rounded up to even); `None` for 0.
    pub(crate) fn new(capacity: usize) -> Option<TokenCache> {
        if capacity == 0 {
            return None;
        }
        let generation_capacity = capacity.div_ceil(2);
        let hash_builder = TokenHashBuilder::random();
        let empty = || HashMap::with_hasher(hash_builder.clone());
        Some(TokenCache {
            generation_capacity,
            hash_builder: hash_builder.clone(),
            generations: Mutex::new(Generations {
                current: empty(),
                previous: empty(),
            }),
        })
    }

    /// The token verified under key epoch `epoch`, if cached; an entry of
    /// another epoch is removed.
    pub(crate) fn get(&self, token: &[u8], epoch: u64) -> Option<Arc<VerifiedToken>> {
        let mut generations = self.lock();
        if let Some((hit, hit_epoch)) = generations.current.get(token) {
            if *hit_epoch == epoch {
                return Some(Arc::clone(hit));
            }
            generations.current.remove(token);
            return None;
        }
        let (token, (hit, hit_epoch)) = generations.previous.remove_entry(token)?;
        if hit_epoch != epoch {
            return None;
        }
        self.store(&mut generations, token, (Arc::clone(&hit), epoch));
        Some(hit)
    }

    pub(crate) fn insert(&self, token: &[u8], verified: Arc<VerifiedToken>, epoch: u64) {
        let mut generations = self.lock();
        self.store(&mut generations, token.into(), (verified, epoch));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let generations = self.lock();
        generations.current.len() + generations.previous.len()
    }

    fn store(&self, generations: &mut Generations, token: Box<[u8]>, entry: Entry) {
        if generations.current.len() >= self.generation_capacity {
            let fresh = HashMap::with_capacity_and_hasher(
                self.generation_capacity,
                self.hash_builder.clone(),
            );
            generations.previous = std::mem::replace(&mut generations.current, fresh);
        }
        generations.current.insert(token, entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // Nothing panics while the lock is held; if something ever did, the
        // maps are still consistent, so carry on rather than fail requests.
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fast keyed hash for token bytes. SipHash (std's default) would cost more
/// than the rest of a cache hit; collision resistance matters little because
/// only verified tokens are ever inserted and lookups compare the full bytes.
/// The per-verifier random seed still keeps bucket placement unpredictable.
#[derive(Clone)]
pub(crate) struct TokenHashBuilder {
    seed: u64,
}

impl TokenHashBuilder {
    fn random() -> Self {
        TokenHashBuilder {
            seed: RandomState::new().build_hasher().finish(),
        }
    }
}

impl BuildHasher for TokenHashBuilder {
    type Hasher = TokenHasher;

    fn build_hasher(&self) -> TokenHasher {
        TokenHasher { state: self.seed }
    }
}

pub(crate) struct TokenHasher {
    state: u64,
}

impl TokenHasher {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(23) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for TokenHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        self.mix(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 56));
    }

    fn finish(&self) -> u64 {
        // splitmix64 finaliser: spreads the state over all bits, since the
        // table uses both the low bits (bucket) and the top 7 (tag).
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn token() -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken::for_tests(Map::new()))
    }

    #[test]
    fn zero_capacity_is_off() {
        assert!(TokenCache::new(0).is_none());
    }

    #[test]
    fn hits_compare_whole_bytes() {
        let cache = TokenCache::new(4).unwrap();
        let a = token();
        cache.insert(b"aaaa.bbbb.cccc", Arc::clone(&a), 0);
        assert!(Arc::ptr_eq(&cache.get(b"aaaa.bbbb.cccc", 0).unwrap(), &a));
        assert!(cache.get(b"aaaa.bbbb.cccd", 0).is_none());
        assert!(cache.get(b"aaaa.bbbb.ccc", 0).is_none());
        assert!(cache.get(b"", 0).is_none());
    }

    #[test]
    fn an_entry_of_another_key_epoch_is_a_miss_and_goes() {
        let cache = TokenCache::new(4).unwrap();
        cache.insert(b"t", token(), 1);
        assert!(cache.get(b"t", 1).is_some());
        assert!(cache.get(b"t", 2).is_none());
        assert_eq!(cache.len(), 0);
        assert!(
            cache.get(b"t", 1).is_none(),
            "removed, not kept for epoch 1"
        );

        // The same in the previous generation.
        cache.insert(b"old", token(), 1);
        cache.insert(b"a", token(), 1);
        cache.insert(b"b", token(), 1);
        assert!(cache.get(b"old", 2).is_none());
        assert!(cache.get(b"old", 1).is_none());
        cache.insert(b"old", token(), 2);
        assert!(cache.get(b"old", 2).is_some());
    }

    #[test]
    fn bounded_and_keeps_tokens_in_use() {
        let cache = TokenCache::new(4).unwrap();
        cache.insert(b"hot", token(), 0);
        for i in 0..100u32 {
            cache.insert(format!("cold-{i}").as_bytes(), token(), 0);
            assert!(cache.get(b"hot", 0).is_some(), "hot token evicted at {i}");
            assert!(cache.len() <= 4);
        }
        assert!(cache.get(b"cold-0", 0).is_none());
        assert!(cache.get(b"cold-99", 0).is_some());
    }

    #[test]
    fn hash_depends_on_every_byte_and_length() {
        let builder = TokenHashBuilder { seed: 1 };
        let hash = |bytes: &[u8]| builder.hash_one(bytes);
        let base = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig".to_vec();
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 1;
            assert_ne!(hash(&base), hash(&changed), "byte {i}");
        }
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(b""), hash(b"\0"));
    }
}
