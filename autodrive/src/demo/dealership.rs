//! A sample dealership built deterministically from a seed: customers with consents and
//! messengers, their Toyotas, and years of closed work orders as webhook bodies.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::bench::SplitMix;

const MALE_NAMES: [&str; 20] = [
    "Александр",
    "Алексей",
    "Андрей",
    "Артём",
    "Владимир",
    "Дмитрий",
    "Евгений",
    "Игорь",
    "Иван",
    "Максим",
    "Михаил",
    "Николай",
    "Олег",
    "Павел",
    "Роман",
    "Сергей",
    "Юрий",
    "Денис",
    "Константин",
    "Виктор",
];

const FEMALE_NAMES: [&str; 10] = [
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Татьяна",
    "Мария",
    "Екатерина",
    "Светлана",
    "Юлия",
];

const MOBILE_CODES: [u32; 10] = [903, 905, 910, 915, 916, 925, 926, 977, 985, 999];

/// A model the dealer services: VIN prefix, share of the fleet (weight), engine oil litres and
/// whether its maintenance is priced as a large car's.
struct Model {
    make: &'static str,
    model: &'static str,
    wmi_vds: &'static str,
    weight: u64,
    oil_litres: &'static str,
    large: bool,
}

const MODELS: [Model; 6] = [
    Model {
        make: "Toyota",
        model: "Camry",
        wmi_vds: "XW7BF4FK",
        weight: 25,
        oil_litres: "4.5",
        large: false,
    },
    Model {
        make: "Toyota",
        model: "RAV4",
        wmi_vds: "JTMW43FV",
        weight: 25,
        oil_litres: "4.5",
        large: false,
    },
    Model {
        make: "Toyota",
        model: "Corolla",
        wmi_vds: "NMTBZ3BE",
        weight: 15,
        oil_litres: "4.2",
        large: false,
    },
    Model {
        make: "Toyota",
        model: "Land Cruiser Prado",
        wmi_vds: "JTEBR3FJ",
        weight: 15,
        oil_litres: "6.2",
        large: true,
    },
    Model {
        make: "Toyota",
        model: "Highlander",
        wmi_vds: "JTEGZ3EH",
        weight: 8,
        oil_litres: "6.1",
        large: true,
    },
    Model {
        make: "Toyota",
        model: "C-HR",
        wmi_vds: "NMTKZ3BX",
        weight: 12,
        oil_litres: "4.2",
        large: false,
    },
];

/// How a customer has been coming: what their last visits look like at the demo instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Habit {
    /// On schedule, last visit within 8 months.
    Regular,
    /// Last visit 8 to 12 months ago.
    Dozing,
    /// Last visit more than a year ago.
    Gone,
    /// A single recent visit.
    Newcomer,
    /// Came back recently after more than a year away.
    Comeback,
}

fn habit(rng: &mut SplitMix) -> Habit {
    match rng.below(100) {
        0..=39 => Habit::Regular,
        40..=59 => Habit::Dozing,
        60..=84 => Habit::Gone,
        85..=94 => Habit::Newcomer,
        _ => Habit::Comeback,
    }
}

/// A customer of the sample dealership (the demo keeps only what it needs for STOP replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleCustomer {
    pub id: String,
    pub telegram_chat_id: Option<i64>,
}

/// One closed work order: when it closed and its webhook body.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleVisit {
    pub closed_at: DateTime<FixedOffset>,
    pub body: Value,
}

/// The sample dealership: customers, and every visit in the order the CRM closed them.
#[derive(Debug, Clone, PartialEq)]
pub struct Dealership {
    pub customers: Vec<SampleCustomer>,
    pub vehicles: usize,
    pub visits: Vec<SampleVisit>,
}

/// Oldest history the dealer's CRM exported.
const HISTORY_YEARS: u64 = 8;

/// Builds `customers` customers with their vehicles and visits up to `until` (exclusive),
/// from `seed`.
pub fn build(seed: u64, customers: u32, until: DateTime<FixedOffset>, tz: Tz) -> Dealership {
    let mut rng = SplitMix::new(seed);
    let today = until.with_timezone(&tz).date_naive();
    let history_start = today - Days::new(HISTORY_YEARS * 365);
    let mut out = Dealership {
        customers: Vec::with_capacity(customers as usize),
        vehicles: 0,
        visits: Vec::new(),
    };
    let mut work_orders = 0u64;
    for i in 0..customers {
        let customer = sample_customer(&mut rng, i);
        let habit = habit(&mut rng);
        let cars = if rng.below(100) < 18 { 2 } else { 1 };
        for _ in 0..cars {
            let index = out.vehicles as u64;
            out.vehicles += 1;
            let car = sample_car(&mut rng, index, today);
            for (day, kind, ordinal) in visit_days(&mut rng, &car, habit, today, history_start) {
                work_orders += 1;
                let closed_at = closing_time(&mut rng, day, tz);
                let km = car.odometer_on(day);
                let body = visit_body(
                    &mut rng,
                    &customer,
                    &car,
                    VisitFacts {
                        work_order: work_orders,
                        closed_at,
                        kind,
                        ordinal,
                        km,
                    },
                );
                out.visits.push(SampleVisit { closed_at, body });
            }
        }
        out.customers.push(SampleCustomer {
            id: customer.id.clone(),
            telegram_chat_id: customer.telegram_chat_id,
        });
    }
    out.visits.retain(|v| v.closed_at < until);
    out.visits.sort_by(|a, b| {
        (a.closed_at, a.body["work_order_id"].as_str())
            .cmp(&(b.closed_at, b.body["work_order_id"].as_str()))
    });
    out
}

struct Person {
    id: String,
    first_name: &'static str,
    phone: String,
    telegram_chat_id: Option<i64>,
    service_messages: bool,
    marketing: bool,
}

fn sample_customer(rng: &mut SplitMix, i: u32) -> Person {
    let first_name = if rng.below(100) < 70 {
        MALE_NAMES[rng.below(MALE_NAMES.len() as u64) as usize]
    } else {
        FEMALE_NAMES[rng.below(FEMALE_NAMES.len() as u64) as usize]
    };
    let code = MOBILE_CODES[rng.below(MOBILE_CODES.len() as u64) as usize];
    Person {
        id: format!("C-{}", 100_000 + i),
        first_name,
        phone: format!("+7{code}{:07}", (u64::from(i) * 7_919) % 10_000_000),
        telegram_chat_id: (rng.below(100) < 70).then(|| 300_000_000 + i64::from(i)),
        service_messages: rng.below(100) < 95,
        marketing: rng.below(100) < 70,
    }
}

struct Car {
    vin: String,
    model: &'static Model,
    first_registration: NaiveDate,
    /// km/day in each year of the car's life (year 0 first).
    paces: Vec<f64>,
}

impl Car {
    fn odometer_on(&self, day: NaiveDate) -> u32 {
        let mut days = (day - self.first_registration).num_days().max(0);
        let mut km = 0.0;
        for pace in &self.paces {
            let span = days.min(365);
            km += pace * span as f64;
            days -= span;
            if days == 0 {
                break;
            }
        }
        km.round() as u32
    }

    /// Days between maintenance visits: 15,000 km or 12 months, whichever first.
    fn service_gap_days(&self, rng: &mut SplitMix, day: NaiveDate) -> u64 {
        let year = ((day - self.first_registration).num_days() / 365).max(0) as usize;
        let pace = self.paces[year.min(self.paces.len() - 1)];
        let by_km = 15_000.0 / pace.max(1.0);
        let gap = by_km.min(365.0) * (0.85 + rng.below(30) as f64 / 100.0);
        gap.round().max(60.0) as u64
    }
}

/// Standard normal deviate (Box–Muller).
fn normal(rng: &mut SplitMix) -> f64 {
    let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn year_code(year: i32) -> char {
    const CODES: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY";
    CODES[((year - 2010).rem_euclid(CODES.len() as i32)) as usize] as char
}

fn sample_car(rng: &mut SplitMix, index: u64, today: NaiveDate) -> Car {
    let total: u64 = MODELS.iter().map(|m| m.weight).sum();
    let mut pick = rng.below(total);
    let model = MODELS
        .iter()
        .find(|m| {
            if pick < m.weight {
                true
            } else {
                pick -= m.weight;
                false
            }
        })
        .unwrap_or(&MODELS[0]);
    let age_days = 60 + rng.below(3_650 - 60);
    let first_registration = today - Days::new(age_days);
    let level = (41.0f64.ln() + 0.45 * normal(rng)).exp().clamp(8.0, 250.0);
    let paces = (0..=11)
        .map(|_| (level * (0.15 * normal(rng)).exp()).max(3.0))
        .collect();
    let vin = format!(
        "{}{}{}{}{:06}",
        model.wmi_vds,
        rng.below(10),
        year_code(first_registration.year()),
        ['0', '1', '9'][rng.below(3) as usize],
        index % 1_000_000
    );
    Car {
        vin,
        model,
        first_registration,
        paces,
    }
}

/// What a work order was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Maintenance,
    Repair,
    Diagnostics,
}

/// The days of the car's visits (ascending), with what each was and the maintenance ordinal.
fn visit_days(
    rng: &mut SplitMix,
    car: &Car,
    habit: Habit,
    today: NaiveDate,
    history_start: NaiveDate,
) -> Vec<(NaiveDate, Job, u32)> {
    let age = (today - car.first_registration).num_days().max(1) as u64;
    let last_ago = match habit {
        Habit::Regular | Habit::Newcomer | Habit::Comeback => 5 + rng.below(235),
        Habit::Dozing => 245 + rng.below(120),
        Habit::Gone => 370 + rng.below(800),
    }
    .min(age.saturating_sub(20).max(1));
    let last = today - Days::new(last_ago);
    let mut days = vec![last];
    if habit != Habit::Newcomer {
        let mut day = last;
        if habit == Habit::Comeback {
            day = day - Days::new(400 + rng.below(300));
            days.push(day);
        }
        loop {
            let gap = car.service_gap_days(rng, day);
            let Some(earlier) = day.checked_sub_days(Days::new(gap)) else {
                break;
            };
            if earlier < car.first_registration + Days::new(gap / 2) || earlier < history_start {
                break;
            }
            days.push(earlier);
            day = earlier;
        }
    }
    days.retain(|d| *d > car.first_registration);
    days.sort();
    let mut out = Vec::with_capacity(days.len() * 2);
    let mut ordinal = 0;
    for (i, day) in days.iter().enumerate() {
        let first_service = (*day - car.first_registration).num_days() / 330;
        ordinal = ordinal.max(first_service as u32) + 1;
        out.push((*day, Job::Maintenance, ordinal));
        if let Some(next) = days.get(i + 1) {
            let between = (*next - *day).num_days() as u64;
            if between > 60 {
                let roll = rng.below(100);
                if roll < 22 {
                    let at = *day + Days::new(20 + rng.below(between - 40));
                    let job = if roll < 17 {
                        Job::Repair
                    } else {
                        Job::Diagnostics
                    };
                    out.push((at, job, ordinal));
                }
            }
        }
    }
    out.sort_by_key(|(d, _, _)| *d);
    out
}

fn closing_time(rng: &mut SplitMix, day: NaiveDate, tz: Tz) -> DateTime<FixedOffset> {
    let minutes = 10 * 60 + rng.below(9 * 60) as u32;
    let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or_default();
    let local = tz
        .from_local_datetime(&day.and_time(time))
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&day.and_time(time)));
    local.fixed_offset()
}

struct VisitFacts {
    work_order: u64,
    closed_at: DateTime<FixedOffset>,
    kind: Job,
    ordinal: u32,
    km: u32,
}

fn line(kind: &str, code: &str, name: &str, qty: &str, price: &str, cost: &str) -> Value {
    json!({"kind": kind, "code": code, "name": name, "qty": qty, "price": price, "cost": cost})
}

/// Lines of a maintenance work order, priced as in the policy's maintenance package; every
/// fourth service (ТО-4, ТО-8, …) adds spark plugs and brake fluid at thin part margins.
fn maintenance_lines(car: &Car, ordinal: u32) -> Vec<Value> {
    let (labour, labour_cost) = if car.model.large {
        ("6500.00", "2600.00")
    } else {
        ("4500.00", "1800.00")
    };
    let mut lines = vec![
        line(
            "labor",
            "TO-LABOR",
            &format!("Работы по ТО-{ordinal}"),
            "1",
            labour,
            labour_cost,
        ),
        line(
            "part",
            "OIL-5W30",
            "Масло моторное 5W-30",
            car.model.oil_litres,
            "900.00",
            "700.00",
        ),
        line(
            "part",
            "FILTER-OIL",
            "Фильтр масляный",
            "1",
            "1200.00",
            "950.00",
        ),
    ];
    if ordinal.is_multiple_of(2) {
        lines.push(line(
            "part",
            "FILTER-AIR",
            "Фильтр воздушный",
            "1",
            "1500.00",
            "1000.00",
        ));
        lines.push(line(
            "part",
            "FILTER-CABIN",
            "Фильтр салона",
            "1",
            "1400.00",
            "900.00",
        ));
    }
    if ordinal.is_multiple_of(4) {
        lines.push(line(
            "labor",
            "TO-EXTRA",
            "Замена свечей и тормозной жидкости",
            "1",
            "2500.00",
            "1500.00",
        ));
        lines.push(line(
            "part",
            "PLUG-IR",
            "Свеча зажигания иридиевая",
            "4",
            "1300.00",
            "1175.00",
        ));
        lines.push(line(
            "part",
            "BRAKE-FLUID",
            "Тормозная жидкость DOT 4",
            "1",
            "1900.00",
            "1700.00",
        ));
    }
    lines
}

fn repair_lines(rng: &mut SplitMix) -> Vec<Value> {
    if rng.below(2) == 0 {
        vec![
            line(
                "labor",
                "REP-BRAKE",
                "Замена тормозных колодок",
                "1",
                "3200.00",
                "1300.00",
            ),
            line(
                "part",
                "PADS-FR",
                "Колодки тормозные передние",
                "1",
                "6400.00",
                "4800.00",
            ),
        ]
    } else {
        vec![
            line(
                "labor",
                "REP-LINK",
                "Замена стоек стабилизатора",
                "1",
                "2800.00",
                "1100.00",
            ),
            line(
                "part",
                "LINK-STAB",
                "Стойка стабилизатора",
                "2",
                "2100.00",
                "1500.00",
            ),
        ]
    }
}

fn visit_body(rng: &mut SplitMix, person: &Person, car: &Car, facts: VisitFacts) -> Value {
    let (kind, lines) = match facts.kind {
        Job::Maintenance => ("maintenance", maintenance_lines(car, facts.ordinal)),
        Job::Repair => ("repair", repair_lines(rng)),
        Job::Diagnostics => (
            "diagnostics",
            vec![line(
                "labor",
                "DIAG",
                "Компьютерная диагностика",
                "1",
                "2500.00",
                "800.00",
            )],
        ),
    };
    let warranty_until = car
        .first_registration
        .checked_add_months(chrono::Months::new(36))
        .unwrap_or(car.first_registration);
    json!({
        "work_order_id": format!("WO{:08}", facts.work_order),
        "closed_at": facts.closed_at.to_rfc3339(),
        "kind": kind,
        "odometer_km": facts.km,
        "advisor_id": format!("adv-{}", 1 + rng.below(6)),
        "customer": {
            "id": person.id,
            "first_name": person.first_name,
            "phone": person.phone,
            "telegram_chat_id": person.telegram_chat_id,
            "consents": {
                "service_messages": person.service_messages,
                "marketing": person.marketing,
            }
        },
        "vehicle": {
            "vin": car.vin,
            "make": car.model.make,
            "model": car.model.model,
            "first_registration": car.first_registration.to_string(),
            "warranty_until": warranty_until.to_string(),
        },
        "lines": lines,
        "recommendations": declined_work(&facts),
    })
}

/// Work the advisor recommended at a maintenance and the customer declined: on one maintenance
/// in five the front brake pads (safety), on another in five the rear shock absorbers (soon).
/// Derived from the work order, not drawn, so the rest of the demo's history is unchanged.
fn declined_work(facts: &VisitFacts) -> Value {
    if facts.kind != Job::Maintenance {
        return json!([]);
    }
    match facts.work_order % 5 {
        0 => json!([{"code": "BRK-F", "name": "Замена передних тормозных колодок",
                     "urgency": "safety", "labor_estimate": "2400.00",
                     "parts_estimate": "5600.00"}]),
        1 => json!([{"code": "SUS-020", "name": "Замена задних амортизаторов",
                     "urgency": "soon", "labor_estimate": "4800.00",
                     "parts_estimate": "14200.00"}]),
        _ => json!([]),
    }
}
