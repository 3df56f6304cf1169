//! What the dealer looks at after the demo night, built from the report use cases (the mileage
//! analysis, lost customers, ABC, RFM, the messages sent) plus the run's own log of decisions;
//! every report is also written as XLSX and CSV.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use app::kpi::{KpiQuery, KpiReport};
use app::reports::{
    abc_report, lost_report, mileage_report, offers_report, rfm_report, Base, DueBucket,
    MileageRow, OffersFilter, Period, VisitBand,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::contact::{in_control_group, in_quiet_hours};
use domain::policy::{AbcBasis, Policy};
use domain::pricing::{Adjustment, Offer};
use domain::segments::RfmSegment;
use domain::triggers::Stage;
use domain::{Consents, ContactClass, CustomerId, DueLimit, Money};
use rust_decimal::Decimal;
use serde::Serialize;
use store::repo::Repos;
use store::RedbStore;

use super::files::{write_reports, ReportFile};
use super::progress;
use super::{DayLog, DemoConfig, Outcome, SentMessage};

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
    /// The KPI engine's figures over the run's days (`app::kpi`).
    pub kpis: KpiReport,
    pub segments: Segments,
    pub audit: Audit,
    /// The report files written, relative to the data directory.
    pub reports: Vec<ReportFile>,
    /// Where the report files are.
    #[serde(skip)]
    pub reports_dir: PathBuf,
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

/// The headline figures: the store's (from the KPI engine where it counts them) and the run's
/// log of what the simulated customers did.
#[derive(Debug, Clone, Serialize)]
pub struct Kpi {
    pub vehicles: usize,
    pub customers: usize,
    pub customers_by_status: BTreeMap<&'static str, usize>,
    pub visits_recorded: usize,
    pub control_group_customers: usize,
    pub messages_sent_today: usize,
    /// Messages sent over the run's days, as the KPI engine's funnel counts them.
    pub messages_sent_period: usize,
    pub replies_sent_period: usize,
    /// The run's log: «Записаться» pressed, slots held, bookings the advisor confirmed (the
    /// engine's funnel counts the same from the store).
    pub booking_requests_period: usize,
    pub bookings_held_period: usize,
    pub bookings_confirmed_period: usize,
    pub stops_period: usize,
    pub ratings_period: usize,
    pub low_ratings_period: usize,
    /// The policy's CSAT alarm: a score at or below it is low.
    pub csat_alarm_max: u8,
    pub advisor_alerts_period: usize,
    /// The run's log: «Уже обслужился» answered with where.
    pub serviced_answers_period: usize,
    pub offers_priced_period: usize,
    pub average_labor_discount_percent: Decimal,
    pub average_margin_after_percent: Decimal,
    pub customer_saving_period: Money,
    /// Discount the margin floor withheld from the run's offers.
    pub margin_protected_period: Money,
}

/// A label and how many it counts.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub label: &'static str,
    pub count: usize,
}

/// Customer segments from the lost, ABC and RFM reports.
#[derive(Debug, Clone, Serialize)]
pub struct Segments {
    /// Lost customers by visit-count band.
    pub lost_by_visits: Vec<Count>,
    /// `revenue` or `margin`.
    pub abc_by: &'static str,
    pub abc: Vec<AbcCount>,
    pub rfm: Vec<Count>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AbcCount {
    pub class: &'static str,
    pub customers: usize,
    pub share_percent: Decimal,
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

/// The index of the due-date bucket `days_left` days after today (today is day 1).
#[cfg(test)]
pub fn bucket_of(days_left: i64) -> usize {
    DueBucket::of_days(days_left).index()
}

fn due_row(row: &MileageRow) -> DueRow {
    DueRow {
        vehicle: mask_vin(&row.vin),
        model: row.model.clone(),
        km_per_day: (row.km_per_day * 10.0).round() / 10.0,
        due_date: row.due_date,
        days_left: row.days_left,
        due_km: row.due_km,
        limit: match row.limit {
            DueLimit::Time => "time",
            DueLimit::Distance => "distance",
        },
    }
}

pub(super) async fn build(
    repos: &Repos<RedbStore>,
    policy: &Policy,
    config: &DemoConfig,
    outcome: &Outcome,
    data_dir: &Path,
) -> Result<DemoReport> {
    let tz = policy.time_zone();
    let today = config.at.with_timezone(&tz).date_naive();
    let last = outcome.days.last().cloned().unwrap_or_default();
    let first_day = outcome.days.first().map_or(today, |d| d.run_date);
    let bar = progress::bar("Отчёты", 8);
    let base = Base::load(repos, policy).await?;
    bar.inc(1);
    let mileage = mileage_report(repos, &base, today).await?;
    bar.inc(1);
    let history = Period::until(today);
    let lost = lost_report(&base, policy, today, history);
    let abc = abc_report(&base, policy, history, None);
    let rfm = rfm_report(&base, today, history);
    bar.inc(1);
    let run = Period {
        from: Some(first_day),
        to: last.run_date.max(today),
    };
    let offers = offers_report(repos, &base, policy, OffersFilter::All, run).await?;
    bar.inc(1);
    let query = KpiQuery {
        at: today,
        ..KpiQuery::new(first_day, run.to)
    };
    let kpis = app::kpi::compute_with_base(repos, &base, policy, &query).await?;
    bar.inc(1);

    let buckets = DueBucket::ALL
        .into_iter()
        .map(|bucket| {
            let rows: Vec<DueRow> = mileage.in_bucket(bucket).map(due_row).collect();
            Bucket {
                key: bucket.key(),
                label: bucket.label_ru(),
                count: rows.len(),
                samples: spread(&rows, ROWS_PER_BUCKET),
            }
        })
        .collect();
    let mileage_summary = Mileage {
        vehicles: mileage.vehicles(),
        without_forecast: mileage.without_forecast.len(),
        buckets,
    };

    let priced: HashMap<&str, &Offer> = offers
        .rows
        .iter()
        .filter_map(|r| Some((r.offer_id.as_str(), r.priced.as_ref()?)))
        .collect();
    let mut sent: Vec<SentMessage> = outcome.days.iter().flat_map(|d| d.sent.clone()).collect();
    for s in &mut sent {
        s.offer = priced.get(s.offer_id.as_str()).map(|o| (*o).clone());
    }
    let todays = sent.iter().filter(|s| s.run_date == last.run_date).count();
    let samples = pick_samples(&sent, last.run_date)
        .into_iter()
        .map(|s| SampleMessage {
            first_name: base
                .customer(&s.customer_id)
                .map(|c| c.first_name.clone())
                .unwrap_or_default(),
            vehicle: mask_vin(&s.vin),
            model: base
                .vehicle(&s.vin)
                .map(|v| v.model.clone())
                .unwrap_or_default(),
            stage: s.stage.as_str(),
            sent_at: s.sent_at,
            sent_on: s.sent_at.with_timezone(&tz).date_naive(),
            reason: app::reports::ru::reason_ru(&s.reason),
            offer: s.offer.as_ref().map(summary),
            text: s.text.clone(),
        })
        .collect();
    let offers_sent = OffersSent {
        night: counts(std::slice::from_ref(&last)),
        period: counts(&outcome.days),
        samples,
    };

    let share = policy.contact().control_group;
    let mut control_group_customers = 0;
    let mut consents = HashMap::new();
    for c in &base.customers {
        let control = in_control_group(&CustomerId::parse(&c.customer_id)?, share);
        control_group_customers += usize::from(control);
        consents.insert(c.customer_id.clone(), (c.consents, control));
    }

    let pricing = kpis.pricing.total();
    let sum = |f: &dyn Fn(&DayLog) -> usize| outcome.days.iter().map(f).sum::<usize>();
    let kpi = Kpi {
        vehicles: base.vehicles.len(),
        customers: base.customers.len(),
        customers_by_status: lost
            .statuses
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect(),
        visits_recorded: outcome.visits_recorded,
        control_group_customers,
        messages_sent_today: todays,
        messages_sent_period: kpis.funnel.total().sent as usize,
        replies_sent_period: outcome.replies_sent,
        booking_requests_period: sum(&|d| d.booking_requests),
        bookings_held_period: sum(&|d| d.bookings_held),
        bookings_confirmed_period: sum(&|d| d.bookings_confirmed),
        stops_period: sum(&|d| d.stops),
        ratings_period: sum(&|d| d.ratings),
        low_ratings_period: sum(&|d| d.low_ratings),
        csat_alarm_max: policy.thresholds().csat_alarm_max,
        advisor_alerts_period: sum(&|d| d.advisor_alerts),
        serviced_answers_period: sum(&|d| d.serviced_answers),
        offers_priced_period: pricing.priced_offers as usize,
        average_labor_discount_percent: pricing.mean_labor_discount_percent.unwrap_or_default(),
        average_margin_after_percent: pricing.mean_margin_after_percent.unwrap_or_default(),
        customer_saving_period: pricing.discount_offered,
        margin_protected_period: pricing.margin_kept_by_floor,
    };
    let segments = Segments {
        lost_by_visits: VisitBand::ALL
            .into_iter()
            .map(|band| Count {
                label: band.label_ru(),
                count: lost.count(band),
            })
            .collect(),
        abc_by: match abc.by {
            AbcBasis::Revenue => "revenue",
            AbcBasis::Margin => "margin",
        },
        abc: abc
            .classes
            .iter()
            .map(|c| AbcCount {
                class: app::reports::abc::class_ru(c.class),
                customers: c.customers,
                share_percent: c.share_percent,
            })
            .collect(),
        rfm: RfmSegment::ALL
            .into_iter()
            .map(|segment| Count {
                label: app::reports::rfm::segment_ru(segment),
                count: rfm.count(segment),
            })
            .collect(),
    };
    bar.inc(1);

    let tables = [
        ("mileage", mileage.table()),
        ("lost", lost.table()),
        ("abc", abc.table()),
        ("rfm", rfm.table()),
        ("offers", offers.table()),
        ("kpi", kpis.kpi_table()),
        ("funnel", kpis.funnel_table()),
        ("uplift", kpis.uplift_table()),
    ];
    let reports_dir = data_dir.join("reports");
    let reports = write_reports(&reports_dir, &tables)?;
    bar.finish_and_clear();

    let mut report = DemoReport {
        seed: config.seed,
        at: config.at.to_rfc3339(),
        run_date: today,
        warm_up_days: config.warm_up_days,
        mileage: mileage_summary,
        offers: offers_sent,
        kpi,
        kpis,
        segments,
        audit: Audit::default(),
        reports,
        reports_dir,
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
        let marketing = s.stage.class_for(&s.reason) == ContactClass::Marketing;
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

fn mask_vin(vin: &str) -> String {
    let shown = vin.len().saturating_sub(6);
    format!("{}…{}", &vin[..3.min(vin.len())], &vin[shown..])
}
