//! «Потерянные клиенты»: the customers whose status is `lost` on the report day (the domain's
//! rule and the policy's threshold), by how many visits they made, with what they brought over
//! the period.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::policy::Policy;
use domain::status::CustomerStatus;
use domain::Money;
use rust_decimal::Decimal;

use super::base::{Base, Period};
use super::export::date_ru;
use super::table::{Cell, ColumnKind, Table};

/// How many visits a customer made, in the dealer's bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VisitBand {
    UpTo3,
    From4To7,
    From8To10,
    From11To20,
    From21,
}

impl VisitBand {
    pub const ALL: [VisitBand; 5] = [
        VisitBand::UpTo3,
        VisitBand::From4To7,
        VisitBand::From8To10,
        VisitBand::From11To20,
        VisitBand::From21,
    ];

    pub fn of(visits: u32) -> Self {
        match visits {
            0..=3 => VisitBand::UpTo3,
            4..=7 => VisitBand::From4To7,
            8..=10 => VisitBand::From8To10,
            11..=20 => VisitBand::From11To20,
            _ => VisitBand::From21,
        }
    }

    pub fn label_ru(self) -> &'static str {
        match self {
            VisitBand::UpTo3 => "≤ 3 визитов",
            VisitBand::From4To7 => "4–7 визитов",
            VisitBand::From8To10 => "8–10 визитов",
            VisitBand::From11To20 => "11–20 визитов",
            VisitBand::From21 => "21+ визитов",
        }
    }
}

/// One lost customer.
#[derive(Debug, Clone, PartialEq)]
pub struct LostRow {
    /// The band of every visit up to the report day.
    pub band: VisitBand,
    pub customer_id: String,
    pub first_name: String,
    pub vins: Vec<String>,
    pub visits: u32,
    pub last_visit: NaiveDate,
    pub last_work_order: String,
    pub days_since_last_visit: i64,
    pub visits_in_period: u32,
    pub revenue: Money,
    /// Revenue minus cost over the period.
    pub margin: Decimal,
}

/// Lost customers on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct LostReport {
    pub at: NaiveDate,
    pub period: Period,
    /// Every customer of the base by status on the report day.
    pub statuses: BTreeMap<CustomerStatus, usize>,
    /// By band, then the longest gone first.
    pub rows: Vec<LostRow>,
}

impl LostReport {
    pub fn count(&self, band: VisitBand) -> usize {
        self.rows.iter().filter(|r| r.band == band).count()
    }

    pub fn table(&self) -> Table {
        let mut table = Table::new(
            format!(
                "Потерянные клиенты на {}; выручка и маржа {}",
                date_ru(self.at),
                self.period.label_ru()
            ),
            format!("Потерянные на {}", date_ru(self.at)),
        )
        .column("Визитов (группа)", ColumnKind::Text)
        .column("Клиент", ColumnKind::Text)
        .column("Имя", ColumnKind::Text)
        .column("Автомобили (VIN)", ColumnKind::Text)
        .column("Визитов всего", ColumnKind::Integer)
        .column("Последний визит", ColumnKind::Date)
        .column("Последний заказ-наряд", ColumnKind::Text)
        .column("Дней без визита", ColumnKind::Integer)
        .column("Визитов за период", ColumnKind::Integer)
        .column("Выручка за период, ₽", ColumnKind::Money)
        .column("Маржа за период, ₽", ColumnKind::Money);
        for r in &self.rows {
            table.push(vec![
                r.band.label_ru().into(),
                r.customer_id.as_str().into(),
                r.first_name.as_str().into(),
                r.vins.join(", ").into(),
                Cell::int(r.visits),
                r.last_visit.into(),
                r.last_work_order.as_str().into(),
                Cell::int(r.days_since_last_visit),
                Cell::int(r.visits_in_period),
                Cell::money(r.revenue),
                Cell::Money(r.margin),
            ]);
        }
        table
    }
}

/// The customers of the base who are lost on `at`, with revenue and margin over `period`.
pub fn lost_report(base: &Base, policy: &Policy, at: NaiveDate, period: Period) -> LostReport {
    let mut statuses = BTreeMap::new();
    let mut rows = Vec::new();
    for customer in &base.customers {
        let status = customer.status(policy, at);
        *statuses.entry(status).or_default() += 1;
        if status != CustomerStatus::Lost {
            continue;
        }
        let Some(last) = customer.last_visit_by(at) else {
            continue;
        };
        let visits = customer.visits.iter().filter(|v| v.closed_on <= at).count() as u32;
        let activity = customer.activity(&period);
        rows.push(LostRow {
            band: VisitBand::of(visits),
            customer_id: customer.customer_id.clone(),
            first_name: customer.first_name.clone(),
            vins: customer.vins.clone(),
            visits,
            last_visit: last.closed_on,
            last_work_order: last.work_order_id.clone(),
            days_since_last_visit: (at - last.closed_on).num_days(),
            visits_in_period: activity.visits,
            revenue: activity.revenue,
            margin: activity.margin,
        });
    }
    rows.sort_by(|a, b| {
        (a.band, a.last_visit, &a.customer_id).cmp(&(b.band, b.last_visit, &b.customer_id))
    });
    LostReport {
        at,
        period,
        statuses,
        rows,
    }
}
