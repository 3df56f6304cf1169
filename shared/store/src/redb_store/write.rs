//! Writes: an item and its index entries kept in step; conditional writes and transactions
//! checked, then written, in one redb write transaction; batches written blind.

use redb::{Database, ReadableTable, Table, WriteTransaction};

use crate::item::{codec, Item};
use crate::port::{
    is_expired, validate_item, validate_key, validate_transaction, BatchOp, StoreError, WriteOp,
};

use super::{backend, decode, gsi_entries, main_key, Access, GSI_TABLES, ITEMS};

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
pub(super) struct Encoded {
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
pub(super) struct Prepared {
    main: Vec<u8>,
    op: WriteOp,
    encoded: Option<Encoded>,
}

/// Checks a transaction's shape and readies its writes.
pub(super) fn prepare(ops: Vec<WriteOp>) -> Result<Vec<Prepared>, StoreError> {
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
pub(super) fn transact_blocking(
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

pub(super) fn prepare_batch(ops: Vec<BatchOp>) -> Result<PreparedBatch, StoreError> {
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

pub(super) fn batch_blocking(access: Access<'_>, ops: PreparedBatch) -> Result<(), StoreError> {
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
