//! Visits (idempotent on the work-order id), odometer readings and vehicles.

use std::collections::HashSet;

use chrono::NaiveDate;
use domain::Reading;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::customers::{customer_upsert, CustomerRecord};
use super::{data, new_item, query_all, string, with_data, ENTITY};
use crate::expr::{Condition, Update};
use crate::item::{from_attr, to_attr, Item, Key};
use crate::port::{BatchOp, Cursor, Query, Scan, Store, StoreError, WriteOp, MAX_TRANSACTION_OPS};
use crate::table::{GSI1, GSI2};

pub(crate) fn vehicle_pk(vin: &str) -> String {
    format!("VEH#{vin}")
}

pub(crate) const PROFILE: &str = "PROFILE";
const VEHICLE: &str = "vehicle";
const READING: &str = "reading";
const VISIT: &str = "visit";
const WORK_ORDER: &str = "work_order";
/// The forecast a vehicle had before a visit, kept on the visit.
const FORECAST_BEFORE: &str = "forecast_before";

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
    /// What the owner answered about its messages (sold, snoozed, odometer asked).
    pub contact: super::answers::VehicleContact,
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
        contact: super::answers::vehicle_contact(item)?,
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
    /// The vehicle item is left as stored (its owner and answers): the visit is an older one of
    /// another customer, back-filled. Only `vehicle.vin` is read then.
    pub keep_vehicle: bool,
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

    /// Records visits in order as recording each through [`Visits::record`] would leave the
    /// store (bulk loads), with fewer writes: visits of one vehicle or customer may come
    /// together, and each transaction writes a vehicle or a customer once, as the last of its
    /// visits stored now has it. As many visits go in a transaction as its writes allow (three
    /// per visit, one per vehicle and one per customer); each transaction is atomic, not the
    /// whole call. A visit whose work order was stored before, or came earlier in `visits`, is
    /// `AlreadyRecorded` and the others are stored all the same. Outcomes in the order of
    /// `visits`.
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
        let mut seen = HashSet::new();
        for (i, visit) in visits.iter().enumerate() {
            if !seen.insert(visit.work_order_id) {
                outcomes[i] = RecordOutcome::AlreadyRecorded;
            }
        }
        let mut duplicates_seen = false;
        let mut start = 0;
        while start < visits.len() {
            let end = transaction_end(visits, start);
            let mut pending: Vec<usize> = (start..end)
                .filter(|&i| outcomes[i] == RecordOutcome::Recorded)
                .collect();
            if duplicates_seen {
                // After one duplicate more are likely (a re-import): find them before writing.
                self.drop_recorded(visits, &mut pending, &mut outcomes)
                    .await?;
            }
            while !pending.is_empty() {
                let ops = record_ops(visits, &pending)?;
                let failed = match self.store.transact(ops).await {
                    Ok(()) => break,
                    Err(StoreError::TransactionConditionFailed { index })
                        if index < pending.len() =>
                    {
                        pending.remove(index)
                    }
                    Err(e) => return Err(e),
                };
                outcomes[failed] = RecordOutcome::AlreadyRecorded;
                if !duplicates_seen {
                    duplicates_seen = true;
                    self.drop_recorded(visits, &mut pending, &mut outcomes)
                        .await?;
                }
            }
            start = end;
        }
        Ok(outcomes)
    }

    /// Marks the pending visits whose work order is stored already as `AlreadyRecorded`.
    async fn drop_recorded<V, Veh, C>(
        &self,
        visits: &[NewVisit<'_, V, Veh, C>],
        pending: &mut Vec<usize>,
        outcomes: &mut [RecordOutcome],
    ) -> Result<(), StoreError> {
        for &i in pending.iter() {
            let marker = work_order_key(visits[i].work_order_id);
            if self.store.get(&marker).await?.is_some() {
                outcomes[i] = RecordOutcome::AlreadyRecorded;
            }
        }
        pending.retain(|&i| outcomes[i] == RecordOutcome::Recorded);
        Ok(())
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

    /// Keeps `note` on a stored visit as the forecast the vehicle had before it (what the
    /// forecast-accuracy KPI compares the visit with), once: false when the visit is not
    /// stored or has a note already.
    pub async fn note_forecast_before<N: Serialize>(
        &self,
        vin: &str,
        closed_on: NaiveDate,
        work_order_id: &str,
        note: &N,
    ) -> Result<bool, StoreError> {
        let update = Update::new(Key::new(
            vehicle_pk(vin),
            visit_sk(closed_on, work_order_id),
        ))
        .set(FORECAST_BEFORE, to_attr(note)?)
        .when(Condition::present().and(Condition::NotExists(FORECAST_BEFORE.into())));
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The notes [`Visits::note_forecast_before`] kept on a customer's visits: (work order,
    /// note), oldest visit first.
    pub async fn forecasts_before<N: DeserializeOwned>(
        &self,
        customer_id: &str,
    ) -> Result<Vec<(String, N)>, StoreError> {
        let q = Query::partition(format!("CUST#{customer_id}"))
            .on_index(GSI1.name)
            .begins_with("VISIT#");
        let items = query_all(&self.store, q).await?;
        items
            .iter()
            .filter_map(|item| Some((item, item.get(FORECAST_BEFORE)?)))
            .map(|(item, note)| {
                let note = from_attr(note)
                    .map_err(|e| StoreError::malformed(&super::item_key(item), e))?;
                Ok((string(item, "work_order_id")?, note))
            })
            .collect()
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

/// Writes per visit besides its vehicle and customer: the work-order marker, the visit and its
/// reading.
const WRITES_PER_VISIT: usize = 3;

/// Where the transaction of [`Visits::record_many`] that starts at `start` ends: as many visits
/// as fit in [`MAX_TRANSACTION_OPS`] writes with their vehicles and customers, at least one.
fn transaction_end<V, Veh, C>(visits: &[NewVisit<'_, V, Veh, C>], start: usize) -> usize {
    let mut vehicles = HashSet::new();
    let mut customers = HashSet::new();
    let mut end = start;
    while let Some(visit) = visits.get(end) {
        let new_vehicle = !vehicles.contains(visit.vehicle.vin);
        let new_customer = !customers.contains(visit.customer.customer_id);
        let writes = (end - start + 1) * WRITES_PER_VISIT
            + vehicles.len()
            + customers.len()
            + usize::from(new_vehicle)
            + usize::from(new_customer);
        if end > start && writes > MAX_TRANSACTION_OPS {
            break;
        }
        vehicles.insert(visit.vehicle.vin);
        customers.insert(visit.customer.customer_id);
        end += 1;
    }
    end
}

/// The writes of the visits at `pending` (in order): the work-order markers first, one per
/// visit in the order of `pending` and the only writes with a condition, then the visits and
/// their readings, then each vehicle and each customer once, from the last visit that has it.
fn record_ops<V, Veh, C>(
    visits: &[NewVisit<'_, V, Veh, C>],
    pending: &[usize],
) -> Result<Vec<WriteOp>, StoreError>
where
    V: Serialize,
    Veh: Serialize,
    C: Serialize,
{
    let mut markers = Vec::with_capacity(pending.len());
    let mut rest = Vec::with_capacity(pending.len() * 2 + 2);
    let mut vehicles: Vec<&VehicleRecord<'_, Veh>> = Vec::new();
    let mut customers: Vec<&CustomerRecord<'_, C>> = Vec::new();
    for &i in pending {
        let visit = &visits[i];
        let vin = visit.vehicle.vin;
        let customer_id = visit.customer.customer_id;
        let pk = vehicle_pk(vin);
        let visit_sk = visit_sk(visit.closed_on, visit.work_order_id);

        let mut marker = new_item(&work_order_key(visit.work_order_id), WORK_ORDER);
        marker.insert("vin".into(), vin.into());
        marker.insert("visit_sk".into(), visit_sk.clone().into());
        markers.push(WriteOp::put_if(marker, Condition::absent()));

        let mut visit_item = with_data(&Key::new(&pk, &visit_sk), VISIT, visit.visit)?;
        visit_item.insert("work_order_id".into(), visit.work_order_id.into());
        visit_item.insert("vin".into(), vin.into());
        visit_item.insert("customer_id".into(), customer_id.into());
        visit_item.insert("closed_on".into(), visit.closed_on.to_string().into());
        visit_item.insert(GSI1.pk.into(), format!("CUST#{customer_id}").into());
        visit_item.insert(GSI1.sk.into(), visit_sk.into());
        rest.push(WriteOp::put(visit_item));

        let reading = Reading {
            date: visit.closed_on,
            km: visit.odometer_km,
            source: domain::ReadingSource::Visit,
        };
        let reference = format!("WO#{}", visit.work_order_id);
        rest.push(WriteOp::put(reading_item(vin, &reading, &reference)?));

        if !visit.keep_vehicle {
            match vehicles.iter_mut().find(|v| v.vin == vin) {
                Some(last) => *last = &visit.vehicle,
                None => vehicles.push(&visit.vehicle),
            }
        }
        match customers.iter_mut().find(|c| c.customer_id == customer_id) {
            Some(last) => *last = &visit.customer,
            None => customers.push(&visit.customer),
        }
    }
    markers.extend(rest);
    for vehicle in vehicles {
        markers.push(WriteOp::put(vehicle_item(vehicle)?));
    }
    for customer in customers {
        markers.push(WriteOp::Update(customer_upsert(customer)?));
    }
    Ok(markers)
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

    /// Indexes a stored vehicle under its licence plate (normalised by the caller), replacing
    /// the plate indexed before; false when the vehicle is not stored. Storing the vehicle
    /// again drops the index until it is indexed again.
    pub async fn index_plate(&self, vin: &str, plate: &str) -> Result<bool, StoreError> {
        let update = crate::expr::Update::new(Key::new(vehicle_pk(vin), PROFILE))
            .set(GSI2.pk, format!("PLATE#{plate}"))
            .set(GSI2.sk, format!("VEH#{vin}"))
            .when(Condition::present());
        match self.store.update(update).await {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The vehicles indexed under a licence plate, by VIN.
    pub async fn by_plate<V: DeserializeOwned>(
        &self,
        plate: &str,
    ) -> Result<Vec<StoredVehicle<V>>, StoreError> {
        let q = Query::partition(format!("PLATE#{plate}")).on_index(GSI2.name);
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored_vehicle).collect()
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
