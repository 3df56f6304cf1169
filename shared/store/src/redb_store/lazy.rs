//! Bulk loads on the embedded store: commits made durable together rather than each on its
//! own, and a plain error when another process holds the file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{backend, RedbStore};
use crate::port::StoreError;

/// Longest time between two durable commits of a store with lazy commits.
pub const LAZY_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// When the last durable commit was; shared by a store's clones.
#[derive(Debug)]
pub(super) struct LazyCommits {
    last_durable: Mutex<Instant>,
}

impl LazyCommits {
    fn new() -> Self {
        LazyCommits {
            last_durable: Mutex::new(Instant::now()),
        }
    }

    /// Whether the next commit must reach the disk: once per [`LAZY_COMMIT_INTERVAL`].
    fn next_is_durable(&self) -> bool {
        let mut last = self.last_durable.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= LAZY_COMMIT_INTERVAL {
            *last = Instant::now();
            true
        } else {
            false
        }
    }
}

impl RedbStore {
    /// The same store (sharing its file) whose commits reach the disk together, at most
    /// [`LAZY_COMMIT_INTERVAL`] apart, instead of each on its own: for bulk loads (the DMS
    /// import), where a crash loses at most the writes of that interval and a rerun writes them
    /// again. Atomicity and isolation are unchanged; [`RedbStore::flush`], or closing the
    /// store, makes every commit durable.
    pub fn with_lazy_commits(self) -> Self {
        RedbStore {
            lazy: Some(Arc::new(LazyCommits::new())),
            ..self
        }
    }

    /// Makes every commit so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.blocking(|db, _| {
            let txn = db
                .begin_write()
                .map_err(|e| backend(e, "starting a write"))?;
            txn.commit().map_err(|e| backend(e, "committing a write"))
        })
        .await
    }

    /// Whether the next write commits durably (always, unless lazy commits are on).
    pub(super) fn durable(&self) -> bool {
        self.lazy.as_ref().is_none_or(|l| l.next_is_durable())
    }
}

/// The store file is open in another process (redb holds a lock on it), or in another handle
/// of this one.
#[derive(Debug, thiserror::Error)]
#[error("the data directory {} is in use by another process (autodrive serve?)", .dir.display())]
pub struct StoreInUse {
    pub dir: PathBuf,
}

/// The [`StoreInUse`] behind a storage error, if that is what the error is.
pub fn in_use(error: &StoreError) -> Option<&StoreInUse> {
    match error {
        StoreError::Backend(e) => e.downcast_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::{ItemRead, ItemWrite, Key, RedbStore};

    #[tokio::test]
    async fn lazy_commits_reach_the_disk_with_a_flush_and_a_held_file_is_named_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let store = RedbStore::open(&path).unwrap().with_lazy_commits();
        let key = Key::new("VEH#1", "PROFILE");
        store.put(key.to_item(), None).await.unwrap();
        assert!(store.get(&key).await.unwrap().is_some());

        let refused = RedbStore::open(&path).err().expect("the file is held");
        let in_use = super::in_use(&refused).expect("an in-use error");
        assert!(in_use
            .to_string()
            .ends_with("is in use by another process (autodrive serve?)"));

        store.flush().await.unwrap();
        drop(store);
        let reopened = RedbStore::open(&path).unwrap();
        assert!(reopened.get(&key).await.unwrap().is_some());
    }
}
