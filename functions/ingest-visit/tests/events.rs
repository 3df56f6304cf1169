//! VisitRecorded from the webhook: published for every accepted delivery with the same id, and a
//! bus that refuses it makes the delivery fail (500) so the CRM retries.

mod common;

use app::events::{BusinessEvent, CollectedEvents};
use common::*;

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

    // The same work order again with another VIN and odometer: nothing changes, and the answer
    // and the event are the stored visit's.
    let mut changed = app::fixtures::example_visit();
    changed["vehicle"]["vin"] = "XW7BE40K70S099080".into();
    changed["odometer_km"] = 10.into();
    let changed = serde_json::to_vec(&changed).unwrap();
    let headers = signed_headers(&changed, now().timestamp());
    let reply = ingest_visit::handle(&deps, &headers, &changed, now()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["vin"], "XW7BE40K70S025476", "{}", reply.body);
    assert!(reply.body["due_date"].is_string(), "{}", reply.body);
    let repeat = events.take();
    assert_eq!(repeat.len(), 1);
    assert_eq!(repeat[0].event_id, published[0].event_id);
    assert_eq!(repeat[0].detail(), published[1].detail());
    assert!(deps
        .repos
        .vehicles
        .get::<serde_json::Value>("XW7BE40K70S099080")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_visit_whose_event_is_refused_answers_500_and_its_retry_publishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut deps, _store) = deps(&dir);
    deps.events = app::Events::new(app::events::RefusingEvents);
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

/// STOP from the customer's Telegram chat on 1 November, before the CRM had sent them: the
/// booking webhook's use case remembers it by the chat.
async fn stop_before_the_crm_knew_them(deps: &ingest_visit::Deps<store::RedbStore>) {
    let update = app::MessengerUpdate {
        update_id: "41".into(),
        from: app::ports::Address::Telegram(5_550_001),
        kind: app::UpdateKind::Text("СТОП".into()),
    };
    let settings = app::BookingSettings {
        advisor_chat_id: -100_777,
        max_slots_shown: 20,
    };
    let stop = at("2026-11-01T10:00:00+03:00");
    app::handle_update(&deps.repos, &deps.policy, &settings, &update, stop)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stop_sent_before_the_first_visit_is_published_as_opted_out_when_the_visit_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (mut deps, _store) = deps(&dir);
    let events = CollectedEvents::default();
    deps.events = app::Events::new(events.clone());
    stop_before_the_crm_knew_them(&deps).await;
    assert!(
        events.take().is_empty(),
        "an unknown sender has no customer id yet"
    );

    let body = example_body();
    let headers = signed_headers(&body, now().timestamp());
    let status = ingest_visit::handle(&deps, &headers, &body, now())
        .await
        .status;
    assert_eq!(status, 201);
    let first = events.take();
    assert_eq!(
        first.iter().map(BusinessEvent::name).collect::<Vec<_>>(),
        ["VisitRecorded", "OptedOut"]
    );
    let detail = first[1].detail();
    assert_eq!(detail["customer_id"], "C-1001");
    assert_eq!(detail["scope"], "all");
    assert_eq!(detail["channel"], "telegram");
    assert_eq!(
        detail["occurred_at"], "2026-11-01T07:00:00Z",
        "dated at the STOP"
    );
    let customer = deps
        .repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.opted_out_at, Some(at("2026-11-01T10:00:00+03:00")));

    // The CRM's retry (its first publication may have failed) carries both again, same ids.
    let status = ingest_visit::handle(&deps, &headers, &body, now())
        .await
        .status;
    assert_eq!(status, 200);
    let again = events.take();
    assert_eq!(
        again.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
        first.iter().map(|e| &e.event_id).collect::<Vec<_>>()
    );

    // A later visit of the opted-out customer is news; the opt-out is not.
    let mut later = app::fixtures::visit("A3C0001200", VIN, "2026-12-01T12:00:00+03:00", 95_000);
    later["lines"][0]["code"] = "TO-75".into();
    let later = serde_json::to_vec(&later).unwrap();
    let when = at("2026-12-01T13:00:00+03:00");
    let headers = signed_headers(&later, when.timestamp());
    let status = ingest_visit::handle(&deps, &headers, &later, when)
        .await
        .status;
    assert_eq!(status, 201);
    assert_eq!(events.names(), ["VisitRecorded"]);
}
