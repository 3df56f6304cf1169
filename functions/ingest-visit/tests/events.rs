//! VisitRecorded from the webhook: published for every accepted delivery with the same id, and a
//! bus that refuses it makes the delivery fail (500) so the CRM retries.

mod common;

use app::events::{BoxFuture, BusinessEvent, CollectedEvents, EventSink};
use common::*;

struct Refusing;

impl EventSink for Refusing {
    fn publish<'a>(&'a self, _: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Err(anyhow::anyhow!("the bus is down")) })
    }
}

#[tokio::test]
async fn a_visit_and_its_repeat_publish_the_same_visit_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut deps, _store) = deps(&dir);
    let events = CollectedEvents::default();
    deps.events = app::Events::new(events.clone());
    let body = example_body();
    let headers = signed_headers(&body, now().timestamp());

    assert_eq!(
        ingest_visit::handle(&deps, &headers, &body, now())
            .await
            .status,
        201
    );
    assert_eq!(
        ingest_visit::handle(&deps, &headers, &body, now())
            .await
            .status,
        200
    );
    let published = events.take();
    assert_eq!(published.len(), 2);
    assert_eq!(published[0].name(), "VisitRecorded");
    assert_eq!(published[0].event_id, published[1].event_id);
    let detail = published[0].detail();
    assert_eq!(detail["work_order_id"], "A3C0001116");
    assert_eq!(detail["vehicle_id"], "XW7BE40K70S025476");
    assert_eq!(detail["newly_stored"], true);
    assert_eq!(published[1].detail()["newly_stored"], false);
}

#[tokio::test]
async fn a_visit_whose_event_is_refused_answers_500_and_its_retry_publishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut deps, _store) = deps(&dir);
    deps.events = app::Events::new(Refusing);
    let body = example_body();
    let headers = signed_headers(&body, now().timestamp());
    assert_eq!(
        ingest_visit::handle(&deps, &headers, &body, now())
            .await
            .status,
        500
    );

    let events = CollectedEvents::default();
    deps.events = app::Events::new(events.clone());
    assert_eq!(
        ingest_visit::handle(&deps, &headers, &body, now())
            .await
            .status,
        200
    );
    assert_eq!(events.names(), ["VisitRecorded"]);
}
