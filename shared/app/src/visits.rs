//! Recording a closed work order from the CRM: validate, store once, re-forecast at once, and
//! credit the reminder or offer it followed.

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::{FieldError, ServiceDue, Vehicle, Visit, VisitErrors};
use serde::de::IgnoredAny;
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
    /// The vehicle moved to this visit's customer with it (only when stored now).
    pub ownership: Option<OwnershipChanged>,
}

/// A vehicle that came with another customer than the one it was stored under, in a visit newer
/// than its last: it is the new customer's as of that visit (ids only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipChanged {
    pub vin: String,
    pub from_customer_id: String,
    pub to_customer_id: String,
    pub work_order_id: String,
}

/// What storing one visit did.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVisitOutcome {
    /// False when the work order was stored before (nothing changed).
    pub newly_stored: bool,
    pub ownership: Option<OwnershipChanged>,
    /// `OptedOut`, when a STOP received before the customer was known opted them out now.
    pub opted_out: Option<crate::events::BusinessEvent>,
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

/// A STOP from the customer's phone or chat that opted them out, as
/// [`honour_earlier_stop`] found it.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierStop {
    /// `OptedOut`, dated at the STOP, on the channel it came on (the same id every time).
    pub event: crate::events::BusinessEvent,
    /// True when it opted the customer out now; false when it had before.
    pub now: bool,
}

impl EarlierStop {
    /// The event to publish for a visit: when the STOP opted the customer out now, and again
    /// (same id) for a repeated delivery of the visit, whose first publication may have failed.
    pub fn event_for(self, newly_stored: bool) -> Option<crate::events::BusinessEvent> {
        (self.now || !newly_stored).then_some(self.event)
    }
}

/// A STOP that came from the customer's phone or chat before the CRM sent them (or while it
/// did) opts them out as of that STOP. Once the customer is stored; checking again changes
/// nothing more (the first opt-out is kept). `Some` when the customer's opt-out is that STOP's.
pub async fn honour_earlier_stop<S: Store>(
    repos: &Repos<S>,
    customer: &domain::Customer,
) -> Result<Option<EarlierStop>, StoreError> {
    let handles = [
        Some(ContactHandle::Phone(customer.phone.as_str())),
        customer
            .telegram_chat_id
            .map(|chat| ContactHandle::Telegram(chat.get())),
    ];
    let mut earliest: Option<(DateTime<Utc>, String)> = None;
    for handle in handles.into_iter().flatten() {
        if let Some(stop) = repos.customers.suppression(handle).await? {
            // A mark kept without its channel: a chat's STOP came on Telegram, a phone's on
            // WhatsApp (SMS STOPs are kept with theirs).
            let channel = stop.channel.unwrap_or_else(|| match handle {
                ContactHandle::Telegram(_) => "telegram".to_owned(),
                ContactHandle::Phone(_) => "whatsapp".to_owned(),
            });
            if earliest.as_ref().is_none_or(|(at, _)| stop.at < *at) {
                earliest = Some((stop.at, channel));
            }
        }
    }
    let Some((at, channel)) = earliest else {
        return Ok(None);
    };
    let id = customer.id.as_str();
    let now = match repos.customers.opt_out(id, at).await? {
        OptOutOutcome::OptedOut => true,
        OptOutOutcome::AlreadyOptedOut => {
            let stored = repos.customers.get::<IgnoredAny>(id).await?;
            if stored.and_then(|c| c.opted_out_at) != Some(at) {
                return Ok(None);
            }
            false
        }
        OptOutOutcome::UnknownCustomer => return Ok(None),
    };
    if now {
        tracing::info!(customer_id = %id, channel = %channel, "opted out by an earlier stop");
    }
    let event = crate::events::BusinessEvent::opted_out(id, &channel, None, at);
    Ok(Some(EarlierStop { event, now }))
}

/// How far a visit's `closed_at` may lie after our clock: the CRM's clock may run ahead by as
/// much as the webhook signature's freshness window allows.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// Parses the webhook body and stores the visit, its odometer reading, the vehicle and the
/// customer once per work-order id, then re-forecasts the vehicle as of `now`'s dealer day.
pub async fn record_visit<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<RecordedVisit, RecordVisitError> {
    let visit = Visit::parse_json(body).map_err(RecordVisitError::Invalid)?;
    if visit.closed_at() > now + chrono::Duration::seconds(CLOCK_SKEW_SECONDS) {
        // A work order cannot close after it reaches us: storing it would move the car's
        // cycle, its owner and every report to a day that has not come.
        return Err(RecordVisitError::Invalid(VisitErrors(vec![
            FieldError::new(
                "closed_at",
                format_args!(
                    "is later than now ({}): a visit is sent after it closes",
                    now.to_rfc3339()
                ),
            ),
        ])));
    }
    let StoredVisitOutcome {
        newly_stored,
        ownership,
        opted_out,
    } = store_visit_owned(repos, policy, &visit).await?;
    // A repeat answers and publishes what was stored, whatever the repeat says (a changed
    // field, another VIN): a repeated delivery changes nothing, its answer and event included.
    let stored_before;
    let visit = if newly_stored {
        &visit
    } else {
        match repos
            .visits
            .by_work_order::<Visit>(visit.work_order_id().as_str())
            .await?
        {
            Some(stored) => {
                stored_before = stored.visit;
                &stored_before
            }
            None => &visit,
        }
    };
    let converted = crate::conversions::credit_conversion(repos, policy, visit).await?;
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
    let mut events = vec![crate::events::BusinessEvent::visit_recorded(
        &work_order_id,
        &vin,
        visit.customer().id.as_str(),
        newly_stored,
        due.as_ref().map(|d| d.due_date),
        now,
    )];
    events.extend(opted_out);
    Ok(RecordedVisit {
        newly_stored,
        work_order_id,
        vin,
        due,
        converted,
        events,
        ownership,
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
    Ok(store_visit_owned(repos, policy, visit).await?.newly_stored)
}

/// [`store_visit`] with the vehicle's owner followed. A visit whose vehicle is stored under
/// another customer moves the vehicle to the visit's customer when it is newer than every visit
/// of the vehicle stored before: the vehicle is stored again (which clears the old owner's sold,
/// snooze and odometer-asked answers), the old owner's «Не присылать» about it is removed, and
/// the new owner's cycle is this visit's. An older visit of another customer (a back-fill) is
/// stored without moving the vehicle: it stays the current owner's, with their answers. A
/// repeated delivery changes nothing.
pub async fn store_visit_owned<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visit: &Visit,
) -> Result<StoredVisitOutcome, StoreError> {
    // Visits of one vehicle are recorded one at a time: two customers' visits delivered at once
    // must leave the car with the newer one's customer, which is decided from what is stored.
    let vin = visit.vehicle().vin().as_str();
    let lease = chrono::Duration::seconds(30);
    let mut tries = 0;
    while !repos
        .idempotency
        .lock(VEHICLE_LOCK, vin, chrono::Utc::now(), lease)
        .await?
    {
        // Still busy after about five seconds: the sender delivers the visit again.
        if tries == VEHICLE_LOCK_TRIES {
            return Err(StoreError::Conflict);
        }
        tries += 1;
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let stored = store_vehicle_visit(repos, policy, visit).await;
    repos.idempotency.abandon(VEHICLE_LOCK, vin).await?;
    stored
}

/// The lock that records a vehicle's visits one at a time, keyed by VIN.
const VEHICLE_LOCK: &str = "vehicle-visit";
/// How many times (25 ms apart) a visit waits for its vehicle's lock.
const VEHICLE_LOCK_TRIES: u32 = 200;

/// [`store_visit_owned`] under the vehicle's lock.
async fn store_vehicle_visit<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visit: &Visit,
) -> Result<StoredVisitOutcome, StoreError> {
    let vin = visit.vehicle().vin().as_str();
    let customer_id = visit.customer().id.as_str();
    let previous = repos
        .vehicles
        .get::<Vehicle>(vin)
        .await?
        .filter(|v| v.customer_id != customer_id);
    // An older visit of another customer (a back-fill) leaves the vehicle with its owner.
    let mut keep = false;
    if previous.is_some() {
        let last = repos
            .visits
            .for_vehicle::<Visit>(vin)
            .await?
            .iter()
            .map(|v| v.visit.closed_at())
            .max();
        keep = last.is_some_and(|last| visit.closed_at() <= last);
    }
    let stored = store_visits_kept(repos, policy, &[visit], &[keep]).await?;
    let newly_stored = stored.first().copied().unwrap_or(false);
    let mut ownership = None;
    if let (true, Some(previous)) = (newly_stored, &previous) {
        if keep {
            tracing::info!(vehicle_id = %vin, customer_id = %previous.customer_id, "older visit of a previous owner: the vehicle stays with its owner");
        } else {
            repos
                .answers
                .unmute_marketing(vin, &previous.customer_id)
                .await?;
            let change = OwnershipChanged {
                vin: vin.to_owned(),
                from_customer_id: previous.customer_id.clone(),
                to_customer_id: customer_id.to_owned(),
                work_order_id: visit.work_order_id().as_str().to_owned(),
            };
            tracing::info!(
                vehicle_id = %change.vin,
                from_customer_id = %change.from_customer_id,
                to_customer_id = %change.to_customer_id,
                work_order_id = %change.work_order_id,
                "ownership changed"
            );
            ownership = Some(change);
        }
    }
    let opted_out = honour_earlier_stop(repos, visit.customer())
        .await?
        .and_then(|stop| stop.event_for(newly_stored));
    crate::booking::rights::honour_erasure(repos, visit).await?;
    Ok(StoredVisitOutcome {
        newly_stored,
        ownership,
        opted_out,
    })
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
    store_visits_kept(repos, policy, visits, &[]).await
}

/// [`store_visits`] where `keep[i]` true leaves the i-th visit's vehicle as stored (owner, data
/// and answers), in the same transaction as the visit.
async fn store_visits_kept<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    visits: &[&Visit],
    keep: &[bool],
) -> Result<Vec<bool>, StoreError> {
    let tz = policy.time_zone();
    let new: Vec<_> = visits
        .iter()
        .enumerate()
        .map(|(i, visit)| {
            let customer = visit.customer();
            NewVisit {
                work_order_id: visit.work_order_id().as_str(),
                closed_on: visit.closed_on(tz),
                odometer_km: visit.odometer().km(),
                visit: *visit,
                vehicle: VehicleRecord {
                    vin: visit.vehicle().vin().as_str(),
                    customer_id: customer.id.as_str(),
                    vehicle: visit.vehicle(),
                },
                keep_vehicle: keep.get(i).copied().unwrap_or(false),
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
    for (i, visit) in visits.iter().enumerate() {
        // A kept vehicle is indexed under its plate already.
        if keep.get(i).copied().unwrap_or(false) {
            continue;
        }
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
