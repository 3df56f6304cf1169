//! Conversion credit: a visit of a vehicle whose open cycle sent a reminder or an offer before
//! the visit credits the latest such message, once per cycle (the stage, the offer rule, the
//! days from message to visit), and closes the cycle as converted. What the KPIs read.

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::triggers::Stage;
use domain::Visit;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use store::repo::{NewConversion, OfferState, Repos};
use store::{Store, StoreError};

use crate::compose::OfferRecord;
use crate::evaluate::StageMark;

/// A credited conversion, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionRecord {
    /// The message the visit followed.
    pub offer_id: String,
    pub stage: Stage,
    /// The offer rule that priced it; `None` for a reminder.
    pub rule: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub visit_at: DateTime<Utc>,
    /// Whole days from the message to the visit, in dealer time.
    pub days_to_visit: i64,
}

/// Stages whose message asks the customer to come in.
fn invites(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::SoftReminder
            | Stage::PersonalOffer
            | Stage::CriticalOffer
            | Stage::SeasonalTires
            | Stage::DeclinedWork
    )
}

/// Credits the vehicle's open cycle with `visit` when a reminder or an offer of the cycle was
/// sent to the visit's customer before it. Idempotent: a cycle is credited once, so the same visit delivered again (or
/// a later one) changes nothing. The credit when made now, else `None`.
pub async fn credit_conversion<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visit: &Visit,
) -> Result<Option<ConversionRecord>, StoreError> {
    let vin = visit.vehicle().vin().as_str();
    let work_order_id = visit.work_order_id().as_str();
    let Some((cycle_id, _)) = repos.cycles.open_cycle::<IgnoredAny>(vin).await? else {
        return Ok(None);
    };
    if cycle_id == work_order_id {
        return Ok(None);
    }
    let visit_at = visit.closed_at().to_utc();
    // The message the customer acted on (pressed «Записаться», booked) is the one that
    // converted; without one, the latest message before the visit.
    let acted: Vec<String> = repos
        .cycles
        .reactions::<IgnoredAny>(vin, &cycle_id)
        .await?
        .into_iter()
        .filter(|(_, reaction, _)| matches!(reaction.as_str(), "booked" | "clicked"))
        .map(|(stage, _, _)| stage)
        .collect();
    let rank =
        |stage: Stage, sent_at: DateTime<Utc>| (acted.iter().any(|s| s == stage.as_str()), sent_at);
    let mut latest: Option<(String, Stage, Option<String>, DateTime<Utc>)> = None;
    for (name, _) in repos.cycles.stages::<StageMark>(vin, &cycle_id).await? {
        let Some(stage) = Stage::from_mark_key(&name).filter(|s| invites(*s)) else {
            continue;
        };
        let offer_id = crate::messages::offer_id_for(vin, &cycle_id, &name);
        let Some(offer) = repos.offers.get::<OfferRecord>(&offer_id).await? else {
            continue;
        };
        // A message to another customer (the car's previous owner) brought nobody in.
        if offer.customer_id != visit.customer().id.as_str() {
            continue;
        }
        let Some(sent_at) = offer.sent_at.filter(|at| *at <= visit_at) else {
            continue;
        };
        if offer.state != OfferState::Sent
            || latest
                .as_ref()
                .is_some_and(|l| rank(l.1, l.3) >= rank(stage, sent_at))
        {
            continue;
        }
        let rule = offer
            .offer
            .priced
            .as_ref()
            .and_then(|p| p.rule_ids.first().cloned());
        latest = Some((offer_id, stage, rule, sent_at));
    }
    let Some((offer_id, stage, rule, sent_at)) = latest else {
        return Ok(None);
    };
    let tz = policy.time_zone();
    let visit_on = visit.closed_on(tz);
    let record = ConversionRecord {
        offer_id,
        stage,
        rule,
        sent_at,
        visit_at,
        days_to_visit: (visit_on - sent_at.with_timezone(&tz).date_naive()).num_days(),
    };
    let credited = repos
        .conversions
        .credit(&NewConversion {
            vin,
            cycle_id: &cycle_id,
            work_order_id,
            visit_on,
            record: &record,
        })
        .await?;
    if !credited {
        return Ok(None);
    }
    repos.cycles.close(vin, &cycle_id, &"converted").await?;
    tracing::info!(
        vehicle_id = %vin,
        cycle_id = %cycle_id,
        work_order_id = %work_order_id,
        offer_id = %record.offer_id,
        stage = %record.stage,
        days_to_visit = record.days_to_visit,
        "conversion credited"
    );
    Ok(Some(record))
}
