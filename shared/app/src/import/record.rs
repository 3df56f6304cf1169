//! Recording a validated export through the visits use case: each work order stored once
//! ([`crate::store_visits`], the storing half of the webhook's [`crate::record_visit`]), each
//! vehicle re-forecast once after its last work order of the file
//! ([`crate::forecasting::compute_forecast`], as [`crate::forecast_vehicle`] does).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::{Customer, FieldError, ServiceDue, Visit, VisitErrors};
use serde::Serialize;
use store::repo::{Repos, MAX_VISITS_PER_TRANSACTION};
use store::Store;

use super::group::ParsedExport;
use crate::forecasting::compute_forecast;
use crate::visits::{honour_earlier_stop, store_visits};
use crate::RecordVisitError;

/// What an import did, or with `dry_run` what the export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub dry_run: bool,
    /// The encoding the export was read in.
    pub encoding: &'static str,
    pub work_orders: usize,
    pub vehicles: usize,
    pub customers: usize,
    pub lines: usize,
    /// Work orders stored now.
    pub recorded: usize,
    /// Work orders stored before (an earlier import, or the CRM): skipped, nothing changed.
    pub duplicates: usize,
    /// Customers already in the store (matched by phone), whose profile and consents are kept.
    pub known_customers: usize,
    /// Vehicles re-forecast (those with a work order stored now).
    pub forecast: usize,
}

impl ParsedExport {
    /// The summary of a dry run: what the export holds, nothing stored.
    pub fn dry_summary(&self) -> ImportSummary {
        ImportSummary {
            dry_run: true,
            encoding: self.encoding.name(),
            work_orders: self.work_orders(),
            vehicles: self.vehicles,
            customers: self.customers,
            lines: self.lines,
            recorded: 0,
            duplicates: 0,
            known_customers: 0,
            forecast: 0,
        }
    }
}

/// Customers of the export already in the store, by phone: their stored profile (consents and
/// chats the CRM sent) replaces the export's, so an import never withdraws a consent.
async fn known_customers<S: Store>(
    repos: &Repos<S>,
    export: &ParsedExport,
) -> Result<HashMap<String, Customer>, RecordVisitError> {
    let mut known = HashMap::new();
    let mut seen = HashSet::new();
    for visit in &export.visits {
        let phone = visit.customer().phone.as_str();
        if !seen.insert(phone) {
            continue;
        }
        let Some(id) = repos.customers.by_phone(phone).await? else {
            continue;
        };
        if let Some(stored) = repos.customers.get::<Customer>(&id).await? {
            known.insert(phone.to_owned(), stored.profile);
        }
    }
    Ok(known)
}

/// The visit with the stored customer in place of the export's.
fn with_customer(visit: &Visit, customer: &Customer) -> Result<Visit, RecordVisitError> {
    let mut parts = visit.clone().into_parts();
    parts.customer = customer.clone();
    Visit::new(parts)
        .map_err(|e| RecordVisitError::Invalid(VisitErrors(vec![FieldError::new(e.field(), e)])))
}

/// Where the transaction that starts at `start` ends: at most
/// [`MAX_VISITS_PER_TRANSACTION`] visits, and before a vehicle or customer comes again, so the
/// visits of one vehicle or customer are stored one after another in the export's order.
fn batch_end(visits: &[Cow<'_, Visit>], start: usize) -> usize {
    let mut vins = HashSet::new();
    let mut customers = HashSet::new();
    let mut end = start;
    while let Some(visit) = visits.get(end) {
        let fits = end - start < MAX_VISITS_PER_TRANSACTION
            && vins.insert(visit.vehicle().vin().as_str())
            && customers.insert(visit.customer().id.as_str());
        if !fits {
            break;
        }
        end += 1;
    }
    end
}

/// Forecasts written in one batch.
const FORECAST_BATCH: usize = 500;

/// Records every work order of a validated export as the visits webhook would, as of `now`:
/// stored once per work order (one stored before is a skipped duplicate), an earlier STOP
/// honoured (once per customer: nothing else writes while the import holds the store, and a
/// STOP arriving later finds the stored customer), and each vehicle with a work order stored
/// now re-forecast once, after its last work order of the file. Work orders are stored up to
/// [`MAX_VISITS_PER_TRANSACTION`] at a time and forecasts written in batches, which leaves the
/// store as recording them one by one through [`crate::record_visit`] would. `progress` hears
/// the number of work orders done.
///
/// Reached from the CLI as `autodrive import FILE.csv`.
pub async fn import_export<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    export: &ParsedExport,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> Result<ImportSummary, RecordVisitError> {
    let known = known_customers(repos, export).await?;
    let visits = export
        .visits
        .iter()
        .map(|visit| match known.get(visit.customer().phone.as_str()) {
            Some(stored) if stored != visit.customer() => {
                with_customer(visit, stored).map(Cow::Owned)
            }
            _ => Ok(Cow::Borrowed(visit)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last_of_vehicle: HashMap<&str, usize> = visits
        .iter()
        .enumerate()
        .map(|(i, visit)| (visit.vehicle().vin().as_str(), i))
        .collect();
    let mut with_new_visits: HashSet<&str> = HashSet::new();
    let mut checked_stops: HashSet<&str> = HashSet::new();
    let mut forecasts: Vec<(&str, ServiceDue)> = Vec::new();
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let (mut recorded, mut forecast) = (0, 0);
    let mut start = 0;
    while start < visits.len() {
        let end = batch_end(&visits, start);
        let batch: Vec<&Visit> = visits[start..end].iter().map(AsRef::as_ref).collect();
        let stored = store_visits(repos, policy, &batch).await?;
        for (i, (visit, newly_stored)) in (start..end).zip(batch.into_iter().zip(stored)) {
            if checked_stops.insert(visit.customer().id.as_str()) {
                honour_earlier_stop(repos, visit.customer()).await?;
            }
            let vin = visit.vehicle().vin().as_str();
            if newly_stored {
                recorded += 1;
                with_new_visits.insert(vin);
                crate::conversions::credit_conversion(repos, policy, visit).await?;
            }
            if last_of_vehicle.get(vin) == Some(&i) && with_new_visits.contains(vin) {
                forecast += 1;
                if let Some(due) = compute_forecast(repos, policy, visit.vehicle(), today).await? {
                    forecasts.push((vin, due));
                }
            }
        }
        if forecasts.len() >= FORECAST_BATCH {
            let batch = std::mem::take(&mut forecasts);
            repos
                .forecasts
                .put_many(batch.iter().map(|(vin, due)| (*vin, due)))
                .await?;
        }
        progress(end);
        start = end;
    }
    repos
        .forecasts
        .put_many(forecasts.iter().map(|(vin, due)| (*vin, due)))
        .await?;
    let summary = ImportSummary {
        dry_run: false,
        recorded,
        duplicates: export.work_orders() - recorded,
        known_customers: known.len(),
        forecast,
        ..export.dry_summary()
    };
    tracing::info!(
        work_orders = summary.work_orders,
        recorded = summary.recorded,
        duplicates = summary.duplicates,
        vehicles_forecast = summary.forecast,
        "dms export imported"
    );
    Ok(summary)
}
