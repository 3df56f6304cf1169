//! Visits (idempotent on the work-order id), odometer readings and vehicles.

use chrono::NaiveDate;
use domain::Reading;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::customers::{customer_upsert, CustomerRecord};
use super::{data, new_item, query_all, string, with_data, ENTITY};
use crate::expr::Condition;
use crate::item::{Item, Key};
use crate::port::{BatchOp, Cursor, Query, Scan, Store, StoreError, WriteOp, MAX_TRANSACTION_OPS};
use crate::table::GSI1;

pub(crate) fn vehicle_pk(vin: &str) -> String {
    format!("VEH#{vin}")
}

pub(crate) const PROFILE: &str = "PROFILE";
const VEHICLE: &str = "vehicle";
const READING: &str = "reading";
const VISIT: &str = "visit";
const WORK_ORDER: &str = "work_order";

fn work_order_key(work_order_id: &str) -> Key {
    Key::new(format!("WO#{work_order_id}"), "WORKORDER")
}

fn reading_sk(date: NaiveDate, reference: &str) -> String {
    format!("READ#{date}#{reference}")
}

fn visit_sk(closed_on: NaiveDate, work_order_id: &str) -> String {
    format!("VISIT#{closed_on}#{work_order_id}")
}

/// A vehicle and the customer who owns it.
#[derive(Debug, Clone, Copy)]
pub struct VehicleRecord<'a, V> {
    pub vin: &'a str,
    pub customer_id: &'a str,
    pub vehicle: &'a V,
}

/// A stored vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVehicle<V> {
    pub vin: String,
    pub customer_id: String,
    pub vehicle: V,
}

pub(crate) fn vehicle_item<V: Serialize>(r: &VehicleRecord<'_, V>) -> Result<Item, StoreError> {
    let mut item = with_data(&Key::new(vehicle_pk(r.vin), PROFILE), VEHICLE, r.vehicle)?;
    item.insert("vin".into(), r.vin.into());
    item.insert("customer_id".into(), r.customer_id.into());
    item.insert(GSI1.pk.into(), format!("CUST#{}", r.customer_id).into());
    item.insert(GSI1.sk.into(), format!("VEH#{}", r.vin).into());
    Ok(item)
}

fn stored_vehicle<V: DeserializeOwned>(item: &Item) -> Result<StoredVehicle<V>, StoreError> {
    Ok(StoredVehicle {
        vin: string(item, "vin")?,
        customer_id: string(item, "customer_id")?,
        vehicle: data(item)?,
    })
}

/// A closed work order to record: the visit, its odometer reading, the vehicle and the customer.
#[derive(Debug, Clone, Copy)]
pub struct NewVisit<'a, V, Veh, C> {
    pub work_order_id: &'a str,
    pub closed_on: NaiveDate,
    pub odometer_km: u32,
    pub visit: &'a V,
    pub vehicle: VehicleRecord<'a, Veh>,
    pub customer: CustomerRecord<'a, C>,
}

/// What recording a visit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Stored now: visit, reading, vehicle and customer.
    Recorded,
    /// This work order was stored before; nothing changed.
    AlreadyRecorded,
}

/// A stored visit.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVisit<V> {
    pub work_order_id: String,
    pub vin: String,
    pub customer_id: String,
    pub closed_on: NaiveDate,
    pub visit: V,
}

/// Visits by work order and by vehicle.
#[derive(Clone)]
pub struct Visits<S> {
    store: S,
}

impl<S: Store> Visits<S> {
    pub fn new(store: S) -> Self {
        Visits { store }
    }

    /// Stores the visit, its reading, the vehicle (replaced) and the customer profile (replaced,
    /// keeping an opt-out) in one transaction, once per work-order id. A concurrent duplicate
    /// gets `AlreadyRecorded`, or `StoreError::Conflict` (retryable) where the backend detects
    /// the conflict instead.
    pub async fn record<V, Veh, C>(
        &self,
        visit: &NewVisit<'_, V, Veh, C>,
    ) -> Result<RecordOutcome, StoreError>
    where
        V: Serialize,
        Veh: Serialize,
        C: Serialize,
    {
        let outcomes = self.record_many(std::slice::from_ref(visit)).await?;
        Ok(outcomes
            .first()
            .copied()
            .unwrap_or(RecordOutcome::AlreadyRecorded))
    }

    /// Records several visits as [`Visits::record`] records each, in one transaction (bulk
    /// loads): at most [`MAX_VISITS_PER_TRANSACTION`] of them, each of its own work order,
    /// vehicle and customer (a transaction writes an item once; `Invalid` otherwise). A visit
    /// whose work order was stored before is `AlreadyRecorded` and the others are stored all
    /// the same. Outcomes in the order of `visits`.
    pub async fn record_many<V, Veh, C>(
        &self,
        visits: &[NewVisit<'_, V, Veh, C>],
    ) -> Result<Vec<RecordOutcome>, StoreError>
    where
        V: Serialize,
        Veh: Serialize,
        C: Serialize,
    {
        let mut outcomes = vec![RecordOutcome::Recorded; visits.len()];
        let mut pending: Vec<usize> = (0..visits.len()).collect();
        let mut checked = false;
        while !pending.is_empty() {
            let mut ops = Vec::with_capacity(pending.len() * OPS_PER_VISIT);
            for &i in &pending {
                ops.extend(record_ops(&visits[i])?);
            }
            let failed = match self.store.transact(ops).await {
                Ok(()) => break,
                Err(StoreError::TransactionConditionFailed { index })
                    if index % OPS_PER_VISIT == 0 && index / OPS_PER_VISIT < pending.len() =>
                {
                    pending.remove(index / OPS_PER_VISIT)
                }
                Err(e) => return Err(e),
            };
            outcomes[failed] = RecordOutcome::AlreadyRecorded;
            if !checked {
                // One duplicate suggests more (a re-import): find them before the next try.
                checked = true;
                for &i in &pending {
                    let marker = work_order_key(visits[i].work_order_id);
                    if self.store.get(&marker).await?.is_some() {
                        outcomes[i] = RecordOutcome::AlreadyRecorded;
                    }
                }
                pending.retain(|&i| outcomes[i] == RecordOutcome::Recorded);
            }
        }
        Ok(outcomes)
    }

    /// The visit recorded for a work order.
    pub async fn by_work_order<V: DeserializeOwned>(
        &self,
        work_order_id: &str,
    ) -> Result<Option<StoredVisit<V>>, StoreError> {
        let Some(marker) = self.store.get(&work_order_key(work_order_id)).await? else {
            return Ok(None);
        };
        let key = Key::new(
            vehicle_pk(&string(&marker, "vin")?),
            string(&marker, "visit_sk")?,
        );
        match self.store.get(&key).await? {
            Some(item) => stored_visit(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Visits of a vehicle, oldest first.
    pub async fn for_vehicle<V: DeserializeOwned>(
        &self,
        vin: &str,
    ) -> Result<Vec<StoredVisit<V>>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(vehicle_pk(vin)).begins_with("VISIT#"),
        )
        .await?;
        items.iter().map(stored_visit).collect()
    }

    /// Visits of a customer across vehicles, oldest first.
    pub async fn for_customer<V: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<StoredVisit<V>>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("VISIT#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored_visit).collect()
    }
}

/// Writes per visit: the work-order marker (first, the only one with a condition), the visit,
/// its reading, the vehicle and the customer.
const OPS_PER_VISIT: usize = 5;

/// Most visits [`Visits::record_many`] records in one transaction.
pub const MAX_VISITS_PER_TRANSACTION: usize = MAX_TRANSACTION_OPS / OPS_PER_VISIT;

fn record_ops<V, Veh, C>(
    visit: &NewVisit<'_, V, Veh, C>,
) -> Result<[WriteOp; OPS_PER_VISIT], StoreError>
where
    V: Serialize,
    Veh: Serialize,
    C: Serialize,
{
    let vin = visit.vehicle.vin;
    let customer_id = visit.customer.customer_id;
    let pk = vehicle_pk(vin);
    let visit_sk = visit_sk(visit.closed_on, visit.work_order_id);

    let mut marker = new_item(&work_order_key(visit.work_order_id), WORK_ORDER);
    marker.insert("vin".into(), vin.into());
    marker.insert("visit_sk".into(), visit_sk.clone().into());

    let mut visit_item = with_data(&Key::new(&pk, &visit_sk), VISIT, visit.visit)?;
    visit_item.insert("work_order_id".into(), visit.work_order_id.into());
    visit_item.insert("vin".into(), vin.into());
    visit_item.insert("customer_id".into(), customer_id.into());
    visit_item.insert("closed_on".into(), visit.closed_on.to_string().into());
    visit_item.insert(GSI1.pk.into(), format!("CUST#{customer_id}").into());
    visit_item.insert(GSI1.sk.into(), visit_sk.clone().into());

    let reading = Reading {
        date: visit.closed_on,
        km: visit.odometer_km,
        source: domain::ReadingSource::Visit,
    };
    let reading_item = reading_item(vin, &reading, &format!("WO#{}", visit.work_order_id))?;

    Ok([
        WriteOp::put_if(marker, Condition::absent()),
        WriteOp::put(visit_item),
        WriteOp::put(reading_item),
        WriteOp::put(vehicle_item(&visit.vehicle)?),
        WriteOp::Update(customer_upsert(&visit.customer)?),
    ])
}

fn stored_visit<V: DeserializeOwned>(item: &Item) -> Result<StoredVisit<V>, StoreError> {
    let closed_on = string(item, "closed_on")?
        .parse()
        .map_err(|e| StoreError::malformed(&super::item_key(item), e))?;
    Ok(StoredVisit {
        work_order_id: string(item, "work_order_id")?,
        vin: string(item, "vin")?,
        customer_id: string(item, "customer_id")?,
        closed_on,
        visit: data(item)?,
    })
}

fn reading_item(vin: &str, reading: &Reading, reference: &str) -> Result<Item, StoreError> {
    let key = Key::new(vehicle_pk(vin), reading_sk(reading.date, reference));
    with_data(&key, READING, reading)
}

/// Odometer readings per vehicle.
#[derive(Clone)]
pub struct Readings<S> {
    store: S,
}

impl<S: Store> Readings<S> {
    pub fn new(store: S) -> Self {
        Readings { store }
    }

    /// Adds a reading once per `reference` (the work order or message it came from); returns
    /// false when that reading was stored before.
    pub async fn append(
        &self,
        vin: &str,
        reading: &Reading,
        reference: &str,
    ) -> Result<bool, StoreError> {
        let item = reading_item(vin, reading, reference)?;
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Adds many readings without conditions (imports, back-fills, benchmarks).
    pub async fn append_many<'r>(
        &self,
        readings: impl IntoIterator<Item = (&'r str, Reading, &'r str)>,
    ) -> Result<(), StoreError> {
        let ops = readings
            .into_iter()
            .map(|(vin, r, reference)| reading_item(vin, &r, reference).map(BatchOp::Put))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.batch_write(ops).await
    }

    /// A vehicle's readings, oldest first.
    pub async fn for_vehicle(&self, vin: &str) -> Result<Vec<Reading>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(vehicle_pk(vin)).begins_with("READ#"),
        )
        .await?;
        items.iter().map(data).collect()
    }
}

/// Vehicles: by VIN, by customer, and all of them by scan segment.
#[derive(Clone)]
pub struct Vehicles<S> {
    store: S,
}

impl<S: Store> Vehicles<S> {
    pub fn new(store: S) -> Self {
        Vehicles { store }
    }

    /// Stores (replaces) a vehicle.
    pub async fn put<V: Serialize>(&self, record: &VehicleRecord<'_, V>) -> Result<(), StoreError> {
        self.store.put(vehicle_item(record)?, None).await
    }

    /// Stores many vehicles without conditions (imports, benchmarks).
    pub async fn put_many<'r, V: Serialize + 'r>(
        &self,
        records: impl IntoIterator<Item = VehicleRecord<'r, V>>,
    ) -> Result<(), StoreError> {
        let ops = records
            .into_iter()
            .map(|r| vehicle_item(&r).map(BatchOp::Put))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.batch_write(ops).await
    }

    pub async fn get<V: DeserializeOwned>(
        &self,
        vin: &str,
    ) -> Result<Option<StoredVehicle<V>>, StoreError> {
        match self.store.get(&Key::new(vehicle_pk(vin), PROFILE)).await? {
            Some(item) => stored_vehicle(&item).map(Some),
            None => Ok(None),
        }
    }

    /// The vehicles of a customer, by VIN.
    pub async fn for_customer<V: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<StoredVehicle<V>>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("VEH#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored_vehicle).collect()
    }

    /// One page of the vehicles in scan segment `segment` of `total`; together the segments
    /// hold every vehicle once. Resume with the returned cursor until it is `None`.
    pub async fn scan<V: DeserializeOwned>(
        &self,
        segment: u32,
        total: u32,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<(Vec<StoredVehicle<V>>, Option<Cursor>), StoreError> {
        let scan = Scan::segment(segment, total)
            .limit(limit)
            .after(cursor)
            .filter(Condition::eq(ENTITY, VEHICLE));
        let page = self.store.scan(&scan).await?;
        let vehicles = page
            .items
            .iter()
            .map(stored_vehicle)
            .collect::<Result<_, _>>()?;
        Ok((vehicles, page.cursor))
    }
}
