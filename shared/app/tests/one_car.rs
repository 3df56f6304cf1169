//! One car, one lift (booking-webhook's `handle_update`, and `serve`'s, reach it): a customer
//! whose car is booked and who presses «Записаться», or a time, on another offer for it gets that
//! offer's work added to the visit booked, with a note to the advisors, and no second lift; two
//! offers' times pressed at once still take one.

mod common;

use std::sync::Arc;

use app::booking::BookingRecord;
use app::UpdateKind;
use common::*;

const NOW: &str = "2027-11-01T10:00:00+03:00";

async fn active_on(w: &World, date: &str) -> Vec<store::repo::Booking<BookingRecord>> {
    w.repos
        .capacity
        .bookings_on::<BookingRecord>(day(date))
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.state.is_active())
        .collect()
}

#[tokio::test]
async fn a_second_offer_for_a_booked_car_joins_its_visit_instead_of_taking_another_lift() {
    let w = World::new().await;
    let first = w.offer("o1", "C-1001", MIKHAIL_VIN, NOW).await;
    let second = w.offer("o2", "C-1001", MIKHAIL_VIN, NOW).await;
    // The second offer's picker was open before the first was booked.
    let picker = w.press(MIKHAIL, &second, NOW).await;
    let late_slot = button(&picker, MIKHAIL, "02.11 14:00");
    let card = w.hold(MIKHAIL, &first, "02.11 10:00", NOW).await;

    let joined = w.press(MIKHAIL, &late_slot, NOW).await;
    let told = &to(&joined, MIKHAIL).text;
    assert!(
        told.starts_with("Автомобиль уже записан на 02.11 10:00. Мастер-консультант добавит к этому визиту: мягкое напоминание."),
        "{told}"
    );
    assert!(to(&joined, MIKHAIL).buttons.is_empty());
    let note = &to(&joined, ADVISORS).text;
    assert!(
        note.starts_with(&format!(
            "Клиент просит добавить к записи на 02.11 10:00, автомобиль {MIKHAIL_VIN}"
        )),
        "{note}"
    );
    assert_eq!(toast(&joined), "Добавим к визиту");
    let booked = active_on(&w, "2027-11-02").await;
    assert_eq!(booked.len(), 1, "one lift for the car: {booked:?}");
    assert_eq!(booked[0].start, "10:00");
    assert_eq!(w.slot("2027-11-02", "14:00").await, (4, 4));

    // The hold awaits the advisor: no «Перенести» to point at yet.
    assert!(
        told.ends_with("Запись ждёт подтверждения мастера-консультанта."),
        "{told}"
    );

    // «Записаться» on the second offer says the same at once, without a picker, and the
    // advisors are not told again.
    let again = w.press(MIKHAIL, &second, NOW).await;
    assert!(to(&again, MIKHAIL)
        .text
        .starts_with("Автомобиль уже записан на 02.11 10:00."));
    assert!(to(&again, MIKHAIL).buttons.is_empty());
    assert_eq!(again.messages.len(), 1, "{again:#?}");

    // Confirmed, the booking's message has «Перенести», and the answer says so.
    let confirm = card.buttons[0][0].callback_data.clone();
    w.press(ADVISORS, &confirm, NOW).await;
    let confirmed = w.press(MIKHAIL, &second, NOW).await;
    assert!(
        to(&confirmed, MIKHAIL)
            .text
            .ends_with("нажмите «Перенести» в сообщении о записи."),
        "{confirmed:#?}"
    );

    // Another customer's car is not affected, and once the visit is cancelled the car books
    // from the second offer.
    let anna = w.offer("o3", "C-1002", ANNA_VIN, NOW).await;
    w.hold(ANNA, &anna, "02.11 10:00", NOW).await;
    let cancel = button_in(&card, "Отменить");
    w.press(ADVISORS, &cancel, NOW).await;
    w.hold(MIKHAIL, &second, "02.11 14:00", NOW).await;
    let booked = active_on(&w, "2027-11-02").await;
    let mut starts: Vec<_> = booked
        .iter()
        .map(|b| (b.vin.as_str(), b.start.as_str()))
        .collect();
    starts.sort();
    assert_eq!(starts, [(MIKHAIL_VIN, "14:00"), (ANNA_VIN, "10:00")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_offers_times_pressed_at_once_for_one_car_take_one_lift() {
    for round in 0..8 {
        let w = Arc::new(World::new().await);
        let mut slots = Vec::new();
        for (offer, label) in [("o1", "02.11 10:00"), ("o2", "02.11 14:00")] {
            let book = w.offer(offer, "C-1001", MIKHAIL_VIN, NOW).await;
            let picker = w.press(MIKHAIL, &book, NOW).await;
            slots.push(button(&picker, MIKHAIL, label));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for data in slots {
            let w = Arc::clone(&w);
            tasks.spawn(async move {
                let update = w.update(
                    MIKHAIL,
                    UpdateKind::Callback {
                        callback_id: Some("cb".into()),
                        data,
                    },
                );
                // While the other press holds the car this one answers «in progress» and the
                // messenger delivers it again.
                loop {
                    match w.deliver(&update, NOW).await {
                        Err(app::UpdateError::InProgress(_)) => {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        done => break done,
                    }
                }
            });
        }
        let mut held = 0;
        let mut joined = 0;
        while let Some(done) = tasks.join_next().await {
            let replies = done.unwrap().unwrap();
            let text = &to(&replies, MIKHAIL).text;
            if text.starts_with("Заявка на") {
                held += 1;
            } else if text.starts_with("Автомобиль уже записан") {
                joined += 1;
            }
        }
        assert_eq!((held, joined), (1, 1), "round {round}");
        assert_eq!(active_on(&w, "2027-11-02").await.len(), 1, "round {round}");
    }
}
