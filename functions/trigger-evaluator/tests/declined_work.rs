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

    /// The evaluator's batch for the car at 01:00 of `night`; its declined-work messages.
    async fn night(&self, night: &str) -> Vec<ComposeOffer> {
        let now = format!("{night}T01:00:05+03:00");
        let mut queued = self.w.night(VIN, night, &now).await;
        queued.retain(|m| {
            let ComposeOffer::V1 { stage, .. } = m;
            *stage == Stage::DeclinedWork
        });
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
        let update = MessengerUpdate {
            update_id: format!("u-{data}"),
            from: Address::Telegram(CHAT),
            kind: UpdateKind::Callback {
                callback_id: None,
                data,
            },
        };
        let settings = BookingSettings {
            advisor_chat_id: -100777,
            max_slots_shown: 20,
        };
        let replies =
            app::handle_update(&self.w.repos, &self.w.policy, &settings, &update, at(now))
                .await
                .unwrap();
        replies.messages[0].text.clone()
    }
}

fn reason_of(message: &ComposeOffer) -> &Reason {
    let ComposeOffer::V1 { reason, .. } = message;
    reason
}

fn offer_id_of(message: &ComposeOffer) -> &str {
    let ComposeOffer::V1 { offer_id, .. } = message;
    offer_id
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
        reason_of(&first[0]),
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
    let offer =
        w.w.repos
            .offers
            .get::<OfferRecord>(offer_id_of(&first[0]))
            .await
            .unwrap()
            .unwrap()
            .offer
            .priced
            .unwrap();
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
    assert!(matches!(reason_of(&second[0]),
        Reason::DeclinedWork { step: 2, codes, .. } if codes == &["BRK-F", "SUS-020"]));
    assert_ne!(offer_id_of(&second[0]), offer_id_of(&first[0]));
    let texts = w.send(&second, "2026-12-11").await;
    assert!(
        texts[0].contains("замена задних амортизаторов"),
        "{}",
        texts[0]
    );

    // «Не присылать» under it: no third follow-up.
    let [_, _, _, (_, mute)] = app::compose::answers(offer_id_of(&second[0]));
    let reply = w.press(mute, "2026-12-11T12:00:00+03:00").await;
    assert!(reply.contains("больше не будем присылать"), "{reply}");
    assert!(w.night("2026-12-31").await.is_empty());
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
    let [_, (_, done), _, _] = app::compose::answers(offer_id_of(&first[0]));
    let reply = w.press(done, "2026-12-04T12:00:00+03:00").await;
    assert!(
        reply.contains("Больше не будем напоминать об этих работах"),
        "{reply}"
    );
    assert!(w.night("2026-12-11").await.is_empty());
    assert!(!w.w.repos.cycles.is_closed(VIN, VISIT).await.unwrap());
}
