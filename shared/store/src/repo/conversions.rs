//! Conversion credit: the visit that followed a reminder or an offer, recorded once per contact
//! cycle of a vehicle, and listed by month for the KPIs.

use chrono::{Datelike, NaiveDate};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::visits::vehicle_pk;
use super::{data, query_all, string, with_data};
use crate::expr::Condition;
use crate::item::Key;
use crate::port::{Query, Store, StoreError};
use crate::table::GSI1;

fn conversion_key(vin: &str, cycle_id: &str) -> Key {
    Key::new(vehicle_pk(vin), format!("CONV#{cycle_id}"))
}

fn month_pk(year: i32, month: u32) -> String {
    format!("CONVERSIONS#{year:04}-{month:02}")
}

/// A conversion to record.
#[derive(Debug, Clone, Copy)]
pub struct NewConversion<'a, P> {
    pub vin: &'a str,
    /// The contact cycle whose message the visit followed.
    pub cycle_id: &'a str,
    /// The visit's work order.
    pub work_order_id: &'a str,
    /// The visit's day (dealer time): the month it counts in.
    pub visit_on: NaiveDate,
    pub record: &'a P,
}

/// A stored conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConversion<P> {
    pub vin: String,
    pub cycle_id: String,
    pub work_order_id: String,
    pub record: P,
}

/// Conversions per vehicle and per month.
#[derive(Clone)]
pub struct Conversions<S> {
    store: S,
}

fn stored<P: DeserializeOwned>(
    item: &crate::item::Item,
) -> Result<StoredConversion<P>, StoreError> {
    Ok(StoredConversion {
        vin: string(item, "vin")?,
        cycle_id: string(item, "cycle_id")?,
        work_order_id: string(item, "work_order_id")?,
        record: data(item)?,
    })
}

impl<S: Store> Conversions<S> {
    pub fn new(store: S) -> Self {
        Conversions { store }
    }

    /// Credits the cycle's contact with the visit; false (nothing changed) when the cycle was
    /// credited before, by this visit or another.
    pub async fn credit<P: Serialize>(
        &self,
        conversion: &NewConversion<'_, P>,
    ) -> Result<bool, StoreError> {
        let c = conversion;
        let mut item = with_data(&conversion_key(c.vin, c.cycle_id), "conversion", c.record)?;
        item.insert("vin".into(), c.vin.into());
        item.insert("cycle_id".into(), c.cycle_id.into());
        item.insert("work_order_id".into(), c.work_order_id.into());
        item.insert(
            GSI1.pk.into(),
            month_pk(c.visit_on.year(), c.visit_on.month()).into(),
        );
        item.insert(
            GSI1.sk.into(),
            format!("{}#{}#{}", c.visit_on, c.vin, c.cycle_id).into(),
        );
        match self.store.put(item, Some(Condition::absent())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The vehicle's conversions, by cycle id.
    pub async fn for_vehicle<P: DeserializeOwned>(
        &self,
        vin: &str,
    ) -> Result<Vec<StoredConversion<P>>, StoreError> {
        let q = Query::partition(vehicle_pk(vin)).begins_with("CONV#");
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored).collect()
    }

    /// The conversions whose visit fell in a month, by visit day.
    pub async fn in_month<P: DeserializeOwned>(
        &self,
        year: i32,
        month: u32,
    ) -> Result<Vec<StoredConversion<P>>, StoreError> {
        let q = Query::partition(month_pk(year, month)).on_index(GSI1.name);
        let items = query_all(&self.store, q).await?;
        items.iter().map(stored).collect()
    }
}
