//! The advisors' side of a booking: the request with the customer's history, «Другое время»
//! (up to three times proposed, the customer picks one, which comes back for confirmation),
//! «Отменить», «Не приехал» only after the slot's time, and `/client` by phone, VIN and plate
//! in the advisors' chat only, on the embedded store.

mod common;

use app::booking::client::NOT_FOR_YOU;
use common::*;
use store::repo::BookingState;

const NOW: &str = "2027-11-01T10:00:00+03:00";

#[tokio::test]
async fn a_request_shows_the_customers_history_and_the_advisors_three_answers() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let card = w.hold(MIKHAIL, &book, "02.11 10:00", NOW).await;
    let lines: Vec<&str> = card.text.lines().collect();
    assert!(lines[0].starts_with(
        "Новая запись на 02.11 10:00, автомобиль XW7BE40K70S025476. Подтвердите до 10:30"
    ));
    assert_eq!(lines[1], "Клиент C-1001: Михаил, +79161234567");
    assert_eq!(
        lines[2],
        "Автомобили: Toyota Camry XW7BE40K70S025476, А123ВС777."
    );
    assert_eq!(
        lines[3],
        "Визиты: 12.11.2026 ТО, 90\u{a0}000 км, A3C0001116 (XW7BE40K70S025476)."
    );
    assert_eq!(
        lines[4],
        "Сообщения: 01.11.2027 мягкое напоминание — нажал «Записаться», ответил."
    );
    assert_eq!(lines[5], "Записи: 02.11.2027 10:00 — ждёт подтверждения.");
    let buttons: Vec<Vec<&str>> = card
        .buttons
        .iter()
        .map(|row| row.iter().map(|b| b.text.as_str()).collect())
        .collect();
    assert_eq!(
        buttons,
        [vec!["Подтвердить"], vec!["Другое время", "Отменить"]]
    );
    assert!(card
        .buttons
        .iter()
        .flatten()
        .all(|b| b.callback_data.len() <= 64));
}

#[tokio::test]
async fn the_advisor_proposes_other_times_and_the_customers_pick_comes_back_for_confirmation() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let card = w.hold(MIKHAIL, &book, "02.11 10:00", NOW).await;
    let first_confirm = card.buttons[0][0].callback_data.clone();
    let other = card.buttons[1][0].callback_data.clone();
    let id = booking_of(&other);

    let picker = w.press(ADVISORS, &other, "2027-11-01T10:05:00+03:00").await;
    let offered = labels(&picker, ADVISORS);
    assert!(!offered.contains(&"02.11 10:00".to_owned()));
    assert_eq!(offered.last().unwrap(), "Отправить клиенту");
    let pick = |label: &str| button(&picker, ADVISORS, label);
    let t = "2027-11-01T10:06:00+03:00";
    assert_eq!(
        toast(&w.press(ADVISORS, &pick("02.11 11:00"), t).await),
        "Отмечено 1 из 3: 02.11 11:00"
    );
    w.press(ADVISORS, &pick("02.11 12:00"), t).await;
    w.press(ADVISORS, &pick("02.11 13:00"), t).await;
    let fourth = w.press(ADVISORS, &pick("02.11 14:00"), t).await;
    assert!(
        toast(&fourth).starts_with("Уже отмечено 3 варианта"),
        "{fourth:?}"
    );
    assert_eq!(
        toast(&w.press(ADVISORS, &pick("02.11 12:00"), t).await),
        "Отмечено 2 из 3: 02.11 11:00, 02.11 13:00"
    );
    w.press(ADVISORS, &pick("02.11 14:00"), t).await;
    // A customer may not use the advisors' picker.
    let by_customer = w.press(MIKHAIL, &pick("02.11 09:00"), t).await;
    assert!(toast(&by_customer).contains("не для вас"));

    let send = button(&picker, ADVISORS, "Отправить клиенту");
    let sent = w.press(ADVISORS, &send, "2027-11-01T10:07:00+03:00").await;
    let to_customer = to(&sent, MIKHAIL);
    assert_eq!(
        to_customer.text,
        "Михаил, мастер-консультант не может принять вас 02.11 10:00 и предлагает другое время. \
         Выберите удобное:"
    );
    assert_eq!(
        labels(&sent, MIKHAIL),
        [
            "02.11 11:00",
            "02.11 13:00",
            "02.11 14:00",
            "Отменить запись"
        ]
    );
    assert_eq!(
        to(&sent, ADVISORS).text,
        "Клиенту предложено вместо 02.11 10:00: 02.11 11:00, 02.11 13:00, 02.11 14:00."
    );
    let twice = w.press(ADVISORS, &send, "2027-11-01T10:08:00+03:00").await;
    assert_eq!(toast(&twice), "Варианты уже отправлены клиенту.");
    // Another customer's press on Mikhail's choice is refused.
    let choice = button(&sent, MIKHAIL, "02.11 13:00");
    let anna = w.press(ANNA, &choice, "2027-11-01T10:09:00+03:00").await;
    assert_eq!(toast(&anna), "Эта запись оформлена не на вас.");

    let taken = w.press(MIKHAIL, &choice, "2027-11-01T10:10:00+03:00").await;
    let booking = w.booking(&id).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("13:00", BookingState::Held, 2)
    );
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 4));
    assert_eq!(w.slot("2027-11-02", "13:00").await, (4, 3));
    assert!(to(&taken, MIKHAIL).text.starts_with(
        "Заявка на 02.11 13:00 (вместо 02.11 10:00) отправлена мастеру-консультанту."
    ));
    let card = to(&taken, ADVISORS);
    assert!(card.text.starts_with(
        "Клиент выбрал другое время: 02.11 13:00 вместо 02.11 10:00, автомобиль XW7BE40K70S025476. Подтвердите до 10:40"
    ));
    assert!(card.text.contains("Клиент C-1001: Михаил"));
    let second = button(&sent, MIKHAIL, "02.11 14:00");
    let stale = w.press(MIKHAIL, &second, "2027-11-01T10:11:00+03:00").await;
    assert!(toast(&stale).contains("из старого сообщения"));

    let old = w
        .press(ADVISORS, &first_confirm, "2027-11-01T10:12:00+03:00")
        .await;
    assert_eq!(
        to(&old, ADVISORS).text,
        "Эта заявка больше не действует: клиент выбрал другое время."
    );
    let confirmed = w
        .press(
            ADVISORS,
            &card.buttons[0][0].callback_data,
            "2027-11-01T10:13:00+03:00",
        )
        .await;
    assert!(to(&confirmed, MIKHAIL)
        .text
        .starts_with("Михаил, ваша запись на 02.11 13:00 подтверждена."));
    assert_eq!(w.booking(&id).await.state, BookingState::Confirmed);
}

#[tokio::test]
async fn the_advisor_cancels_a_request_and_the_customer_is_told_and_may_book_again() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let card = w.hold(MIKHAIL, &book, "02.11 10:00", NOW).await;
    let cancel = card.buttons[1][1].callback_data.clone();
    let id = booking_of(&cancel);
    let cancelled = w
        .press(ADVISORS, &cancel, "2027-11-01T10:05:00+03:00")
        .await;
    assert_eq!(w.booking(&id).await.state, BookingState::Cancelled);
    assert_eq!(w.slot("2027-11-02", "10:00").await, (4, 4));
    assert_eq!(
        to(&cancelled, MIKHAIL).text,
        "Михаил, к сожалению, сервис не сможет принять вас 02.11 10:00: запись отменена. \
         Выберите, пожалуйста, другое время."
    );
    assert_eq!(labels(&cancelled, MIKHAIL), ["Записаться"]);
    assert_eq!(toast(&cancelled), "Запись отменена");
    let again = w
        .press(ADVISORS, &cancel, "2027-11-01T10:06:00+03:00")
        .await;
    assert_eq!(toast(&again), "Запись на 02.11 10:00 уже отменена.");
    let confirm = w
        .press(
            ADVISORS,
            &card.buttons[0][0].callback_data,
            "2027-11-01T10:07:00+03:00",
        )
        .await;
    assert_eq!(
        to(&confirm, ADVISORS).text,
        "Запись отменена и больше не действует."
    );

    // The customer books again from the cancellation: the same booking, its next hold.
    let rebook = button(&cancelled, MIKHAIL, "Записаться");
    w.hold(MIKHAIL, &rebook, "02.11 11:00", "2027-11-01T10:08:00+03:00")
        .await;
    let booking = w.booking(&id).await;
    assert_eq!(
        (booking.start.as_str(), booking.state, booking.attempt),
        ("11:00", BookingState::Held, 2)
    );
}

#[tokio::test]
async fn a_no_show_is_refused_before_the_slots_time_and_kept_after_it() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    let confirmed = w.book(MIKHAIL, &book, "02.11 10:00", NOW).await;
    let no_show = button(&confirmed, ADVISORS, "Не приехал");
    let id = booking_of(&no_show);

    let early = w
        .press(ADVISORS, &no_show, "2027-11-02T09:59:00+03:00")
        .await;
    assert_eq!(
        toast(&early),
        "Отметить неявку можно после начала записи: 02.11 10:00."
    );
    assert_eq!(w.booking(&id).await.state, BookingState::Confirmed);

    let marked = w
        .press(ADVISORS, &no_show, "2027-11-02T10:20:00+03:00")
        .await;
    assert_eq!(
        to(&marked, ADVISORS).text,
        "Отмечено: клиент не приехал на 02.11 10:00, автомобиль XW7BE40K70S025476."
    );
    assert_eq!(w.booking(&id).await.state, BookingState::NoShow);
    let twice = w
        .press(ADVISORS, &no_show, "2027-11-02T10:21:00+03:00")
        .await;
    assert_eq!(toast(&twice), "Неявка на 02.11 10:00 уже отмечена.");
    // The customer's buttons no longer change it, and the history reports it.
    let reschedule = button(&confirmed, MIKHAIL, "Перенести");
    let closed = w
        .press(MIKHAIL, &reschedule, "2027-11-02T10:22:00+03:00")
        .await;
    assert_eq!(toast(&closed), "Запись на 02.11 10:00 уже закрыта.");
    let history = w
        .say(
            ADVISORS,
            "/client +79161234567",
            "2027-11-02T10:30:00+03:00",
        )
        .await;
    assert!(
        to(&history, ADVISORS)
            .text
            .contains("Записи: 02.11.2027 10:00 — клиент не приехал."),
        "{history:?}"
    );
}

#[tokio::test]
async fn client_finds_the_customer_by_phone_vin_or_plate_in_the_advisors_chat_only() {
    let w = World::new().await;
    let book = w
        .offer("o1", "C-1001", MIKHAIL_VIN, "2027-11-01T09:00:00+03:00")
        .await;
    w.book(MIKHAIL, &book, "02.11 10:00", NOW).await;
    let t = "2027-11-01T12:00:00+03:00";
    let mut answers = Vec::new();
    for query in [
        "/client +79161234567",
        "/client 8 (916) 123-45-67",
        "/client XW7BE40K70S025476",
        "/client А123ВС777",
        "/client a 123 bc 777",
    ] {
        let replies = w.say(ADVISORS, query, t).await;
        assert_eq!(replies.messages.len(), 1, "{query}");
        answers.push(to(&replies, ADVISORS).text.clone());
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    let card = &answers[0];
    assert!(
        card.starts_with("Клиент C-1001: Михаил, +79161234567\n"),
        "{card}"
    );
    assert!(card.contains("Визиты: 12.11.2026 ТО, 90\u{a0}000 км, A3C0001116"));
    assert!(
        card.contains("Сообщения: 01.11.2027 мягкое напоминание — "),
        "{card}"
    );
    assert!(card.contains("Записи: 02.11.2027 10:00 — подтверждена."));

    let anna = w.say(ADVISORS, "/client XW7BE40K70S025477", t).await;
    assert!(to(&anna, ADVISORS)
        .text
        .starts_with("Клиент C-1002: Анна, +79167654321"));
    let unknown = w.say(ADVISORS, "/client В777ОО99", t).await;
    assert_eq!(to(&unknown, ADVISORS).text, "Клиент не найден: В777ОО99.");
    let usage = w.say(ADVISORS, "/client кто-нибудь", t).await;
    assert!(to(&usage, ADVISORS)
        .text
        .starts_with("Укажите телефон, VIN или госномер"));

    for chat in [MIKHAIL, ANNA, 999] {
        let refused = w.say(chat, "/client +79161234567", t).await;
        assert_eq!(refused.messages.len(), 1);
        assert_eq!(to(&refused, chat).text, NOT_FOR_YOU);
    }
}
