//! What the dealer looks at after the demo night: the mileage analysis, the offers sent and
//! why, and the KPIs; as one JSON object or as a Russian text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use domain::contact::{in_control_group, in_quiet_hours};
use domain::policy::Policy;
use domain::pricing::{Adjustment, Offer};
use domain::render::{days_ru, money_ru};
use domain::status::customer_status;
use domain::triggers::{CriticalReason, Reason, Stage};
use domain::{
    Consents, ContactClass, Customer, CustomerId, DueLimit, LineKind, Money, Vehicle, Visit,
};
use rust_decimal::Decimal;
use serde::Serialize;
use store::repo::Repos;
use store::RedbStore;

use super::{stored_offer, DayLog, DemoConfig, Outcome, SentMessage};

/// Sample rows shown per due-date bucket.
const ROWS_PER_BUCKET: usize = 3;
/// Sample messages shown.
const SAMPLE_MESSAGES: usize = 8;

/// The demo's result.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub seed: u64,
    pub at: String,
    pub run_date: NaiveDate,
    pub warm_up_days: u32,
    pub mileage: Mileage,
    pub offers: OffersSent,
    pub kpi: Kpi,
    pub audit: Audit,
    /// Every message the composer sent during the run (warm-up included).
    #[serde(skip)]
    pub sent: Vec<SentMessage>,
}

/// Vehicles by planned maintenance date, counted from the night shown (today is day 1).
#[derive(Debug, Clone, Serialize)]
pub struct Mileage {
    pub vehicles: usize,
    pub without_forecast: usize,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub key: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub samples: Vec<DueRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueRow {
    /// The VIN with its middle hidden.
    pub vehicle: String,
    pub model: String,
    pub km_per_day: f64,
    pub due_date: NaiveDate,
    pub days_left: i64,
    pub due_km: u32,
    /// `time` or `distance`: which limit of the schedule comes first.
    pub limit: &'static str,
}

/// The messages of the night shown (and of the whole run), with samples.
#[derive(Debug, Clone, Serialize)]
pub struct OffersSent {
    pub night: MessageCounts,
    /// Every night of the run; a vetoed stage counts once per vehicle.
    pub period: MessageCounts,
    pub samples: Vec<SampleMessage>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageCounts {
    pub evaluated: usize,
    pub decided: usize,
    pub deferred_quiet_hours: usize,
    pub sent_total: usize,
    pub sent_by_stage: BTreeMap<&'static str, usize>,
    pub no_channel: usize,
    pub opted_out_before_send: usize,
    pub vetoes: BTreeMap<String, usize>,
}

fn counts(days: &[DayLog]) -> MessageCounts {
    let mut c = MessageCounts::default();
    let mut vetoed = BTreeSet::new();
    for d in days {
        c.evaluated += d.evaluated;
        c.decided += d.decided;
        c.deferred_quiet_hours += d.deferred_quiet_hours;
        c.sent_total += d.sent.len();
        c.no_channel += d.no_channel;
        c.opted_out_before_send += d.opted_out_before_send;
        for s in &d.sent {
            *c.sent_by_stage.entry(s.stage.as_str()).or_default() += 1;
        }
        vetoed.extend(d.vetoed.iter());
    }
    for (_, _, veto) in vetoed {
        *c.vetoes.entry(veto.clone()).or_default() += 1;
    }
    c
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleMessage {
    pub first_name: String,
    pub vehicle: String,
    pub model: String,
    pub stage: &'static str,
    pub sent_at: DateTime<Utc>,
    /// The dealer's day it was sent.
    pub sent_on: NaiveDate,
    pub reason: String,
    pub offer: Option<OfferSummary>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OfferSummary {
    pub rule_ids: Vec<String>,
    pub list_price: Money,
    pub final_price: Money,
    pub labor_discount_percent: Decimal,
    pub customer_saving: Money,
    pub margin_after_percent: Decimal,
    pub bonus_points: u32,
    pub perks: Vec<String>,
    pub margin_floor_applied: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kpi {
    pub vehicles: usize,
    pub customers: usize,
    pub customers_by_status: BTreeMap<&'static str, usize>,
    pub visits_recorded: usize,
    pub control_group_customers: usize,
    pub messages_sent_today: usize,
    pub messages_sent_period: usize,
    pub replies_sent_period: usize,
    pub booking_requests_period: usize,
    pub bookings_held_period: usize,
    pub bookings_confirmed_period: usize,
    pub stops_period: usize,
    pub ratings_period: usize,
    pub low_ratings_period: usize,
    /// The policy's CSAT alarm: a score at or below it is low.
    pub csat_alarm_max: u8,
    pub advisor_alerts_period: usize,
    pub offers_priced_period: usize,
    pub average_labor_discount_percent: Decimal,
    pub average_margin_after_percent: Decimal,
    pub customer_saving_period: Money,
    /// Discount the margin floor withheld from the run's offers.
    pub margin_protected_period: Money,
}

/// Contact-policy checks over every message sent in the run, against the stored customers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    pub messages_checked: usize,
    pub marketing_to_control_group: usize,
    pub marketing_without_consent: usize,
    pub service_without_consent: usize,
    pub sent_in_quiet_hours: usize,
}

const BUCKETS: [(&str, &str); 5] = [
    ("overdue", "просрочено"),
    ("today", "сегодня"),
    ("days_2_7", "2–7 дней"),
    ("days_8_31", "8–31 день"),
    ("days_32_plus", "32+ дней"),
];

/// The bucket of a due date `days_left` days after today (today is day 1).
pub fn bucket_of(days_left: i64) -> usize {
    match days_left {
        i64::MIN..=-1 => 0,
        0 => 1,
        1..=6 => 2,
        7..=30 => 3,
        _ => 4,
    }
}

pub(super) async fn build(
    repos: &Repos<RedbStore>,
    policy: &Policy,
    config: &DemoConfig,
    outcome: &Outcome,
) -> Result<DemoReport> {
    let tz = policy.time_zone();
    let today = config.at.with_timezone(&tz).date_naive();
    let mut vins: Vec<&str> = outcome
        .dealership
        .visits
        .iter()
        .filter_map(|v| v.body["vehicle"]["vin"].as_str())
        .collect();
    vins.sort_unstable();
    vins.dedup();

    let mut rows: Vec<Vec<DueRow>> = vec![Vec::new(); BUCKETS.len()];
    let mut without_forecast = 0;
    let mut models = HashMap::new();
    for vin in &vins {
        let Some(vehicle) = repos.vehicles.get::<Vehicle>(vin).await? else {
            continue;
        };
        let model = vehicle.vehicle.model().as_str().to_owned();
        models.insert(vin.to_string(), model.clone());
        let Some(due) = repos.forecasts.get(vin).await? else {
            without_forecast += 1;
            continue;
        };
        let days_left = (due.due_date - today).num_days();
        rows[bucket_of(days_left)].push(DueRow {
            vehicle: mask_vin(vin),
            model,
            km_per_day: (due.km_per_day * 10.0).round() / 10.0,
            due_date: due.due_date,
            days_left,
            due_km: due.due_km,
            limit: match due.limit {
                DueLimit::Time => "time",
                DueLimit::Distance => "distance",
            },
        });
    }
    let buckets = BUCKETS
        .iter()
        .zip(rows)
        .map(|(&(key, label), mut rows)| {
            rows.sort_by(|a, b| (a.due_date, &a.vehicle).cmp(&(b.due_date, &b.vehicle)));
            Bucket {
                key,
                label,
                count: rows.len(),
                samples: spread(&rows, ROWS_PER_BUCKET),
            }
        })
        .collect();
    let mileage = Mileage {
        vehicles: vins.len(),
        without_forecast,
        buckets,
    };

    let mut sent: Vec<SentMessage> = outcome.days.iter().flat_map(|d| d.sent.clone()).collect();
    for s in &mut sent {
        if s.stage.is_offer() {
            s.offer = stored_offer(repos, &s.offer_id).await?;
        }
    }
    let last = outcome.days.last().cloned().unwrap_or_default();
    let todays: Vec<&SentMessage> = sent
        .iter()
        .filter(|s| s.run_date == last.run_date)
        .collect();
    let mut samples = Vec::new();
    for s in pick_samples(&sent, last.run_date) {
        let first_name = repos
            .customers
            .get::<Customer>(&s.customer_id)
            .await?
            .map(|c| c.profile.first_name.as_str().to_owned())
            .unwrap_or_default();
        samples.push(SampleMessage {
            first_name,
            vehicle: mask_vin(&s.vin),
            model: models.get(&s.vin).cloned().unwrap_or_default(),
            stage: s.stage.as_str(),
            sent_at: s.sent_at,
            sent_on: s.sent_at.with_timezone(&tz).date_naive(),
            reason: reason_ru(&s.reason),
            offer: s.offer.as_ref().map(summary),
            text: s.text.clone(),
        });
    }
    let offers = OffersSent {
        night: counts(std::slice::from_ref(&last)),
        period: counts(&outcome.days),
        samples,
    };

    let share = policy.contact().control_group;
    let mut customers_by_status: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut control_group_customers = 0;
    let mut consents = HashMap::new();
    for c in &outcome.dealership.customers {
        let Some(stored) = repos.customers.get::<Customer>(&c.id).await? else {
            continue;
        };
        let days: Vec<NaiveDate> = repos
            .visits
            .for_customer::<Visit>(&c.id)
            .await?
            .iter()
            .map(|v| v.closed_on)
            .collect();
        let status = customer_status(&days, stored.opted_out(), today, policy.thresholds());
        *customers_by_status.entry(status.as_str()).or_default() += 1;
        let id = CustomerId::parse(&c.id)?;
        let control = in_control_group(&id, share);
        control_group_customers += usize::from(control);
        consents.insert(c.id.clone(), (stored.profile.consents, control));
    }

    let priced: Vec<&Offer> = sent.iter().filter_map(|s| s.offer.as_ref()).collect();
    let count = Decimal::from(priced.len().max(1) as u64);
    let average = |f: &dyn Fn(&Offer) -> Decimal| -> Decimal {
        (priced.iter().map(|o| f(o)).sum::<Decimal>() / count).round_dp(1)
    };
    let kpi = Kpi {
        vehicles: vins.len(),
        customers: outcome.dealership.customers.len(),
        customers_by_status,
        visits_recorded: outcome.visits_recorded,
        control_group_customers,
        messages_sent_today: todays.len(),
        messages_sent_period: sent.len(),
        replies_sent_period: outcome.replies_sent,
        booking_requests_period: outcome.days.iter().map(|d| d.booking_requests).sum(),
        bookings_held_period: outcome.days.iter().map(|d| d.bookings_held).sum(),
        bookings_confirmed_period: outcome.days.iter().map(|d| d.bookings_confirmed).sum(),
        stops_period: outcome.days.iter().map(|d| d.stops).sum(),
        ratings_period: outcome.days.iter().map(|d| d.ratings).sum(),
        low_ratings_period: outcome.days.iter().map(|d| d.low_ratings).sum(),
        csat_alarm_max: policy.thresholds().csat_alarm_max,
        advisor_alerts_period: outcome.days.iter().map(|d| d.advisor_alerts).sum(),
        offers_priced_period: priced.len(),
        average_labor_discount_percent: average(&|o| o.labor_discount_percent),
        average_margin_after_percent: average(&|o| o.margin_after.percent),
        customer_saving_period: priced.iter().map(|o| o.customer_saving).sum(),
        margin_protected_period: priced.iter().map(|o| margin_protected(o)).sum(),
    };

    let mut report = DemoReport {
        seed: config.seed,
        at: config.at.to_rfc3339(),
        run_date: today,
        warm_up_days: config.warm_up_days,
        mileage,
        offers,
        kpi,
        audit: Audit::default(),
        sent,
    };
    report.audit = audit(policy, &report.sent, &consents);
    Ok(report)
}

/// Checks every sent message against the customer's consents (and control-group membership).
fn audit(
    policy: &Policy,
    sent: &[SentMessage],
    consents: &HashMap<String, (Consents, bool)>,
) -> Audit {
    let mut audit = Audit {
        messages_checked: sent.len(),
        ..Audit::default()
    };
    for s in sent {
        let (consents, control) = consents
            .get(&s.customer_id)
            .copied()
            .unwrap_or((Consents::default(), false));
        let marketing = s.stage.class() == ContactClass::Marketing;
        audit.marketing_to_control_group += usize::from(marketing && control);
        audit.marketing_without_consent += usize::from(marketing && !consents.marketing);
        audit.service_without_consent += usize::from(!marketing && !consents.service_messages);
        audit.sent_in_quiet_hours += usize::from(in_quiet_hours(policy, s.sent_at));
    }
    audit
}

/// Up to `n` rows spread over the sorted rows: first, middle, last.
fn spread<T: Clone>(rows: &[T], n: usize) -> Vec<T> {
    if rows.len() <= n {
        return rows.to_vec();
    }
    let step = (rows.len() - 1) as f64 / (n - 1).max(1) as f64;
    let picks: BTreeSet<usize> = (0..n).map(|i| (i as f64 * step).round() as usize).collect();
    picks.into_iter().map(|i| rows[i].clone()).collect()
}

/// Sample messages: the first of each stage (the night shown first, then by VIN), one whose
/// discount the margin floor cut, then more priced offers, up to the limit.
fn pick_samples(sent: &[SentMessage], night: NaiveDate) -> Vec<&SentMessage> {
    let mut sorted: Vec<&SentMessage> = sent.iter().collect();
    sorted.sort_by(|a, b| {
        (a.run_date != night, a.stage, &a.vin).cmp(&(b.run_date != night, b.stage, &b.vin))
    });
    let mut picked: Vec<&SentMessage> = Vec::new();
    for stage in Stage::ALL {
        if let Some(s) = sorted.iter().find(|s| s.stage == stage) {
            picked.push(s);
        }
    }
    let floor = sorted.iter().find(|s| {
        s.offer.as_ref().is_some_and(|o| {
            o.adjustments
                .iter()
                .any(|a| matches!(a, Adjustment::MarginFloor { .. }))
        })
    });
    picked.extend(floor);
    for s in sorted.iter().filter(|s| s.offer.is_some()) {
        if picked.len() >= SAMPLE_MESSAGES + 2 {
            break;
        }
        picked.push(s);
    }
    let mut seen = BTreeSet::new();
    picked.retain(|s| seen.insert(s.offer_id.clone()));
    picked.truncate(SAMPLE_MESSAGES);
    picked
}

fn summary(o: &Offer) -> OfferSummary {
    OfferSummary {
        rule_ids: o.rule_ids.clone(),
        list_price: o.list_price,
        final_price: o.final_price,
        labor_discount_percent: o.labor_discount_percent,
        customer_saving: o.customer_saving,
        margin_after_percent: o.margin_after.percent,
        bonus_points: o.weekday_bonus_points,
        perks: o.perks.iter().map(|p| p.name.clone()).collect(),
        margin_floor_applied: o
            .adjustments
            .iter()
            .any(|a| matches!(a, Adjustment::MarginFloor { .. })),
    }
}

/// The labour discount the margin floor withheld: (wanted − granted) % of the labour list price.
fn margin_protected(o: &Offer) -> Money {
    let labour: Money = o
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Labor)
        .map(|l| l.list_price)
        .sum();
    o.adjustments
        .iter()
        .filter_map(|a| match a {
            Adjustment::MarginFloor {
                wanted_percent,
                granted_percent,
                ..
            } => Some(labour.scale((wanted_percent - granted_percent) / Decimal::ONE_HUNDRED)),
            Adjustment::NoPackageForCar => None,
        })
        .sum()
}

fn mask_vin(vin: &str) -> String {
    let shown = vin.len().saturating_sub(6);
    format!("{}…{}", &vin[..3.min(vin.len())], &vin[shown..])
}

fn date_ru(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// Why a stage fired, in the dealer's words.
pub fn reason_ru(reason: &Reason) -> String {
    match reason {
        Reason::UncertainDue { due, interval_days } => format!(
            "ТО ожидается {}, но прогноз размыт на {}",
            date_ru(*due),
            days_ru(*interval_days)
        ),
        Reason::DueSoon { due, days_left } if *days_left >= 0 => {
            format!("ТО {} — через {}", date_ru(*due), days_ru(*days_left))
        }
        Reason::DueSoon { due, days_left } => {
            format!(
                "ТО было нужно {} — {} назад",
                date_ru(*due),
                days_ru(*days_left)
            )
        }
        Reason::ReminderUnanswered { due, reminder_sent } => format!(
            "ТО {}; на напоминание от {} нет ответа",
            date_ru(*due),
            date_ru(reminder_sent.date_naive())
        ),
        Reason::Critical(c) => match c {
            CriticalReason::Overdue { due, days_overdue } => format!(
                "критично: ТО просрочено на {} (было нужно {})",
                days_ru(*days_overdue),
                date_ru(*due)
            ),
            CriticalReason::WarrantyEnds { on } => {
                format!("критично: гарантия заканчивается {}", date_ru(*on))
            }
            CriticalReason::TurnedLost { last_visit } => format!(
                "критично: клиент потерян, последний визит {}",
                date_ru(*last_visit)
            ),
            CriticalReason::LowSatisfaction { score } => {
                format!("критично: последняя оценка визита {score} из 10")
            }
            CriticalReason::CrossedAgeLine { years, on } => {
                format!(
                    "критично: автомобилю исполнилось {years} лет ({})",
                    date_ru(*on)
                )
            }
        },
        Reason::AfterVisit { visit } => format!("визит {} — просим оценку", date_ru(*visit)),
        Reason::TireSeason { window } => match window.as_str() {
            "spring" => "весенний сезон смены шин".into(),
            "autumn" => "осенний сезон смены шин".into(),
            other => format!("сезон смены шин ({other})"),
        },
    }
}

fn stage_ru(stage: &str) -> &'static str {
    match Stage::parse(stage) {
        Some(Stage::AskOdometer) => "запрос пробега",
        Some(Stage::SoftReminder) => "мягкое напоминание",
        Some(Stage::PersonalOffer) => "персональное предложение",
        Some(Stage::CriticalOffer) => "критическое предложение",
        Some(Stage::SatisfactionRequest) => "оценка визита",
        Some(Stage::SeasonalTires) => "сезонная смена шин",
        None => "другое",
    }
}

fn veto_ru(veto: &str) -> String {
    match veto {
        "opted_out" => "STOP (клиент отписался)".into(),
        "no_service_consent" => "нет согласия на сервисные сообщения".into(),
        "no_marketing_consent" => "нет согласия на рекламу".into(),
        "control_group" => "контрольная группа".into(),
        "marketing_cap" => "лимит частоты (1 реклама в 7 дней)".into(),
        "cycle_closed" => "цикл закрыт новым визитом".into(),
        other => match other.strip_prefix("superseded_by_") {
            Some(stage) => format!("вытеснено: уходит «{}»", stage_ru(stage)),
            None => other.into(),
        },
    }
}

fn status_ru(status: &str) -> &'static str {
    match status {
        "new" => "новые",
        "loyal" => "лояльные",
        "sleeping" => "спящие",
        "lost" => "потерянные",
        "returned" => "вернувшиеся",
        "blocked" => "отписавшиеся",
        _ => "другие",
    }
}

fn percent(d: Decimal) -> String {
    format!("{}\u{a0}%", d.normalize()).replace('.', ",")
}

/// The report as the dealer reads it.
pub fn render_ru(r: &DemoReport) -> String {
    let mut out = String::new();
    let m = &r.mileage;
    let _ = writeln!(
        out,
        "АвтоДрайв — демо: ночь {} (сид {}, {} дней истории рассылок до неё)",
        date_ru(r.run_date),
        r.seed,
        r.warm_up_days
    );
    let _ = writeln!(
        out,
        "Клиентов {}, автомобилей {}, заказ-нарядов {}.\n",
        r.kpi.customers, r.kpi.vehicles, r.kpi.visits_recorded
    );
    let _ = writeln!(out, "1. Анализ пробегов: плановое ТО по датам");
    for b in &m.buckets {
        let _ = writeln!(out, "  {:<12} {:>6}", b.label, b.count);
    }
    if m.without_forecast > 0 {
        let _ = writeln!(out, "  без прогноза {:>6}", m.without_forecast);
    }
    let _ = writeln!(
        out,
        "  {:<12} {:>6}\n",
        "всего",
        m.buckets.iter().map(|b| b.count).sum::<usize>() + m.without_forecast
    );
    let _ = writeln!(
        out,
        "  {:<12} {:<14} {:<20} {:>7} {:>11} {:>9} предел",
        "группа", "автомобиль", "модель", "км/день", "план. дата", "ТО при км"
    );
    for b in &m.buckets {
        for row in &b.samples {
            let _ = writeln!(
                out,
                "  {:<12} {:<14} {:<20} {:>7.1} {:>11} {:>9} {}",
                b.label,
                row.vehicle,
                row.model,
                row.km_per_day,
                date_ru(row.due_date),
                row.due_km,
                if row.limit == "time" {
                    "время"
                } else {
                    "пробег"
                }
            );
        }
    }

    let (n, p) = (&r.offers.night, &r.offers.period);
    let _ = writeln!(
        out,
        "\n2. Сообщения: ночь {} и день после неё | все {} дней",
        date_ru(r.run_date),
        r.warm_up_days + 1
    );
    let row = |out: &mut String, label: &str, a: usize, b: usize| {
        let _ = writeln!(out, "  {label:<44} {a:>6} | {b:>6}");
    };
    row(
        &mut out,
        "проверено автомобилей (за ночь / суммарно)",
        n.evaluated,
        p.evaluated,
    );
    row(&mut out, "решено отправить", n.decided, p.decided);
    row(
        &mut out,
        "  из них отложено: тихие часы 21:00–09:00",
        n.deferred_quiet_hours,
        p.deferred_quiet_hours,
    );
    row(&mut out, "отправлено", n.sent_total, p.sent_total);
    for stage in Stage::ALL {
        let key = stage.as_str();
        let (a, b) = (
            n.sent_by_stage.get(key).copied().unwrap_or(0),
            p.sent_by_stage.get(key).copied().unwrap_or(0),
        );
        if a + b > 0 {
            row(&mut out, &format!("  {}", stage_ru(key)), a, b);
        }
    }
    row(
        &mut out,
        "не отправлено: нет мессенджера",
        n.no_channel,
        p.no_channel,
    );
    row(
        &mut out,
        "не отправлено: STOP после решения",
        n.opted_out_before_send,
        p.opted_out_before_send,
    );
    let _ = writeln!(out, "  запреты контактной политики (этап × автомобиль):");
    let vetoes: BTreeSet<&String> = n.vetoes.keys().chain(p.vetoes.keys()).collect();
    for veto in vetoes {
        row(
            &mut out,
            &format!("  {}", veto_ru(veto)),
            n.vetoes.get(veto).copied().unwrap_or(0),
            p.vetoes.get(veto).copied().unwrap_or(0),
        );
    }
    let _ = writeln!(out, "\n  Примеры сообщений:");
    for (i, s) in r.offers.samples.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}) {} {} — {}, {} {}",
            i + 1,
            date_ru(s.sent_on),
            stage_ru(s.stage),
            s.first_name,
            s.model,
            s.vehicle
        );
        let _ = writeln!(out, "     почему: {}", s.reason);
        if let Some(offer) = &s.offer {
            let _ = writeln!(
                out,
                "     предложение: {} → {}, скидка на работы {}, выгода {}, маржа после {}{}; правила: {}",
                money_ru(offer.list_price),
                money_ru(offer.final_price),
                percent(offer.labor_discount_percent),
                money_ru(offer.customer_saving),
                percent(offer.margin_after_percent),
                if offer.margin_floor_applied {
                    " (скидка урезана до порога маржи)"
                } else {
                    ""
                },
                offer.rule_ids.join(", ")
            );
        }
        let first_line = s.text.lines().next().unwrap_or_default();
        let _ = writeln!(out, "     текст: {first_line}");
    }

    let k = &r.kpi;
    let _ = writeln!(out, "\n3. Показатели");
    let _ = writeln!(
        out,
        "  Автомобилей: {}, клиентов: {}",
        k.vehicles, k.customers
    );
    let statuses: Vec<String> = k
        .customers_by_status
        .iter()
        .map(|(s, n)| format!("{} {n}", status_ru(s)))
        .collect();
    let _ = writeln!(out, "  Клиенты по статусу: {}", statuses.join(", "));
    let _ = writeln!(
        out,
        "  Контрольная группа (без рекламы): {} клиентов",
        k.control_group_customers
    );
    let _ = writeln!(
        out,
        "  Отправлено сообщений: {} за день, {} за {} дней",
        k.messages_sent_today,
        k.messages_sent_period,
        r.warm_up_days + 1
    );
    let _ = writeln!(
        out,
        "  Записи: {} нажатий «Записаться», {} заявок на слот, {} подтверждено мастером; STOP: {}",
        k.booking_requests_period,
        k.bookings_held_period,
        k.bookings_confirmed_period,
        k.stops_period
    );
    let _ = writeln!(
        out,
        "  Оценки визитов: {}, из них низких (≤ {}): {}; сигналов мастерам: {}",
        k.ratings_period, k.csat_alarm_max, k.low_ratings_period, k.advisor_alerts_period
    );
    let _ = writeln!(
        out,
        "  Предложений с расчётом за {} дней: {}, средняя скидка на работы {}, средняя маржа после скидки {}",
        r.warm_up_days + 1,
        k.offers_priced_period,
        percent(k.average_labor_discount_percent),
        percent(k.average_margin_after_percent)
    );
    let _ = writeln!(
        out,
        "  Выгода клиентов: {}; маржа, сохранённая порогом: {}",
        money_ru(k.customer_saving_period),
        money_ru(k.margin_protected_period)
    );
    let a = &r.audit;
    let _ = writeln!(
        out,
        "  Проверка {} отправленных: реклама контрольной группе {}, без согласия {}, в тихие часы {}",
        a.messages_checked,
        a.marketing_to_control_group,
        a.marketing_without_consent + a.service_without_consent,
        a.sent_in_quiet_hours
    );
    out
}
