//! What the webhook's test files share.

use chrono::{DateTime, Utc};
use store::{RedbStore, TtlClock};

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A store whose TTLs follow a clock set before the tests' instants (not today's), so an update
/// is still known when it is delivered again, whatever the date.
pub fn test_store(dir: &std::path::Path) -> RedbStore {
    RedbStore::open(dir.join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"))
}
