//! Forecasts: the latest `ServiceDue` per vehicle, and vehicles by due date.

use chrono::NaiveDate;
use domain::ServiceDue;

use super::visits::vehicle_pk;
use super::{data, query_all, string, with_data};
use crate::item::{Item, Key};
use crate::port::{BatchOp, Query, Store, StoreError};
use crate::table::GSI1;

const FORECAST: &str = "forecast";
const SK: &str = "FORECAST";

fn due_key(date: NaiveDate) -> String {
    format!("DUE#{date}")
}

fn forecast_item(vin: &str, due: &ServiceDue) -> Result<Item, StoreError> {
    let mut item = with_data(&Key::new(vehicle_pk(vin), SK), FORECAST, due)?;
    item.insert("vin".into(), vin.into());
    item.insert(GSI1.pk.into(), due_key(due.due_date).into());
    item.insert(GSI1.sk.into(), format!("VEH#{vin}").into());
    Ok(item)
}

/// The latest forecast of each vehicle.
#[derive(Clone)]
pub struct Forecasts<S> {
    store: S,
}

impl<S: Store> Forecasts<S> {
    pub fn new(store: S) -> Self {
        Forecasts { store }
    }

    /// Stores (replaces) a vehicle's forecast.
    pub async fn put(&self, vin: &str, due: &ServiceDue) -> Result<(), StoreError> {
        self.store.put(forecast_item(vin, due)?, None).await
    }

    /// Stores many forecasts in batches (the nightly run).
    pub async fn put_many<'v>(
        &self,
        forecasts: impl IntoIterator<Item = (&'v str, &'v ServiceDue)>,
    ) -> Result<(), StoreError> {
        let ops = forecasts
            .into_iter()
            .map(|(vin, due)| forecast_item(vin, due).map(BatchOp::Put))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.batch_write(ops).await
    }

    pub async fn get(&self, vin: &str) -> Result<Option<ServiceDue>, StoreError> {
        match self.store.get(&Key::new(vehicle_pk(vin), SK)).await? {
            Some(item) => data(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Vehicles whose service falls due on `date`, with their forecasts, by VIN.
    pub async fn due_on(&self, date: NaiveDate) -> Result<Vec<(String, ServiceDue)>, StoreError> {
        let items = query_all(
            &self.store,
            Query::partition(due_key(date)).on_index(GSI1.name),
        )
        .await?;
        items
            .iter()
            .map(|item| Ok((string(item, "vin")?, data(item)?)))
            .collect()
    }
}
