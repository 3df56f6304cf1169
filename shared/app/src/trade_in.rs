//! Trade-in leads from the nightly evaluation: an older car whose current owner shows the signs
//! of the policy's `[trade_in]` ([`domain::trade_in`]) becomes a `TradeInLead` event for the
//! sales department, once per vehicle and calendar quarter (a conditional mark in the store,
//! written when the evaluation is committed).

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::trade_in::{quarter, trade_in_reasons, TradeInInput, VisitFacts};
use domain::{Vehicle, Visit};
use store::repo::{Repos, StoredVisit};
use store::{Store, StoreError};

use crate::events::{BusinessEvent, EventKind};

/// A lead decided by an evaluation, marked by `commit_evaluation`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PendingLead {
    pub vin: String,
    pub quarter: String,
    pub lead_id: String,
    pub at: DateTime<Utc>,
}

/// The lead's id: `tradein:<vin>:<quarter>`.
pub fn lead_id(vin: &str, quarter: &str) -> String {
    format!("tradein:{vin}:{quarter}")
}

/// The car's trade-in lead at `now`, if its owner `customer_id` shows a sign and none was
/// raised for it this quarter. Only the owner's own visits count; `last_rating` is the score of
/// the car's last visit.
pub(crate) async fn consider<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    customer_id: &str,
    visits: &[StoredVisit<Visit>],
    last_rating: Option<u8>,
    now: DateTime<Utc>,
) -> Result<Option<(BusinessEvent, PendingLead)>, StoreError> {
    let tz = policy.time_zone();
    let today = now.with_timezone(&tz).date_naive();
    if !domain::trade_in::old_enough(policy, vehicle.first_registration(), today) {
        return Ok(None);
    }
    let facts: Vec<VisitFacts<'_>> = visits
        .iter()
        .filter(|v| v.customer_id == customer_id)
        .map(|v| VisitFacts {
            closed_on: v.closed_on,
            kind: v.visit.kind(),
            lines: v.visit.lines(),
            recommendations: v.visit.recommendations(),
        })
        .collect();
    let reasons = trade_in_reasons(
        policy,
        &TradeInInput {
            today,
            first_registration: vehicle.first_registration(),
            warranty_until: vehicle.warranty_until(),
            visits: &facts,
            last_rating,
        },
    );
    if reasons.is_empty() {
        return Ok(None);
    }
    let vin = vehicle.vin().as_str();
    let quarter = quarter(today);
    if repos.trade_in.raised(vin, &quarter).await? {
        return Ok(None);
    }
    let lead_id = lead_id(vin, &quarter);
    let reasons: Vec<String> = reasons.iter().map(|r| r.code()).collect();
    tracing::info!(vehicle_id = %vin, customer_id = %customer_id, lead_id = %lead_id, reasons = %reasons.join(","), "trade-in lead");
    let event = BusinessEvent::new(
        EventKind::TradeInLead {
            lead_id: lead_id.clone(),
            vehicle_id: vin.to_owned(),
            customer_id: customer_id.to_owned(),
            offer_id: None,
            reasons,
        },
        now,
    );
    Ok(Some((
        event,
        PendingLead {
            vin: vin.to_owned(),
            quarter,
            lead_id,
            at: now,
        },
    )))
}

/// Records the quarter's lead; false when it was recorded before.
pub(crate) async fn mark<S: Store>(
    repos: &Repos<S>,
    lead: &PendingLead,
) -> Result<bool, StoreError> {
    repos
        .trade_in
        .mark(&lead.vin, &lead.quarter, &lead.lead_id, lead.at)
        .await
}
