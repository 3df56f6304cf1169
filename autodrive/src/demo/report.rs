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
use domain::{ContactClass, Customer, CustomerId, DueLimit, LineKind, Money, Vehicle, Visit};
use rust_decimal::Decimal;
use serde::Serialize;
use store::repo::Repos;
use store::RedbStore;

use super::{stored_offer, DemoConfig, Outcome, SentMessage};

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

/// The messages of the night shown and its day.
#[derive(Debug, Clone, Serialize)]
pub struct OffersSent {
    pub evaluated: usize,
    pub decided: usize,
    pub deferred_quiet_hours: usize,
    pub sent_total: usize,
    pub sent_by_stage: BTreeMap<&'static str, usize>,
    pub no_channel: usize,
    pub opted_out_before_send: usize,
    pub vetoes: BTreeMap<String, usize>,
    pub samples: Vec<SampleMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleMessage {
    pub first_name: String,
    pub vehicle: String,
    pub model: String,
    pub stage: &'static str,
    pub sent_at: DateTime<Utc>,
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
    pub offers_priced_today: usize,
    pub average_labor_discount_percent: Decimal,
    pub average_margin_after_percent: Decimal,
    pub customer_saving_today: Money,
    /// Discount the margin floor withheld from today's offers.
    pub margin_protected_today: Money,
}

/// Contact-policy checks over every message sent in the run, against the stored customers.
#[derive(Debug, Clone, Serialize)]
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

    let mut sent_by_stage = BTreeMap::new();
    for s in &todays {
        *sent_by_stage.entry(s.stage.as_str()).or_default() += 1;
    }
    let mut samples = Vec::new();
    for s in pick_samples(&todays) {
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
            reason: reason_ru(&s.reason),
            offer: s.offer.as_ref().map(summary),
            text: s.text.clone(),
        });
    }
    let offers = OffersSent {
        evaluated: last.evaluated,
        decided: last.decided,
        deferred_quiet_hours: last.deferred_quiet_hours,
        sent_total: todays.len(),
        sent_by_stage,
        no_channel: last.no_channel,
        opted_out_before_send: last.opted_out_before_send,
        vetoes: last.vetoes.clone(),
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

    let priced: Vec<&Offer> = todays.iter().filter_map(|s| s.offer.as_ref()).collect();
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
        offers_priced_today: priced.len(),
        average_labor_discount_percent: average(&|o| o.labor_discount_percent),
        average_margin_after_percent: average(&|o| o.margin_after.percent),
        customer_saving_today: priced.iter().map(|o| o.customer_saving).sum(),
        margin_protected_today: priced.iter().map(|o| margin_protected(o)).sum(),
    };

    let mut audit = Audit {
        messages_checked: sent.len(),
        marketing_to_control_group: 0,
        marketing_without_consent: 0,
        service_without_consent: 0,
        sent_in_quiet_hours: 0,
    };
    for s in &sent {
        let (consents, control) = consents
            .get(&s.customer_id)
            .copied()
            .unwrap_or((domain::Consents::default(), false));
        let marketing = s.stage.class() == ContactClass::Marketing;
        audit.marketing_to_control_group += usize::from(marketing && control);
        audit.marketing_without_consent += usize::from(marketing && !consents.marketing);
        audit.service_without_consent += usize::from(!marketing && !consents.service_messages);
        audit.sent_in_quiet_hours += usize::from(in_quiet_hours(policy, s.sent_at));
    }

    Ok(DemoReport {
        seed: config.seed,
        at: config.at.to_rfc3339(),
        run_date: today,
        warm_up_days: config.warm_up_days,
        mileage,
        offers,
        kpi,
        audit,
        sent,
    })
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

/// Sample messages: the first of each stage (by VIN), then priced offers, up to the limit.
fn pick_samples<'a>(sent: &[&'a SentMessage]) -> Vec<&'a SentMessage> {
    let mut sorted: Vec<&SentMessage> = sent.to_vec();
    sorted.sort_by(|a, b| (a.stage, &a.vin).cmp(&(b.stage, &b.vin)));
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
    if let Some(s) = floor {
        picked.push(s);
    }
    for s in sorted.iter().filter(|s| s.offer.is_some()) {
        if picked.len() >= SAMPLE_MESSAGES {
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
        "  {:<12} {:<14} {:<20} {:>7} {:>11} {:>9} {}",
        "группа", "автомобиль", "модель", "км/день", "план. дата", "пробег", "предел"
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

    let o = &r.offers;
    let _ = writeln!(out, "\n2. Сообщения за ночь и день {}", date_ru(r.run_date));
    let _ = writeln!(
        out,
        "  Проверено автомобилей: {}, решений отправить: {}, отложено из-за тихих часов (21:00–09:00): {}",
        o.evaluated, o.decided, o.deferred_quiet_hours
    );
    let _ = writeln!(out, "  Отправлено: {}", o.sent_total);
    for (stage, n) in &o.sent_by_stage {
        let _ = writeln!(out, "    {:<28} {:>5}", stage_ru(stage), n);
    }
    let _ = writeln!(
        out,
        "  Не отправлено: нет мессенджера — {}, STOP после решения — {}",
        o.no_channel, o.opted_out_before_send
    );
    let _ = writeln!(out, "  Запреты контактной политики:");
    for (veto, n) in &o.vetoes {
        let _ = writeln!(out, "    {:<40} {:>5}", veto_ru(veto), n);
    }
    let _ = writeln!(out, "\n  Примеры сообщений:");
    for (i, s) in o.samples.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}) {} — {}, {} {}",
            i + 1,
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
        "  Предложений с расчётом за день: {}, средняя скидка на работы {}, средняя маржа после скидки {}",
        k.offers_priced_today,
        percent(k.average_labor_discount_percent),
        percent(k.average_margin_after_percent)
    );
    let _ = writeln!(
        out,
        "  Выгода клиентов: {}; маржа, сохранённая порогом: {}",
        money_ru(k.customer_saving_today),
        money_ru(k.margin_protected_today)
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
