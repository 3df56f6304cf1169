//! Recording a closed work order from the CRM: validate, store once, re-forecast at once, and
//! credit the reminder or offer it followed.

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::{ServiceDue, Visit, VisitErrors};
use store::repo::{
    ContactHandle, CustomerRecord, NewVisit, OptOutOutcome, RecordOutcome, Repos, VehicleRecord,
};
use store::{Store, StoreError};

/// What recording a visit did.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedVisit {
    /// True when stored now; false when this work order was stored before (nothing changed).
    pub newly_stored: bool,
    pub work_order_id: String,
    pub vin: String,
    /// The vehicle's forecast after the visit (`None` if the readings allow none).
    pub due: Option<ServiceDue>,
    /// The reminder or offer this visit converted, when credited now (once per cycle).
    pub converted: Option<crate::conversions::ConversionRecord>,
    /// VisitRecorded, on every delivery (the same event id each time).
    pub events: Vec<crate::events::BusinessEvent>,
}

/// Why a visit was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordVisitError {
    /// The body is not a valid visit; nothing was stored.
    #[error("invalid visit: {0}")]
    Invalid(VisitErrors),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A STOP that came from the customer's phone or chat before the CRM sent them (or while it
/// did) opts them out as of that STOP. Once the customer is stored; checking again changes
/// nothing more (the first opt-out is kept).
pub async fn honour_earlier_stop<S: Store>(
    repos: &Repos<S>,
    customer: &domain::Customer,
) -> Result<(), StoreError> {
    let handles = [
        Some(ContactHandle::Phone(customer.phone.as_str())),
        customer
            .telegram_chat_id
            .map(|chat| ContactHandle::Telegram(chat.get())),
    ];
    let mut earliest: Option<DateTime<Utc>> = None;
    for handle in handles.into_iter().flatten() {
        if let Some(at) = repos.customers.suppressed_since(handle).await? {
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
    }
    if let Some(at) = earliest {
        let outcome = repos.customers.opt_out(customer.id.as_str(), at).await?;
        if outcome == OptOutOutcome::OptedOut {
            tracing::info!(customer_id = %customer.id.as_str(), "opted out by an earlier stop");
        }
    }
    Ok(())
}

/// Parses the webhook body and stores the visit, its odometer reading, the vehicle and the
/// customer once per work-order id, then re-forecasts the vehicle as of `now`'s dealer day.
pub async fn record_visit<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<RecordedVisit, RecordVisitError> {
    let visit = Visit::parse_json(body).map_err(RecordVisitError::Invalid)?;
    let newly_stored = store_visit(repos, policy, &visit).await?;
    let converted = crate::conversions::credit_conversion(repos, policy, &visit).await?;
    let vehicle = visit.vehicle();
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let due = crate::forecast_vehicle(repos, policy, vehicle, today).await?;
    let work_order_id = visit.work_order_id().as_str().to_owned();
    let vin = vehicle.vin().as_str().to_owned();
    tracing::info!(
        work_order_id = %work_order_id,
        vehicle_id = %vin,
        newly_stored,
        "visit recorded"
    );
    let events = vec![crate::events::BusinessEvent::visit_recorded(
        &work_order_id,
        &vin,
        visit.customer().id.as_str(),
        newly_stored,
        due.as_ref().map(|d| d.due_date),
        now,
    )];
    Ok(RecordedVisit {
        newly_stored,
        work_order_id,
        vin,
        due,
        converted,
        events,
    })
}

/// The storing half of [`record_visit`], for a visit parsed already: the visit, its odometer
/// reading, the vehicle and the customer once per work-order id, and an earlier STOP from the
/// customer's phone or chat and an erasure of their data honoured. True when stored now, false
/// when the work order was stored before (nothing changed). It does not re-forecast: [`record_visit`] does at once, the
/// DMS import once per vehicle after its last work order (`crate::import`).
pub async fn store_visit<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visit: &Visit,
) -> Result<bool, StoreError> {
    let stored = store_visits(repos, policy, &[visit]).await?;
    honour_earlier_stop(repos, visit.customer()).await?;
    crate::booking::rights::honour_erasure(repos, visit).await?;
    Ok(stored.first().copied().unwrap_or(false))
}

/// [`store_visit`] for several visits at once (bulk loads), without the STOP check: the caller
/// runs [`honour_earlier_stop`] for each customer once they are stored. Visits may share
/// vehicles and customers, each written once per transaction as its last visit has it
/// ([`store::repo::Visits::record_many`]). A vehicle with a licence plate is indexed under it
/// (again, when the work order was stored before). Whether each was stored now, in the order
/// of `visits`.
pub async fn store_visits<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visits: &[&Visit],
) -> Result<Vec<bool>, StoreError> {
    let tz = policy.time_zone();
    let new: Vec<_> = visits
        .iter()
        .map(|visit| {
            let customer = visit.customer();
            let vehicle = visit.vehicle();
            NewVisit {
                work_order_id: visit.work_order_id().as_str(),
                closed_on: visit.closed_on(tz),
                odometer_km: visit.odometer().km(),
                visit: *visit,
                vehicle: VehicleRecord {
                    vin: vehicle.vin().as_str(),
                    customer_id: customer.id.as_str(),
                    vehicle,
                },
                customer: CustomerRecord {
                    customer_id: customer.id.as_str(),
                    telegram_chat_id: customer.telegram_chat_id.map(|c| c.get()),
                    phone: Some(customer.phone.as_str()),
                    profile: customer,
                },
            }
        })
        .collect();
    let before = crate::kpi::accuracy::forecasts_before_visits(repos, visits).await?;
    let outcomes = repos.visits.record_many(&new).await?;
    for visit in visits {
        let vehicle = visit.vehicle();
        if let Some(plate) = vehicle.plate() {
            repos
                .vehicles
                .index_plate(vehicle.vin().as_str(), plate.as_str())
                .await?;
        }
    }
    let stored: Vec<bool> = outcomes
        .into_iter()
        .map(|o| o == RecordOutcome::Recorded)
        .collect();
    crate::kpi::accuracy::note_forecasts_before(repos, tz, visits, &stored, &before).await?;
    Ok(stored)
}
