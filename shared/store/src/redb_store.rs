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
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};

use crate::expr::SortKey;
use crate::item::{codec, Item, Key};
use crate::port::{
    is_expired, now_epoch, validate_item, validate_key, validate_transaction, BatchOp, Cursor,
    ItemRead, ItemWrite, Page, Query, Scan, StoreError, WriteOp,
};
use crate::table::{GsiSpec, PK, SK, TABLE};

mod bulk;

use bulk::Bulk;
pub use bulk::{in_use, StoreInUse};

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

struct Collector<'a> {
    limit: usize,
    filter: Option<&'a crate::expr::Condition>,
    index: Option<&'static GsiSpec>,
    now: i64,
    page: Page,
}

impl Collector<'_> {
    /// Takes an item; returns false once the page is full.
    fn take(&mut self, item: Item) -> bool {
        if is_expired(&item, self.now) || self.filter.is_some_and(|f| !f.holds(Some(&item))) {
            return true;
        }
        self.page.items.push(item);
        if self.page.items.len() >= self.limit {
            let last = self.page.items.last().expect("just pushed");
            self.page.cursor = Some(Cursor::after(last, self.index));
            return false;
        }
        true
    }
}

type RangeIter<'a> = redb::Range<'a, &'static [u8], &'static [u8]>;
type RangeEntry<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

/// Walks a range of the table or of an index, handing `visit` each item's key and bytes until
/// it returns false.
fn walk(
    access: Access<'_>,
    index: Option<&'static str>,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    descending: bool,
    visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let gsi = match index {
        Some(name) => Some(GSI_TABLES[gsi_index(name)?.0]),
        None => None,
    };
    let opening = |e| backend(e, "opening a table");
    match access {
        Access::Db(db) => {
            let txn = db
                .begin_read()
                .map_err(|e| backend(e, "reading the embedded store"))?;
            let items = txn.open_table(ITEMS).map_err(opening)?;
            let gsi = gsi
                .map(|d| txn.open_table(d))
                .transpose()
                .map_err(opening)?;
            walk_tables(&items, gsi.as_ref(), range, descending, visit)
        }
        Access::Txn(txn) => {
            let items = txn.open_table(ITEMS).map_err(opening)?;
            let gsi = gsi
                .map(|d| txn.open_table(d))
                .transpose()
                .map_err(opening)?;
            walk_tables(&items, gsi.as_ref(), range, descending, visit)
        }
    }
}

fn walk_tables<T: ReadableTable<&'static [u8], &'static [u8]>>(
    items: &T,
    gsi: Option<&T>,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    descending: bool,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let bounds = (
        range.0.as_ref().map(Vec::as_slice),
        range.1.as_ref().map(Vec::as_slice),
    );
    if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) =
        bounds
    {
        if a > b || (a == b && !matches!(bounds, (Bound::Included(_), Bound::Included(_)))) {
            return Ok(());
        }
    }
    let source = gsi.unwrap_or(items);
    let iter: RangeIter<'_> = source
        .range::<&[u8]>(bounds)
        .map_err(|e| backend(e, "reading a range"))?;
    let mut step = |entry: RangeEntry<'_>| -> Result<bool, StoreError> {
        let (k, v) = entry.map_err(|e| backend(e, "reading a range"))?;
        if gsi.is_none() {
            return visit(k.value(), v.value());
        }
        let main = main_key_of_gsi_entry(k.value())
            .ok_or_else(|| StoreError::Invalid("corrupt index entry".into()))?;
        match items
            .get(main)
            .map_err(|e| backend(e, "reading an indexed item"))?
        {
            Some(raw) => visit(main, raw.value()),
            None => Ok(true),
        }
    };
    if descending {
        for entry in iter.rev() {
            if !step(entry)? {
                break;
            }
        }
    } else {
        for entry in iter {
            if !step(entry)? {
                break;
            }
        }
    }
    Ok(())
}

/// Collects a range's items into a page (filtered, limited).
fn collect(
    access: Access<'_>,
    index: Option<&'static str>,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    descending: bool,
    mut collector: Collector<'_>,
) -> Result<Page, StoreError> {
    walk(access, index, range, descending, |key, raw| {
        Ok(collector.take(decode(raw, key)?))
    })?;
    Ok(collector.page)
}

/// Every item of a range as stored (key, bytes): what a bulk load copies while it holds its
/// transaction, to decode after.
type RawItems = Vec<(Vec<u8>, Vec<u8>)>;

fn collect_raw(
    access: Access<'_>,
    index: Option<&'static str>,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    descending: bool,
) -> Result<RawItems, StoreError> {
    let mut raw_items = Vec::new();
    walk(access, index, range, descending, |key, raw| {
        raw_items.push((key.to_vec(), raw.to_vec()));
        Ok(true)
    })?;
    Ok(raw_items)
}

/// The page of a whole range copied by [`collect_raw`]: its items decoded, the expired left
/// out.
fn page_of_raw(raw_items: RawItems, now: i64) -> Result<Page, StoreError> {
    let mut page = Page::default();
    for (key, raw) in raw_items {
        let item = decode(&raw, &key)?;
        if !is_expired(&item, now) {
            page.items.push(item);
        }
    }
    Ok(page)
}

/// The index (if any) and the key range of a query.
type QueryRange = (Option<&'static GsiSpec>, (Bound<Vec<u8>>, Bound<Vec<u8>>));

fn query_range_of(q: &Query) -> Result<QueryRange, StoreError> {
    let gsi = match q.index {
        Some(name) => Some(gsi_index(name)?.1),
        None => None,
    };
    if q.pk.is_empty() {
        return Err(StoreError::Invalid("a query needs a partition key".into()));
    }
    let partition = partition_prefix(&q.pk);
    let (mut lo, mut hi) = query_range(&partition, q.sk.as_ref(), gsi.is_some());
    if let Some(c) = &q.cursor {
        let after = cursor_key(c, gsi)?;
        if q.descending {
            hi = Bound::Excluded(after);
        } else {
            lo = Bound::Excluded(after);
        }
    }
    Ok((gsi, (lo, hi)))
}

fn query_blocking(access: Access<'_>, q: Query, now: i64) -> Result<Page, StoreError> {
    let (gsi, range) = query_range_of(&q)?;
    let collector = Collector {
        limit: q.limit.map_or(usize::MAX, |l| l.max(1) as usize),
        filter: q.filter.as_ref(),
        index: gsi,
        now,
        page: Page::default(),
    };
    collect(access, q.index, range, q.descending, collector)
}

fn scan_blocking(access: Access<'_>, s: Scan, now: i64) -> Result<Page, StoreError> {
    s.validate()?;
    let gsi = match s.index {
        Some(name) => Some(gsi_index(name)?.1),
        None => None,
    };
    let (mut lo, hi) = segment_range(s.segment, s.total_segments);
    if let Some(c) = &s.cursor {
        lo = Bound::Excluded(cursor_key(c, gsi)?);
    }
    let collector = Collector {
        limit: s.limit.map_or(usize::MAX, |l| l.max(1) as usize),
        filter: s.filter.as_ref(),
        index: gsi,
        now,
        page: Page::default(),
    };
    collect(access, s.index, (lo, hi), false, collector)
}

type Tables<'t> = (
    Table<'t, &'static [u8], &'static [u8]>,
    Vec<Table<'t, &'static [u8], &'static [u8]>>,
);

fn open_tables(txn: &WriteTransaction) -> Result<Tables<'_>, StoreError> {
    let items = txn
        .open_table(ITEMS)
        .map_err(|e| backend(e, "opening the items table"))?;
    let gsis = GSI_TABLES
        .iter()
        .map(|d| txn.open_table(*d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| backend(e, "opening an index table"))?;
    Ok((items, gsis))
}

fn read_raw<T: ReadableTable<&'static [u8], &'static [u8]>>(
    items: &T,
    main: &[u8],
) -> Result<Option<Item>, StoreError> {
    match items.get(main).map_err(|e| backend(e, "reading an item"))? {
        Some(raw) => Ok(Some(decode(raw.value(), main)?)),
        None => Ok(None),
    }
}

/// The index entries of an item: (index, entry key).
type IndexEntries = Vec<(usize, Vec<u8>)>;

/// An item as it is written: encoded, with its index entries.
struct Encoded {
    bytes: Vec<u8>,
    entries: IndexEntries,
}

impl Encoded {
    fn of(item: &Item, main: &[u8]) -> Encoded {
        Encoded {
            bytes: codec::encode(item),
            entries: gsi_entries(item, main).collect(),
        }
    }
}

/// The index entries of the item a write replaces: known from a read before it, or taken from
/// the item the write finds (a blind write reads nothing first).
enum Replaced {
    Known(IndexEntries),
    Found,
}

/// Replaces (or, with `new` `None`, deletes) the item at `main`, keeping the indexes in step.
fn write_one(
    tables: &mut Tables<'_>,
    main: &[u8],
    replaced: Replaced,
    new: Option<&Encoded>,
) -> Result<(), StoreError> {
    let (items, gsis) = tables;
    let previous = match new {
        Some(new) => items
            .insert(main, new.bytes.as_slice())
            .map_err(|e| backend(e, "writing an item"))?,
        None => items
            .remove(main)
            .map_err(|e| backend(e, "deleting an item"))?,
    };
    let old: IndexEntries = match (replaced, previous) {
        (Replaced::Known(entries), _) => entries,
        (Replaced::Found, Some(raw)) => gsi_entries(&decode(raw.value(), main)?, main).collect(),
        (Replaced::Found, None) => Vec::new(),
    };
    let no_entries = Vec::new();
    let new_entries = new.map_or(&no_entries, |n| &n.entries);
    for entry in old.iter().filter(|e| !new_entries.contains(e)) {
        gsis[entry.0]
            .remove(entry.1.as_slice())
            .map_err(|e| backend(e, "updating an index"))?;
    }
    for entry in new_entries.iter().filter(|e| !old.contains(e)) {
        gsis[entry.0]
            .insert(entry.1.as_slice(), [].as_slice())
            .map_err(|e| backend(e, "updating an index"))?;
    }
    Ok(())
}

fn begin_write(db: &Database) -> Result<WriteTransaction, StoreError> {
    db.begin_write().map_err(|e| backend(e, "starting a write"))
}

/// One write of a transaction, made ready before the store is taken: its key and, for a put,
/// its item encoded.
struct Prepared {
    main: Vec<u8>,
    op: WriteOp,
    encoded: Option<Encoded>,
}

/// Checks a transaction's shape and readies its writes.
fn prepare(ops: Vec<WriteOp>) -> Result<Vec<Prepared>, StoreError> {
    let keys = validate_transaction(&ops)?;
    Ok(ops
        .into_iter()
        .zip(keys)
        .map(|(op, key)| {
            let main = main_key(&key.pk, &key.sk);
            let encoded = match &op {
                WriteOp::Put { item, .. } => Some(Encoded::of(item, &main)),
                _ => None,
            };
            Prepared { main, op, encoded }
        })
        .collect())
}

/// The new state of each item of a transaction, or the index of the operation whose condition
/// failed.
type Outcome = Result<Vec<Option<Item>>, usize>;

/// Runs conditional writes atomically: in a transaction of their own, committed, or in the bulk
/// load's transaction.
fn transact_blocking(
    access: Access<'_>,
    ops: Vec<Prepared>,
    now: i64,
) -> Result<Outcome, StoreError> {
    match access {
        Access::Txn(txn) => stage_and_write(txn, ops, now),
        Access::Db(db) => {
            let txn = begin_write(db)?;
            let outcome = stage_and_write(&txn, ops, now)?;
            if outcome.is_ok() {
                txn.commit().map_err(|e| backend(e, "committing a write"))?;
            }
            Ok(outcome)
        }
    }
}

/// Checks every condition, then writes: nothing is written when one fails (the index of the
/// first failing operation is returned).
fn stage_and_write(
    txn: &WriteTransaction,
    ops: Vec<Prepared>,
    now: i64,
) -> Result<Outcome, StoreError> {
    let mut tables = open_tables(txn)?;
    let mut staged = Vec::with_capacity(ops.len());
    for (index, prepared) in ops.into_iter().enumerate() {
        let Prepared { main, op, encoded } = prepared;
        if let WriteOp::Put {
            item,
            condition: None,
        } = op
        {
            staged.push((main, Replaced::Found, encoded, Some(item), true));
            continue;
        }
        let stored = read_raw(&tables.0, &main)?;
        let old: IndexEntries = stored
            .as_ref()
            .map_or_else(Vec::new, |i| gsi_entries(i, &main).collect());
        let visible = stored.filter(|i| !is_expired(i, now));
        if let Some(condition) = op.condition() {
            if !condition.holds(visible.as_ref()) {
                return Ok(Err(index));
            }
        }
        let (encoded, new) = match op {
            WriteOp::Put { item, .. } => (encoded, Some(item)),
            WriteOp::Update(u) => {
                let item = u.apply(visible)?;
                (Some(Encoded::of(&item, &main)), Some(item))
            }
            WriteOp::Delete { .. } => (None, None),
            WriteOp::Check { .. } => {
                staged.push((main, Replaced::Known(old), None, None, false));
                continue;
            }
        };
        staged.push((main, Replaced::Known(old), encoded, new, true));
    }
    let mut outcome = Vec::with_capacity(staged.len());
    for (main, replaced, encoded, new, writes) in staged {
        if writes {
            write_one(&mut tables, &main, replaced, encoded.as_ref())?;
        }
        outcome.push(new);
    }
    Ok(Ok(outcome))
}

/// The writes of a batch, made ready before the store is taken: each key with its item
/// encoded, or `None` to delete.
type PreparedBatch = Vec<(Vec<u8>, Option<Encoded>)>;

fn prepare_batch(ops: Vec<BatchOp>) -> Result<PreparedBatch, StoreError> {
    ops.into_iter()
        .map(|op| match op {
            BatchOp::Put(item) => {
                let key = validate_item(&item)?;
                let main = main_key(&key.pk, &key.sk);
                let encoded = Encoded::of(&item, &main);
                Ok((main, Some(encoded)))
            }
            BatchOp::Delete(key) => {
                validate_key(&key)?;
                Ok((main_key(&key.pk, &key.sk), None))
            }
        })
        .collect()
}

fn batch_blocking(access: Access<'_>, ops: PreparedBatch) -> Result<(), StoreError> {
    match access {
        Access::Txn(txn) => batch_in(txn, ops),
        Access::Db(db) => {
            let txn = begin_write(db)?;
            batch_in(&txn, ops)?;
            txn.commit().map_err(|e| backend(e, "committing a batch"))
        }
    }
}

fn batch_in(txn: &WriteTransaction, ops: PreparedBatch) -> Result<(), StoreError> {
    let mut tables = open_tables(txn)?;
    for (main, new) in ops {
        write_one(&mut tables, &main, Replaced::Found, new.as_ref())?;
    }
    Ok(())
}

/// The bytes of the item at `main`, as stored.
fn get_raw(access: Access<'_>, main: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let opening = |e| backend(e, "opening the items table");
    match access {
        Access::Db(db) => {
            let txn = db
                .begin_read()
                .map_err(|e| backend(e, "reading the embedded store"))?;
            copy_raw(&txn.open_table(ITEMS).map_err(opening)?, main)
        }
        Access::Txn(txn) => copy_raw(&txn.open_table(ITEMS).map_err(opening)?, main),
    }
}

fn copy_raw<T: ReadableTable<&'static [u8], &'static [u8]>>(
    items: &T,
    main: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(items
        .get(main)
        .map_err(|e| backend(e, "reading an item"))?
        .map(|raw| raw.value().to_vec()))
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
