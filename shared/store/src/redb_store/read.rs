//! Reads: a key range of the table or of an index walked into a page (filtered, limited) or
//! copied as stored, and one item as stored.

use std::ops::Bound;

use redb::{ReadableDatabase, ReadableTable};

use crate::item::Item;
use crate::port::{is_expired, Cursor, Page, Query, Scan, StoreError};
use crate::table::GsiSpec;

use super::{
    backend, cursor_key, decode, gsi_index, main_key_of_gsi_entry, partition_prefix, query_range,
    segment_range, Access, GSI_TABLES, ITEMS,
};

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

pub(super) fn collect_raw(
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
pub(super) fn page_of_raw(raw_items: RawItems, now: i64) -> Result<Page, StoreError> {
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

pub(super) fn query_range_of(q: &Query) -> Result<QueryRange, StoreError> {
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

pub(super) fn query_blocking(access: Access<'_>, q: Query, now: i64) -> Result<Page, StoreError> {
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

pub(super) fn scan_blocking(access: Access<'_>, s: Scan, now: i64) -> Result<Page, StoreError> {
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

/// The bytes of the item at `main`, as stored.
pub(super) fn get_raw(access: Access<'_>, main: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
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
