//! Test setup: the handler's dependencies on a fresh embedded store, signing, the clock.
#![allow(dead_code, reason = "each test binary uses a part of the shared setup")]

use app::compose::OfferRecord;
use app::evaluate::{CycleInfo, StageMark};
use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::triggers::{Reason, Stage};
use ingest_visit::{Deps, Secret};
use lambda_http::http::{HeaderMap, HeaderValue};
use store::repo::{NewOffer, Repos};
use store::{RedbStore, Scan, Store};

pub const SECRET: &str = "the-dealer-shared-secret";
/// The example visit's car and the cycle its work order opens.
pub const VIN: &str = "XW7BE40K70S025476";
pub const CYCLE: &str = "A3C0001116";

/// An RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

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

/// The soft reminder of the visit's cycle, sent on 1 November 2027.
pub async fn reminder_sent(repos: &store::repo::Repos<store::RedbStore>) {
    let sent = at("2027-11-01T10:00:00+03:00");
    let info = CycleInfo { started_at: now() };
    repos.cycles.open(VIN, CYCLE, &info).await.unwrap();
    let mark = StageMark {
        send_at: sent,
        decided_at: sent,
    };
    repos
        .cycles
        .mark_stage(VIN, CYCLE, "soft_reminder", &mark)
        .await
        .unwrap();
    let offer_id = app::messages::offer_id(VIN, CYCLE, Stage::SoftReminder);
    let record = OfferRecord {
        cycle_id: CYCLE.into(),
        stage: Stage::SoftReminder,
        reason: Reason::DueSoon {
            due: sent.date_naive(),
            days_left: 11,
        },
        send_at: sent,
        priced: None,
    };
    let new = NewOffer {
        offer_id: &offer_id,
        customer_id: "C-1001",
        vin: VIN,
        created_at: sent,
        offer: &record,
    };
    repos.offers.create(&new).await.unwrap();
    repos
        .offers
        .claim::<OfferRecord>(&offer_id, "composer", sent, Duration::seconds(60))
        .await
        .unwrap();
    assert!(repos
        .offers
        .mark_sent(&offer_id, "composer", sent)
        .await
        .unwrap());
}
