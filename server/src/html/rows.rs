//! The install page's project rows, rendered and brotli-compressed once for each state of what
//! they show. On a 250-project team the rows are nearly all of the page: rendering them and
//! compressing 100 KB on every load held the page to about 1,000 requests/s on two cores.
//!
//! An entry is found by a digest of everything the rows are made from, read afresh on every
//! load (the cached project list, the links, the vendor's resources, the session's preselected
//! project and the search). So nothing needs invalidating, a change made through another
//! instance shows at once, and two sessions of one installation share the entry.

use std::{
    hash::{Hash, Hasher},
    sync::{Arc, Mutex},
};

use axum::body::Bytes;
use hashlink::LruCache;
use sha2::{Digest as _, Sha256};

/// Entries kept: each is the rows' compressed HTML (about 3.5 KB for 250 projects), so even
/// full the cache holds about 1 MB.
const CAPACITY: usize = 256;

/// What the page shows besides the rows that comes from the same inputs, so a load that finds
/// its entry parses nothing.
pub struct Rows {
    /// The rows' HTML as a brotli stream made to be joined (`web::compress::join`).
    pub brotli: Bytes,
    /// The rows' HTML length before compression: the joined page's window must hold it.
    pub html_len: usize,
    pub shown: usize,
    pub total: usize,
    /// What Connect would do with the rows' choices as they open.
    pub summary: String,
    pub scope_name: String,
    pub scope_note: Option<String>,
    /// What the user gave the installation at Vercel, when it was not all projects.
    pub access_note: Option<String>,
    /// The installation has exactly one project: it comes chosen, and there is nothing to
    /// search or select.
    pub fixed: bool,
}

/// A SHA-256 digest of the rows' inputs, fed through `Hash` so that every field is delimited.
pub type Digest = [u8; 32];

pub struct RowsCache {
    entries: Mutex<LruCache<Digest, Arc<Rows>>>,
}

impl Default for RowsCache {
    fn default() -> Self {
        Self { entries: Mutex::new(LruCache::new(CAPACITY)) }
    }
}

impl RowsCache {
    pub fn get(&self, key: &Digest) -> Option<Arc<Rows>> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: Digest, rows: Arc<Rows>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, rows);
        }
    }
}

/// `input` digested with SHA-256: a collision would show one installation's rows for another
/// state of them, so the digest must not be one anybody can aim at.
pub fn digest(input: &impl Hash) -> Digest {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        // Never called: `Hash` implementations only write, and the digest is read instead.
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut sha = Sha(Sha256::new());
    input.hash(&mut sha);
    sha.0.finalize().into()
}
