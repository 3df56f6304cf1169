//! Test setup: the handler's dependencies on a fresh embedded store, signing, the clock.
#![allow(dead_code, reason = "each test binary uses a part of the shared setup")]

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use ingest_visit::{Deps, Secret};
use lambda_http::http::{HeaderMap, HeaderValue};
use store::repo::Repos;
use store::{RedbStore, Scan, Store};

pub const SECRET: &str = "the-dealer-shared-secret";

/// The handler's dependencies and the store under them.
pub fn deps(dir: &tempfile::TempDir) -> (Deps<RedbStore>, RedbStore) {
    let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
    let deps = Deps {
        repos: Repos::new(store.clone()),
        policy: Policy::default(),
        secret: Secret::parse(SECRET).unwrap(),
        events: app::Events::none(),
    };
    (deps, store)
}

/// Shortly after the example visit closed.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-12T16:00:00+03:00")
        .unwrap()
        .to_utc()
}

pub fn signed_headers(body: &[u8], t: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = Secret::parse(SECRET).unwrap().sign(t, body);
    headers.insert("x-signature", HeaderValue::from_str(&value).unwrap());
    headers
}

pub fn example_body() -> Vec<u8> {
    serde_json::to_vec(&app::fixtures::example_visit()).unwrap()
}

/// Every item in the store (all of it, nothing filtered).
pub async fn item_count<S: Store>(store: &S) -> usize {
    let mut count = 0;
    let mut scan = Scan::segment(0, 1).limit(1_000);
    loop {
        let page = store.scan(&scan).await.unwrap();
        count += page.items.len();
        match page.cursor {
            Some(c) => scan = Scan::segment(0, 1).limit(1_000).after(Some(c)),
            None => return count,
        }
    }
}

/// A POST or other request through API Gateway, signed when `signature` is given.
pub fn api_gateway_request(
    method: &str,
    path: &str,
    body: &[u8],
    signature: Option<&str>,
) -> lambda_http::Request {
    let headers: Vec<(&str, &str)> = signature.map(|s| ("x-signature", s)).into_iter().collect();
    lambda_support::test_events::http_api_event(method, path, "", &headers, body)
}
