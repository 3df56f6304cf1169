//! The conversation's business events come with its replies, and each is valid against its schema:
//! BookingConfirmed, BookingRescheduled (the new slot), NoShow, BookingCancelled by the advisors,
//! OptedOut for «Не присылать» (one vehicle) and VehicleSold for «Продал автомобиль».

mod common;

use app::events::BusinessEvent;
use common::*;
use serde_json::Value;

fn checked(events: &[BusinessEvent]) -> Vec<(&'static str, Value)> {
    events
        .iter()
        .map(|event| {
            let path = format!(
                "{}/../../docs/events/{}.schema.json",
                env!("CARGO_MANIFEST_DIR"),
                event.name()
            );
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap();
            let detail = event.detail();
            let errors: Vec<String> = validator
                .iter_errors(&detail)
                .map(|e| e.to_string())
                .collect();
            assert_eq!(errors, Vec::<String>::new(), "{detail}");
            (event.name(), detail)
        })
        .collect()
}

#[tokio::test]
async fn a_booking_s_confirmation_move_no_show_and_an_advisor_s_cancel_are_events() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let confirmed = w
        .book(MIKHAIL, &book, "02.11 10:00", "2027-11-01T10:00:00+03:00")
        .await;
    let [(name, detail)] = checked(&confirmed.events).try_into().unwrap();
    assert_eq!(name, "BookingConfirmed");
    assert_eq!(detail["vehicle_id"], MIKHAIL_VIN);
    assert_eq!(detail["slot"]["start"], "10:00");

    let picker = w
        .press(
            MIKHAIL,
            &button(&confirmed, MIKHAIL, "Перенести"),
            "2027-11-01T11:00:00+03:00",
        )
        .await;
    assert!(picker.events.is_empty());
    let moved = w
        .press(
            MIKHAIL,
            &button(&picker, MIKHAIL, "02.11 14:00"),
            "2027-11-01T11:01:00+03:00",
        )
        .await;
    let [(name, detail)] = checked(&moved.events).try_into().unwrap();
    assert_eq!(name, "BookingRescheduled");
    assert_eq!(detail["slot"]["start"], "14:00");

    let no_show = button(&moved, ADVISORS, "Не приехал");
    let marked = w
        .press(ADVISORS, &no_show, "2027-11-02T14:01:00+03:00")
        .await;
    let [(name, _)] = checked(&marked.events).try_into().unwrap();
    assert_eq!(name, "NoShow");

    let book = w
        .offer("o2", "C-1002", ANNA_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let confirmed = w
        .book(ANNA, &book, "02.11 11:00", "2027-11-01T10:00:00+03:00")
        .await;
    let cancelled = w
        .press(
            ADVISORS,
            &button(&confirmed, ADVISORS, "Отменить"),
            "2027-11-01T10:30:00+03:00",
        )
        .await;
    let [(name, detail)] = checked(&cancelled.events).try_into().unwrap();
    assert_eq!(
        (name, detail["by"].as_str()),
        ("BookingCancelled", Some("advisor"))
    );
    assert_eq!(detail["customer_id"], "C-1002");
}

#[tokio::test]
async fn do_not_send_and_sold_answers_are_opted_out_and_vehicle_sold() {
    let w = World::new().await;
    w.offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    w.offer("o2", "C-1002", ANNA_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let muted = w
        .press(MIKHAIL, "mute:o1", "2027-11-01T10:00:00+03:00")
        .await;
    let [(name, detail)] = checked(&muted.events).try_into().unwrap();
    assert_eq!(name, "OptedOut");
    assert_eq!(detail["scope"], "vehicle_marketing");
    assert_eq!(detail["vehicle_id"], MIKHAIL_VIN);
    assert_eq!(detail["offer_id"], "o1");
    // Undone, then pressed again a day later: another opt-out, another id.
    w.press(MIKHAIL, "unmute:o1", "2027-11-01T11:00:00+03:00")
        .await;
    let again = w
        .press(MIKHAIL, "mute:o1", "2027-11-02T10:00:00+03:00")
        .await;
    assert_eq!(again.events.len(), 1);
    assert_ne!(again.events[0].event_id, muted.events[0].event_id);

    let sold = w.press(ANNA, "dw:s:o2", "2027-11-01T10:00:00+03:00").await;
    let [(name, detail)] = checked(&sold.events).try_into().unwrap();
    assert_eq!(name, "VehicleSold");
    assert_eq!(detail["vehicle_id"], ANNA_VIN);
    assert_eq!(detail["customer_id"], "C-1002");
}
