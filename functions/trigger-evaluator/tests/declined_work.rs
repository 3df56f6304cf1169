//! Declined work followed up on the deployed path: the visit with `recommendations` recorded as
//! ingest-visit records it (`app::record_visit`), the night's facts deciding whether the car is
//! queued (`app::forecasting::night_facts` + `app::needs_evaluation`, as the nightly shard
//! does), the trigger-evaluator and offer-composer handlers on the embedded store, and the
//! customer's buttons through booking-webhook's use case (`app::handle_update`).

mod common;

use app::compose::OfferRecord;
use app::messages::ComposeOffer;
use app::ports::Address;
use app::{BookingSettings, MessengerUpdate, UpdateKind};
use common::{at, day, World};
use domain::pricing::LinesFrom;
use domain::triggers::{Reason, Stage};
use domain::LineKind;

const VIN: &str = "XW7BE40K70S025476";
const CHAT: i64 = 5_550_001;
const VISIT: &str = "A3C0003001";
const ADVISORS: i64 = -100_777;

/// A maintenance on 1 December at which the advisor recommended front brake pads (safety) and
/// rear shock absorbers (soon), both declined.
fn visit_with_declined_work() -> Vec<u8> {
    let mut body = app::fixtures::visit(VISIT, VIN, "2026-12-01T15:40:00+03:00", 95_000);
    body["recommendations"] = serde_json::json!([
        {"code": "BRK-F", "name": "Замена передних тормозных колодок", "urgency": "safety",
         "labor_estimate": "2400.00", "parts_estimate": "5600.00"},
        {"code": "SUS-020", "name": "Замена задних амортизаторов", "urgency": "soon",
         "labor_estimate": "4800.00", "parts_estimate": "14200.00"}
    ]);
    serde_json::to_vec(&body).unwrap()
}

struct Car {
    w: World,
}

impl Car {
    async fn new() -> Car {
        let w = World::with_visit(&visit_with_declined_work(), "2026-12-01T16:00:00+03:00").await;
        Car { w }
    }

    /// The customer known from a CRM visit in June (consents, chat); the December work order
    /// with its declined work arrives in the evening's DMS export, imported as
    /// `autodrive import` does (`app::import::parse_export` + `import_export`).
    async fn imported() -> Car {
        let june = app::fixtures::visit("A3C0002990", VIN, "2026-06-01T12:00:00+03:00", 80_000);
        let w = World::with_visit(
            &serde_json::to_vec(&june).unwrap(),
            "2026-06-01T12:05:00+03:00",
        )
        .await;
        let order = format!(
            "{VISIT};01.12.2026;Иванов Михаил Петрович;8 916 123 45 67;{VIN};Toyota;Camry;\
             20.05.2019;95 000;ТО"
        );
        let rows = [
            "Работа;TO-60;ТО-6;1;6 500,00;2 600,00;Петров А.В.;;",
            "Рекомендованная работа;BRK-F;Замена передних тормозных колодок;1;2 400,00;;\
             Петров А.В.;;Безопасность",
            "Рекомендованная запчасть;04465-33450;Колодки передние;1;5 600,00;;Петров А.В.;;",
            "Рекомендованная работа;SUS-020;Замена задних амортизаторов;2;2 400,00;;\
             Петров А.В.;;Скоро",
            "Рекомендованная запчасть;48530-09Q40;Амортизатор задний;2;7 100,00;;Петров А.В.;;",
        ];
        let mut text = format!("{};Госномер;Срочность", app::import::header());
        for row in rows {
            text.push_str(&format!("\n{order};{row}"));
        }
        let export = app::import::parse_export(text.into_bytes(), w.policy.time_zone()).unwrap();
        let summary = app::import::import_export(
            &w.repos,
            &w.policy,
            std::sync::Arc::new(export),
            at("2026-12-01T21:00:00+03:00"),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!((summary.recorded, summary.known_customers), (1, 1));
        Car { w }
    }

    /// Whether the nightly shard would queue the car for a declined-work decision on `night`.
    async fn queued_for_declined_work(&self, night: &str) -> bool {
        let vehicle = self
            .w
            .repos
            .vehicles
            .get::<domain::Vehicle>(VIN)
            .await
            .unwrap()
            .unwrap();
        let facts = app::forecasting::night_facts(
            &self.w.repos,
            &self.w.policy,
            &vehicle.vehicle,
            day(night),
        )
        .await
        .unwrap();
        let due = facts.due.clone().unwrap();
        let window = domain::triggers::window::WindowInput {
            due: &due,
            last_visit: facts.last_visit,
            first_registration: vehicle.vehicle.first_registration(),
            warranty_until: vehicle.vehicle.warranty_until(),
            declined_work: facts.declined_work,
        };
        let queued = app::needs_evaluation(
            &self.w.policy,
            &vehicle.vehicle,
            &due,
            facts.last_visit,
            facts.declined_work,
            day(night),
        );
        let declined_today = domain::triggers::window::stage_next_day(
            &self.w.policy,
            &window,
            Stage::DeclinedWork,
            day(night),
        ) == Some(day(night));
        queued && declined_today
    }

    /// The priced offer of a queued message, as offer-composer stored it.
    async fn priced(&self, message: &ComposeOffer) -> domain::pricing::Offer {
        self.w
            .repos
            .offers
            .get::<OfferRecord>(message.offer_id())
            .await
            .unwrap()
            .unwrap()
            .offer
            .priced
            .unwrap()
    }

    /// The evaluator's batch for the car at 01:00 of `night`; its declined-work messages.
    async fn night(&self, night: &str) -> Vec<ComposeOffer> {
        let now = format!("{night}T01:00:05+03:00");
        let mut queued = self.w.night(VIN, night, &now).await;
        queued.retain(|m| m.stage() == Stage::DeclinedWork);
        queued
    }

    /// Sends the messages at 10:00 of `day`; the texts that went out.
    async fn send(&self, messages: &[ComposeOffer], day: &str) -> Vec<String> {
        let before = self.w.telegram.calls().len();
        self.w
            .compose(messages, &format!("{day}T10:00:00+03:00"))
            .await;
        self.w.telegram.calls()[before..]
            .iter()
            .filter(|c| c.method == "sendMessage")
            .filter_map(|c| c.body["text"].as_str().map(str::to_owned))
            .collect()
    }

    async fn press(&self, data: String, now: &str) -> String {
        self.press_for_replies(data, now).await.messages[0]
            .text
            .clone()
    }

    async fn press_for_replies(&self, data: String, now: &str) -> app::UpdateReplies {
        self.press_in(CHAT, data, now).await
    }

    /// A button pressed in the chat `chat` (the customer's, or the advisors').
    async fn press_in(&self, chat: i64, data: String, now: &str) -> app::UpdateReplies {
        let update = MessengerUpdate {
            update_id: format!("u-{data}"),
            from: Address::Telegram(chat),
            kind: UpdateKind::Callback {
                callback_id: None,
                data,
            },
        };
        let settings = BookingSettings {
            advisor_chat_id: ADVISORS,
            max_slots_shown: 20,
        };
        app::handle_update(&self.w.repos, &self.w.policy, &settings, &update, at(now))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn safety_work_is_followed_up_on_day_3_then_with_the_rest_on_day_10_until_the_customer_says_no(
) {
    let w = Car::new().await;
    assert!(!w.queued_for_declined_work("2026-12-03").await);
    assert!(w.night("2026-12-03").await.is_empty());

    // Day 3: the safety work only, as a service message priced by the offer rules.
    assert!(w.queued_for_declined_work("2026-12-04").await);
    let first = w.night("2026-12-04").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        first[0].reason(),
        &Reason::DeclinedWork {
            visit: day("2026-12-01"),
            step: 1,
            codes: vec!["BRK-F".into()],
            safety: true,
        }
    );
    let texts = w.send(&first, "2026-12-04").await;
    assert_eq!(texts.len(), 1);
    let text = &texts[0];
    assert!(
        text.contains("на визите 01.12.2026 мастер рекомендовал для вашего Toyota Camry: замена передних тормозных колодок."),
        "{text}"
    );
    assert!(text.contains("влияет на безопасность"), "{text}");
    assert!(!text.contains("амортизатор"), "{text}");
    assert!(
        !text.contains("Отписаться"),
        "a safety follow-up is a service message: {text}"
    );
    let offer = w.priced(&first[0]).await;
    assert_eq!(offer.lines_from, LinesFrom::DeclinedWork);
    assert_eq!(offer.list_price, domain::Money::from_roubles(8000));
    for line in &offer.lines {
        if line.kind == LineKind::Part {
            assert_eq!(line.discount, domain::Money::ZERO, "{line:?}");
        }
    }
    let floor = w.w.policy.pricing().margin_floor.value();
    assert!(offer.margin_after.percent >= floor, "{offer:?}");

    // Evaluated again the same night or the next: nothing new.
    assert!(w.night("2026-12-04").await.is_empty());
    assert!(w.night("2026-12-05").await.is_empty());

    // Day 10: the shock absorbers join, in an offer of its own.
    let second = w.night("2026-12-11").await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(matches!(second[0].reason(),
        Reason::DeclinedWork { step: 2, codes, .. } if codes == &["BRK-F", "SUS-020"]));
    assert_ne!(second[0].offer_id(), first[0].offer_id());
    let texts = w.send(&second, "2026-12-11").await;
    assert!(
        texts[0].contains("замена задних амортизаторов"),
        "{}",
        texts[0]
    );

    // «Не присылать» under it: no third follow-up.
    let [_, _, _, (_, mute)] = app::compose::answers(second[0].offer_id());
    let reply = w.press(mute, "2026-12-11T12:00:00+03:00").await;
    assert!(reply.contains("больше не будем присылать"), "{reply}");
    assert!(w.night("2026-12-31").await.is_empty());
}

#[tokio::test]
async fn declined_work_in_a_dms_export_is_followed_up_like_the_crm_s() {
    let w = Car::imported().await;
    assert!(w.queued_for_declined_work("2026-12-04").await);
    let first = w.night("2026-12-04").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(matches!(first[0].reason(),
        Reason::DeclinedWork { step: 1, codes, safety: true, .. } if codes == &["BRK-F"]));
    let texts = w.send(&first, "2026-12-04").await;
    assert!(
        texts[0].contains("замена передних тормозных колодок"),
        "{}",
        texts[0]
    );
    let offer = w.priced(&first[0]).await;
    // 2 400 ₽ of labour and 5 600 ₽ of parts, as the export's rows priced them.
    assert_eq!(offer.list_price, domain::Money::from_roubles(8000));
    let second = w.night("2026-12-11").await;
    assert!(matches!(second[0].reason(),
        Reason::DeclinedWork { step: 2, codes, .. } if codes == &["BRK-F", "SUS-020"]));
}

#[tokio::test]
async fn booking_from_a_declined_work_follow_up_holds_a_slot_for_that_work_and_ends_the_follow_ups()
{
    let w = Car::new().await;
    let first = w.night("2026-12-04").await;
    w.send(&first, "2026-12-04").await;
    let [(_, book), _, _, _] = app::compose::answers(first[0].offer_id());
    let picker = w.press_for_replies(book, "2026-12-04T10:30:00+03:00").await;
    let message = &picker.messages[0];
    assert!(
        message.text.contains("Выберите удобное время"),
        "{}",
        message.text
    );
    let slot = message
        .buttons
        .iter()
        .flatten()
        .map(|b| b.callback_data.clone())
        .next()
        .expect("a slot to pick");
    let held = w.press_for_replies(slot, "2026-12-04T10:31:00+03:00").await;
    assert!(
        held.events.iter().any(|e| e.name() == "BookingHeld"),
        "{:?}",
        held.messages
    );
    // The advisors' card names the recommended work and its price; they confirm it.
    let card = held
        .messages
        .iter()
        .find(|m| m.to == Address::Telegram(ADVISORS))
        .expect("a request card for the advisors");
    assert!(
        card.text
            .contains("Работы: Замена передних тормозных колодок.")
            && card.text.contains("Стоимость по предложению — 8"),
        "{}",
        card.text
    );
    let confirm = card.buttons[0][0].callback_data.clone();
    let confirmed = w
        .press_in(ADVISORS, confirm, "2026-12-04T10:40:00+03:00")
        .await;
    assert!(
        confirmed
            .events
            .iter()
            .any(|e| e.name() == "BookingConfirmed"),
        "{:?}",
        confirmed.messages
    );
    // Booked: the day-10 follow-up does not come.
    assert!(w.night("2026-12-11").await.is_empty());
}

#[tokio::test]
async fn a_later_visit_ends_the_follow_ups_and_done_already_stops_them() {
    // The customer came back on day 5 and had the pads replaced: a new cycle without
    // declined work, nothing follows up.
    let w = Car::new().await;
    let first = w.night("2026-12-04").await;
    assert_eq!(first.len(), 1);
    let mut later = app::fixtures::visit("A3C0003002", VIN, "2026-12-06T12:00:00+03:00", 95_300);
    later["kind"] = "repair".into();
    later["lines"] = serde_json::json!([
        {"kind": "labor", "code": "BRK-F", "name": "Замена передних тормозных колодок",
         "qty": "1", "price": "2400.00", "cost": "900.00"}
    ]);
    app::record_visit(
        &w.w.repos,
        &w.w.policy,
        &serde_json::to_vec(&later).unwrap(),
        at("2026-12-06T12:30:00+03:00"),
    )
    .await
    .unwrap();
    assert!(!w.queued_for_declined_work("2026-12-11").await);
    assert!(w.night("2026-12-11").await.is_empty());

    // Another car's owner answers «Уже обслужился» to the first follow-up: the rest stop, the
    // maintenance cycle stays open.
    let w = Car::new().await;
    let first = w.night("2026-12-04").await;
    w.send(&first, "2026-12-04").await;
    let [_, (_, done), _, _] = app::compose::answers(first[0].offer_id());
    let reply = w.press(done, "2026-12-04T12:00:00+03:00").await;
    assert!(
        reply.contains("Больше не будем напоминать об этих работах"),
        "{reply}"
    );
    assert!(w.night("2026-12-11").await.is_empty());
    assert!(!w.w.repos.cycles.is_closed(VIN, VISIT).await.unwrap());
}

/// One message about the car a day (the contact policy, on the evaluator's path): on day 3 the
/// safety follow-up and the satisfaction request are both due; the follow-up goes, the request
/// waits for the next night, inside its window.
#[tokio::test]
async fn on_day_3_the_safety_follow_up_goes_and_the_satisfaction_request_the_next_night() {
    let w = Car::new().await;
    // The night's batch for the car (every stage), sent at 10:00; the stages that went.
    let night_sent = |night: &'static str| {
        let w = &w;
        async move {
            let batch =
                w.w.night(VIN, night, &format!("{night}T01:00:05+03:00"))
                    .await;
            assert_eq!(w.send(&batch, night).await.len(), batch.len());
            batch
                .iter()
                .map(ComposeOffer::stage)
                .collect::<Vec<Stage>>()
        }
    };
    assert_eq!(night_sent("2026-12-04").await, [Stage::DeclinedWork]);
    assert_eq!(night_sent("2026-12-05").await, [Stage::SatisfactionRequest]);
    assert!(night_sent("2026-12-06").await.is_empty());
}
