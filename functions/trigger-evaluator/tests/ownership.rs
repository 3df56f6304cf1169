//! A car that comes in with another customer, on the deployed path: the visit recorded as
//! ingest-visit records it (`app::record_visit`), then the trigger-evaluator and offer-composer
//! handlers on the embedded store. The old owner's queued message is not sent; the new owner
//! gets the next one, in a cycle of their own.

mod common;

use common::{at, World};

const VIN: &str = "XW7BE40K70S025476";
const OLD_OWNER: &str = "C-1001";
const NEW_OWNER: &str = "C-2002";
const NEW_CHAT: i64 = 5_550_002;

/// The example car as the new owner brings it in for a repair.
fn new_owners_visit(work_order_id: &str, closed_at: &str, odometer_km: u32) -> Vec<u8> {
    let mut body = app::fixtures::visit(work_order_id, VIN, closed_at, odometer_km);
    body["kind"] = "repair".into();
    body["customer"] = serde_json::json!({
        "id": NEW_OWNER, "first_name": "Ольга", "phone": "+79161112233",
        "telegram_chat_id": NEW_CHAT,
        "consents": {"service_messages": true, "marketing": true}
    });
    body["lines"] = serde_json::json!([
        {"kind": "labor", "code": "SUS-010", "name": "Замена стойки стабилизатора", "qty": "1",
         "price": "2500.00", "cost": "900.00"}
    ]);
    serde_json::to_vec(&body).unwrap()
}

/// The example visit recorded, as in every other evaluator test.
async fn world() -> World {
    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    World::with_visit(&body, "2026-11-12T16:00:00+03:00").await
}

#[tokio::test]
async fn the_old_owners_queued_message_is_not_sent_and_the_new_owner_gets_the_next_in_a_new_cycle()
{
    let w = world().await;
    let queued = w
        .night(VIN, "2027-11-01", "2027-11-01T01:00:05+03:00")
        .await;
    assert!(!queued.is_empty());
    assert!(queued.iter().all(|m| m.customer_id() == OLD_OWNER));
    assert!(queued.iter().all(|m| m.cycle_id() == "A3C0001116"));
    // The old owner had asked for no marketing about the car.
    w.repos
        .answers
        .mute_marketing(VIN, OLD_OWNER, at("2027-10-01T12:00:00+03:00"))
        .await
        .unwrap();

    // Before the morning send, the car comes in with its new owner.
    let recorded = app::record_visit(
        &w.repos,
        &w.policy,
        &new_owners_visit("A3C0002001", "2027-11-01T08:40:00+03:00", 104_000),
        at("2027-11-01T08:45:00+03:00"),
    )
    .await
    .unwrap();
    assert_eq!(
        recorded.ownership,
        Some(app::OwnershipChanged {
            vin: VIN.into(),
            from_customer_id: OLD_OWNER.into(),
            to_customer_id: NEW_OWNER.into(),
            work_order_id: "A3C0002001".into(),
        })
    );
    let vehicle = w
        .repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vehicle.customer_id, NEW_OWNER);
    assert_eq!(vehicle.contact, store::repo::VehicleContact::default());
    assert!(w
        .repos
        .answers
        .marketing_muted_since(VIN, OLD_OWNER)
        .await
        .unwrap()
        .is_none());

    // The old owner's message, due at 09:00, is refused as stale: nothing goes out.
    w.compose(&queued, "2027-11-01T09:00:30+03:00").await;
    assert!(w.telegram.calls().is_empty());
    assert!(w
        .repos
        .offers
        .get::<app::compose::OfferRecord>(queued[0].offer_id())
        .await
        .unwrap()
        .is_none());

    // A delivery of the same work order again changes nothing.
    let again = app::record_visit(
        &w.repos,
        &w.policy,
        &new_owners_visit("A3C0002001", "2027-11-01T08:40:00+03:00", 104_000),
        at("2027-11-01T08:50:00+03:00"),
    )
    .await
    .unwrap();
    assert!(!again.newly_stored);
    assert_eq!(again.ownership, None);

    // The next nights decide for the new owner only, in the cycle their visit opened.
    let mut next = Vec::new();
    for (night, now) in [
        ("2027-11-02", "2027-11-02T01:00:05+03:00"),
        ("2027-11-03", "2027-11-03T01:00:05+03:00"),
        ("2027-11-04", "2027-11-04T01:00:05+03:00"),
        ("2027-11-05", "2027-11-05T01:00:05+03:00"),
    ] {
        next.extend(w.night(VIN, night, now).await);
    }
    assert!(!next.is_empty());
    assert!(next.iter().all(|m| m.customer_id() == NEW_OWNER));
    assert!(next.iter().all(|m| m.cycle_id() == "A3C0002001"));
    w.compose(&next, "2027-11-05T10:00:00+03:00").await;
    let calls = w.telegram.calls();
    assert_eq!(calls.len(), next.len());
    assert!(calls
        .iter()
        .all(|c| c.body["chat_id"] == serde_json::json!(NEW_CHAT)));
}

#[tokio::test]
async fn the_old_owners_sent_reminder_converts_nothing_the_new_owner_does_even_delivered_again() {
    let w = world().await;
    let queued = w
        .night(VIN, "2027-11-01", "2027-11-01T01:00:05+03:00")
        .await;
    w.compose(&queued, "2027-11-01T10:00:00+03:00").await;
    assert!(!w.telegram.calls().is_empty(), "the old owner was reminded");
    // The car comes in with its new owner the next day; the CRM delivers it twice (the old
    // owner's cycle is still open until the night).
    for delivered in ["2027-11-02T12:05:00+03:00", "2027-11-02T12:06:00+03:00"] {
        let recorded = app::record_visit(
            &w.repos,
            &w.policy,
            &new_owners_visit("A3C0002001", "2027-11-02T12:00:00+03:00", 104_000),
            at(delivered),
        )
        .await
        .unwrap();
        assert_eq!(recorded.converted, None, "delivered at {delivered}");
    }
    assert!(!w.repos.cycles.is_closed(VIN, "A3C0001116").await.unwrap());
}

#[tokio::test]
async fn an_older_visit_of_the_previous_owner_does_not_move_the_car_back() {
    let w = world().await;
    app::record_visit(
        &w.repos,
        &w.policy,
        &new_owners_visit("A3C0002001", "2027-03-01T12:00:00+03:00", 97_000),
        at("2027-03-01T12:10:00+03:00"),
    )
    .await
    .unwrap();
    w.repos
        .answers
        .mark_sold(VIN, NEW_OWNER, at("2027-04-01T10:00:00+03:00"))
        .await
        .unwrap();
    // The old owner's work order of January, sent by the CRM late.
    let backfill = app::fixtures::visit("A3C0001200", VIN, "2027-01-20T11:00:00+03:00", 95_000);
    let recorded = app::record_visit(
        &w.repos,
        &w.policy,
        &serde_json::to_vec(&backfill).unwrap(),
        at("2027-04-02T10:00:00+03:00"),
    )
    .await
    .unwrap();
    assert!(recorded.newly_stored);
    assert_eq!(recorded.ownership, None);
    let vehicle = w
        .repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vehicle.customer_id, NEW_OWNER);
    assert_eq!(
        vehicle.contact.sold_at,
        Some(at("2027-04-01T10:00:00+03:00"))
    );
    let visits = w
        .repos
        .visits
        .for_customer::<domain::Visit>(OLD_OWNER)
        .await
        .unwrap();
    assert_eq!(visits.len(), 2);
}
