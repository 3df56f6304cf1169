//! Workshop capacity from the policy, the promises kept at booking, lapsing holds and the
//! advisors' closures, through the booking use case on the embedded store.

use app::booking::BookingRecord;
use app::ports::Address;
use app::{BookingSettings, MessengerUpdate, UpdateKind, UpdateReplies};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::pricing::{price_offer, OfferInput};
use domain::status::{AgeBand, CustomerStatus};
use domain::triggers::{Reason, Stage};
use store::repo::{BookingState, NewOffer, Repos};
use store::{RedbStore, TtlClock};

const CUSTOMER_CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;
const VIN: &str = "XW7BE40K70S025476";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn settings() -> BookingSettings {
    BookingSettings {
        advisor_chat_id: ADVISOR_CHAT,
        max_slots_shown: 100,
    }
}

struct World {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
    policy: Policy,
    next: std::cell::Cell<u32>,
}

impl World {
    /// The example customer (chat 5550001) and car on a fresh store, and nothing else: no slot
    /// is defined anywhere.
    async fn new(policy: Policy) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("store.redb"))
            .unwrap()
            .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
        let repos = Repos::new(store);
        let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
        app::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
            .await
            .unwrap();
        World {
            _dir: dir,
            repos,
            policy,
            next: std::cell::Cell::new(1),
        }
    }

    /// A personal offer priced at `made` for a sleeping customer with a 3-5-year-old car: 20 %
    /// off labour, oil as a gift within 7 days, +500 points on Tue-Thu, valid 14 days.
    async fn offer(&self, offer_id: &str, made: DateTime<Utc>) -> String {
        let visit = domain::Visit::parse_json(
            &serde_json::to_vec(&app::fixtures::example_visit()).unwrap(),
        )
        .unwrap();
        let priced = price_offer(
            &self.policy,
            &OfferInput {
                status: CustomerStatus::Sleeping,
                age_band: AgeBand::Middle,
                make: "Toyota",
                model: "Camry",
                last_maintenance: visit.lines(),
                at: made,
            },
        )
        .unwrap();
        assert!(
            priced.perks.iter().any(|p| p.expires_at.is_some()),
            "a gift"
        );
        let record = app::compose::OfferRecord {
            cycle_id: "A3C0001116".into(),
            stage: Stage::PersonalOffer,
            reason: Reason::DueSoon {
                due: made.date_naive(),
                days_left: 7,
            },
            send_at: made,
            priced: Some(priced),
        };
        self.repos
            .offers
            .create(&NewOffer {
                offer_id,
                customer_id: "C-1001",
                vin: VIN,
                created_at: made,
                offer: &record,
            })
            .await
            .unwrap();
        format!("book:{offer_id}")
    }

    async fn send(
        &self,
        from: i64,
        kind: UpdateKind,
        now: &str,
    ) -> Result<UpdateReplies, app::UpdateError> {
        let id = self.next.get();
        self.next.set(id + 1);
        let update = MessengerUpdate {
            update_id: id.to_string(),
            from: Address::Telegram(from),
            kind,
        };
        let now = at(now);
        let replies =
            app::handle_update(&self.repos, &self.policy, &settings(), &update, now).await?;
        app::finish_update(&self.repos, &update, now).await.unwrap();
        Ok(replies)
    }

    async fn press(&self, from: i64, data: &str, now: &str) -> UpdateReplies {
        let kind = UpdateKind::Callback {
            callback_id: Some("callback".into()),
            data: data.into(),
        };
        self.send(from, kind, now).await.unwrap()
    }

    async fn say(
        &self,
        from: i64,
        text: &str,
        now: &str,
    ) -> Result<UpdateReplies, app::UpdateError> {
        self.send(from, UpdateKind::Text(text.into()), now).await
    }

    async fn booking(&self, offer_id: &str) -> store::repo::Booking<BookingRecord> {
        let id = app::booking::booking_id_of(offer_id);
        self.repos.capacity.booking(&id).await.unwrap().unwrap()
    }
}

fn labels(replies: &UpdateReplies) -> Vec<String> {
    replies.messages[0]
        .buttons
        .iter()
        .map(|row| row[0].text.clone())
        .collect()
}

fn to(replies: &UpdateReplies, chat: i64) -> String {
    replies
        .messages
        .iter()
        .filter(|m| m.to == Address::Telegram(chat))
        .map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

fn confirm_button(replies: &UpdateReplies) -> String {
    let advisor = replies
        .messages
        .iter()
        .find(|m| m.to == Address::Telegram(ADVISOR_CHAT))
        .expect("the advisor's message");
    advisor.buttons[0][0].callback_data.clone()
}

#[tokio::test]
async fn a_fresh_deployment_offers_slots_from_the_policy_and_skips_holidays_and_sundays() {
    let w = World::new(Policy::default()).await;
    let book = w.offer("o1", at("2027-10-30T10:00:00+03:00")).await;
    let picker = w
        .press(CUSTOMER_CHAT, &book, "2027-11-01T10:00:00+03:00")
        .await;
    let labels = labels(&picker);
    // 2-8 November 2027: 4 November is a holiday, 7 November a Sunday, Saturday 10:00-16:00.
    assert_eq!(labels.len(), 4 * 11 + 6, "{labels:?}");
    assert_eq!(labels[0], "02.11 09:00");
    assert!(labels.contains(&"06.11 10:00".to_owned()));
    assert!(!labels
        .iter()
        .any(|l| l.starts_with("04.11") || l.starts_with("07.11")));
    // A time that is no slot start (forged or from another plan) cannot be booked at all; it
    // is not «занято», and the button's answer says so too.
    let odd = w
        .press(
            CUSTOMER_CHAT,
            "s:o1:2027-11-02:09:30",
            "2027-11-01T10:01:00+03:00",
        )
        .await;
    let why = "Время 02.11 09:30 недоступно для записи.";
    assert!(to(&odd, CUSTOMER_CHAT).starts_with(why), "{odd:?}");
    assert_eq!(odd.callback_answer.unwrap().1, why);
    let slot = picker.messages[0].buttons[0][0].callback_data.clone();
    let held = w
        .press(CUSTOMER_CHAT, &slot, "2027-11-01T10:01:00+03:00")
        .await;
    assert!(to(&held, CUSTOMER_CHAT).contains("Заявка на 02.11 09:00 отправлена"));
}

#[tokio::test]
async fn the_weekday_bonus_is_granted_once_on_confirmation_and_only_for_a_tuesday_to_thursday_slot()
{
    let w = World::new(Policy::default()).await;
    w.offer("o1", at("2026-11-27T10:00:00+03:00")).await;
    let tuesday = "s:o1:2026-12-01:09:00";
    let held = w
        .press(CUSTOMER_CHAT, tuesday, "2026-11-30T10:00:00+03:00")
        .await;
    let to_customer = to(&held, CUSTOMER_CHAT);
    assert!(
        to_customer.contains("500 бонусных баллов после подтверждения"),
        "{to_customer}"
    );
    assert!(
        to_customer.contains("Подарок: моторное масло в подарок"),
        "{to_customer}"
    );
    let confirm = confirm_button(&held);
    assert_eq!(
        w.repos.points.balance("C-1001").await.unwrap(),
        0,
        "not before confirmation"
    );

    let confirmed = w
        .press(ADVISOR_CHAT, &confirm, "2026-11-30T10:10:00+03:00")
        .await;
    let text = to(&confirmed, CUSTOMER_CHAT);
    assert!(
        text.contains("ваша запись на 01.12 09:00 подтверждена"),
        "{text}"
    );
    assert!(text.contains("скидка 20 % на работы"), "{text}");
    assert!(
        text.contains("Подарок: моторное масло в подарок."),
        "{text}"
    );
    assert!(text.contains("Начислили 500 бонусных баллов."), "{text}");
    assert_eq!(w.repos.points.balance("C-1001").await.unwrap(), 500);
    let again = w
        .press(ADVISOR_CHAT, &confirm, "2026-11-30T10:11:00+03:00")
        .await;
    assert!(to(&again, ADVISOR_CHAT).contains("уже подтверждена"));
    assert_eq!(w.repos.points.balance("C-1001").await.unwrap(), 500);
    let ledger = w
        .repos
        .points
        .ledger::<app::booking::PointsDetail>("C-1001")
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].booking_id, app::booking::booking_id_of("o1"));
    assert_eq!(ledger[0].detail.rule, "weekday_bonus");

    // One car takes one lift (another offer's time joins the visit booked): the Friday slot
    // is the same offer's on another store.
    let w = World::new(Policy::default()).await;
    w.offer("o2", at("2026-11-27T10:00:00+03:00")).await;
    let friday = w
        .press(
            CUSTOMER_CHAT,
            "s:o2:2026-12-04:09:00",
            "2026-11-30T10:20:00+03:00",
        )
        .await;
    assert!(!to(&friday, CUSTOMER_CHAT).contains("бонусных"));
    let confirmed = w
        .press(
            ADVISOR_CHAT,
            &confirm_button(&friday),
            "2026-11-30T10:21:00+03:00",
        )
        .await;
    assert!(!to(&confirmed, CUSTOMER_CHAT).contains("бонусных"));
    assert_eq!(w.booking("o2").await.booking.terms.unwrap().bonus_points, 0);
    assert_eq!(w.repos.points.balance("C-1001").await.unwrap(), 0);
}

#[tokio::test]
async fn an_expired_offer_or_a_gift_past_its_window_is_told_to_the_customer_and_not_applied() {
    let w = World::new(Policy::default()).await;
    // Made on 20 November: the gift was for booking by 27 November, the offer runs to 4 December.
    w.offer("o3", at("2026-11-20T10:00:00+03:00")).await;
    let held = w
        .press(
            CUSTOMER_CHAT,
            "s:o3:2026-12-01:10:00",
            "2026-11-30T10:00:00+03:00",
        )
        .await;
    let text = to(&held, CUSTOMER_CHAT);
    assert!(
        text.contains(
            "Моторное масло в подарок полагался при записи до 27.11.2026 и не применяется"
        ),
        "{text}"
    );
    let terms = w.booking("o3").await.booking.terms.unwrap();
    assert!(terms.offer_applied);
    assert!(!terms.gift.unwrap().applied);
    let confirmed = w
        .press(
            ADVISOR_CHAT,
            &confirm_button(&held),
            "2026-11-30T10:05:00+03:00",
        )
        .await;
    let text = to(&confirmed, CUSTOMER_CHAT);
    assert!(!text.contains("Подарок:"), "{text}");
    assert!(text.contains("скидка 20 %"), "{text}");
    assert_eq!(w.repos.points.balance("C-1001").await.unwrap(), 500);

    // Made on 10 November: valid to 24 November. Its «Записаться» says so before a time is
    // chosen (booking-webhook's handle_update answers the press). Another store: the car
    // booked above would add this offer's work to that visit.
    let w = World::new(Policy::default()).await;
    let book = w.offer("o4", at("2026-11-10T10:00:00+03:00")).await;
    let picker = w
        .press(CUSTOMER_CHAT, &book, "2026-11-30T10:09:00+03:00")
        .await;
    let text = to(&picker, CUSTOMER_CHAT);
    assert!(
        text.starts_with("Срок предложения истёк 24.11.2026") && text.contains("по обычной цене"),
        "{text}"
    );
    assert_eq!(
        picker.callback_answer.as_ref().map(|(_, t)| t.as_str()),
        Some("Срок предложения истёк")
    );
    let held = w
        .press(
            CUSTOMER_CHAT,
            "s:o4:2026-12-01:11:00",
            "2026-11-30T10:10:00+03:00",
        )
        .await;
    let text = to(&held, CUSTOMER_CHAT);
    assert!(text.contains("Срок предложения истёк 24.11.2026"), "{text}");
    let terms = w.booking("o4").await.booking.terms.unwrap();
    assert!(!terms.offer_applied);
    assert_eq!((terms.bonus_points, terms.final_price), (0, None));
    let confirmed = w
        .press(
            ADVISOR_CHAT,
            &confirm_button(&held),
            "2026-11-30T10:15:00+03:00",
        )
        .await;
    let text = to(&confirmed, CUSTOMER_CHAT);
    assert!(text.contains("по обычной цене"), "{text}");
    assert!(
        !text.contains("Начислили") && !text.contains("скидка 20"),
        "{text}"
    );
    // The expired o4 on a Tuesday earns no points.
    assert_eq!(w.repos.points.balance("C-1001").await.unwrap(), 0);
}

#[tokio::test]
async fn a_hold_lapses_after_the_policy_timeout_the_advisor_is_told_and_the_customer_books_again() {
    let policy = Policy::from_toml("[workshop]\nlifts = 1\nhold_minutes = 30").unwrap();
    let w = World::new(policy).await;
    let book = w.offer("o1", at("2026-11-27T10:00:00+03:00")).await;
    let slot = "s:o1:2026-12-01:09:00";
    let held = w
        .press(CUSTOMER_CHAT, slot, "2026-11-30T10:00:00+03:00")
        .await;
    let first_confirm = confirm_button(&held);
    assert!(to(&held, ADVISOR_CHAT).contains("Подтвердите до 10:30"));
    let picker = w
        .press(CUSTOMER_CHAT, &book, "2026-11-30T10:20:00+03:00")
        .await;
    assert_eq!(labels(&picker)[0], "01.12 10:00", "09:00 is held");
    // Past the timeout the hold counts as free as soon as anyone looks.
    let picker = w
        .press(CUSTOMER_CHAT, &book, "2026-11-30T10:31:00+03:00")
        .await;
    assert_eq!(labels(&picker)[0], "01.12 09:00");
    assert_eq!(w.booking("o1").await.state, BookingState::Lapsed);

    let late = w
        .press(ADVISOR_CHAT, &first_confirm, "2026-11-30T10:32:00+03:00")
        .await;
    assert!(to(&late, ADVISOR_CHAT).contains("истекла"), "{late:?}");
    assert_eq!(w.booking("o1").await.state, BookingState::Lapsed);

    let again = w
        .press(CUSTOMER_CHAT, slot, "2026-11-30T10:33:00+03:00")
        .await;
    let text = to(&again, CUSTOMER_CHAT);
    assert!(text.contains("Заявка на 01.12 09:00 отправлена"), "{text}");
    assert!(!text.contains("уже записаны"));
    let second_confirm = confirm_button(&again);
    assert_ne!(second_confirm, first_confirm);
    let stale = w
        .press(ADVISOR_CHAT, &first_confirm, "2026-11-30T10:34:00+03:00")
        .await;
    assert!(to(&stale, ADVISOR_CHAT).contains("больше не действует"));
    let ok = w
        .press(ADVISOR_CHAT, &second_confirm, "2026-11-30T10:35:00+03:00")
        .await;
    assert!(to(&ok, CUSTOMER_CHAT).contains("подтверждена"));
    let booking = w.booking("o1").await;
    assert_eq!(
        (booking.state, booking.attempt),
        (BookingState::Confirmed, 2)
    );
    let dup = w
        .press(
            CUSTOMER_CHAT,
            "s:o1:2026-12-02:09:00",
            "2026-11-30T10:36:00+03:00",
        )
        .await;
    assert!(to(&dup, CUSTOMER_CHAT).contains("Вы уже записаны по этому предложению на 01.12 09:00"));

    // Cancelled (by the dealer): the customer may book again.
    assert!(w.repos.capacity.cancel(&booking.booking_id).await.unwrap());
    let rebooked = w
        .press(
            CUSTOMER_CHAT,
            "s:o1:2026-12-02:09:00",
            "2026-11-30T10:40:00+03:00",
        )
        .await;
    assert!(to(&rebooked, CUSTOMER_CHAT).contains("Заявка на 02.12 09:00 отправлена"));

    // A hold that lapses unseen is refused at confirmation, and the customer is asked again.
    let late = w
        .press(
            ADVISOR_CHAT,
            &confirm_button(&rebooked),
            "2026-11-30T11:11:00+03:00",
        )
        .await;
    assert!(to(&late, ADVISOR_CHAT).contains("истекла"));
    let asked = late
        .messages
        .iter()
        .find(|m| m.to == Address::Telegram(CUSTOMER_CHAT))
        .expect("the customer is asked to choose again");
    assert_eq!(asked.buttons[0][0].callback_data, book);
    let day = w
        .repos
        .capacity
        .slots_on("2026-12-02".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(day[0].remaining, 1);
}

#[tokio::test]
async fn an_advisor_closes_a_day_and_a_lift_from_the_advisors_chat_and_a_customer_cannot() {
    let w = World::new(Policy::default()).await;
    let book = w.offer("o1", at("2026-11-27T10:00:00+03:00")).await;
    let now = "2026-11-30T09:00:00+03:00";
    let held = w.press(CUSTOMER_CHAT, "s:o1:2026-12-01:09:00", now).await;
    assert!(to(&held, CUSTOMER_CHAT).contains("отправлена"));

    let closed = w.say(ADVISOR_CHAT, "/close 2026-12-01", now).await.unwrap();
    let text = to(&closed, ADVISOR_CHAT);
    assert!(text.contains("01.12.2026 закрыт для записи"), "{text}");
    assert!(
        text.contains("уже записаны: 09:00 (XW7BE40K70S025476)"),
        "{text}"
    );
    let picker = w.press(CUSTOMER_CHAT, &book, now).await;
    assert!(!labels(&picker).iter().any(|l| l.starts_with("01.12")));
    assert_eq!(labels(&picker)[0], "02.12 09:00");

    let by_customer = w.say(CUSTOMER_CHAT, "/open 2026-12-01", now).await;
    assert!(matches!(by_customer, Err(app::UpdateError::Forbidden(_))));
    let reopened = w.say(ADVISOR_CHAT, "/open 01.12.2026", now).await.unwrap();
    assert!(to(&reopened, ADVISOR_CHAT).contains("снова открыт"));
    assert_eq!(
        labels(&w.press(CUSTOMER_CHAT, &book, now).await)[0],
        "01.12 09:00"
    );

    let lift = w
        .say(ADVISOR_CHAT, "/close 2026-12-02 пост 2", now)
        .await
        .unwrap();
    assert!(to(&lift, ADVISOR_CHAT).contains("Пост 2 закрыт на 02.12.2026"));
    let day = w
        .repos
        .capacity
        .slots_on("2026-12-02".parse().unwrap())
        .await
        .unwrap();
    assert!(day.iter().all(|s| s.capacity == 3), "{day:?}");
    let none = w
        .say(ADVISOR_CHAT, "/close 2026-12-02 пост 9", now)
        .await
        .unwrap();
    assert!(to(&none, ADVISOR_CHAT).contains("Поста 9 нет"));
    let open = w
        .say(ADVISOR_CHAT, "/open 2026-12-02 lift 2", now)
        .await
        .unwrap();
    assert!(to(&open, ADVISOR_CHAT).contains("Пост 2 снова открыт"));
    let day = w
        .repos
        .capacity
        .slots_on("2026-12-02".parse().unwrap())
        .await
        .unwrap();
    assert!(day.iter().all(|s| s.capacity == 4));
    let help = w.say(ADVISOR_CHAT, "/close завтра", now).await.unwrap();
    assert!(to(&help, ADVISOR_CHAT).contains("Не понял команду"));
}
