//! One contract suite for the storage port and the repositories, run on both backends:
//! redb (a temporary file per test) and DynamoDB on moto_server (a fresh table per test).

mod bulk;
mod capacity;
mod deliveries;
mod erasure;
mod marketing;
mod moves;
mod port;
mod repos;
mod switches;

use store::testing::Moto;
use store::{DynamoStore, RedbStore};

/// An embedded store in its own temporary directory (removed on drop).
pub struct TempRedb {
    pub store: RedbStore,
    _dir: tempfile::TempDir,
}

pub fn redb() -> TempRedb {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = RedbStore::open(dir.path().join("store.redb")).expect("open embedded store");
    TempRedb { store, _dir: dir }
}

pub async fn dynamodb() -> DynamoStore {
    Moto::shared()
        .fresh_store("contract")
        .await
        .expect("create a table on moto_server")
}

/// Instantiates every listed case (an `async fn(S)` generic over the store) for both backends.
macro_rules! contract {
    ($module:ident: $($case:ident),* $(,)?) => {
        mod redb_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let temp = crate::redb();
                    crate::$module::$case(temp.store.clone()).await;
                }
            )*
        }

        mod dynamodb_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let store = crate::dynamodb().await;
                    crate::$module::$case(store).await;
                }
            )*
        }
    };
}
pub(crate) use contract;
