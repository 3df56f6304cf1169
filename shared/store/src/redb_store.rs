//! Embedded backend: the whole table in one redb file, with the port's semantics.
//!
//! Layout: table `items` maps `hash(pk) ‖ len(pk) ‖ pk ‖ sk` to the encoded item, so a partition
//! is one contiguous range ordered by sort key and a scan segment is one range of hashes. Each
//! GSI is a table of `hash(gpk) ‖ len(gpk) ‖ gpk ‖ gsk ‖ 0 ‖ item key` entries. Writes run in
//! redb write transactions (one at a time), which gives conditional writes and transactions
//! their atomicity; calls run on tokio's blocking pool. A bulk-load handle runs every call in
//! one write transaction instead, on the caller's thread (`bulk`).

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use redb::{Database, TableDefinition, WriteTransaction};

use crate::expr::SortKey;
use crate::item::{codec, Item, Key};
use crate::port::{
    is_expired, now_epoch, validate_key, BatchOp, Cursor, ItemRead, ItemWrite, Page, Query, Scan,
    StoreError, WriteOp,
};
use crate::table::{GsiSpec, PK, SK, TABLE};

mod bulk;
mod read;
mod write;

use bulk::Bulk;
pub use bulk::{in_use, StoreInUse};
use read::{collect_raw, get_raw, page_of_raw, query_blocking, query_range_of, scan_blocking};
use write::{batch_blocking, prepare, prepare_batch, transact_blocking};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const GSI_TABLES: [TableDefinition<&[u8], &[u8]>; 2] =
    [TableDefinition::new("gsi1"), TableDefinition::new("gsi2")];

/// Environment variable naming the directory of the embedded store.
pub const DATA_DIR_ENV: &str = "AUTODRIVE_DATA_DIR";
/// Directory of the embedded store when [`DATA_DIR_ENV`] is not set.
pub const DEFAULT_DATA_DIR: &str = "./autodrive-data";
/// File name of the embedded store inside its directory.
pub const STORE_FILE: &str = "store.redb";
const CACHE_BYTES: usize = 48 * 1024 * 1024;

/// The embedded store. Clones share one open file.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    /// The instant TTLs are checked against (epoch seconds); the wall clock when `None`.
    ttl_clock: Option<i64>,
    /// Set on a bulk-load handle: the one write transaction every call runs in.
    bulk: Option<Arc<Bulk>>,
}

/// The store file path: `$AUTODRIVE_DATA_DIR/store.redb`, by default `./autodrive-data/store.redb`.
pub fn default_path() -> PathBuf {
    store_path(std::env::var_os(DATA_DIR_ENV))
}

fn store_path(data_dir: Option<std::ffi::OsString>) -> PathBuf {
    data_dir
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
        .join(STORE_FILE)
}

fn backend(e: impl Into<anyhow::Error>, what: &'static str) -> StoreError {
    StoreError::Backend(e.into().context(what))
}

impl RedbStore {
    /// Opens (or creates) the store at [`default_path`].
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(default_path())
    }

    /// Opens (or creates) the store file at `path`, creating its directory. A file another
    /// process holds gives a `Backend` error that [`in_use`] recognises.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating {}", dir.display()))
                .map_err(StoreError::Backend)?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Backend(
                    StoreInUse {
                        dir: path.parent().unwrap_or(path).to_owned(),
                    }
                    .into(),
                ),
                e => backend(e, "opening the embedded store"),
            })?;
        let txn = db
            .begin_write()
            .map_err(|e| backend(e, "initialising the embedded store"))?;
        {
            txn.open_table(ITEMS)
                .map_err(|e| backend(e, "creating the items table"))?;
            for def in GSI_TABLES {
                txn.open_table(def)
                    .map_err(|e| backend(e, "creating an index table"))?;
            }
        }
        txn.commit()
            .map_err(|e| backend(e, "initialising the embedded store"))?;
        Ok(RedbStore {
            db: Arc::new(db),
            ttl_clock: None,
            bulk: None,
        })
    }

    /// Runs `f` with the database and the TTL instant on a blocking thread, or, on a bulk-load
    /// handle, with the load's transaction on the caller's thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Access<'_>, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let now = self.ttl_clock.unwrap_or_else(now_epoch);
        if let Some(bulk) = &self.bulk {
            return bulk.run(|txn| f(Access::Txn(txn), now));
        }
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(Access::Db(&db), now))
            .await
            .map_err(|e| backend(e, "embedded store task failed"))?
    }

    /// [`RedbStore::blocking`] with `after` run on what `f` returns: on a bulk-load handle once
    /// the load's transaction is let go (so work that needs no store, like decoding, does not
    /// hold up other callers), else on the same blocking thread.
    async fn blocking_then<R: Send + 'static, T: Send + 'static>(
        &self,
        f: impl FnOnce(Access<'_>, i64) -> Result<R, StoreError> + Send + 'static,
        after: impl FnOnce(R, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let now = self.ttl_clock.unwrap_or_else(now_epoch);
        if let Some(bulk) = &self.bulk {
            let got = bulk.run(|txn| f(Access::Txn(txn), now))?;
            return after(got, now);
        }
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || after(f(Access::Db(&db), now)?, now))
            .await
            .map_err(|e| backend(e, "embedded store task failed"))?
    }
}

/// Where a call reads and writes: the database (a transaction of its own) or the one write
/// transaction of a bulk load.
#[derive(Clone, Copy)]
enum Access<'a> {
    Db(&'a Database),
    Txn(&'a WriteTransaction),
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn partition_prefix(pk: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + pk.len() + 32);
    k.extend_from_slice(&fnv1a(pk.as_bytes()).to_be_bytes());
    k.extend_from_slice(&(pk.len() as u32).to_be_bytes());
    k.extend_from_slice(pk.as_bytes());
    k
}

fn main_key(pk: &str, sk: &str) -> Vec<u8> {
    let mut k = partition_prefix(pk);
    k.extend_from_slice(sk.as_bytes());
    k
}

fn gsi_key(gpk: &str, gsk: &str, main: &[u8]) -> Vec<u8> {
    let mut k = partition_prefix(gpk);
    k.extend_from_slice(gsk.as_bytes());
    k.push(0);
    k.extend_from_slice(main);
    k
}

/// The item key inside a GSI entry.
fn main_key_of_gsi_entry(entry: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(entry.get(4..8)?.try_into().ok()?) as usize;
    let rest = entry.get(8 + len..)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    rest.get(nul + 1..)
}

/// The smallest byte string greater than every string starting with `prefix`.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

fn with(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(tail);
    k
}

/// Key range of a query's partition and sort-key condition.
fn query_range(
    partition: &[u8],
    sk: Option<&SortKey>,
    index: bool,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    use Bound::{Excluded, Included, Unbounded};
    let end_of_partition = || successor(partition).map_or(Unbounded, Excluded);
    // On an index the sort key is followed by a NUL and the item key.
    let at = |s: &str, after: bool| -> Vec<u8> {
        let mut k = with(partition, s.as_bytes());
        if index {
            k.push(if after { 1 } else { 0 });
        }
        k
    };
    let start = Included(partition.to_vec());
    match sk {
        None => (start, end_of_partition()),
        Some(SortKey::Eq(s)) if !index => (Included(at(s, false)), Included(at(s, false))),
        Some(SortKey::Eq(s)) => (Included(at(s, false)), Excluded(at(s, true))),
        Some(SortKey::BeginsWith(p)) => {
            let lo = with(partition, p.as_bytes());
            let hi = successor(&lo).map_or(Unbounded, Excluded);
            (Included(lo), hi)
        }
        Some(SortKey::Between(a, b)) if !index => (Included(at(a, false)), Included(at(b, false))),
        Some(SortKey::Between(a, b)) => (Included(at(a, false)), Excluded(at(b, true))),
        Some(SortKey::Lt(s)) => (start, Excluded(at(s, false))),
        Some(SortKey::Le(s)) if !index => (start, Included(at(s, false))),
        Some(SortKey::Le(s)) => (start, Excluded(at(s, true))),
        Some(SortKey::Gt(s)) if !index => (Excluded(at(s, false)), end_of_partition()),
        Some(SortKey::Gt(s)) => (Included(at(s, true)), end_of_partition()),
        Some(SortKey::Ge(s)) => (Included(at(s, false)), end_of_partition()),
    }
}

fn segment_range(segment: u32, total: u32) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let bound = |s: u32| (s as u64 * (1u64 << 32)) / total as u64;
    let lo = (bound(segment) as u32).to_be_bytes().to_vec();
    let hi = bound(segment + 1);
    let hi = if hi >= 1 << 32 {
        Bound::Unbounded
    } else {
        Bound::Excluded((hi as u32).to_be_bytes().to_vec())
    };
    (Bound::Included(lo), hi)
}

/// The table or index key a cursor resumes after.
fn cursor_key(cursor: &Cursor, index: Option<&GsiSpec>) -> Result<Vec<u8>, StoreError> {
    let keys = cursor.keys();
    let get = |n: &str| {
        keys.get(n)
            .ok_or_else(|| StoreError::Invalid("the cursor does not belong to this query".into()))
    };
    let main = main_key(get(PK)?, get(SK)?);
    Ok(match index {
        None => main,
        Some(g) => gsi_key(get(g.pk)?, get(g.sk)?, &main),
    })
}

fn decode(raw: &[u8], what: &[u8]) -> Result<Item, StoreError> {
    codec::decode(raw).ok_or_else(|| StoreError::Malformed {
        key: String::from_utf8_lossy(what).into_owned(),
        reason: "undecodable bytes".into(),
    })
}

fn gsi_entries<'a>(item: &'a Item, main: &'a [u8]) -> impl Iterator<Item = (usize, Vec<u8>)> + 'a {
    TABLE.gsis.iter().enumerate().filter_map(move |(i, g)| {
        let gpk = item.get(g.pk)?.as_s()?;
        let gsk = item.get(g.sk)?.as_s()?;
        Some((i, gsi_key(gpk, gsk, main)))
    })
}

fn gsi_index(name: &str) -> Result<(usize, &'static GsiSpec), StoreError> {
    TABLE
        .gsis
        .iter()
        .enumerate()
        .find(|(_, g)| g.name == name)
        .ok_or_else(|| StoreError::Invalid(format!("no index named {name}")))
}

impl crate::port::TtlClock for RedbStore {
    fn with_ttl_clock(self, at: chrono::DateTime<chrono::Utc>) -> Self {
        RedbStore {
            ttl_clock: Some(at.timestamp()),
            ..self
        }
    }
}

impl ItemRead for RedbStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let main = main_key(&key.pk, &key.sk);
        self.blocking_then(
            move |access, _| Ok((get_raw(access, &main)?, main)),
            |(raw, main), now| match raw {
                Some(raw) => Ok(Some(decode(&raw, &main)?).filter(|i| !is_expired(i, now))),
                None => Ok(None),
            },
        )
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        if query.limit.is_none() && query.filter.is_none() {
            // The whole range: copied as stored, decoded after.
            return self
                .blocking_then(
                    move |access, _| {
                        let (_, range) = query_range_of(&query)?;
                        collect_raw(access, query.index, range, query.descending)
                    },
                    page_of_raw,
                )
                .await;
        }
        self.blocking(move |access, now| query_blocking(access, query, now))
            .await
    }

    async fn scan(&self, scan: &Scan) -> Result<Page, StoreError> {
        let scan = scan.clone();
        self.blocking(move |access, now| scan_blocking(access, scan, now))
            .await
    }
}

impl ItemWrite for RedbStore {
    async fn put(
        &self,
        item: Item,
        condition: Option<crate::expr::Condition>,
    ) -> Result<(), StoreError> {
        let ops = prepare(vec![WriteOp::Put { item, condition }])?;
        match self
            .blocking(move |access, now| transact_blocking(access, ops, now))
            .await?
        {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::ConditionFailed),
        }
    }

    async fn update(&self, update: crate::expr::Update) -> Result<Item, StoreError> {
        let ops = prepare(vec![WriteOp::Update(update)])?;
        match self
            .blocking(move |access, now| transact_blocking(access, ops, now))
            .await?
        {
            Ok(mut items) => items
                .pop()
                .flatten()
                .ok_or_else(|| StoreError::Invalid("update produced no item".into())),
            Err(_) => Err(StoreError::ConditionFailed),
        }
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<crate::expr::Condition>,
    ) -> Result<(), StoreError> {
        let ops = prepare(vec![WriteOp::Delete {
            key: key.clone(),
            condition,
        }])?;
        match self
            .blocking(move |access, now| transact_blocking(access, ops, now))
            .await?
        {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::ConditionFailed),
        }
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let ops = prepare(ops)?;
        match self
            .blocking(move |access, now| transact_blocking(access, ops, now))
            .await?
        {
            Ok(_) => Ok(()),
            Err(index) => Err(StoreError::TransactionConditionFailed { index }),
        }
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let ops = prepare_batch(ops)?;
        self.blocking(move |access, _| batch_blocking(access, ops))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_hash_space_without_gaps() {
        let total = 7;
        let mut prev_hi: Option<Bound<Vec<u8>>> = None;
        for s in 0..total {
            let (lo, hi) = segment_range(s, total);
            match (&prev_hi, &lo) {
                (None, Bound::Included(l)) => assert_eq!(l, &vec![0, 0, 0, 0]),
                (Some(Bound::Excluded(p)), Bound::Included(l)) => assert_eq!(p, l),
                other => panic!("unexpected bounds {other:?}"),
            }
            prev_hi = Some(hi);
        }
        assert_eq!(prev_hi, Some(Bound::Unbounded));
    }

    #[test]
    fn the_store_file_is_in_the_data_dir_or_in_autodrive_data() {
        assert_eq!(
            store_path(None),
            PathBuf::from("./autodrive-data/store.redb")
        );
        assert_eq!(
            store_path(Some("".into())),
            PathBuf::from("./autodrive-data/store.redb")
        );
        assert_eq!(
            store_path(Some("/var/lib/autodrive".into())),
            PathBuf::from("/var/lib/autodrive/store.redb")
        );
    }

    #[test]
    fn an_index_entry_leads_back_to_its_item() {
        let main = main_key("VEH#1", "PROFILE");
        let entry = gsi_key("CUST#9", "VEH#1", &main);
        assert_eq!(main_key_of_gsi_entry(&entry), Some(main.as_slice()));
    }
}
