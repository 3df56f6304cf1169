//! Bulk loads on the embedded store: every call of a handle runs in one write transaction, so a
//! load is stored whole or not at all and pays for one commit instead of one per write; and a
//! plain error when another process holds the file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redb::WriteTransaction;

use super::{backend, RedbStore};
use crate::port::StoreError;

/// The write transaction of a bulk load, shared by the handle's clones.
pub(super) struct Bulk {
    txn: Mutex<Option<WriteTransaction>>,
    /// Set when a storage failure may have left a write half done: nothing more runs, and the
    /// load can only be dropped.
    broken: AtomicBool,
}

impl Bulk {
    /// Runs `f` in the load's transaction.
    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let guard = match self.txn.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                self.broken.store(true, Ordering::Release);
                poisoned.into_inner()
            }
        };
        let txn = guard
            .as_ref()
            .filter(|_| !self.broken.load(Ordering::Acquire))
            .ok_or_else(over)?;
        let result = f(txn);
        if matches!(result, Err(StoreError::Backend(_))) {
            self.broken.store(true, Ordering::Release);
        }
        result
    }

    fn take(&self) -> Result<WriteTransaction, StoreError> {
        let mut guard = self.txn.lock().map_err(|_| over())?;
        if self.broken.load(Ordering::Acquire) {
            guard.take();
            return Err(over());
        }
        guard.take().ok_or_else(over)
    }
}

fn over() -> StoreError {
    StoreError::Invalid("the bulk load was committed or failed; nothing more can be written".into())
}

impl RedbStore {
    /// A handle for a bulk load (the DMS import): every read and write through it, or through
    /// its clones, runs in one write transaction, which [`RedbStore::commit`] commits. Reads see
    /// the load's own writes; no other handle sees them before the commit, and a load dropped
    /// without one (an error, a crash) leaves nothing. Other handles' writes wait until the
    /// commit: the load is the only writer meanwhile. Its calls run on the caller's thread (one
    /// at a time, briefly blocking it), as a load is all its process does.
    pub fn bulk_load(&self) -> Result<RedbStore, StoreError> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| backend(e, "starting a bulk load"))?;
        Ok(RedbStore {
            bulk: Some(Arc::new(Bulk {
                txn: Mutex::new(Some(txn)),
                broken: AtomicBool::new(false),
            })),
            ..self.clone()
        })
    }

    /// Commits a bulk load durably. An error (and nothing stored) when a storage failure broke
    /// the load, or when this is not a bulk-load handle or its load was committed already.
    pub async fn commit(&self) -> Result<(), StoreError> {
        let Some(bulk) = self.bulk.clone() else {
            return Err(StoreError::Invalid(
                "only a bulk-load handle is committed".into(),
            ));
        };
        tokio::task::spawn_blocking(move || {
            bulk.take()?
                .commit()
                .map_err(|e| backend(e, "committing the bulk load"))
        })
        .await
        .map_err(|e| backend(e, "embedded store task failed"))?
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
    use crate::{ItemRead, ItemWrite, Key, RedbStore, StoreError};

    #[tokio::test]
    async fn a_bulk_load_reads_its_own_writes_and_is_stored_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
        let first = Key::new("VEH#1", "PROFILE");
        let second = Key::new("VEH#2", "PROFILE");

        let dropped = store.bulk_load().unwrap();
        dropped.put(first.to_item(), None).await.unwrap();
        assert!(dropped.get(&first).await.unwrap().is_some());
        drop(dropped);
        assert!(store.get(&first).await.unwrap().is_none(), "not committed");

        let load = store.bulk_load().unwrap();
        load.put(second.to_item(), None).await.unwrap();
        assert!(matches!(
            load.put(second.to_item(), Some(crate::Condition::absent()))
                .await,
            Err(StoreError::ConditionFailed)
        ));
        assert!(store.get(&second).await.unwrap().is_none(), "isolated");
        load.commit().await.unwrap();
        assert!(store.get(&second).await.unwrap().is_some());
        assert!(load.put(first.to_item(), None).await.is_err(), "committed");
        assert!(store.commit().await.is_err(), "not a bulk load");
    }

    #[test]
    fn a_store_file_held_by_another_handle_is_named_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let _held = RedbStore::open(&path).unwrap();
        let refused = RedbStore::open(&path).err().expect("the file is held");
        let in_use = super::in_use(&refused).expect("an in-use error");
        assert!(in_use
            .to_string()
            .ends_with("is in use by another process (autodrive serve?)"));
    }
}
