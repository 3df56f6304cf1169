//! `autodrive bench rules`: status, triggers, contact policy and offer pricing per vehicle on one
//! thread, over synthetic vehicles in every stage of the cycle.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::contact::{apply_contact_policy, Recipient};
use domain::policy::Policy;
use domain::pricing::{price_offer, OfferInput};
use domain::status::{age_band, customer_status, StatusFacts};
use domain::triggers::{
    evaluate_triggers, ContactRecord, LastVisit, Reaction, Stage, StageSet, TriggerInput,
};
use domain::values::{Consents, CustomerId, LineKind, Quantity, VisitKind, WorkOrderLine};
use domain::{DueLimit, Money, RateBasis, ServiceDue, ServicePoint};

use crate::bench::{BenchLine, SplitMix};

/// Distinct synthetic vehicles; the run cycles through them at advancing instants.
const POOL: usize = 4096;

struct Vehicle {
    customer_id: CustomerId,
    consents: Consents,
    make: &'static str,
    model: &'static str,
    first_registration: NaiveDate,
    warranty_until: Option<NaiveDate>,
    visit_days: Vec<NaiveDate>,
    last_visit: LastVisit,
    due: ServiceDue,
    sent: StageSet,
    contacts: Vec<ContactRecord>,
    lines: Vec<WorkOrderLine>,
}

fn line(kind: LineKind, code: &str, name: &str, qty: u32, price: u32, cost: u32) -> WorkOrderLine {
    let qty = Quantity::from_decimal(qty.into()).unwrap_or(Quantity::ONE);
    WorkOrderLine::parse(
        kind,
        code,
        name,
        qty,
        Money::from_roubles(price),
        Money::from_roubles(cost),
    )
    .unwrap_or_else(|e| panic!("bench line {code}: {e}"))
}

const MODELS: [(&str, &str); 4] = [
    ("Toyota", "Camry"),
    ("Kia", "Rio"),
    ("Lada", "Vesta"),
    ("Skoda", "Octavia"),
];

fn vehicle(rng: &mut SplitMix, i: usize, now: DateTime<Utc>) -> Vehicle {
    let today = now.date_naive();
    let days = |n: u64| Duration::days(n as i64);
    let first_registration = today - days(200 + rng.below(12 * 365));
    let last_visit_day = today - days(1 + rng.below(500));
    let closed_at =
        Utc.from_utc_datetime(&last_visit_day.and_hms_opt(10, 0, 0).unwrap_or_default());
    let kind = [
        VisitKind::Maintenance,
        VisitKind::Maintenance,
        VisitKind::Repair,
        VisitKind::Tires,
    ][rng.below(4) as usize];
    let mut visit_days = vec![last_visit_day];
    for _ in 0..rng.below(4) {
        let earlier = *visit_days.last().unwrap_or(&last_visit_day) - days(120 + rng.below(400));
        visit_days.push(earlier);
    }
    let due_date = last_visit_day + days(300 + rng.below(120));
    let spread = 5 + rng.below(90) as i64;
    let due = ServiceDue {
        km_per_day: 20.0 + rng.below(80) as f64,
        due_date,
        due_km: 15_000 * (1 + rng.below(10) as u32),
        p10: due_date - Duration::days(spread / 2),
        p90: due_date + Duration::days(spread - spread / 2),
        limit: if rng.below(2) == 0 {
            DueLimit::Time
        } else {
            DueLimit::Distance
        },
        basis: RateBasis::History,
        service: ServicePoint {
            date: last_visit_day,
            km: 30_000,
        },
        time_due: due_date,
        flags: Vec::new(),
        reason: String::new(),
    };
    let mut sent = StageSet::EMPTY;
    let mut contacts = Vec::new();
    let reactions = [
        None,
        None,
        Some(Reaction::Read),
        Some(Reaction::Clicked),
        Some(Reaction::Rated(5)),
    ];
    for stage in [
        Stage::SatisfactionRequest,
        Stage::AskOdometer,
        Stage::SoftReminder,
    ] {
        if rng.below(3) == 0 {
            let sent_at = closed_at + Duration::days(3 + rng.below(300) as i64);
            if sent_at < now {
                sent.insert(stage);
                contacts.push(ContactRecord {
                    stage,
                    sent_at,
                    reaction: reactions[rng.below(5) as usize],
                });
            }
        }
    }
    if rng.below(4) == 0 {
        let sent_at = now - Duration::hours(1 + rng.below(20 * 24) as i64);
        contacts.push(ContactRecord {
            stage: Stage::SeasonalTires,
            sent_at,
            reaction: None,
        });
    }
    let (make, model) = MODELS[rng.below(4) as usize];
    let mut lines = vec![
        line(
            LineKind::Labor,
            "TO-LABOR",
            "Работы по ТО",
            1,
            3_000 + rng.below(5_000) as u32,
            1_500,
        ),
        line(
            LineKind::Part,
            "FILTER-OIL",
            "Фильтр масляный",
            1,
            1_200,
            950,
        ),
    ];
    if rng.below(2) == 0 {
        lines.push(line(LineKind::Part, "OIL", "Масло моторное", 4, 900, 600));
        lines.push(line(LineKind::Labor, "DIAG", "Диагностика", 1, 1_500, 300));
    }
    Vehicle {
        customer_id: CustomerId::parse(&format!("C-{i}")).unwrap_or_else(|e| panic!("{e}")),
        consents: Consents {
            service_messages: rng.below(20) != 0,
            marketing: rng.below(4) != 0,
        },
        make,
        model,
        first_registration,
        warranty_until: Some(first_registration + Duration::days(3 * 365)),
        visit_days,
        last_visit: LastVisit { closed_at, kind },
        due,
        sent,
        contacts,
        lines,
    }
}

/// Decides and prices one vehicle; returns a number that depends on the whole result.
fn evaluate(policy: &Policy, v: &Vehicle, at: DateTime<Utc>) -> u64 {
    let today = at.with_timezone(&policy.time_zone()).date_naive();
    let facts = StatusFacts {
        visit_days: &v.visit_days,
        due: Some(v.due.due_date),
        interval_months: policy.schedule_for(v.make, v.model).months,
        opted_out: false,
    };
    let status = customer_status(&facts, today, policy.thresholds());
    let band = age_band(v.first_registration, today, policy.age_bands());
    let input = TriggerInput {
        at,
        due: &v.due,
        last_visit: v.last_visit,
        sent: v.sent,
        contacts: &v.contacts,
        status,
        first_registration: v.first_registration,
        warranty_until: v.warranty_until,
        declined: &[],
    };
    let decisions = evaluate_triggers(policy, &input);
    let recipient = Recipient {
        customer_id: &v.customer_id,
        consents: v.consents,
        opted_out: false,
        last_marketing_at: None,
    };
    let checked = apply_contact_policy(
        policy,
        &recipient,
        &v.contacts,
        v.last_visit.closed_at,
        decisions,
    );
    let offer = OfferInput {
        status,
        age_band: band,
        make: v.make,
        model: v.model,
        last_maintenance: &v.lines,
        at,
    };
    let price = price_offer(policy, &offer).map_or(0, |o| o.final_price.kopecks());
    let sent = checked
        .iter()
        .filter(|c| c.verdict.send_at().is_some())
        .count() as u64;
    price ^ (sent << 40) ^ (checked.len() as u64) << 48
}

pub fn run(vehicles: u64) -> BenchLine {
    let policy = Policy::default();
    let start = Utc
        .with_ymd_and_hms(2025, 1, 9, 6, 0, 0)
        .single()
        .unwrap_or_default();
    let mut rng = SplitMix::new(7);
    let pool: Vec<Vehicle> = (0..POOL).map(|i| vehicle(&mut rng, i, start)).collect();
    let mut checksum = 0u64;
    let started = Instant::now();
    for i in 0..vehicles {
        let v = &pool[(i % POOL as u64) as usize];
        let at = start + Duration::minutes(((i / POOL as u64) * 37) as i64);
        checksum = checksum.wrapping_add(evaluate(&policy, v, at));
    }
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    BenchLine::new("rules", vehicles, seconds)
}
