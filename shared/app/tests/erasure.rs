//! A customer who erases their data with a booking open (booking-webhook's `handle_update`
//! reaches it, and `serve`'s): a hold no one can confirm to them is let go and its time freed, a
//! confirmed booking stays, and the advisors are told of both and never that a customer they
//! cannot reach was told anything.

mod common;

use common::*;
use store::repo::BookingState;

const NOW: &str = "2027-11-01T10:00:00+03:00";

/// `chat` asks to erase their data and confirms: the replies of the confirmation.
async fn erase(w: &World, chat: i64) -> app::UpdateReplies {
    let asked = w.say(chat, "Удалите мои данные", NOW).await;
    let yes = button(&asked, chat, "Да, удалить");
    w.press(chat, &yes, NOW).await
}

#[tokio::test]
async fn an_erasure_frees_a_hold_keeps_a_confirmed_booking_and_tells_the_advisors() {
    let w = World::new().await;
    let mikhail = w.offer("o1", "C-1001", MIKHAIL_VIN, NOW).await;
    let card = w.hold(MIKHAIL, &mikhail, "02.11 10:00", NOW).await;
    let anna = w.offer("o2", "C-1002", ANNA_VIN, NOW).await;
    let confirmed = w.book(ANNA, &anna, "02.11 11:00", NOW).await;
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 3));

    let erased = erase(&w, MIKHAIL).await;
    assert!(to(&erased, MIKHAIL).text.starts_with("Готово"));
    assert_eq!(
        to(&erased, ADVISORS).text,
        format!(
            "Клиент удалил свои персональные данные: заявка на 02.11 10:00, автомобиль \
             {MIKHAIL_VIN}, снята, время освобождено."
        )
    );
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 4));
    let held = w
        .booking(&booking_of(&card.buttons[0][0].callback_data))
        .await;
    assert_eq!(held.state, BookingState::Cancelled);
    let confirm = card.buttons[0][0].callback_data.clone();
    let late = w.press(ADVISORS, &confirm, NOW).await;
    assert!(!to(&late, ADVISORS).text.contains("Не нашли"), "{late:#?}");
    assert!(late.messages.iter().all(|m| m.to == a(ADVISORS)));

    let erased = erase(&w, ANNA).await;
    assert_eq!(
        to(&erased, ADVISORS).text,
        format!(
            "Клиент удалил свои персональные данные: запись на 02.11 11:00, автомобиль \
             {ANNA_VIN}, остаётся в силе, но сообщить клиенту о ней больше нельзя."
        )
    );
    assert_eq!(
        w.slot("2027-11-02", "11:00").await,
        (4, 3),
        "she may still come"
    );
    let cancel = button(&confirmed, ADVISORS, "Отменить");
    let cancelled = w.press(ADVISORS, &cancel, NOW).await;
    assert_eq!(cancelled.messages.len(), 1, "{cancelled:#?}");
    assert!(to(&cancelled, ADVISORS)
        .text
        .ends_with("Сообщить клиенту нельзя: его контактов больше нет."));
}

fn a(chat: i64) -> app::ports::Address {
    app::ports::Address::Telegram(chat)
}
