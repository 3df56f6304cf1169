//! Checkpoints of the nightly run, per run date and shard: idempotent to start, resumable.

use chrono::NaiveDate;

use super::{integer, new_item, query_all, string};
use crate::expr::{Condition, Update};
use crate::item::{Item, Key};
use crate::port::{Cursor, Query, Store, StoreError};

const CURSOR: &str = "cursor";
const PROCESSED: &str = "processed";
const DONE: &str = "done";

fn run_pk(date: NaiveDate) -> String {
    format!("RUN#{date}")
}

fn shard_key(date: NaiveDate, shard: u32) -> Key {
    Key::new(run_pk(date), format!("SHARD#{shard:06}"))
}

/// How far one shard of a nightly run got.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub shard: u32,
    pub total_shards: u32,
    /// Where to resume the shard's scan; `None` at the start (or when done).
    pub cursor: Option<Cursor>,
    pub processed: u64,
    pub done: bool,
}

fn checkpoint_of(item: &Item) -> Result<Checkpoint, StoreError> {
    let key = super::item_key(item);
    let cursor = match item.get(CURSOR) {
        Some(_) => Some(
            Cursor::parse(&string(item, CURSOR)?)
                .ok_or_else(|| StoreError::malformed(&key, "bad cursor"))?,
        ),
        None => None,
    };
    Ok(Checkpoint {
        shard: integer(item, "shard")? as u32,
        total_shards: integer(item, "total_shards")? as u32,
        cursor,
        processed: integer(item, PROCESSED)? as u64,
        done: item.get(DONE).is_some_and(|v| *v == true.into()),
    })
}

/// Nightly-run checkpoints.
#[derive(Clone)]
pub struct NightlyRuns<S> {
    store: S,
}

impl<S: Store> NightlyRuns<S> {
    pub fn new(store: S) -> Self {
        NightlyRuns { store }
    }

    /// Starts shard `shard` of `total` for the run of `date`, or returns where it got to if it
    /// was started before (a re-delivered start resumes instead of starting over).
    pub async fn start(
        &self,
        date: NaiveDate,
        shard: u32,
        total: u32,
    ) -> Result<Checkpoint, StoreError> {
        let key = shard_key(date, shard);
        let mut item = new_item(&key, "run_shard");
        item.insert("shard".into(), shard.into());
        item.insert("total_shards".into(), total.into());
        item.insert(PROCESSED.into(), 0u64.into());
        item.insert(DONE.into(), false.into());
        match self
            .store
            .put(item.clone(), Some(Condition::absent()))
            .await
        {
            Ok(()) => checkpoint_of(&item),
            Err(StoreError::ConditionFailed) => match self.store.get(&key).await? {
                Some(found) => checkpoint_of(&found),
                None => Err(StoreError::Conflict),
            },
            Err(e) => Err(e),
        }
    }

    /// Moves the shard from cursor `from` to `to` (`None`: the scan finished), adding
    /// `processed`. MUST fail with `ConditionFailed` if the checkpoint is no longer at `from`
    /// (another worker advanced it), so no page is counted twice.
    pub async fn advance(
        &self,
        date: NaiveDate,
        shard: u32,
        from: Option<&Cursor>,
        to: Option<&Cursor>,
        processed: u64,
    ) -> Result<Checkpoint, StoreError> {
        let at_from = match from {
            Some(c) => Condition::eq(CURSOR, c.as_str()),
            None => Condition::NotExists(CURSOR.into()),
        };
        let mut update = Update::new(shard_key(date, shard))
            .add(PROCESSED, processed)
            .when(
                Condition::present()
                    .and(Condition::eq(DONE, false))
                    .and(at_from),
            );
        update = match to {
            Some(c) => update.set(CURSOR, c.as_str()),
            None => update.remove(CURSOR).set(DONE, true),
        };
        let item = self.store.update(update).await?;
        checkpoint_of(&item)
    }

    /// Every started shard of a run, by shard number.
    pub async fn shards(&self, date: NaiveDate) -> Result<Vec<Checkpoint>, StoreError> {
        let items = query_all(&self.store, Query::partition(run_pk(date))).await?;
        items.iter().map(checkpoint_of).collect()
    }
}
