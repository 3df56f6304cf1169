//! Storage for the dealership: one item-level port, a DynamoDB and an embedded (redb) backend,
//! and the repositories written once over the port. The table design is in `docs/storage.md`.

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod expr;
pub mod item;
pub mod port;
pub mod redb_store;
pub mod repo;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "dynamodb")]
pub use dynamo::DynamoStore;
pub use expr::{Condition, SortKey, Update};
pub use item::{AttrValue, Item, Key, Number};
pub use port::{
    BatchOp, Cursor, ItemRead, ItemWrite, Page, Query, Scan, Store, StoreError, TtlClock, WriteOp,
};
pub use redb_store::RedbStore;
