//! «Анализ пробега»: every vehicle's planned maintenance from its stored forecast, grouped by how
//! far the planned date is from the report day, with the mileage since the last maintenance.

use chrono::NaiveDate;
use domain::{DueLimit, ServiceDue};
use store::repo::Repos;
use store::{Store, StoreError};

use super::base::{Base, VehicleFacts};
use super::export::date_ru;
use super::ru::limit_ru;
use super::table::{Cell, ColumnKind, Table};

/// Where a planned maintenance date falls, counted from the report day (which is day 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DueBucket {
    Overdue,
    Today,
    /// Days 2–7.
    Days2To7,
    /// Days 8–31.
    Days8To31,
    Days32Plus,
}

impl DueBucket {
    pub const ALL: [DueBucket; 5] = [
        DueBucket::Overdue,
        DueBucket::Today,
        DueBucket::Days2To7,
        DueBucket::Days8To31,
        DueBucket::Days32Plus,
    ];

    /// The bucket of a due date `days_left` days after the report day.
    pub fn of_days(days_left: i64) -> Self {
        match days_left {
            i64::MIN..=-1 => DueBucket::Overdue,
            0 => DueBucket::Today,
            1..=6 => DueBucket::Days2To7,
            7..=30 => DueBucket::Days8To31,
            _ => DueBucket::Days32Plus,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable name: `overdue`, `today`, `days_2_7`, `days_8_31`, `days_32_plus`.
    pub fn key(self) -> &'static str {
        match self {
            DueBucket::Overdue => "overdue",
            DueBucket::Today => "today",
            DueBucket::Days2To7 => "days_2_7",
            DueBucket::Days8To31 => "days_8_31",
            DueBucket::Days32Plus => "days_32_plus",
        }
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            DueBucket::Overdue => "просрочено",
            DueBucket::Today => "сегодня",
            DueBucket::Days2To7 => "через 2–7 дней",
            DueBucket::Days8To31 => "8–31 день",
            DueBucket::Days32Plus => "32+ дней",
        }
    }
}

/// The last maintenance work order of a vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkOrderRef {
    pub work_order_id: String,
    pub closed_on: NaiveDate,
}

/// One vehicle of the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct MileageRow {
    pub bucket: DueBucket,
    pub vin: String,
    pub make: String,
    pub model: String,
    pub customer_id: String,
    pub owner: String,
    pub last_maintenance: Option<WorkOrderRef>,
    /// Odometer at the service the forecast counts from.
    pub start_km: u32,
    /// Driven since then up to the report day (estimated past the last reading).
    pub driven_km: u32,
    /// Estimated odometer on the report day.
    pub end_km: u32,
    pub km_per_day: f64,
    pub due_date: NaiveDate,
    /// Days from the report day to the planned date; negative when overdue.
    pub days_left: i64,
    pub due_km: u32,
    pub limit: DueLimit,
    /// The 80 % interval of the planned date.
    pub p10: NaiveDate,
    pub p90: NaiveDate,
}

/// The analysis on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct MileageReport {
    pub at: NaiveDate,
    /// Vehicles with a forecast, by bucket, planned date and VIN.
    pub rows: Vec<MileageRow>,
    /// VINs the store has no forecast for (no readings yet).
    pub without_forecast: Vec<String>,
}

impl MileageReport {
    pub fn vehicles(&self) -> usize {
        self.rows.len() + self.without_forecast.len()
    }

    pub fn count(&self, bucket: DueBucket) -> usize {
        self.rows.iter().filter(|r| r.bucket == bucket).count()
    }

    pub fn in_bucket(&self, bucket: DueBucket) -> impl Iterator<Item = &MileageRow> {
        self.rows.iter().filter(move |r| r.bucket == bucket)
    }

    pub fn table(&self) -> Table {
        let mut table = Table::new(
            format!("Анализ пробега на {}", date_ru(self.at)),
            format!("Пробег на {}", date_ru(self.at)),
        )
        .column("Группа", ColumnKind::Text)
        .column("Марка", ColumnKind::Text)
        .column("Модель", ColumnKind::Text)
        .column("VIN", ColumnKind::Text)
        .column("Последнее ТО: заказ-наряд", ColumnKind::Text)
        .column("Дата последнего ТО", ColumnKind::Date)
        .column("Клиент", ColumnKind::Text)
        .column("Владелец", ColumnKind::Text)
        .column("Пробег на начало, км", ColumnKind::Integer)
        .column("Пройдено, км", ColumnKind::Integer)
        .column("Пробег на конец, км", ColumnKind::Integer)
        .column("Км/день", ColumnKind::Decimal(1))
        .column("Плановое ТО", ColumnKind::Date)
        .column("Дней до ТО", ColumnKind::Integer)
        .column("ТО при пробеге, км", ColumnKind::Integer)
        .column("Предел", ColumnKind::Text)
        .column("80 %: с", ColumnKind::Date)
        .column("80 %: по", ColumnKind::Date);
        for r in &self.rows {
            let (order, closed) = match &r.last_maintenance {
                Some(w) => (
                    Cell::from(w.work_order_id.as_str()),
                    Cell::from(w.closed_on),
                ),
                None => (Cell::Empty, Cell::Empty),
            };
            table.push(vec![
                r.bucket.label_ru().into(),
                r.make.as_str().into(),
                r.model.as_str().into(),
                r.vin.as_str().into(),
                order,
                closed,
                r.customer_id.as_str().into(),
                r.owner.as_str().into(),
                Cell::int(r.start_km),
                Cell::int(r.driven_km),
                Cell::int(r.end_km),
                Cell::decimal(r.km_per_day, 1),
                r.due_date.into(),
                Cell::int(r.days_left),
                Cell::int(r.due_km),
                limit_ru(r.limit).into(),
                r.p10.into(),
                r.p90.into(),
            ]);
        }
        table
    }
}

/// The analysis on `at` from the stored forecasts of every vehicle of the base.
pub async fn mileage_report<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    at: NaiveDate,
) -> Result<MileageReport, StoreError> {
    let mut rows = Vec::new();
    let mut without_forecast = Vec::new();
    for vehicle in &base.vehicles {
        match repos.forecasts.get(&vehicle.vin).await? {
            Some(due) => rows.push(row(repos, base, vehicle, &due, at).await?),
            None => without_forecast.push(vehicle.vin.clone()),
        }
    }
    rows.sort_by(|a, b| (a.bucket, a.due_date, &a.vin).cmp(&(b.bucket, b.due_date, &b.vin)));
    Ok(MileageReport {
        at,
        rows,
        without_forecast,
    })
}

async fn row<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    vehicle: &VehicleFacts,
    due: &ServiceDue,
    at: NaiveDate,
) -> Result<MileageRow, StoreError> {
    let customer = base.customer(&vehicle.customer_id);
    let last_maintenance = customer.and_then(|c| {
        c.visits
            .iter()
            .rev()
            .filter(|v| v.vin == vehicle.vin && v.closed_on <= at)
            .find(|v| v.kind.is_scheduled_maintenance())
            .map(|v| WorkOrderRef {
                work_order_id: v.work_order_id.clone(),
                closed_on: v.closed_on,
            })
    });
    // The latest reading the forecast trusts: a typo or a rollback it flagged would make the
    // km driven a million or nothing.
    let untrusted = |r: &domain::Reading| due.flags.iter().any(|f| f.sets_aside(r));
    let last_reading = repos
        .readings
        .for_vehicle(&vehicle.vin)
        .await?
        .into_iter()
        .filter(|r| r.date <= at && !untrusted(r))
        .max_by_key(|r| (r.date, r.km));
    let start_km = due.service.km;
    let end_km = match last_reading {
        Some(r) => {
            let since = (at - r.date).num_days().max(0) as f64;
            (f64::from(r.km) + due.km_per_day * since).round() as u32
        }
        None => start_km,
    };
    let days_left = (due.due_date - at).num_days();
    Ok(MileageRow {
        bucket: DueBucket::of_days(days_left),
        vin: vehicle.vin.clone(),
        make: vehicle.make.clone(),
        model: vehicle.model.clone(),
        customer_id: vehicle.customer_id.clone(),
        owner: customer.map(|c| c.first_name.clone()).unwrap_or_default(),
        last_maintenance,
        start_km,
        driven_km: end_km.saturating_sub(start_km),
        end_km,
        km_per_day: due.km_per_day,
        due_date: due.due_date,
        days_left,
        due_km: due.due_km,
        limit: due.limit,
        p10: due.p10,
        p90: due.p90,
    })
}
