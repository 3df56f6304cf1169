//! Recording a validated export through the visits use case: each work order stored once
//! ([`crate::store_visits`], the storing half of the webhook's [`crate::record_visit`]), each
//! vehicle re-forecast once after its last work order of the file
//! ([`crate::forecasting::compute_forecast`], as [`crate::forecast_vehicle`] does).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::{Customer, FieldError, ServiceDue, Visit, VisitErrors};
use serde::de::IgnoredAny;
use serde::Serialize;
use store::repo::Repos;
use store::Store;
use tokio::sync::mpsc::UnboundedSender;

use super::export::{ParsedExport, TextId};
use crate::forecasting::compute_forecast;
use crate::visits::{honour_earlier_stop, store_visits};
use crate::RecordVisitError;

/// What an import did, or with `dry_run` what the export holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Work the advisors recommended and the customers declined, in the work orders.
    pub declined_work: usize,
    /// The business events of the import: `OptedOut` for each customer a STOP received before
    /// they were known opted out now. The visits themselves raise no `VisitRecorded`: they come
    /// from the DMS, which has them, and the CRM's webhook raises it for new ones.
    #[serde(skip)]
    pub events: Vec<crate::events::BusinessEvent>,
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
            declined_work: self
                .sorted
                .iter()
                .map(|&id| self.declined_of(id).len())
                .sum(),
            events: Vec::new(),
        }
    }
}

/// Customers of the export already in the store, by phone: their stored profile (consents and
/// chats the CRM sent) replaces the export's, so an import never withdraws a consent.
async fn known_customers<S: Store>(
    repos: &Repos<S>,
    export: &ParsedExport,
) -> Result<HashMap<TextId, Customer>, RecordVisitError> {
    let mut known = HashMap::new();
    let mut seen = HashSet::new();
    for (_, order) in export.in_order() {
        if !seen.insert(order.phone) {
            continue;
        }
        let phone = export.texts.get(order.phone);
        let Some(id) = repos.customers.by_phone(phone).await? else {
            continue;
        };
        if let Some(stored) = repos.customers.get::<Customer>(&id).await? {
            known.insert(order.phone, stored.profile);
        }
    }
    Ok(known)
}

/// The work order as a visit, with the stored customer in place of the export's when the
/// customer is known.
fn visit_of(
    export: &ParsedExport,
    id: u32,
    known: &HashMap<TextId, Customer>,
) -> Result<Visit, RecordVisitError> {
    let visit = export.valid_visit(id).map_err(RecordVisitError::Invalid)?;
    match known.get(&export.orders[id].phone) {
        Some(stored) if stored != visit.customer() => {
            let mut parts = visit.into_parts();
            parts.customer = stored.clone();
            Visit::new(parts).map_err(|e| {
                RecordVisitError::Invalid(VisitErrors(vec![FieldError::new(e.field(), e)]))
            })
        }
        _ => Ok(visit),
    }
}

/// The export's work orders (by id) in groups that share no vehicle and no customer, each in
/// the order of the export: a vehicle's work orders, with those of every vehicle of its
/// customers.
fn groups(export: &ParsedExport) -> Vec<Vec<u32>> {
    let mut vehicle_of: HashMap<TextId, u32> = HashMap::new();
    let mut parent: Vec<u32> = Vec::new();
    fn root(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let up = parent[parent[v as usize] as usize];
            parent[v as usize] = up;
            v = up;
        }
        v
    }
    let mut vehicles = Vec::with_capacity(export.work_orders());
    let mut vehicle_of_phone: HashMap<TextId, u32> = HashMap::new();
    for (_, order) in export.in_order() {
        let next = parent.len() as u32;
        let v = *vehicle_of.entry(order.vin).or_insert(next);
        if v == next {
            parent.push(v);
        }
        vehicles.push(v);
        match vehicle_of_phone.entry(order.phone) {
            Entry::Occupied(first) => {
                let (a, b) = (root(&mut parent, *first.get()), root(&mut parent, v));
                parent[a.max(b) as usize] = a.min(b);
            }
            Entry::Vacant(slot) => {
                slot.insert(v);
            }
        }
    }
    let mut group_of: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (&id, v) in export.sorted.iter().zip(vehicles) {
        let r = root(&mut parent, v);
        let g = *group_of.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(id);
    }
    groups
}

/// Forecasts written in one batch.
const FORECAST_BATCH: usize = 500;

/// Tasks recording groups at once: parsing is done, so a group's visits are built and
/// serialised on one core while another's are written.
const WORKERS: usize = 2;

/// What recording some groups did.
#[derive(Debug, Default)]
struct Recorded {
    recorded: usize,
    forecast: usize,
    events: Vec<crate::events::BusinessEvent>,
}

/// What a recording task tells the import: work orders done, and how it ended.
enum News {
    Done(usize),
    Finished(Result<Recorded, RecordVisitError>),
}

/// Records every work order of a validated export as the visits webhook would, as of `now`:
/// stored once per work order (one stored before is a skipped duplicate), an earlier STOP and
/// an erasure honoured (once per customer: nothing else writes while the import holds the
/// store, and a STOP arriving later finds the stored customer), the reminder or offer a visit
/// followed credited, and each vehicle with a work order stored now re-forecast once, after its
/// last work order of the file. The work orders go in groups that share no vehicle or customer
/// (a vehicle's, with those of its customers' other vehicles), each in the export's order, so
/// vehicles and customers are written once per group and the store ends as recording the work
/// orders one by one through [`crate::record_visit`] would, whichever group goes first (but
/// for the forecast a live visit is preceded by, `crate::kpi::accuracy`: a vehicle is
/// forecast once, after its last work order); two tasks record groups at once. `progress`
/// hears the number of work orders done.
///
/// Reached from the CLI as `autodrive import FILE.csv`.
pub async fn import_export<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    export: Arc<ParsedExport>,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> Result<ImportSummary, RecordVisitError> {
    let known = Arc::new(known_customers(repos, &export).await?);
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let mut shares: Vec<Vec<Vec<u32>>> = (0..WORKERS).map(|_| Vec::new()).collect();
    for (i, group) in groups(&export).into_iter().enumerate() {
        shares[i % WORKERS].push(group);
    }
    let (news, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for share in shares {
        let (repos, policy) = (repos.clone(), policy.clone());
        let (export, known, news) = (Arc::clone(&export), Arc::clone(&known), news.clone());
        tasks.spawn(async move {
            let result = record_groups(&repos, &policy, &export, &known, share, today, &news).await;
            // The receiver listens until every task has told how it ended.
            let _ = news.send(News::Finished(result));
        });
    }
    drop(news);
    let (mut total, mut done, mut finished) = (Recorded::default(), 0, 0);
    while let Some(news) = heard.recv().await {
        match news {
            News::Done(n) => {
                done += n;
                progress(done);
            }
            News::Finished(Ok(part)) => {
                finished += 1;
                total.recorded += part.recorded;
                total.forecast += part.forecast;
                total.events.extend(part.events);
            }
            News::Finished(Err(e)) => {
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    if finished < WORKERS {
        let mut failure = "an import task stopped".to_owned();
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                failure = format!("an import task failed: {e}");
            }
        }
        let failure = anyhow::anyhow!(failure);
        return Err(RecordVisitError::Store(store::StoreError::Backend(failure)));
    }
    let summary = ImportSummary {
        dry_run: false,
        recorded: total.recorded,
        duplicates: export.work_orders() - total.recorded,
        known_customers: known.len(),
        forecast: total.forecast,
        events: total.events,
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

/// Records groups of work orders one after another, telling `news` how many work orders each
/// group held.
async fn record_groups<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    export: &ParsedExport,
    known: &HashMap<TextId, Customer>,
    groups: Vec<Vec<u32>>,
    today: NaiveDate,
    news: &UnboundedSender<News>,
) -> Result<Recorded, RecordVisitError> {
    let mut checked_customers: HashSet<TextId> = HashSet::new();
    let mut forecasts: Vec<(String, ServiceDue)> = Vec::new();
    let mut recorded = Recorded::default();
    for group in groups {
        let visits = group
            .iter()
            .map(|&id| visit_of(export, id, known))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&Visit> = visits.iter().collect();
        let stored = store_visits(repos, policy, &refs).await?;
        for ((&i, visit), &new) in group.iter().zip(&visits).zip(&stored) {
            if checked_customers.insert(export.orders[i].phone) {
                let stop = honour_earlier_stop(repos, visit.customer()).await?;
                recorded
                    .events
                    .extend(stop.and_then(|stop| stop.event_for(new)));
                crate::booking::rights::honour_erasure(repos, visit).await?;
            }
        }
        // The vehicles with a work order stored now, each with its last visit.
        let mut vehicles: Vec<(&str, &Visit)> = Vec::new();
        for (visit, _) in visits.iter().zip(&stored).filter(|(_, new)| **new) {
            recorded.recorded += 1;
            let vin = visit.vehicle().vin().as_str();
            match vehicles.iter_mut().find(|(v, _)| *v == vin) {
                Some(last) => last.1 = visit,
                None => vehicles.push((vin, visit)),
            }
        }
        for &(vin, last) in &vehicles {
            // Nothing the import does opens a cycle: with none open, no visit converts.
            if repos.cycles.open_cycle::<IgnoredAny>(vin).await?.is_some() {
                let new_visits = visits.iter().zip(&stored).filter(|(_, new)| **new);
                for (visit, _) in new_visits.filter(|(v, _)| v.vehicle().vin().as_str() == vin) {
                    crate::conversions::credit_conversion(repos, policy, visit).await?;
                }
            }
            recorded.forecast += 1;
            if let Some(due) = compute_forecast(repos, policy, last.vehicle(), today).await? {
                forecasts.push((vin.to_owned(), due));
            }
        }
        if forecasts.len() >= FORECAST_BATCH {
            let batch = std::mem::take(&mut forecasts);
            repos
                .forecasts
                .put_many(batch.iter().map(|(vin, due)| (vin.as_str(), due)))
                .await?;
        }
        // The receiver listens until every task has ended.
        let _ = news.send(News::Done(group.len()));
    }
    repos
        .forecasts
        .put_many(forecasts.iter().map(|(vin, due)| (vin.as_str(), due)))
        .await?;
    Ok(recorded)
}
