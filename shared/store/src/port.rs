//! The storage port: item-level operations that DynamoDB and compatible services all offer.
//!
//! Contract shared by every backend (the contract test suite checks it):
//! - Items carry string `pk` and `sk` attributes; key attributes of the table and of its indexes
//!   are strings without NUL characters.
//! - An item whose TTL attribute ([`crate::table::TTL`], epoch seconds) is at or before now is
//!   invisible to reads and counts as absent for conditions.
//! - Query results are ordered by sort key (bytewise); scans have no defined order, but a scan of
//!   segments `0..total` together returns each visible item exactly once.
//! - A page holds `limit` items (after the filter) unless it is the last; its cursor resumes
//!   after the last item returned. A page may carry a cursor although nothing follows; the next
//!   page is then empty with no cursor.

use std::collections::BTreeMap;
use std::future::Future;

use crate::expr::{Condition, SortKey, Update, UpdateError};
use crate::item::{AttrValue, Item, Key, MappingError};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of a single put, update or delete did not hold; nothing changed.
    #[error("the condition of the write did not hold")]
    ConditionFailed,
    /// The condition of the operation at `index` (the lowest failing one) of a transaction did not
    /// hold; nothing changed.
    #[error("transaction canceled: the condition of operation {index} did not hold")]
    TransactionConditionFailed { index: usize },
    /// A concurrent transaction touched the same items; nothing changed, a retry may succeed.
    #[error("conflict with a concurrent transaction; nothing changed, retry")]
    Conflict,
    /// The request is malformed (bad key, too many operations, bad update); a retry cannot help.
    #[error("invalid storage request: {0}")]
    Invalid(String),
    /// A stored item does not have the shape its repository expects.
    #[error("stored item {key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
    /// The backend is unreachable or failed; a retry may help.
    #[error("storage backend failed")]
    Backend(#[source] anyhow::Error),
}

impl StoreError {
    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict | StoreError::Backend(_))
    }

    /// A `Malformed` error for the item at `key`.
    pub fn malformed(key: &Key, reason: impl ToString) -> Self {
        StoreError::Malformed {
            key: format!("{}/{}", key.pk, key.sk),
            reason: reason.to_string(),
        }
    }
}

impl From<UpdateError> for StoreError {
    fn from(e: UpdateError) -> Self {
        StoreError::Invalid(e.to_string())
    }
}

impl From<MappingError> for StoreError {
    fn from(e: MappingError) -> Self {
        StoreError::Invalid(e.to_string())
    }
}

/// Opaque position in a query or scan, to resume after the last item of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Text form, to keep in a checkpoint or hand to a client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Restores a cursor from [`Cursor::as_str`]; `None` when the text is not a cursor.
    pub fn parse(text: &str) -> Option<Cursor> {
        Self::from_text(text).map(|_| Cursor(text.to_owned()))
    }

    /// The key attributes of the last item (table and index keys).
    pub(crate) fn keys(&self) -> BTreeMap<String, String> {
        Self::from_text(&self.0).unwrap_or_default()
    }

    fn from_text(text: &str) -> Option<BTreeMap<String, String>> {
        serde_json::from_str(text).ok()
    }

    pub(crate) fn from_keys(keys: &BTreeMap<String, String>) -> Cursor {
        Cursor(serde_json::to_string(keys).unwrap_or_default())
    }

    /// The cursor after `item` in a query or scan on the table or on index `index`.
    pub(crate) fn after(item: &Item, index: Option<&crate::table::GsiSpec>) -> Cursor {
        let mut names = vec![crate::table::PK, crate::table::SK];
        if let Some(g) = index {
            names.extend([g.pk, g.sk]);
        }
        let keys = names
            .into_iter()
            .filter_map(|n| Some((n.to_owned(), item.get(n)?.as_s()?.to_owned())))
            .collect();
        Cursor::from_keys(&keys)
    }
}

/// One page of a query or scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub cursor: Option<Cursor>,
}

/// A query of one partition of the table or of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Option<&'static str>,
    pub pk: String,
    pub sk: Option<SortKey>,
    pub descending: bool,
    /// Items per page; `None` returns the whole partition in one page.
    pub limit: Option<u32>,
    pub cursor: Option<Cursor>,
    pub filter: Option<Condition>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Query {
            index: None,
            pk: pk.into(),
            sk: None,
            descending: false,
            limit: None,
            cursor: None,
            filter: None,
        }
    }

    /// Queries index `name` (one of [`crate::table::TABLE`]'s GSIs) instead of the table.
    pub fn on_index(mut self, name: &'static str) -> Self {
        self.index = Some(name);
        self
    }

    pub fn sort_key(mut self, condition: SortKey) -> Self {
        self.sk = Some(condition);
        self
    }

    pub fn begins_with(self, prefix: impl Into<String>) -> Self {
        self.sort_key(SortKey::BeginsWith(prefix.into()))
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(condition);
        self
    }
}

/// One segment of a parallel scan of the table or of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub index: Option<&'static str>,
    pub segment: u32,
    pub total_segments: u32,
    pub limit: Option<u32>,
    pub cursor: Option<Cursor>,
    pub filter: Option<Condition>,
}

impl Scan {
    /// Segment `segment` of `total_segments` (at least 1, at most 1,000,000).
    pub fn segment(segment: u32, total_segments: u32) -> Self {
        Scan {
            index: None,
            segment,
            total_segments,
            limit: None,
            cursor: None,
            filter: None,
        }
    }

    pub fn on_index(mut self, name: &'static str) -> Self {
        self.index = Some(name);
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(condition);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.total_segments == 0
            || self.total_segments > 1_000_000
            || self.segment >= self.total_segments
        {
            return Err(StoreError::Invalid(format!(
                "scan segment {} of {} is out of range",
                self.segment, self.total_segments
            )));
        }
        Ok(())
    }
}

/// One write of a transaction. Each item may appear once per transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update(Update),
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Only checks a condition on an item.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn put(item: Item) -> Self {
        WriteOp::Put {
            item,
            condition: None,
        }
    }

    pub fn put_if(item: Item, condition: Condition) -> Self {
        WriteOp::Put {
            item,
            condition: Some(condition),
        }
    }

    pub(crate) fn key(&self) -> Option<Key> {
        match self {
            WriteOp::Put { item, .. } => Key::of(item),
            WriteOp::Update(u) => Some(u.key.clone()),
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => Some(key.clone()),
        }
    }

    pub(crate) fn condition(&self) -> Option<&Condition> {
        match self {
            WriteOp::Put { condition, .. } | WriteOp::Delete { condition, .. } => {
                condition.as_ref()
            }
            WriteOp::Update(u) => u.condition.as_ref(),
            WriteOp::Check { condition, .. } => Some(condition),
        }
    }
}

/// Most writes a transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

/// An unconditional write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOp {
    Put(Item),
    Delete(Key),
}

/// Reads. Every method is safe to call concurrently.
pub trait ItemRead: Send + Sync {
    /// The item with `key`, unless absent or expired.
    fn get(&self, key: &Key) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// One page of a partition, ordered by sort key (descending if asked).
    fn query(&self, query: &Query) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// One page of a scan segment.
    fn scan(&self, scan: &Scan) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// Writes. Conditions are evaluated atomically with the write they guard.
pub trait ItemWrite: Send + Sync {
    /// Puts (replaces) an item. MUST return `ConditionFailed` if `condition` does not hold.
    fn put(
        &self,
        item: Item,
        condition: Option<Condition>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies an update and returns the item after it. MUST return `ConditionFailed` if the
    /// update's condition does not hold.
    fn update(&self, update: Update) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// Deletes an item (absent is fine). MUST return `ConditionFailed` if `condition` does not
    /// hold.
    fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// All writes or none (at most [`MAX_TRANSACTION_OPS`], one per item). MUST return
    /// `TransactionConditionFailed` with the lowest failing index if a condition does not hold,
    /// and `Conflict` when a concurrent transaction interfered.
    fn transact(&self, ops: Vec<WriteOp>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Unconditional puts and deletes, each atomic on its own, not together; any number of them.
    fn batch_write(&self, ops: Vec<BatchOp>)
        -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A backend whose TTL check can follow another clock than the wall's: for a simulation or a
/// test whose instants are not today's, so a record kept "for 7 days" is kept for 7 of its days.
pub trait TtlClock: Sized {
    /// The same store (sharing its connection or file), checking TTLs against `at`.
    fn with_ttl_clock(self, at: chrono::DateTime<chrono::Utc>) -> Self;
}

/// A whole backend; cheap to clone (clones share the connection or file).
pub trait Store: ItemRead + ItemWrite + Clone + 'static {}

impl<T: ItemRead + ItemWrite + Clone + 'static> Store for T {}

/// Checks what both backends require of an item written to the table.
pub(crate) fn validate_item(item: &Item) -> Result<Key, StoreError> {
    let spec = crate::table::TABLE;
    let key = Key::of(item).ok_or_else(|| {
        StoreError::Invalid("an item needs string attributes pk and sk".to_owned())
    })?;
    for (name, value) in item {
        if spec.is_key_attribute(name) {
            match value {
                AttrValue::S(s) if !s.is_empty() && !s.contains('\0') => {}
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "key attribute {name} must be a non-empty string without NUL"
                    )))
                }
            }
        }
    }
    Ok(key)
}

/// Checks a key used to address an item.
pub(crate) fn validate_key(key: &Key) -> Result<(), StoreError> {
    validate_item(&key.to_item()).map(|_| ())
}

/// Checks a transaction's shape: size and one operation per item.
pub(crate) fn validate_transaction(ops: &[WriteOp]) -> Result<Vec<Key>, StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} writes, not {}",
            ops.len()
        )));
    }
    let mut keys = Vec::with_capacity(ops.len());
    for op in ops {
        let key = op.key().ok_or_else(|| {
            StoreError::Invalid("an item needs string attributes pk and sk".to_owned())
        })?;
        match op {
            WriteOp::Put { item, .. } => {
                validate_item(item)?;
            }
            WriteOp::Update(u) => {
                validate_key(&u.key)?;
                u.validate()?;
                for (name, value) in &u.set {
                    if crate::table::TABLE.is_key_attribute(name)
                        && !matches!(value, AttrValue::S(s) if !s.is_empty() && !s.contains('\0'))
                    {
                        return Err(StoreError::Invalid(format!(
                            "key attribute {name} must be a non-empty string without NUL"
                        )));
                    }
                }
            }
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => validate_key(key)?,
        }
        if keys.contains(&key) {
            return Err(StoreError::Invalid(format!(
                "a transaction writes item {}/{} twice",
                key.pk, key.sk
            )));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Whether an item's TTL has passed at `now` (epoch seconds).
pub(crate) fn is_expired(item: &Item, now: i64) -> bool {
    match item.get(crate::table::TTL) {
        Some(AttrValue::N(n)) => n
            .cmp_numeric(&now.into())
            .is_some_and(|o| o != std::cmp::Ordering::Greater),
        _ => false,
    }
}

pub(crate) fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
