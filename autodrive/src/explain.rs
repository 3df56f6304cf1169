//! `autodrive explain`: what the system would do for one customer at an instant, and why.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use domain::contact::{apply_contact_policy, Deferral, Recipient, Verdict};
use domain::forecast::{ForecastInput, Forecaster};
use domain::policy::Policy;
use domain::pricing::{price_offer, Offer, OfferInput};
use domain::status::{age_band, status_for_car, AgeBand, CustomerStatus};
use domain::triggers::{
    evaluate_triggers, ContactRecord, LastVisit, Reaction, Stage, StageSet, TriggerInput,
};
use domain::values::{ContactClass, Visit};
use domain::{DueLimit, RateBasis, Reading, ReadingSource, ServiceDue, ServicePoint};
use serde::{Deserialize, Serialize};

/// The scenario file: the customer's visits (webhook bodies), extra odometer readings and the
/// messages already sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    visits: Vec<serde_json::Value>,
    #[serde(default)]
    readings: Vec<ReadingRow>,
    #[serde(default)]
    contacts: Vec<ContactRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadingRow {
    date: NaiveDate,
    odometer_km: u32,
    source: ReadingSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactRow {
    stage: Stage,
    sent_at: DateTime<FixedOffset>,
    #[serde(default)]
    reaction: Option<Reaction>,
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub visits: Vec<Visit>,
    pub readings: Vec<Reading>,
    pub contacts: Vec<ContactRecord>,
}

impl Scenario {
    /// Parses the scenario JSON; a bad visit is reported with its index and field paths.
    pub fn parse_json(bytes: &[u8]) -> Result<Scenario> {
        let file: ScenarioFile = serde_json::from_slice(bytes).context("scenario JSON")?;
        let mut visits = Vec::with_capacity(file.visits.len());
        for (i, value) in file.visits.iter().enumerate() {
            let body = serde_json::to_vec(value)?;
            let visit = Visit::parse_json(&body).map_err(|e| anyhow!("visits[{i}]: {e}"))?;
            visits.push(visit);
        }
        let readings = file
            .readings
            .iter()
            .map(|r| Reading {
                date: r.date,
                km: r.odometer_km,
                source: r.source,
            })
            .collect();
        let contacts = file
            .contacts
            .iter()
            .map(|c| ContactRecord {
                stage: c.stage,
                sent_at: c.sent_at.with_timezone(&Utc),
                reaction: c.reaction,
            })
            .collect();
        Ok(Scenario {
            visits,
            readings,
            contacts,
        })
    }
}

/// The forecast as shown.
#[derive(Debug, Clone, Serialize)]
pub struct DueView {
    pub date: NaiveDate,
    pub p10: NaiveDate,
    pub p90: NaiveDate,
    pub limit: DueLimit,
    pub km: u32,
    pub km_per_day: f64,
    pub basis: RateBasis,
    pub reason: String,
}

/// One decision with the contact policy's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub stage: Stage,
    pub class: ContactClass,
    /// When it goes out (after quiet hours), or when it was decided if vetoed.
    pub at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
    pub reason: String,
    pub reason_detail: domain::triggers::Reason,
    pub vetoed_by: Option<String>,
    pub veto_detail: Option<domain::contact::Veto>,
    pub deferred_by: Option<&'static str>,
}

/// Everything `explain` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub customer_id: String,
    pub vin: String,
    pub at: DateTime<Utc>,
    pub today: NaiveDate,
    pub status: CustomerStatus,
    pub age_band: AgeBand,
    pub control_group: bool,
    pub due: DueView,
    pub decisions: Vec<DecisionView>,
    pub offer: Option<Offer>,
}

/// Forecasts the vehicle's next maintenance under its make/model schedule.
fn forecast_due(
    policy: &Policy,
    make: &str,
    model: &str,
    input: &ForecastInput<'_>,
) -> Result<ServiceDue> {
    Forecaster::new(policy.schedule_for(make, model))
        .forecast(input)
        .map_err(|e| anyhow!("forecast: {e}"))
}

/// What the system would do at `at` for the customer and vehicle of the latest visit.
pub fn explain(policy: &Policy, scenario: &Scenario, at: DateTime<Utc>) -> Result<Explanation> {
    let tz = policy.time_zone();
    let today = at.with_timezone(&tz).date_naive();
    let mut visits: Vec<&Visit> = scenario
        .visits
        .iter()
        .filter(|v| v.closed_at() <= at)
        .collect();
    visits.sort_by_key(|v| v.closed_at());
    let Some(latest) = visits.last().copied() else {
        bail!("the scenario has no visit closed on or before {at}");
    };
    let customer = latest.customer();
    let vehicle = latest.vehicle();
    let own: Vec<&Visit> = visits
        .iter()
        .copied()
        .filter(|v| v.vehicle().vin() == vehicle.vin())
        .collect();

    let mut readings: Vec<Reading> = own
        .iter()
        .map(|v| Reading {
            date: v.closed_on(tz),
            km: v.odometer().km(),
            source: ReadingSource::Visit,
        })
        .collect();
    readings.extend(scenario.readings.iter().filter(|r| r.date <= today));
    let last_maintenance = own
        .iter()
        .rev()
        .find(|v| v.kind().is_scheduled_maintenance());
    let input = ForecastInput {
        readings: &readings,
        first_registration: Some(vehicle.first_registration()),
        last_service: last_maintenance.map(|v| ServicePoint {
            date: v.closed_on(tz),
            km: v.odometer().km(),
        }),
        as_of: Some(today),
    };
    let due = forecast_due(
        policy,
        vehicle.make().as_str(),
        vehicle.model().as_str(),
        &input,
    )?;

    let contacts: Vec<ContactRecord> = scenario
        .contacts
        .iter()
        .copied()
        .filter(|c| c.sent_at <= at)
        .collect();
    let opted_out = contacts
        .iter()
        .any(|c| c.reaction == Some(Reaction::OptedOut));
    let visit_days: Vec<NaiveDate> = visits
        .iter()
        .filter(|v| v.customer().id == customer.id)
        .map(|v| v.closed_on(tz))
        .collect();
    let status = status_for_car(
        policy,
        vehicle,
        Some(due.due_date),
        &visit_days,
        opted_out,
        today,
    );
    let band = age_band(vehicle.first_registration(), today, policy.age_bands());

    let cycle = latest_of(&own).closed_at().with_timezone(&Utc);
    let sent: StageSet = contacts
        .iter()
        .filter(|c| c.sent_at >= cycle)
        .map(|c| c.stage)
        .collect();
    let trigger_input = TriggerInput {
        at,
        due: &due,
        last_visit: LastVisit {
            closed_at: cycle,
            kind: latest_of(&own).kind(),
        },
        sent,
        contacts: &contacts,
        status,
        first_registration: vehicle.first_registration(),
        warranty_until: vehicle.warranty_until(),
        declined: latest_of(&own).recommendations(),
    };
    let decisions = evaluate_triggers(policy, &trigger_input);
    let recipient = Recipient {
        customer_id: &customer.id,
        consents: customer.consents,
        opted_out,
        // The scenario is one vehicle: its own contacts are the whole marketing history.
        last_marketing_at: None,
    };
    let checked = apply_contact_policy(policy, &recipient, &contacts, cycle, decisions);

    let offer_at = checked
        .iter()
        .filter(|c| c.decision.stage.is_offer())
        .find_map(|c| c.verdict.send_at());
    let offer = match offer_at {
        Some(send_at) => {
            let lines = last_maintenance.map_or(&[][..], |v| v.lines());
            let input = OfferInput {
                status,
                age_band: band,
                make: vehicle.make().as_str(),
                model: vehicle.model().as_str(),
                last_maintenance: lines,
                at: send_at,
            };
            Some(price_offer(policy, &input).map_err(|e| anyhow!("offer: {e}"))?)
        }
        None => None,
    };

    let decisions = checked
        .into_iter()
        .map(|c| DecisionView {
            stage: c.decision.stage,
            class: c.decision.class,
            at: c.verdict.send_at().unwrap_or(c.decision.at),
            decided_at: c.decision.at,
            reason: c.decision.reason.to_string(),
            reason_detail: c.decision.reason,
            vetoed_by: c.verdict.veto().map(|v| v.to_string()),
            veto_detail: c.verdict.veto(),
            deferred_by: match c.verdict {
                Verdict::Defer {
                    because: Deferral::QuietHours { .. },
                    ..
                } => Some("quiet_hours"),
                _ => None,
            },
        })
        .collect();

    Ok(Explanation {
        customer_id: customer.id.as_str().to_owned(),
        vin: vehicle.vin().as_str().to_owned(),
        at,
        today,
        status,
        age_band: band,
        control_group: domain::contact::in_control_group(
            &customer.id,
            policy.contact().control_group,
        ),
        due: DueView {
            date: due.due_date,
            p10: due.p10,
            p90: due.p90,
            limit: due.limit,
            km: due.due_km,
            km_per_day: (due.km_per_day * 10.0).round() / 10.0,
            basis: due.basis,
            reason: due.reason.clone(),
        },
        decisions,
        offer,
    })
}

fn latest_of<'a>(visits: &[&'a Visit]) -> &'a Visit {
    visits[visits.len() - 1]
}

/// Reads the files, explains and prints (JSON, or a short text).
pub fn run(
    input: &Path,
    policy: Option<&Path>,
    at: DateTime<FixedOffset>,
    json: bool,
) -> Result<()> {
    let policy = match policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the policy {}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        None => Policy::default(),
    };
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let scenario =
        Scenario::parse_json(&bytes).with_context(|| format!("in {}", input.display()))?;
    let explanation = explain(&policy, &scenario, at.with_timezone(&Utc))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{}", render_text(&explanation));
    }
    Ok(())
}

/// A short English summary for a terminal.
pub fn render_text(e: &Explanation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "customer {} vehicle {} at {}",
        e.customer_id, e.vin, e.at
    );
    let _ = writeln!(
        out,
        "status {} | age band {} | control group {}",
        e.status, e.age_band, e.control_group
    );
    let _ = writeln!(
        out,
        "due {} (p10 {}, p90 {}, by {:?}) at {} km, {} km/day",
        e.due.date, e.due.p10, e.due.p90, e.due.limit, e.due.km, e.due.km_per_day
    );
    if e.decisions.is_empty() {
        let _ = writeln!(out, "no decision");
    }
    for d in &e.decisions {
        let verdict = match (&d.vetoed_by, d.deferred_by) {
            (Some(v), _) => format!("vetoed: {v}"),
            (None, Some(why)) => format!("deferred ({why}) to {}", d.at),
            (None, None) => format!("sent at {}", d.at),
        };
        let class = match d.class {
            ContactClass::Service => "service",
            ContactClass::Marketing => "marketing",
        };
        let _ = writeln!(out, "- {} [{class}] {}: {verdict}", d.stage, d.reason);
    }
    if let Some(o) = &e.offer {
        let _ = writeln!(
            out,
            "offer {}: {} -> {} (labour -{} %, saving {}), margin {} % -> {} %, +{} points on {}",
            o.rule_ids.join(", "),
            o.list_price,
            o.final_price,
            o.labor_discount_percent,
            o.customer_saving,
            o.margin_before.percent,
            o.margin_after.percent,
            o.weekday_bonus_points,
            o.weekday_bonus_days.join("/"),
        );
        for p in &o.perks {
            let _ = writeln!(out, "  perk {} ({})", p.name, p.id);
        }
    }
    out
}

#[cfg(test)]
mod tests;
