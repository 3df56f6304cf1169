//! The answers under a reminder besides «Записаться» («Уже обслужился», «Напомнить позже», «Не
//! присылать»), refused presses, and the customer's data rights, through the booking use case on
//! the embedded store. Every update is delivered twice: the second changes nothing.

use std::sync::Mutex;

use app::booking::answers::{ClosedBecause, CycleClosure};
use app::ports::{Address, Channel, OutgoingMessage, MAX_CALLBACK_DATA};
use app::{BookingSettings, ComposeOffer, MessengerUpdate, UpdateKind, UpdateReplies};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Stage;
use domain::{ReadingSource, Vehicle};
use store::repo::{ContactHandle, Repos};
use store::{RedbStore, TtlClock};

const CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;
const VIN: &str = "XW7BE40K70S025476";
const WORK_ORDER: &str = "A3C0001116";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// 10:00 Moscow time on `night`.
fn morning(night: NaiveDate) -> DateTime<Utc> {
    at(&format!("{night}T10:00:00+03:00"))
}

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.0.lock().unwrap();
        sent.push(message.clone());
        Ok(sent.len().to_string())
    }
}

fn settings() -> BookingSettings {
    BookingSettings {
        advisor_chat_id: ADVISOR_CHAT,
        max_slots_shown: 6,
    }
}

fn press(update_id: &str, chat: i64, data: &str) -> MessengerUpdate {
    MessengerUpdate {
        update_id: update_id.into(),
        from: Address::Telegram(chat),
        kind: UpdateKind::Callback {
            callback_id: Some(format!("cb-{update_id}")),
            data: data.into(),
        },
    }
}

fn say(update_id: &str, chat: i64, text: &str) -> MessengerUpdate {
    MessengerUpdate {
        update_id: update_id.into(),
        from: Address::Telegram(chat),
        kind: UpdateKind::Text(text.into()),
    }
}

struct World {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
}

impl World {
    /// The example visit (12 November 2026) recorded.
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("store.redb"))
            .unwrap()
            .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
        let world = World {
            _dir: dir,
            repos: Repos::new(store),
        };
        world
            .record(&app::fixtures::example_visit(), "2026-11-12T16:00:00+03:00")
            .await;
        world
    }

    async fn record(&self, body: &serde_json::Value, now: &str) {
        let body = serde_json::to_vec(body).unwrap();
        app::record_visit(&self.repos, &Policy::default(), &body, at(now))
            .await
            .unwrap();
    }

    /// Handles the update, records it as done, delivers it again (nothing more may come) and
    /// checks every button of the replies: at most 64 bytes of data.
    async fn deliver(&self, update: &MessengerUpdate, now: DateTime<Utc>) -> UpdateReplies {
        let policy = Policy::default();
        let replies = app::handle_update(&self.repos, &policy, &settings(), update, now)
            .await
            .unwrap();
        app::finish_update(&self.repos, update, now).await.unwrap();
        let again = app::handle_update(&self.repos, &policy, &settings(), update, now)
            .await
            .unwrap();
        assert_eq!(again, UpdateReplies::default(), "delivered twice");
        for button in replies
            .messages
            .iter()
            .flat_map(|m| m.buttons.iter().flatten())
        {
            assert!(
                button.callback_data.len() <= MAX_CALLBACK_DATA,
                "{button:?}"
            );
        }
        if matches!(update.kind, UpdateKind::Callback { .. }) {
            assert!(replies.callback_answer.is_some(), "every press is answered");
        }
        replies
    }

    /// The vehicle forecast on `night` and evaluated at 10:00, nothing marked.
    async fn decide(&self, night: NaiveDate) -> app::Evaluation {
        let policy = Policy::default();
        let vehicle = self.vehicle().await;
        app::forecast_vehicle(&self.repos, &policy, &vehicle, night)
            .await
            .unwrap();
        let message = app::EvaluateVehicle::V1 {
            run_date: night,
            vin: VIN.into(),
        };
        app::evaluate_vehicle(&self.repos, &policy, &message, morning(night))
            .await
            .unwrap()
    }

    /// The first night of November 2027 on which the personal offer is decided (to send, or
    /// vetoed but not by the marketing cap), with that evaluation, nothing marked.
    async fn personal_offer_night(&self) -> (NaiveDate, app::Evaluation) {
        let mut night = day("2027-11-02");
        while night <= day("2027-11-30") {
            let evaluation = self.decide(night).await;
            // The tyre season's offer of 1 November holds the marketing cap for a week.
            let mut decided = evaluation.compose.iter().map(stage_of);
            let mut vetoed = evaluation.vetoed.iter();
            if decided.any(|s| s == Stage::PersonalOffer)
                || vetoed.any(|(s, veto)| *s == Stage::PersonalOffer && veto != "marketing_cap")
            {
                return (night, evaluation);
            }
            night = night.succ_opt().unwrap();
        }
        panic!("no personal offer in November 2027");
    }

    /// The vehicle forecast on `night` and evaluated at 10:00, the stages marked.
    async fn evaluate(&self, night: NaiveDate) -> Vec<ComposeOffer> {
        let policy = Policy::default();
        let vehicle = self.vehicle().await;
        app::forecast_vehicle(&self.repos, &policy, &vehicle, night)
            .await
            .unwrap();
        let message = app::EvaluateVehicle::V1 {
            run_date: night,
            vin: VIN.into(),
        };
        let evaluation = app::evaluate_vehicle(&self.repos, &policy, &message, morning(night))
            .await
            .unwrap();
        app::commit_evaluation(&self.repos, &evaluation)
            .await
            .unwrap();
        evaluation.compose
    }

    async fn stages(&self, night: NaiveDate) -> Vec<Stage> {
        self.evaluate(night).await.iter().map(stage_of).collect()
    }

    async fn vehicle(&self) -> Vehicle {
        self.repos
            .vehicles
            .get::<Vehicle>(VIN)
            .await
            .unwrap()
            .unwrap()
            .vehicle
    }

    async fn send(&self, message: &ComposeOffer, now: DateTime<Utc>) -> app::ComposeOutcome {
        let channel = Recording::default();
        app::compose_and_send(
            &self.repos,
            &Policy::default(),
            &channel,
            message,
            "test",
            now,
        )
        .await
        .unwrap()
    }

    /// The soft reminder of 1 November 2027 sent; the message as sent.
    async fn reminded(&self) -> OutgoingMessage {
        let night = day("2027-11-01");
        let compose = self.evaluate(night).await;
        let reminder = compose
            .iter()
            .find(|m| stage_of(m) == Stage::SoftReminder)
            .expect("the soft reminder is due");
        let channel = Recording::default();
        let outcome = app::compose_and_send(
            &self.repos,
            &Policy::default(),
            &channel,
            reminder,
            "test",
            morning(night),
        )
        .await
        .unwrap();
        assert!(matches!(outcome, app::ComposeOutcome::Sent { .. }));
        let sent = channel.0.lock().unwrap()[0].clone();
        sent
    }

    async fn closures(&self) -> Vec<(String, CycleClosure)> {
        self.repos.cycles.closures(VIN).await.unwrap()
    }
}

fn stage_of(message: &ComposeOffer) -> Stage {
    match message {
        ComposeOffer::V1 { stage, .. } => *stage,
    }
}

/// The data of the button labelled `label`.
fn button(message: &OutgoingMessage, label: &str) -> String {
    message
        .buttons
        .iter()
        .flatten()
        .find(|b| b.text == label)
        .unwrap_or_else(|| panic!("no button {label:?} in {message:?}"))
        .callback_data
        .clone()
}

fn only(replies: &UpdateReplies) -> &OutgoingMessage {
    assert_eq!(replies.messages.len(), 1, "{replies:?}");
    &replies.messages[0]
}

#[tokio::test]
async fn every_reminder_and_offer_carries_the_four_answers_in_at_most_64_bytes_each() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let labels: Vec<Vec<&str>> = reminder
        .buttons
        .iter()
        .map(|row| row.iter().map(|b| b.text.as_str()).collect())
        .collect();
    assert_eq!(
        labels,
        [
            vec!["Записаться"],
            vec!["Уже обслужился", "Напомнить позже"],
            vec!["Не присылать"]
        ]
    );
    let offer_id = app::messages::offer_id(VIN, WORK_ORDER, Stage::PersonalOffer);
    for stage in Stage::ALL {
        let buttons = app::compose::buttons(stage, &offer_id);
        let invites = matches!(
            stage,
            Stage::SoftReminder
                | Stage::PersonalOffer
                | Stage::CriticalOffer
                | Stage::SeasonalTires
                | Stage::DeclinedWork
        );
        assert_eq!(
            buttons.iter().flatten().count(),
            if invites { 4 } else { 0 }
        );
        for b in buttons.iter().flatten() {
            assert!(b.callback_data.len() <= MAX_CALLBACK_DATA, "{b:?}");
        }
    }
}

#[tokio::test]
async fn serviced_here_closes_the_cycle_with_its_reason_and_the_old_buttons_are_refused() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let asked = world
        .deliver(&press("1", CHAT, &button(&reminder, "Уже обслужился")), now)
        .await;
    let question = only(&asked);
    assert!(question.text.contains("Toyota Camry"), "{}", question.text);
    let here = button(question, "У нас");
    for label in ["В другом сервисе", "Продал автомобиль"] {
        button(question, label);
    }

    let answered = world.deliver(&press("2", CHAT, &here), now).await;
    assert!(only(&answered).text.starts_with("Спасибо"));
    let closures = world.closures().await;
    assert_eq!(closures.len(), 1);
    let (cycle_id, closure) = &closures[0];
    assert_eq!(cycle_id, WORK_ORDER);
    assert_eq!(closure.reason, ClosedBecause::ServicedHere);
    assert_eq!(closure.at, now);
    assert_eq!(closure.stage, Stage::SoftReminder);
    assert_eq!(
        world
            .repos
            .cycles
            .closure::<CycleClosure>(VIN, WORK_ORDER)
            .await
            .unwrap()
            .as_ref(),
        Some(closure)
    );

    for (id, data) in [
        ("3", here.clone()),
        ("4", button(&reminder, "Записаться")),
        ("5", button(&reminder, "Напомнить позже")),
    ] {
        let refused = world.deliver(&press(id, CHAT, &data), now).await;
        assert!(
            only(&refused).text.contains("уже ответили"),
            "{}",
            only(&refused).text
        );
        assert_eq!(refused.callback_answer.unwrap().0, format!("cb-{id}"));
    }
    // No reminder or offer of the closed cycle, on any night after.
    for night in ["2027-11-05", "2027-11-15", "2028-01-20"] {
        assert_eq!(world.stages(day(night)).await, [], "{night}");
    }
}

#[tokio::test]
async fn serviced_elsewhere_asks_the_odometer_which_re_times_the_forecast_and_the_next_cycle() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let asked = world
        .deliver(&press("1", CHAT, &button(&reminder, "Уже обслужился")), now)
        .await;
    let elsewhere = button(only(&asked), "В другом сервисе");
    let odometer = world.deliver(&press("2", CHAT, &elsewhere), now).await;
    assert!(only(&odometer).text.contains("одометре"));
    let (_, closure) = &world.closures().await[0];
    assert_eq!(closure.reason, ClosedBecause::ServicedElsewhere);

    let later = at("2027-11-02T09:30:00+03:00");
    let thanks = world.deliver(&say("3", CHAT, "104 000 км"), later).await;
    assert!(
        only(&thanks).text.contains("следующее ТО — около"),
        "{}",
        only(&thanks).text
    );
    let readings = world.repos.readings.for_vehicle(VIN).await.unwrap();
    let reported = readings.last().unwrap();
    assert_eq!(
        (reported.date, reported.km, reported.source),
        (day("2027-11-01"), 104_000, ReadingSource::ServiceElsewhere)
    );
    let due = world.repos.forecasts.get(VIN).await.unwrap().unwrap();
    assert_eq!(due.service.date, day("2027-11-01"));
    assert!(due.due_date > day("2028-09-01"), "{}", due.due_date);
    // Another number is an ordinary odometer reply now.
    let plain = world.deliver(&say("4", CHAT, "104 500"), later).await;
    assert!(!only(&plain).text.contains("обслуживанием"));

    // Nothing until the next maintenance comes near, then the next cycle's reminder.
    assert_eq!(world.stages(day("2027-11-20")).await, []);
    let reminder_day = due.due_date - chrono::Days::new(30);
    let next = world.evaluate(reminder_day).await;
    let reminder = next
        .iter()
        .find(|m| stage_of(m) == Stage::SoftReminder)
        .expect("the next cycle's reminder");
    assert!(!next
        .iter()
        .any(|m| stage_of(m) == Stage::SatisfactionRequest));
    let ComposeOffer::V1 { cycle_id, .. } = reminder;
    assert_eq!(cycle_id, &format!("{WORK_ORDER}+2027-11-01"));
}

#[tokio::test]
async fn a_sold_car_gets_no_message_of_any_stage_and_the_night_does_not_queue_it() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let asked = world
        .deliver(&press("1", CHAT, &button(&reminder, "Уже обслужился")), now)
        .await;
    let sold = button(only(&asked), "Продал автомобиль");
    // Queued before the answer: the personal offer of a later night.
    let (offer_night, evaluation) = world.personal_offer_night().await;
    app::commit_evaluation(&world.repos, &evaluation)
        .await
        .unwrap();
    let queued = evaluation.compose;
    assert_eq!(
        queued.iter().map(stage_of).collect::<Vec<_>>(),
        [Stage::PersonalOffer]
    );

    let answered = world.deliver(&press("2", CHAT, &sold), now).await;
    assert!(only(&answered).text.contains("Toyota Camry"));
    let stored = world
        .repos
        .vehicles
        .get::<Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.contact.sold_at, Some(now));
    assert_eq!(world.closures().await[0].1.reason, ClosedBecause::Sold);

    assert_eq!(
        world.send(&queued[0], morning(offer_night)).await,
        app::ComposeOutcome::NoConsent
    );
    for night in ["2027-11-10", "2028-02-01", "2028-11-20"] {
        assert_eq!(world.stages(day(night)).await, [], "{night}");
    }
    let shard = app::NightlyShard::V1 {
        run_date: day("2028-02-01"),
        shard: 0,
        total_shards: 1,
    };
    let budget = app::ShardBudget {
        page_size: 100,
        max_pages: 10,
    };
    let night = app::run_shard(&world.repos, &Policy::default(), &shard, budget)
        .await
        .unwrap();
    assert!(night.evaluate.is_empty(), "{:?}", night.evaluate);
    let refused = world
        .deliver(&press("3", CHAT, &button(&reminder, "Записаться")), now)
        .await;
    assert!(only(&refused).text.contains("продали"));
}

#[tokio::test]
async fn remind_later_holds_the_cycle_until_the_day_then_the_personal_offer_comes() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let asked = world
        .deliver(
            &press("1", CHAT, &button(&reminder, "Напомнить позже")),
            now,
        )
        .await;
    let choices: Vec<&str> = only(&asked)
        .buttons
        .iter()
        .flatten()
        .map(|b| b.text.as_str())
        .collect();
    assert_eq!(choices, ["Через неделю", "Через 2 недели", "Через месяц"]);
    let two_weeks = button(only(&asked), "Через 2 недели");
    let snoozed = world.deliver(&press("2", CHAT, &two_weeks), now).await;
    assert_eq!(only(&snoozed).text, "Хорошо, напомним 15.11.2027.");
    let stored = world
        .repos
        .vehicles
        .get::<Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    let snooze = stored.contact.snooze.unwrap();
    assert_eq!(
        (snooze.until, snooze.cycle_id.as_str()),
        (day("2027-11-15"), WORK_ORDER)
    );

    // The personal offer would be due from 5 November; it waits for the 15th.
    for night in ["2027-11-05", "2027-11-10", "2027-11-14"] {
        assert_eq!(world.stages(day(night)).await, [], "{night}");
    }
    let shard = app::NightlyShard::V1 {
        run_date: day("2027-11-15"),
        shard: 0,
        total_shards: 1,
    };
    let budget = app::ShardBudget {
        page_size: 100,
        max_pages: 10,
    };
    let night = app::run_shard(&world.repos, &Policy::default(), &shard, budget)
        .await
        .unwrap();
    assert_eq!(night.evaluate.len(), 1, "the night queues the snoozed day");
    assert_eq!(
        world.stages(day("2027-11-15")).await,
        [Stage::PersonalOffer]
    );
}

#[tokio::test]
async fn do_not_send_stops_marketing_about_this_car_only_until_undone() {
    let world = World::new().await;
    let second_car = app::fixtures::visit(
        "A3C0001200",
        "JTDKB20U993123456",
        "2026-11-20T12:00:00+03:00",
        40_000,
    );
    world.record(&second_car, "2026-11-20T13:00:00+03:00").await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let muted = world
        .deliver(&press("1", CHAT, &button(&reminder, "Не присылать")), now)
        .await;
    let reply = only(&muted);
    assert!(reply.text.contains("Напоминания о ТО"), "{}", reply.text);
    let undo = button(reply, "Снова присылать");
    let repeated = world
        .deliver(&press("2", CHAT, &button(&reminder, "Не присылать")), now)
        .await;
    assert_eq!(button(only(&repeated), "Снова присылать"), undo);
    assert!(
        app::contact_state::marketing_muted(&world.repos, VIN, "C-1001")
            .await
            .unwrap()
    );
    assert!(
        !app::contact_state::marketing_muted(&world.repos, "JTDKB20U993123456", "C-1001")
            .await
            .unwrap()
    );

    // The personal offer (marketing) is vetoed.
    let (night, evaluation) = world.personal_offer_night().await;
    assert!(evaluation.compose.is_empty());
    assert_eq!(
        evaluation.vetoed,
        [(Stage::PersonalOffer, "no_marketing_consent".to_owned())]
    );

    let undone = world.deliver(&press("3", CHAT, &undo), now).await;
    assert!(only(&undone).text.starts_with("Готово"));
    // Undone: the offer goes out (once the tyre offer's week of marketing cap is over).
    let (later, after) = world.personal_offer_night().await;
    assert!(later >= night);
    assert_eq!(
        after.compose.iter().map(stage_of).collect::<Vec<_>>(),
        [Stage::PersonalOffer]
    );
}

#[tokio::test]
async fn a_press_of_another_customer_unreadable_or_too_long_is_refused_and_answered() {
    let world = World::new().await;
    let reminder = world.reminded().await;
    let now = at("2027-11-01T12:00:00+03:00");
    let done = button(&reminder, "Уже обслужился");
    let cases = [
        ("1", 999, done.clone(), "не для вас"),
        ("2", CHAT, "done:o0000000000000000".to_owned(), "устарело"),
        (
            "3",
            CHAT,
            "lt:9:o0000000000000000".to_owned(),
            "не работает",
        ),
        (
            "4",
            CHAT,
            format!("{done}{}", "x".repeat(60)),
            "не работает",
        ),
        ("5", CHAT, "nonsense".to_owned(), "не работает"),
    ];
    for (id, chat, data, says) in cases {
        let refused = world.deliver(&press(id, chat, &data), now).await;
        let text = only(&refused).text.clone();
        assert!(text.contains(says), "{data}: {text}");
        assert_eq!(only(&refused).to, Address::Telegram(chat));
        let (callback, toast) = refused.callback_answer.unwrap();
        assert_eq!(
            (callback.as_str(), toast.as_str()),
            (&*format!("cb-{id}"), text.as_str())
        );
    }
    assert!(world.closures().await.is_empty(), "nothing changed");
}

#[tokio::test]
async fn erasure_asks_first_then_erases_keeps_the_history_and_suppresses_the_handles() {
    let world = World::new().await;
    world.reminded().await;
    let (offer_night, evaluation) = world.personal_offer_night().await;
    app::commit_evaluation(&world.repos, &evaluation)
        .await
        .unwrap();
    let queued = evaluation.compose;
    let now = at("2027-11-02T12:00:00+03:00");

    let asked = world
        .deliver(&say("1", CHAT, "Удалите мои данные"), now)
        .await;
    let no = button(only(&asked), "Отмена");
    let yes = button(only(&asked), "Да, удалить");
    let kept = world.deliver(&press("2", CHAT, &no), now).await;
    assert_eq!(only(&kept).text, "Хорошо, ничего не удаляем.");
    assert!(world
        .repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .is_some());
    // The confirmation acts for the chat that asked only (a forwarded button does nothing).
    let foreign = world.deliver(&press("3b", 999, &yes), now).await;
    assert!(only(&foreign).text.contains("не для вас"));
    let stale = world
        .deliver(&press("3", CHAT, &yes), at("2027-11-03T13:00:00+03:00"))
        .await;
    assert!(only(&stale).text.contains("устарела"));

    let done = world.deliver(&press("4", CHAT, &yes), now).await;
    assert!(only(&done).text.starts_with("Готово"));
    let repos = &world.repos;
    assert!(repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .is_none());
    assert_eq!(repos.erasure.erased_at("C-1001").await.unwrap(), Some(now));
    assert_eq!(repos.customers.by_telegram_chat(CHAT).await.unwrap(), None);
    assert_eq!(
        repos.customers.by_phone("+79161234567").await.unwrap(),
        None
    );
    for handle in [
        ContactHandle::Telegram(CHAT),
        ContactHandle::Phone("+79161234567"),
    ] {
        assert!(repos
            .erasure
            .handle_erased_since(handle)
            .await
            .unwrap()
            .is_some());
    }
    // The history stays under the id, without personal data.
    let visits = repos
        .visits
        .for_customer::<domain::Visit>("C-1001")
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    let customer = visits[0].visit.customer();
    assert_eq!(customer.id.as_str(), "C-1001");
    assert_ne!(customer.first_name.as_str(), "Михаил");
    assert_ne!(customer.phone.as_str(), "+79161234567");
    assert_eq!(customer.telegram_chat_id, None);
    assert_eq!(visits[0].visit.lines().len(), 2);
    let offers = repos
        .offers
        .for_customer::<app::compose::OfferRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(offers.len(), 1);

    assert_eq!(
        world.send(&queued[0], morning(offer_night)).await,
        app::ComposeOutcome::OptedOut
    );
    assert_eq!(world.stages(day("2027-11-20")).await, []);
    let again = world.deliver(&say("5", CHAT, "/delete"), now).await;
    let yes = button(only(&again), "Да, удалить");
    let twice = world.deliver(&press("6", CHAT, &yes), now).await;
    assert!(only(&twice).text.starts_with("Готово"));
    assert_eq!(
        app::erase_customer(repos, "C-1001", now).await.unwrap(),
        app::Erasure::AlreadyErased { at: now }
    );
}

#[tokio::test]
async fn after_an_erasure_an_old_visit_stays_anonymous_and_a_new_one_with_consent_lifts_it() {
    let world = World::new().await;
    let erased_at = at("2027-01-10T12:00:00+03:00");
    assert_eq!(
        app::erase_customer(&world.repos, "C-1001", erased_at)
            .await
            .unwrap(),
        app::Erasure::Erased {
            visits: 1,
            holds_released: 0
        }
    );
    assert_eq!(
        app::erase_customer(&world.repos, "C-404", erased_at)
            .await
            .unwrap(),
        app::Erasure::UnknownCustomer
    );
    let repos = &world.repos;
    // A back-filled work order from before the erasure: stored, but anonymised again.
    let old = app::fixtures::visit("A3C0000900", VIN, "2026-06-01T12:00:00+03:00", 75_000);
    world.record(&old, "2027-01-11T12:00:00+03:00").await;
    assert!(repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .is_none());
    let visits = repos
        .visits
        .for_customer::<domain::Visit>("C-1001")
        .await
        .unwrap();
    assert_eq!(visits.len(), 2);
    assert!(visits
        .iter()
        .all(|v| v.visit.customer().phone.as_str() != "+79161234567"));
    assert!(repos
        .erasure
        .handle_erased_since(ContactHandle::Telegram(CHAT))
        .await
        .unwrap()
        .is_some());

    // The customer comes back and gives their data with consent: messages may go again.
    let back = app::fixtures::visit("A3C0001300", VIN, "2027-03-01T12:00:00+03:00", 95_000);
    world.record(&back, "2027-03-01T13:00:00+03:00").await;
    assert!(repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .is_some());
    for handle in [
        ContactHandle::Telegram(CHAT),
        ContactHandle::Phone("+79161234567"),
    ] {
        assert_eq!(
            repos.erasure.handle_erased_since(handle).await.unwrap(),
            None
        );
    }
    let vehicle = world.vehicle().await;
    let due = app::forecast_vehicle(repos, &Policy::default(), &vehicle, day("2027-03-02"))
        .await
        .unwrap()
        .unwrap();
    let night = due.due_date - chrono::Days::new(30);
    let compose = world.evaluate(night).await;
    let reminder = compose
        .iter()
        .find(|m| stage_of(m) == Stage::SoftReminder)
        .expect("a reminder after the customer came back");
    assert!(matches!(
        world.send(reminder, morning(night)).await,
        app::ComposeOutcome::Sent { .. }
    ));
}
