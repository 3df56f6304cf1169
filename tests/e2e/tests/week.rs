//! A real week on a fresh stack (moto_server, an empty table, the template's queues): a CRM
//! back-fill of a few hundred signed visits of a dealership's customers on Telegram, WhatsApp and
//! SMS, then seven nights (01:00 schedule → evaluate queue → trigger-evaluator → compose queue →
//! offer-composer after the quiet hours) and the days between them: bookings through Telegram,
//! WhatsApp buttons and the SMS link page, confirmed by the advisor; a hold left to lapse; an
//! odometer reply; the booked customers' visits credited as conversions. Every stage of the
//! policy fires, the marketing cap holds per customer, and what the fake messengers received
//! agrees with the store.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use app::compose::OfferRecord;
use app::conversions::ConversionRecord;
use app::messages::ComposeOffer;
use chrono::{DateTime, Months, NaiveDate, Utc};
use common::{day, page_slots, received, Received, Stack, ADVISOR_CHAT};
use domain::policy::Policy;
use domain::triggers::{CriticalReason, Reason, Stage};
use domain::{ContactClass, CustomerId, ReadingSource};
use serde_json::{json, Value};
use store::repo::{BookingState, OfferState};

/// Monday: the first night of the week, in the autumn tyre season (1 October to 15 November).
const MONDAY: &str = "2027-10-11";

/// How a customer can be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Telegram,
    /// Wrote to the business number the evening before the week: session messages on Monday.
    WhatsAppRecent,
    /// Wrote weeks ago: approved templates only.
    WhatsAppOld,
    /// Neither: SMS with a link to the booking page.
    Sms,
}

/// What a car is in the scenario for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Background,
    DueSoon,
    /// Tyres changed this season, due in 8-10 days: reminder on Monday, personal offer Friday.
    Personal,
    Overdue,
    WarrantyEnds,
    ThreeYears,
    FiveYears,
    JustServiced,
    Uncertain,
}

#[derive(Debug, Clone)]
struct Person {
    id: String,
    first_name: &'static str,
    phone: String,
    reach: Reach,
    marketing: bool,
}

impl Person {
    fn chat(&self) -> Option<i64> {
        (self.reach == Reach::Telegram).then(|| 7_000_000 + self.number())
    }

    fn number(&self) -> i64 {
        self.id[2..].parse().unwrap()
    }

    fn wa_id(&self) -> String {
        self.phone.trim_start_matches('+').to_owned()
    }
}

#[derive(Debug, Clone)]
struct Car {
    vin: String,
    owner: usize,
    make: &'static str,
    model: &'static str,
    registered: NaiveDate,
    warranty_until: Option<NaiveDate>,
    role: Role,
    /// (closed on, kind, odometer), oldest first.
    visits: Vec<(NaiveDate, &'static str, u32)>,
}

const NAMES: [&str; 12] = [
    "Михаил",
    "Анна",
    "Сергей",
    "Ольга",
    "Дмитрий",
    "Елена",
    "Андрей",
    "Мария",
    "Алексей",
    "Татьяна",
    "Игорь",
    "Наталья",
];
const MODELS: [(&str, &str); 5] = [
    ("Toyota", "Camry"),
    ("Kia", "Rio"),
    ("Hyundai", "Solaris"),
    ("Skoda", "Octavia"),
    ("Volkswagen", "Polo"),
];

fn monday() -> NaiveDate {
    day(MONDAY)
}

fn plus(days: i64) -> NaiveDate {
    monday() + chrono::Duration::days(days)
}

fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(12 * years)).unwrap()
}

/// The dealership: customers and cars with their service history, the same on every run.
struct Fleet {
    people: Vec<Person>,
    cars: Vec<Car>,
    policy: Policy,
    seed: u64,
    next_number: i64,
}

impl Fleet {
    fn random(&mut self, n: u64) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.seed >> 33) % n
    }

    /// A new customer; `key` ones get marketing (consent, and an id out of the control group).
    fn person(&mut self, reach: Reach, key: bool) -> usize {
        let marketing = key || self.random(10) < 8;
        loop {
            self.next_number += 1;
            let number = self.next_number;
            let id = format!("C-{number}");
            let in_control = domain::contact::in_control_group(
                &CustomerId::parse(&id).unwrap(),
                self.policy.contact().control_group,
            );
            if key && in_control {
                continue;
            }
            self.people.push(Person {
                id,
                first_name: NAMES[number as usize % NAMES.len()],
                phone: format!("+7916{:07}", 1_000_000 + number),
                reach,
                marketing,
            });
            return self.people.len() - 1;
        }
    }

    /// A car of `owner` with yearly maintenance up to `last` at `km_per_year`, registered on
    /// `registered`.
    fn car(
        &mut self,
        owner: usize,
        role: Role,
        registered: NaiveDate,
        warranty_until: Option<NaiveDate>,
        last: NaiveDate,
        km_per_year: u32,
    ) -> usize {
        let n = self.cars.len();
        let (make, model) = MODELS[n % MODELS.len()];
        let km_at = |d: NaiveDate| {
            let days = (d - registered).num_days().max(1) as u64;
            (u64::from(km_per_year) * days / 365) as u32 + 150
        };
        let mut visits = Vec::new();
        let mut at = last;
        while (at - registered).num_days() > 300 || at == last {
            visits.push((at, "maintenance", km_at(at)));
            if visits.len() >= 4 {
                break;
            }
            at = years_before(at, 1);
        }
        visits.reverse();
        if role == Role::Background && self.random(3) == 0 && visits.len() > 1 {
            let between = visits[visits.len() - 1].0 - chrono::Duration::days(120);
            let kind = ["repair", "diagnostics", "bodywork"][self.random(3) as usize];
            visits.insert(visits.len() - 1, (between, kind, km_at(between)));
        }
        self.cars.push(Car {
            vin: format!("XW7BE40K70S{:06}", 100_000 + n),
            owner,
            make,
            model,
            registered,
            warranty_until,
            role,
            visits,
        });
        n
    }

    /// The registration and the one maintenance visit (day, odometer) of a car driven about
    /// 21,000 km a year whose forecast on Monday falls due in `due_in` days with an 80 % interval
    /// wider than the policy's odometer threshold (the forecaster decides; it is searched for).
    fn uncertain(&self, due_in: i64) -> (NaiveDate, (NaiveDate, u32)) {
        let (make, model) = MODELS[self.cars.len() % MODELS.len()];
        let schedule = self.policy.schedule_for(make, model);
        let t = self.policy.triggers();
        for ago in 100..500 {
            let visit = plus(-ago);
            let registered = visit - chrono::Duration::days(525);
            let km = (21_000 * 525 / 365) as u32;
            let readings = [domain::Reading {
                date: visit,
                km,
                source: ReadingSource::Visit,
            }];
            let due = domain::Forecaster::new(schedule)
                .forecast(&domain::ForecastInput {
                    readings: &readings,
                    first_registration: Some(registered),
                    last_service: Some(domain::ServicePoint { date: visit, km }),
                    as_of: Some(monday()),
                })
                .unwrap();
            let wide = due.interval_days() > i64::from(t.ask_odometer_min_interval_days);
            if (due.due_date - monday()).num_days() == due_in && wide {
                return (registered, (visit, km));
            }
        }
        panic!("no visit makes a car due in {due_in} days");
    }

    fn build(policy: Policy) -> Fleet {
        let mut fleet = Fleet {
            people: Vec::new(),
            cars: Vec::new(),
            policy,
            seed: 20_271_011,
            next_number: 3000,
        };
        let rotation = [
            Reach::Telegram,
            Reach::WhatsAppRecent,
            Reach::Sms,
            Reach::Telegram,
            Reach::WhatsAppOld,
        ];
        let low = 8_000;
        // Due in 12 to 35 days: the soft reminder on the night 30 days before.
        for (i, due_in) in [12, 15, 18, 20, 22, 25, 28, 31, 33, 35]
            .into_iter()
            .enumerate()
        {
            let owner = fleet.person(rotation[i % rotation.len()], false);
            let due = plus(due_in);
            let registered = years_before(due, 4) - chrono::Duration::days(40);
            fleet.car(
                owner,
                Role::DueSoon,
                registered,
                None,
                years_before(due, 1),
                low,
            );
        }
        // Tyres changed on 2 October, due in 8-10 days: reminder Monday, no reaction, offer Friday.
        for (i, reach) in [Reach::Telegram, Reach::WhatsAppRecent, Reach::Sms]
            .into_iter()
            .enumerate()
        {
            let owner = fleet.person(reach, true);
            let due = plus(8 + i as i64);
            let registered = years_before(due, 4) - chrono::Duration::days(70);
            let car = fleet.car(
                owner,
                Role::Personal,
                registered,
                None,
                years_before(due, 1),
                low,
            );
            let km = fleet.cars[car].visits.last().unwrap().2 + 6_000;
            fleet.cars[car]
                .visits
                .push((day("2027-10-02"), "tires", km));
        }
        // Overdue by more than two months (the last one lost); 3-5 and 5+ years old.
        for (i, (overdue, age)) in [(65, 4), (80, 4), (100, 6), (130, 4), (170, 7), (200, 4)]
            .into_iter()
            .enumerate()
        {
            let reach = [Reach::Sms, Reach::Telegram, Reach::WhatsAppRecent][i % 3];
            let owner = fleet.person(reach, true);
            let due = plus(-overdue);
            let registered = years_before(monday(), age) - chrono::Duration::days(100);
            fleet.car(
                owner,
                Role::Overdue,
                registered,
                None,
                years_before(due, 1),
                low,
            );
        }
        // The warranty ends within 60 days.
        for (i, reach) in [Reach::Telegram, Reach::WhatsAppRecent]
            .into_iter()
            .enumerate()
        {
            let owner = fleet.person(reach, true);
            let registered = years_before(plus(40 + 5 * i as i64), 3);
            let until = plus(40 + 5 * i as i64);
            fleet.car(
                owner,
                Role::WarrantyEnds,
                registered,
                Some(until),
                plus(-200),
                low,
            );
        }
        // Crossed the 3-year line two weeks ago.
        for (i, reach) in [Reach::Telegram, Reach::Sms].into_iter().enumerate() {
            let owner = fleet.person(reach, true);
            let registered = years_before(plus(-16 - i as i64), 3);
            fleet.car(owner, Role::ThreeYears, registered, None, plus(-190), low);
        }
        // Crossed the 5-year line two weeks ago.
        for (i, reach) in [Reach::WhatsAppOld, Reach::Telegram]
            .into_iter()
            .enumerate()
        {
            let owner = fleet.person(reach, true);
            let registered = years_before(plus(-13 - i as i64), 5);
            let until = years_before(plus(-13 - i as i64), 2);
            fleet.car(
                owner,
                Role::FiveYears,
                registered,
                Some(until),
                plus(-150),
                low,
            );
        }
        // Serviced in the days before the week: the satisfaction request 3 days after.
        for (i, ago) in [3, 5, 8, 1, 2].into_iter().enumerate() {
            let owner = fleet.person([Reach::Telegram, Reach::WhatsAppRecent][i % 2], false);
            let registered = years_before(monday(), 2 + i as u32) - chrono::Duration::days(60);
            fleet.car(owner, Role::JustServiced, registered, None, plus(-ago), low);
        }
        // A fast-driven car with one visit: the due date is uncertain, so the odometer is asked
        // 45 days before it (on Monday for the first three, later in the week for the others).
        for (i, due_in) in [38, 40, 44, 48, 50].into_iter().enumerate() {
            let owner = fleet.person([Reach::Telegram, Reach::WhatsAppRecent][i % 2], false);
            let (registered, visit) = fleet.uncertain(due_in);
            let car = fleet.car(owner, Role::Uncertain, registered, None, visit.0, 21_000);
            fleet.cars[car].visits = vec![(visit.0, "maintenance", visit.1)];
        }
        // Everyone else: due in two months to a year; every night in the tyre season.
        for i in 0..65 {
            let owner = fleet.person(rotation[i % rotation.len()], false);
            let due = plus(60 + fleet.random(270) as i64);
            let age = 1 + fleet.random(9) as u32;
            let registered = years_before(due, age + 1) - chrono::Duration::days(30);
            let km = 6_000 + 1_000 * fleet.random(6) as u32;
            fleet.car(
                owner,
                Role::Background,
                registered,
                None,
                years_before(due, 1),
                km,
            );
        }
        fleet
    }

    fn owner(&self, car: &Car) -> &Person {
        &self.people[car.owner]
    }

    fn of_role(&self, role: Role) -> Vec<&Car> {
        self.cars.iter().filter(|c| c.role == role).collect()
    }

    fn by_vin(&self, vin: &str) -> &Car {
        self.cars.iter().find(|c| c.vin == vin).unwrap()
    }
}

/// The webhook body of one visit.
fn visit_body(
    person: &Person,
    car: &Car,
    work_order: &str,
    closed_at: &str,
    kind: &str,
    km: u32,
) -> Value {
    let lines = match kind {
        "maintenance" => json!([
            {"kind": "labor", "code": "TO-LABOR", "name": "Работы по ТО", "qty": "1", "price": "6500.00", "cost": "2600.00"},
            {"kind": "part", "code": "FILTER-OIL", "name": "Фильтр масляный", "qty": "1", "price": "1200.00", "cost": "950.00"},
            {"kind": "part", "code": "OIL-5W30", "name": "Масло моторное 5W-30", "qty": "4.5", "price": "900.00", "cost": "600.00"}
        ]),
        "tires" => json!([
            {"kind": "labor", "code": "TIRE-SWAP", "name": "Шиномонтаж", "qty": "1", "price": "3200.00", "cost": "1200.00"}
        ]),
        _ => json!([
            {"kind": "labor", "code": "REP-1", "name": "Ремонтные работы", "qty": "2", "price": "2500.00", "cost": "1000.00"},
            {"kind": "part", "code": "PART-1", "name": "Запчасть", "qty": "1", "price": "3400.00", "cost": "2500.00"}
        ]),
    };
    // The cars serviced just before the week had their front pads found worn and declined:
    // followed up as safety work in the week.
    let recommendations = if car.role == Role::JustServiced && kind == "maintenance" {
        json!([{"code": "BRK-F", "name": "Замена передних тормозных колодок", "urgency": "safety",
                "labor_estimate": "2400.00", "parts_estimate": "5600.00"}])
    } else {
        json!([])
    };
    json!({
        "recommendations": recommendations,
        "work_order_id": work_order,
        "closed_at": closed_at,
        "kind": kind,
        "odometer_km": km,
        "advisor_id": "adv-3",
        "customer": {
            "id": person.id, "first_name": person.first_name, "phone": person.phone,
            "telegram_chat_id": person.chat(),
            "consents": {"service_messages": true, "marketing": person.marketing}
        },
        "vehicle": {
            "vin": car.vin, "make": car.make, "model": car.model,
            "first_registration": car.registered.to_string(),
            "warranty_until": car.warranty_until.map(|d| d.to_string()),
        },
        "lines": lines
    })
}

fn stage_of(m: &ComposeOffer) -> Stage {
    let ComposeOffer::V1 { stage, .. } = m;
    *stage
}

/// A Russian phrase the message of a stage (and reason) carries on its channel: the messenger
/// text, the template's parameters (their text starts with a capital), or the SMS wording.
fn marker(stage: Stage, reason: &Reason, channel: &str) -> &'static str {
    match (stage, channel) {
        (Stage::PersonalOffer | Stage::CriticalOffer, "sms") => "персональное предложение на ТО",
        (Stage::SeasonalTires, "sms") => "пора сменить шины",
        (Stage::DeclinedWork, "sms") => "работах, рекомендованных мастером",
        (Stage::AskOdometer, _) => "текущий пробег",
        (Stage::SoftReminder, _) => "на плановое ТО",
        (Stage::PersonalOffer, _) => "подготовили для вашего",
        (Stage::CriticalOffer, _) => match reason {
            Reason::Critical(CriticalReason::Overdue { .. }) => "просрочено на",
            Reason::Critical(CriticalReason::WarrantyEnds { .. }) => "заканчивается",
            Reason::Critical(CriticalReason::CrossedAgeLine { years: 3, .. }) => {
                "исполнилось 3 года — самое время"
            }
            Reason::Critical(CriticalReason::CrossedAgeLine { years: 5, .. }) => {
                "исполнилось 5 лет — самое время"
            }
            other => panic!("no critical offer for {other:?} in this week"),
        },
        (Stage::SatisfactionRequest, _) => "Оцените, пожалуйста, визит от 0 до 10",
        (Stage::SeasonalTires, _) => "менять шины на зимние",
        (Stage::DeclinedWork, _) => "мастер рекомендовал",
    }
}

/// What the priced offer of a rule says in a messenger (SMS carry only the link).
fn offer_marker(rule: &str) -> &'static str {
    match rule {
        "wake-up-3-5" => "% на работы:",
        "risk-package" => "ТО по фиксированной цене 9\u{a0}900\u{a0}₽",
        "warranty-care" => "Для вас: бесплатная проверка автомобиля, такси до дома, мойка",
        "loyal-perks" => "Для вас: мойка автомобиля.",
        "standard" => "Стоимость ТО —",
        other => panic!("unexpected offer rule {other}"),
    }
}

/// The first button's callback data of the latest Telegram message to `chat` that contains
/// `text`.
fn telegram_button(stack: &Stack, chat: i64, text: &str) -> String {
    stack
        .telegram
        .calls()
        .iter()
        .rev()
        .filter(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .find(|c| c.body["text"].as_str().unwrap_or_default().contains(text))
        .and_then(|c| c.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str())
        .unwrap_or_else(|| panic!("no message with a button containing {text:?} to {chat}"))
        .to_owned()
}

/// Every button of the latest Telegram message to `chat`: (label, data).
fn telegram_buttons(stack: &Stack, chat: i64) -> Vec<(String, String)> {
    let call = stack
        .telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .expect("a message");
    call.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| {
            (
                b["text"].as_str().unwrap().to_owned(),
                b["callback_data"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn last_text_to(stack: &Stack, chat: i64) -> String {
    stack
        .telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .map(|c| c.body["text"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn whatsapp_to(stack: &Stack, wa_id: &str) -> Vec<Value> {
    stack
        .whatsapp
        .messages()
        .into_iter()
        .filter(|m| m["to"] == wa_id)
        .collect()
}

async fn post_ok(stack: &Stack, body: &Value, posted_at: DateTime<Utc>) -> Value {
    let (status, answer) = stack.post_visit(body, posted_at).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_nights_and_days_fires_every_stage_books_on_every_channel_holds_the_cap_and_credits_conversions(
) {
    let started = Instant::now();
    let policy = Policy::default();
    let stack = Stack::deploy(
        "week",
        policy.clone(),
        common::at("2027-09-01T00:00:00+03:00"),
    )
    .await;
    let mut fleet = Fleet::build(policy.clone());

    // A second car for a customer with an overdue one: both want a marketing message on Monday.
    let two_cars_owner = fleet.of_role(Role::Overdue)[1].owner;
    assert_eq!(fleet.people[two_cars_owner].reach, Reach::Telegram);
    let second = fleet.car(
        two_cars_owner,
        Role::Background,
        years_before(monday(), 2),
        None,
        plus(-150),
        7_000,
    );
    let second_vin = fleet.cars[second].vin.clone();

    // The CRM's back-fill, posted on Sunday evening: every visit signed, stored once.
    let sunday = stack.local(plus(-1), "18:00:00");
    let mut posted = 0;
    for car in &fleet.cars {
        let person = fleet.owner(car);
        for (n, (closed_on, kind, km)) in car.visits.iter().enumerate() {
            let body = visit_body(
                person,
                car,
                &format!("WO-{}-{n}", &car.vin[11..]),
                &format!("{closed_on}T11:00:00+03:00"),
                kind,
                *km,
            );
            post_ok(&stack, &body, sunday).await;
            posted += 1;
        }
    }
    assert!(posted >= 300, "{posted} visits");
    assert!(
        fleet.people.len() >= 100,
        "{} customers",
        fleet.people.len()
    );
    let imported = started.elapsed();

    // WhatsApp customers have written to the business number: last evening, or weeks ago.
    for person in &fleet.people {
        let sent_at = match person.reach {
            Reach::WhatsAppRecent => stack.local(plus(-1), "20:00:00"),
            Reach::WhatsAppOld => common::at("2027-09-20T12:00:00+03:00"),
            _ => continue,
        };
        let text = json!({"type": "text", "text": {"body": "Здравствуйте!"}});
        let status = stack
            .whatsapp_message(
                &person.wa_id(),
                text,
                sent_at,
                stack.local(plus(-1), "20:30:00"),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert!(
        stack.whatsapp.messages().is_empty(),
        "a greeting gets no answer"
    );

    let mut composed: BTreeMap<String, ComposeOffer> = BTreeMap::new();
    let mut composed_on: HashMap<String, NaiveDate> = HashMap::new();
    let mut evaluated_on: Vec<Vec<String>> = Vec::new();
    let mut nights = Vec::new();
    let roles: HashMap<&str, Role> = fleet
        .cars
        .iter()
        .map(|c| (c.vin.as_str(), c.role))
        .collect();
    let mut odometer_reply: Option<(String, u32)> = None;
    let t_book = fleet.of_role(Role::DueSoon)[0].clone();
    let w_book = fleet.of_role(Role::DueSoon)[1].clone();
    let s_book = fleet.of_role(Role::DueSoon)[2].clone();
    let walk_in = fleet.of_role(Role::Overdue)[0].clone();
    let lapser = fleet.of_role(Role::WarrantyEnds)[0].clone();
    assert_eq!(fleet.owner(&t_book).reach, Reach::Telegram);
    assert_eq!(fleet.owner(&w_book).reach, Reach::WhatsAppRecent);
    assert_eq!(fleet.owner(&s_book).reach, Reach::Sms);
    assert_eq!(fleet.owner(&walk_in).reach, Reach::Sms);
    assert_eq!(fleet.owner(&lapser).reach, Reach::Telegram);

    for night in 0..7 {
        let today = plus(night);
        let summary = stack.nightly(today).await;
        assert_eq!(summary.segments_done, 4);
        let evaluated = stack.evaluate_all(stack.local(today, "01:00:05")).await;
        assert_eq!(evaluated.failures(), 0, "night {today}");
        assert_eq!(evaluated.bodies.len() as u64, summary.queued);
        evaluated_on.push(
            evaluated
                .evaluate_messages()
                .into_iter()
                .map(|app::messages::EvaluateVehicle::V1 { vin, .. }| vin)
                .collect(),
        );
        let morning = stack.compose_all(stack.local(today, "09:00:30")).await;
        assert_eq!(morning.failures(), 0, "morning {today}");
        let mut stages = BTreeMap::<Stage, usize>::new();
        for m in morning.compose_messages() {
            let ComposeOffer::V1 {
                offer_id, send_at, ..
            } = &m;
            assert_eq!(
                *send_at,
                stack.local(today, "09:00:00"),
                "after the quiet hours"
            );
            *stages.entry(stage_of(&m)).or_default() += 1;
            composed_on.insert(offer_id.clone(), today);
            assert!(
                composed.insert(offer_id.clone(), m).is_none(),
                "composed once"
            );
        }
        nights.push((today, summary.forecast, summary.queued, stages));

        match night {
            // Monday: bookings on every channel, and a hold left to lapse.
            0 => {
                book_on_telegram(&stack, &fleet, &t_book, today).await;
                book_on_whatsapp(&stack, &fleet, &w_book, today).await;
                book_on_the_page(&stack, &fleet, &s_book, today).await;
                let_a_hold_lapse(&stack, &fleet, &lapser, today).await;
            }
            // Tuesday: the booked customers come in; their visits close the cycles. Thursday:
            // a customer of an SMS offer comes in without booking.
            1 | 3 => {
                let visits = if night == 1 {
                    vec![(&t_book, "10:00"), (&s_book, "09:00")]
                } else {
                    vec![(&walk_in, "15:00")]
                };
                for (car, start) in visits {
                    let km = car.visits.last().unwrap().2 + 7_000;
                    let body = visit_body(
                        fleet.owner(car),
                        car,
                        &format!("WO-{}-CAME", &car.vin[11..]),
                        &format!("{today}T{start}:00+03:00"),
                        "maintenance",
                        km,
                    );
                    let posted_at = stack.local(today, "17:00:00");
                    let answer = post_ok(&stack, &body, posted_at).await;
                    assert_eq!(answer["status"], "stored");
                    let (again, _) = stack.post_visit(&body, posted_at).await;
                    assert_eq!(again, 200, "the same work order again");
                }
            }
            _ => {}
        }
        // A Telegram customer asked for the odometer answers the same day.
        if odometer_reply.is_none() {
            let asked = morning.compose_messages().into_iter().find_map(|m| {
                let ComposeOffer::V1 { vin, stage, .. } = m;
                let person = fleet.owner(fleet.by_vin(&vin));
                (stage == Stage::AskOdometer && person.reach == Reach::Telegram).then_some(vin)
            });
            if let Some(vin) = asked {
                let car = fleet.by_vin(&vin);
                let chat = fleet.owner(car).chat().unwrap();
                let km = car.visits[0].2 + 13_000;
                let text = format!("{} {:03}", km / 1000, km % 1000);
                let status = stack
                    .telegram_text(chat, &text, stack.local(today, "12:00:00"))
                    .await;
                assert_eq!(status, 200);
                assert!(
                    last_text_to(&stack, chat).starts_with(&format!(
                        "Спасибо! С пробегом {} км следующее ТО — около",
                        domain::render::thousands_ru(km)
                    )),
                    "{}",
                    last_text_to(&stack, chat)
                );
                odometer_reply = Some((vin, km));
            }
        }
    }
    let week = started.elapsed();
    for (today, forecast, queued, stages) in &nights {
        println!("{today}: forecast {forecast}, queued {queued}, composed {stages:?}");
    }
    println!(
        "{posted} visits of {} customers and {} cars imported in {:.1} s; the week in {:.1} s",
        fleet.people.len(),
        fleet.cars.len(),
        imported.as_secs_f64(),
        week.as_secs_f64()
    );

    // Every stage fired, each critical reason the policy names for these cars among them.
    let stages: BTreeSet<Stage> = composed.values().map(stage_of).collect();
    assert_eq!(stages, Stage::ALL.into_iter().collect(), "every stage");
    let reasons: Vec<&Reason> = composed
        .values()
        .map(|ComposeOffer::V1 { reason, .. }| reason)
        .collect();
    let critical = |pick: fn(&CriticalReason) -> bool| {
        reasons
            .iter()
            .any(|r| matches!(r, Reason::Critical(c) if pick(c)))
    };
    assert!(critical(|c| matches!(c, CriticalReason::Overdue { .. })));
    assert!(critical(|c| matches!(
        c,
        CriticalReason::WarrantyEnds { .. }
    )));
    assert!(critical(|c| matches!(
        c,
        CriticalReason::CrossedAgeLine { years: 3, .. }
    )));
    assert!(critical(|c| matches!(
        c,
        CriticalReason::CrossedAgeLine { years: 5, .. }
    )));
    assert!(reasons
        .iter()
        .any(|r| matches!(r, Reason::TireSeason { window } if window == "autumn")));
    for (vin, role) in &roles {
        let wanted = match role {
            Role::Overdue | Role::WarrantyEnds | Role::ThreeYears | Role::FiveYears => {
                Stage::CriticalOffer
            }
            Role::DueSoon => Stage::SoftReminder,
            Role::Personal => Stage::PersonalOffer,
            Role::JustServiced => Stage::SatisfactionRequest,
            Role::Uncertain => Stage::AskOdometer,
            Role::Background => Stage::SeasonalTires,
        };
        let car = fleet.by_vin(vin);
        let person = fleet.owner(car);
        let in_control = domain::contact::in_control_group(
            &CustomerId::parse(&person.id).unwrap(),
            policy.contact().control_group,
        );
        let one_car = fleet.cars.iter().filter(|c| c.owner == car.owner).count() == 1;
        let may_market = person.marketing && !in_control && one_car;
        if wanted.class() == ContactClass::Marketing && !may_market {
            continue;
        }
        assert!(
            composed
                .values()
                .any(|m| matches!(m, ComposeOffer::V1 { vin: v, stage, .. } if v == vin && *stage == wanted)),
            "{wanted} for {vin} ({role:?})"
        );
    }
    // The personal offer came on Friday, four days after the unanswered Monday reminder.
    for car in fleet.of_role(Role::Personal) {
        let on = |stage: Stage| {
            composed
                .iter()
                .find(|(_, m)| matches!(m, ComposeOffer::V1 { vin, stage: s, .. } if *vin == car.vin && *s == stage))
                .map(|(id, _)| composed_on[id])
        };
        assert_eq!(on(Stage::SoftReminder), Some(plus(0)), "{}", car.vin);
        assert_eq!(on(Stage::PersonalOffer), Some(plus(4)), "{}", car.vin);
    }

    // What went out is in the outbox, sent once, and on the customer's channel.
    let all_received = received(&stack);
    let by_recipient = |person: &Person| -> Vec<&Received> {
        all_received
            .iter()
            .filter(|r| match person.reach {
                Reach::Telegram => {
                    r.channel == "telegram"
                        && Some(r.to.as_str()) == person.chat().map(|c| c.to_string()).as_deref()
                }
                Reach::WhatsAppRecent | Reach::WhatsAppOld => {
                    r.channel == "whatsapp" && r.to == person.wa_id()
                }
                Reach::Sms => r.channel == "sms" && r.to == person.phone,
            })
            .collect()
    };
    let mut sent_stages: BTreeMap<&str, BTreeSet<Stage>> = BTreeMap::new();
    for (offer_id, m) in &composed {
        let ComposeOffer::V1 {
            vin,
            customer_id,
            stage,
            reason,
            ..
        } = m;
        let car = fleet.by_vin(vin);
        let person = fleet.owner(car);
        assert_eq!(&person.id, customer_id);
        let offer = stack
            .repos
            .offers
            .get::<OfferRecord>(offer_id)
            .await
            .unwrap();
        let no_reply_channel = person.reach == Reach::Sms
            && matches!(stage, Stage::AskOdometer | Stage::SatisfactionRequest);
        if no_reply_channel {
            assert!(offer.is_none(), "{stage} has no SMS form: nothing is sent");
            continue;
        }
        let offer = offer.unwrap_or_else(|| panic!("offer {offer_id} ({stage}) in the outbox"));
        assert_eq!(offer.state, OfferState::Sent, "{offer_id}");
        let sent_at = offer.sent_at.unwrap();
        assert_eq!(sent_at, stack.local(composed_on[offer_id], "09:00:30"));
        assert_eq!(
            offer.offer.priced.is_some(),
            stage.is_offer(),
            "{offer_id} {stage}"
        );
        let channel = match person.reach {
            Reach::Telegram => "telegram",
            Reach::Sms => "sms",
            _ => "whatsapp",
        };
        let mut markers = vec![marker(*stage, reason, channel)];
        if let (Some(priced), false) = (&offer.offer.priced, channel == "sms") {
            markers.push(offer_marker(&priced.rule_ids[0]));
        }
        let got = by_recipient(person)
            .into_iter()
            .filter(|r| markers.iter().all(|m| r.text.contains(m)))
            .count();
        assert!(
            got >= 1,
            "{stage} to {} on {channel}: {markers:?}",
            person.id
        );
        sent_stages.entry(channel).or_default().insert(*stage);
    }
    println!("stages sent per channel: {sent_stages:?}");
    assert!(
        sent_stages["telegram"].len() == Stage::ALL.len(),
        "{sent_stages:?}"
    );
    assert!(sent_stages["whatsapp"].contains(&Stage::SoftReminder));
    assert!(sent_stages["sms"].contains(&Stage::PersonalOffer));
    assert!(sent_stages["sms"].contains(&Stage::CriticalOffer));
    assert!(sent_stages["sms"].contains(&Stage::SeasonalTires));
    let whatsapp = stack.whatsapp.messages();
    assert!(
        whatsapp.iter().any(|m| m["type"] == "template"),
        "templates outside the window"
    );
    assert!(
        whatsapp.iter().any(|m| m["type"] == "interactive"),
        "buttons inside the window"
    );
    assert!(
        stack.telegram.rejected().is_empty(),
        "{:?}",
        stack.telegram.rejected()
    );
    assert!(
        stack.whatsapp.rejected().is_empty(),
        "{:?}",
        stack.whatsapp.rejected()
    );
    assert!(
        stack.sms.rejected().is_empty(),
        "{:?}",
        stack.sms.rejected()
    );
    assert_eq!(stack.dead_letters(&stack.evaluate).await, 0);
    assert_eq!(stack.dead_letters(&stack.compose).await, 0);

    // The marketing cap: no customer got two marketing messages within 7 days, whatever the
    // number of cars; the customer with two cars got one while both were due one on Monday.
    let mut marketing: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for person in &fleet.people {
        let offers = stack
            .repos
            .offers
            .for_customer::<OfferRecord>(&person.id)
            .await
            .unwrap();
        for offer in offers {
            if offer.offer.stage.class_for(&offer.offer.reason) == ContactClass::Marketing
                && offer.state == OfferState::Sent
            {
                marketing
                    .entry(person.id.clone())
                    .or_default()
                    .push(offer.sent_at.unwrap());
            }
        }
        if !person.marketing {
            assert!(
                !marketing.contains_key(&person.id),
                "{} has no marketing consent",
                person.id
            );
        }
    }
    for (customer, times) in &marketing {
        let mut times = times.clone();
        times.sort();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= chrono::Duration::days(7),
                "{customer}: marketing at {} and {}",
                pair[0],
                pair[1]
            );
        }
    }
    let two_cars = &fleet.people[two_cars_owner];
    let first_vin = fleet
        .cars
        .iter()
        .find(|c| c.owner == two_cars_owner && c.vin != second_vin)
        .unwrap()
        .vin
        .clone();
    assert!(evaluated_on[0].contains(&first_vin) && evaluated_on[0].contains(&second_vin));
    assert_eq!(
        marketing[&two_cars.id].len(),
        1,
        "one marketing message for two cars"
    );
    let marketing_stages_of = |vin: &str| {
        composed
            .values()
            .filter(|m| matches!(m, ComposeOffer::V1 { vin: v, stage, reason, .. } if v == vin && stage.class_for(reason) == ContactClass::Marketing))
            .count()
    };
    assert_eq!(
        marketing_stages_of(&first_vin) + marketing_stages_of(&second_vin),
        1
    );
    let control: Vec<&Person> = fleet
        .people
        .iter()
        .filter(|p| {
            domain::contact::in_control_group(
                &CustomerId::parse(&p.id).unwrap(),
                policy.contact().control_group,
            )
        })
        .collect();
    assert!(!control.is_empty());
    for person in control {
        assert!(
            !marketing.contains_key(&person.id),
            "{} is in the control group",
            person.id
        );
    }

    // Bookings: confirmed through Telegram, WhatsApp and the SMS page, and the lapsed hold held
    // again and confirmed; mid-week bonus points only for the priced offer, once.
    for (car, attempt, points) in [
        (&t_book, 1, 0),
        (&w_book, 1, 0),
        (&s_book, 1, 0),
        (&lapser, 2, 500),
    ] {
        let person = fleet.owner(car);
        let bookings = stack
            .repos
            .capacity
            .bookings_of_customer::<app::booking::BookingRecord>(&person.id)
            .await
            .unwrap();
        assert_eq!(bookings.len(), 1, "{}", person.id);
        assert_eq!(bookings[0].state, BookingState::Confirmed, "{}", person.id);
        assert_eq!(bookings[0].attempt, attempt, "{}", person.id);
        assert_eq!(bookings[0].date, plus(1), "Tuesday");
        let ledger = stack
            .repos
            .points
            .ledger::<app::booking::PointsDetail>(&person.id)
            .await
            .unwrap();
        assert_eq!(
            ledger.iter().map(|e| e.points).sum::<i64>(),
            points,
            "{}",
            person.id
        );
        assert_eq!(
            stack.repos.points.balance(&person.id).await.unwrap(),
            points
        );
        if points > 0 {
            assert_eq!(ledger.len(), 1);
            assert_eq!(ledger[0].detail.date, plus(1));
            assert_eq!(ledger[0].detail.rule, domain::pricing::WEEKDAY_BONUS_RULE);
        }
    }
    let lapsed_slots = stack.repos.capacity.slots_on(plus(1)).await.unwrap();
    let held: u32 = lapsed_slots.iter().map(|s| s.capacity - s.remaining).sum();
    assert_eq!(
        held, 4,
        "four bookings hold Tuesday's slots: {lapsed_slots:?}"
    );

    // Conversions: each visit after a message credited once, to the message the customer acted
    // on, else the latest reminder or offer of the cycle sent before it; here the acted-on
    // messages went out with the latest ones.
    for (car, days) in [(&t_book, 1), (&s_book, 1), (&walk_in, 3)] {
        let credited = stack
            .repos
            .conversions
            .for_vehicle::<ConversionRecord>(&car.vin)
            .await
            .unwrap();
        assert_eq!(credited.len(), 1, "{}", car.vin);
        let c = &credited[0];
        assert_eq!(c.work_order_id, format!("WO-{}-CAME", &car.vin[11..]));
        assert_eq!(c.record.days_to_visit, days);
        let mut invites = Vec::new();
        for (offer_id, m) in &composed {
            let ComposeOffer::V1 { vin, stage, .. } = m;
            let invite = matches!(
                stage,
                Stage::SoftReminder
                    | Stage::PersonalOffer
                    | Stage::CriticalOffer
                    | Stage::SeasonalTires
            );
            if *vin != car.vin || !invite || composed_on[offer_id] > plus(days) {
                continue;
            }
            let offer = stack
                .repos
                .offers
                .get::<OfferRecord>(offer_id)
                .await
                .unwrap()
                .unwrap();
            invites.push((
                offer.sent_at.unwrap(),
                offer_id.clone(),
                *stage,
                offer.offer,
            ));
        }
        let latest = invites.iter().map(|i| i.0).max().unwrap();
        let (sent_at, _, stage, record) = invites
            .iter()
            .find(|i| i.1 == c.record.offer_id)
            .unwrap_or_else(|| panic!("{} credited to a message it got: {invites:?}", car.vin));
        assert_eq!((*sent_at, c.record.sent_at), (latest, latest));
        assert_eq!(c.record.stage, *stage);
        let rule = record.priced.as_ref().map(|p| p.rule_ids[0].clone());
        assert_eq!(c.record.rule, rule);
        println!("{} converted after {stage} ({:?})", car.vin, c.record.rule);
    }
    let walked_in = stack
        .repos
        .conversions
        .for_vehicle::<ConversionRecord>(&walk_in.vin)
        .await
        .unwrap();
    assert_eq!(walked_in[0].record.stage, Stage::CriticalOffer);
    assert_eq!(walked_in[0].record.rule.as_deref(), Some("wake-up-3-5"));
    let month = stack
        .repos
        .conversions
        .in_month::<ConversionRecord>(2027, 10)
        .await
        .unwrap();
    assert_eq!(month.len(), 3, "{month:?}");
    // The converted customer gets the satisfaction request of the new cycle three days later.
    let t_chat = fleet.owner(&t_book).chat().unwrap();
    assert!(composed.values().any(|m| matches!(m, ComposeOffer::V1 { vin, stage: Stage::SatisfactionRequest, cycle_id, .. } if *vin == t_book.vin && cycle_id.ends_with("CAME"))));
    assert!(stack
        .telegram
        .calls()
        .iter()
        .any(|c| c.body["chat_id"] == t_chat
            && c.body["text"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!(
                    "спасибо, что были у нас {}",
                    plus(1).format("%d.%m.%Y")
                ))));

    // The odometer reply was stored as the customer's reading.
    let (vin, km) = odometer_reply.expect("a Telegram customer was asked for the odometer");
    let readings = stack.repos.readings.for_vehicle(&vin).await.unwrap();
    assert!(readings
        .iter()
        .any(|r| r.km == km && r.source == ReadingSource::CustomerReported));
}

/// Monday 10:00: the Telegram customer presses «Записаться» under the reminder, picks Tuesday
/// 10:00; the advisor confirms at once.
async fn book_on_telegram(stack: &Stack, fleet: &Fleet, car: &Car, today: NaiveDate) {
    let person = fleet.owner(car);
    let chat = person.chat().unwrap();
    let book = telegram_button(stack, chat, "пора на плановое ТО");
    assert!(book.starts_with("book:"));
    assert_eq!(
        stack
            .press(chat, &book, stack.local(today, "10:00:00"))
            .await,
        200
    );
    let slots = telegram_buttons(stack, chat);
    assert_eq!(slots.len(), 6, "{slots:?}");
    let (label, data) = slots
        .iter()
        .find(|(label, _)| *label == format!("{} 10:00", plus(1).format("%d.%m")))
        .expect("Tuesday 10:00 is free")
        .clone();
    assert_eq!(
        stack
            .press(chat, &data, stack.local(today, "10:01:00"))
            .await,
        200
    );
    assert!(last_text_to(stack, chat).starts_with(&format!("Заявка на {label} отправлена")));
    let advisor = last_text_to(stack, ADVISOR_CHAT);
    assert!(advisor.contains(&car.vin), "{advisor}");
    let confirm = telegram_button(stack, ADVISOR_CHAT, &car.vin);
    assert_eq!(
        stack
            .press(ADVISOR_CHAT, &confirm, stack.local(today, "10:05:00"))
            .await,
        200
    );
    let told = last_text_to(stack, chat);
    assert!(
        told.starts_with(&format!(
            "{}, ваша запись на {} 10:00 подтверждена.",
            person.first_name,
            plus(1).format("%d.%m")
        )),
        "{told}"
    );
}

/// Monday 10:15: the WhatsApp customer picks «Записаться» in the reminder's list, then a row of the slot
/// list; the advisor confirms in Telegram; the confirmation comes on WhatsApp.
async fn book_on_whatsapp(stack: &Stack, fleet: &Fleet, car: &Car, today: NaiveDate) {
    let person = fleet.owner(car);
    let wa_id = person.wa_id();
    let reminder = whatsapp_to(stack, &wa_id)
        .into_iter()
        .find(|m| {
            m["type"] == "interactive"
                && m["interactive"]["body"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("пора на плановое ТО")
        })
        .expect("the reminder with its four answers, inside the service window");
    let answer = &reminder["interactive"]["action"]["sections"][0]["rows"][0];
    assert_eq!(answer["title"], "Записаться", "{reminder}");
    let book = answer["id"].as_str().unwrap().to_owned();
    let at = stack.local(today, "10:15:00");
    let tap = json!({"type": "interactive", "interactive": {"type": "list_reply",
        "list_reply": {"id": book, "title": "Записаться"}}});
    assert_eq!(stack.whatsapp_message(&wa_id, tap, at, at).await, 200);
    let picker = whatsapp_to(stack, &wa_id).pop().unwrap();
    assert_eq!(picker["interactive"]["type"], "list", "{picker}");
    let row = &picker["interactive"]["action"]["sections"][0]["rows"][2];
    let title = row["title"].as_str().unwrap().to_owned();
    let at = stack.local(today, "10:16:00");
    let pick = json!({"type": "interactive", "interactive": {"type": "list_reply",
        "list_reply": {"id": row["id"], "title": title}}});
    assert_eq!(stack.whatsapp_message(&wa_id, pick, at, at).await, 200);
    let held = whatsapp_to(stack, &wa_id).pop().unwrap();
    assert!(
        held["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Заявка на {title} отправлена")),
        "{held}"
    );
    let confirm = telegram_button(stack, ADVISOR_CHAT, &car.vin);
    assert_eq!(
        stack
            .press(ADVISOR_CHAT, &confirm, stack.local(today, "10:20:00"))
            .await,
        200
    );
    // With «Перенести» and «Отменить»: reply buttons.
    let told = whatsapp_to(stack, &wa_id).pop().unwrap();
    assert!(
        told["interactive"]["body"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "{}, ваша запись на {title} подтверждена.",
                person.first_name
            )),
        "{told}"
    );
}

/// Monday 11:00: the SMS customer opens the link of the reminder, taps the first slot;
/// the advisor confirms; the confirmation comes by SMS.
async fn book_on_the_page(stack: &Stack, fleet: &Fleet, car: &Car, today: NaiveDate) {
    let person = fleet.owner(car);
    let sms = stack
        .sms
        .messages()
        .into_iter()
        .filter(|m| m["to"] == person.phone.as_str())
        .find_map(|m| {
            let text = m["text"].as_str()?.to_owned();
            text.contains("пора на плановое ТО").then_some(text)
        })
        .expect("the reminder by SMS");
    let link = sms.split_whitespace().last().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("{}/b/", common::PUBLIC_URL)),
        "{sms}"
    );
    let (status, html) = stack
        .page(&link, None, stack.local(today, "11:00:00"))
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!(
            "{}, через 18 дней ({}) вашему {} {} пора на плановое ТО.",
            person.first_name,
            plus(18).format("%d.%m.%Y"),
            car.make,
            car.model
        )),
        "the reminder on the page: {html}"
    );
    let slots = page_slots(&html);
    assert_eq!(slots.len(), 6, "{html}");
    assert!(
        slots[0].ends_with(&format!(":{}:09:00", plus(1))),
        "{slots:?}"
    );
    let (status, html) = stack
        .page(&link, Some(&slots[0]), stack.local(today, "11:01:00"))
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("ждёт подтверждения мастера-консультанта"),
        "{html}"
    );
    let confirm = telegram_button(stack, ADVISOR_CHAT, &car.vin);
    assert_eq!(
        stack
            .press(ADVISOR_CHAT, &confirm, stack.local(today, "11:05:00"))
            .await,
        200
    );
    let told: Vec<String> = stack
        .sms
        .messages()
        .into_iter()
        .filter(|m| m["to"] == person.phone.as_str())
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("подтверждена"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let (status, html) = stack
        .page(&link, None, stack.local(today, "11:10:00"))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            "Ваша запись на {} 09:00: подтверждена.",
            plus(1).format("%d.%m")
        )),
        "{html}"
    );
}

/// Monday 14:00: a Telegram customer holds a slot of the warranty offer; the advisor presses
/// «Подтвердить» 31 minutes later, past the policy's 30-minute hold: told it lapsed, the slot is
/// free again, and the customer is asked to choose again, which they do.
async fn let_a_hold_lapse(stack: &Stack, fleet: &Fleet, car: &Car, today: NaiveDate) {
    let person = fleet.owner(car);
    let chat = person.chat().unwrap();
    let book = telegram_button(stack, chat, "гарантия на ваш");
    assert_eq!(
        stack
            .press(chat, &book, stack.local(today, "14:00:00"))
            .await,
        200
    );
    let (label, data) = telegram_buttons(stack, chat)[0].clone();
    let mut parts = data.rsplitn(3, ':');
    let (minute, hour, date) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let date: NaiveDate = date.rsplit(':').next().unwrap().parse().unwrap();
    let start = format!("{hour}:{minute}");
    let remaining = |slots: Vec<store::repo::Slot>| {
        slots
            .into_iter()
            .find(|s| s.start == start)
            .map(|s| s.remaining)
            .unwrap()
    };
    let before = remaining(stack.repos.capacity.slots_on(date).await.unwrap());
    assert_eq!(
        stack
            .press(chat, &data, stack.local(today, "14:00:30"))
            .await,
        200
    );
    assert_eq!(
        remaining(stack.repos.capacity.slots_on(date).await.unwrap()),
        before - 1
    );
    let confirm = telegram_button(stack, ADVISOR_CHAT, &car.vin);
    let late = stack.local(today, "14:31:00");
    assert_eq!(stack.press(ADVISOR_CHAT, &confirm, late).await, 200);
    assert_eq!(
        last_text_to(stack, ADVISOR_CHAT),
        format!("Бронь на {label} истекла: она не была подтверждена вовремя, время освобождено.")
    );
    let told = last_text_to(stack, chat);
    assert!(
        told.starts_with(&format!("Заявка на {label} не была подтверждена вовремя")),
        "{told}"
    );
    assert!(telegram_button(stack, chat, "не была подтверждена вовремя").starts_with("book:"));
    assert_eq!(
        remaining(stack.repos.capacity.slots_on(date).await.unwrap()),
        before,
        "the slot is free again"
    );

    // The customer chooses again at 15:00 and the advisor confirms in time: the offer's terms
    // with Tuesday's bonus points, granted once.
    let again = telegram_button(stack, chat, "не была подтверждена вовремя");
    assert_eq!(
        stack
            .press(chat, &again, stack.local(today, "15:00:00"))
            .await,
        200
    );
    let (label, data) = telegram_buttons(stack, chat)[0].clone();
    assert_eq!(
        stack
            .press(chat, &data, stack.local(today, "15:00:30"))
            .await,
        200
    );
    let confirm = telegram_button(stack, ADVISOR_CHAT, &car.vin);
    assert!(confirm.ends_with(":2"), "the second hold: {confirm}");
    for minute in ["15:05:00", "15:06:00"] {
        assert_eq!(
            stack
                .press(ADVISOR_CHAT, &confirm, stack.local(today, minute))
                .await,
            200
        );
    }
    let told = last_text_to(stack, chat);
    assert!(
        told.starts_with(&format!(
            "{}, ваша запись на {label} подтверждена.",
            person.first_name
        )) && told.contains("Начислили 500 бонусных баллов."),
        "{told}"
    );
}
