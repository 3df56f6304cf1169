//! What the owner's answers ([`crate::booking::answers`]) mean for the messages about a car,
//! for the evaluator, the nightly run and the composer: a sold car gets none; a car whose owner
//! said «Не присылать» gets no marketing; a snoozed cycle waits ([`domain::triggers::snooze`]);
//! and after a maintenance the owner reported done elsewhere the next cycle counts from it.

use chrono::{DateTime, NaiveTime, Utc};
use domain::policy::Policy;
use domain::triggers::snooze::{apply_snooze, Snooze};
use domain::triggers::{Decision, LastVisit, Reason, Stage, TriggerInput};
use domain::{ContactClass, ServiceDue, Vehicle, VisitKind};
use store::repo::{Repos, StoredVehicle, VehicleContact};
use store::{Store, StoreError};

/// Whether the owner `customer_id` asked for no marketing about the car.
pub async fn marketing_muted<S: Store>(
    repos: &Repos<S>,
    vin: &str,
    customer_id: &str,
) -> Result<bool, StoreError> {
    Ok(repos
        .answers
        .marketing_muted_since(vin, customer_id)
        .await?
        .is_some())
}

/// Why a stage's message about the car is not sent to `customer_id`, if it is not.
pub async fn withheld<S: Store>(
    repos: &Repos<S>,
    vehicle: &StoredVehicle<Vehicle>,
    customer_id: &str,
    stage: Stage,
    reason: &Reason,
) -> Result<Option<&'static str>, StoreError> {
    if vehicle.contact.sold_at.is_some() {
        return Ok(Some("sold"));
    }
    if stage.class_for(reason) == ContactClass::Marketing
        && marketing_muted(repos, &vehicle.vin, customer_id).await?
    {
        return Ok(Some("marketing_muted"));
    }
    Ok(None)
}

/// The cycle an evaluation decides in.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentCycle {
    pub id: String,
    pub started_at: DateTime<Utc>,
    /// What the triggers take for the visit that opened it.
    pub last_visit: LastVisit,
    /// It follows a maintenance done elsewhere, not a visit here.
    pub after_service_elsewhere: bool,
}

/// The cycle of the last visit (its work order), or, when the forecast counts from a
/// maintenance done elsewhere after that visit, the cycle that service opened
/// (`<work order>+<day>`, from the start of that day).
pub fn current_cycle(
    policy: &Policy,
    work_order_id: &str,
    last_visit: LastVisit,
    due: &ServiceDue,
) -> CurrentCycle {
    let tz = policy.time_zone();
    let visit_day = last_visit.closed_at.with_timezone(&tz).date_naive();
    let service_day = due.service.date;
    if service_day <= visit_day {
        return CurrentCycle {
            id: work_order_id.to_owned(),
            started_at: last_visit.closed_at,
            last_visit,
            after_service_elsewhere: false,
        };
    }
    let started_at = service_day
        .and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .earliest()
        .map_or(last_visit.closed_at, |t| t.to_utc());
    CurrentCycle {
        id: format!("{work_order_id}+{service_day}"),
        started_at,
        last_visit: LastVisit {
            closed_at: started_at,
            kind: VisitKind::Maintenance,
        },
        after_service_elsewhere: true,
    }
}

/// The decisions with the owner's answers applied: the cycle's snooze, and no satisfaction
/// request about a service done elsewhere.
pub fn after_answers(
    policy: &Policy,
    input: &TriggerInput<'_>,
    contact: &VehicleContact,
    cycle: &CurrentCycle,
    decisions: Vec<Decision>,
) -> Vec<Decision> {
    let mut decisions = decisions;
    if cycle.after_service_elsewhere {
        decisions.retain(|d| d.stage != Stage::SatisfactionRequest);
    }
    let snooze = contact
        .snooze
        .as_ref()
        .filter(|s| s.cycle_id == cycle.id)
        .and_then(|s| {
            Some(Snooze {
                stage: Stage::from_mark_key(&s.stage)?,
                until: s.until,
            })
        });
    match snooze {
        Some(snooze) => apply_snooze(policy, input, snooze, decisions),
        None => decisions,
    }
}
