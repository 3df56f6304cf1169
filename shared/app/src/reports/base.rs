//! The customer base as the reports read it: every vehicle, every customer with their visits'
//! days, work orders, revenue and cost, loaded once and shared by the reports.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::forecast::add_months;
use domain::policy::Policy;
use domain::segments::CustomerActivity;
use domain::status::{customer_status, CustomerStatus, StatusFacts};
use domain::{Consents, Customer, Money, Vehicle, VisitKind};
use rust_decimal::Decimal;
use store::repo::Repos;
use store::{Store, StoreError};

use super::export::date_ru;

/// Vehicles read per scan page.
const SCAN_PAGE: u32 = 1_000;

/// The days a report covers, both ends included; no start means the whole history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
}

impl Period {
    /// The whole history up to `to`.
    pub fn until(to: NaiveDate) -> Self {
        Period { from: None, to }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        day <= self.to && self.from.is_none_or(|from| day >= from)
    }

    /// `с 01.01.2026 по 12.11.2026`, or `за всё время по 12.11.2026`.
    pub fn label_ru(&self) -> String {
        match self.from {
            Some(from) => format!("с {} по {}", date_ru(from), date_ru(self.to)),
            None => format!("за всё время по {}", date_ru(self.to)),
        }
    }
}

/// A vehicle with its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleFacts {
    pub vin: String,
    pub customer_id: String,
    pub make: String,
    pub model: String,
    pub first_registration: NaiveDate,
}

impl VehicleFacts {
    /// `Toyota Camry`.
    pub fn car(&self) -> String {
        format!("{} {}", self.make, self.model)
    }
}

/// One closed work order.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    pub work_order_id: String,
    pub vin: String,
    /// The dealer's day it closed.
    pub closed_on: NaiveDate,
    pub kind: VisitKind,
    pub odometer_km: u32,
    pub revenue: Money,
    pub cost: Money,
    /// The service advisor on the work order, when the CRM named one.
    pub advisor_id: Option<String>,
}

impl VisitFacts {
    /// Revenue minus cost; negative when the work order lost money.
    pub fn margin(&self) -> Decimal {
        self.revenue.amount() - self.cost.amount()
    }
}

/// A customer with their vehicles and visits.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFacts {
    pub customer_id: String,
    /// Empty when the profile was forgotten.
    pub first_name: String,
    pub consents: Consents,
    pub opted_out: bool,
    /// VINs, sorted.
    pub vins: Vec<String>,
    /// The maintenance interval (months) of each vehicle of `vins`, in the same order.
    pub interval_months: Vec<u32>,
    /// Oldest first.
    pub visits: Vec<VisitFacts>,
}

impl CustomerFacts {
    /// The customer's status on `today` (the domain's rules, the policy's thresholds), from
    /// the car least overdue: a customer is sleeping or lost only when every car is. Reports
    /// look at any day of the history, so each car's due date is its last maintenance (else
    /// its last visit) on or before `today` plus its schedule's months, not the night's
    /// forecast (which is as of the last run); the km limit can make a high-mileage car due
    /// earlier, so a report may call such a customer sleeping later than the evaluator does.
    pub fn status(&self, policy: &Policy, today: NaiveDate) -> CustomerStatus {
        let days: Vec<NaiveDate> = self.visits.iter().map(|v| v.closed_on).collect();
        let due = self
            .vins
            .iter()
            .zip(&self.interval_months)
            .filter_map(|(vin, months)| {
                let mut own = self
                    .visits
                    .iter()
                    .rev()
                    .filter(|v| v.vin == *vin && v.closed_on <= today);
                let last = own.clone().find(|v| v.kind.is_scheduled_maintenance());
                let last = last.or_else(|| own.next())?;
                Some((add_months(last.closed_on, *months), *months))
            })
            .max();
        let facts = StatusFacts {
            visit_days: &days,
            due: due.map(|(d, _)| d),
            interval_months: due.map_or(policy.schedules().default.months, |(_, m)| m),
            opted_out: self.opted_out,
        };
        customer_status(&facts, today, policy.thresholds())
    }

    /// Visits closed within the period.
    pub fn visits_in<'a>(&'a self, period: &'a Period) -> impl Iterator<Item = &'a VisitFacts> {
        self.visits.iter().filter(|v| period.contains(v.closed_on))
    }

    /// The last visit on or before `day`.
    pub fn last_visit_by(&self, day: NaiveDate) -> Option<&VisitFacts> {
        self.visits.iter().rev().find(|v| v.closed_on <= day)
    }

    /// What the customer did over the period, for RFM and ABC: visits, revenue and margin in
    /// the period; the last visit on or before its end, however long ago.
    pub fn activity(&self, period: &Period) -> CustomerActivity {
        let mut activity = CustomerActivity {
            last_visit: self.last_visit_by(period.to).map(|v| v.closed_on),
            visits: 0,
            revenue: Money::ZERO,
            margin: Decimal::ZERO,
        };
        for visit in self.visits_in(period) {
            activity.visits += 1;
            activity.revenue = activity.revenue + visit.revenue;
            activity.margin += visit.margin();
        }
        activity
    }
}

/// Every vehicle and customer of the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Base {
    /// By VIN.
    pub vehicles: Vec<VehicleFacts>,
    /// By customer id.
    pub customers: Vec<CustomerFacts>,
}

impl Base {
    /// Reads every vehicle (one scan), then each owner's profile and visits.
    pub async fn load<S: Store>(repos: &Repos<S>, policy: &Policy) -> Result<Base, StoreError> {
        let mut vehicles = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = repos
                .vehicles
                .scan::<Vehicle>(0, 1, cursor, SCAN_PAGE)
                .await?;
            vehicles.extend(
                page.into_iter()
                    .map(|v| vehicle_facts(&v.vin, &v.customer_id, &v.vehicle)),
            );
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Self::assemble(repos, policy, vehicles).await
    }

    /// Reads one customer's vehicles, profile and visits; `None` when the store has none of them.
    pub async fn load_customer<S: Store>(
        repos: &Repos<S>,
        policy: &Policy,
        customer_id: &str,
    ) -> Result<Option<Base>, StoreError> {
        let vehicles: Vec<VehicleFacts> = repos
            .vehicles
            .for_customer::<Vehicle>(customer_id)
            .await?
            .iter()
            .map(|v| vehicle_facts(&v.vin, &v.customer_id, &v.vehicle))
            .collect();
        if vehicles.is_empty() {
            return Ok(None);
        }
        Self::assemble(repos, policy, vehicles).await.map(Some)
    }

    async fn assemble<S: Store>(
        repos: &Repos<S>,
        policy: &Policy,
        mut vehicles: Vec<VehicleFacts>,
    ) -> Result<Base, StoreError> {
        vehicles.sort_by(|a, b| a.vin.cmp(&b.vin));
        let mut vins: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for v in &vehicles {
            vins.entry(&v.customer_id).or_default().push(v.vin.clone());
        }
        let tz = policy.time_zone();
        let mut customers = Vec::with_capacity(vins.len());
        for (customer_id, vins) in vins {
            let profile = repos.customers.get::<Customer>(customer_id).await?;
            let visits = repos
                .visits
                .for_customer::<domain::Visit>(customer_id)
                .await?
                .into_iter()
                .map(|v| VisitFacts {
                    work_order_id: v.work_order_id,
                    vin: v.vin,
                    closed_on: v.visit.closed_on(tz),
                    kind: v.visit.kind(),
                    odometer_km: v.visit.odometer().km(),
                    revenue: v.visit.total_price(),
                    cost: v.visit.total_cost(),
                    advisor_id: v.visit.advisor_id().map(|a| a.as_str().to_owned()),
                })
                .collect();
            let interval_months = vins
                .iter()
                .filter_map(|vin| {
                    let i = vehicles.binary_search_by(|v| v.vin.as_str().cmp(vin));
                    i.ok().map(|i| &vehicles[i])
                })
                .map(|v| policy.schedule_for(&v.make, &v.model).months)
                .collect();
            customers.push(CustomerFacts {
                customer_id: customer_id.to_owned(),
                first_name: profile
                    .as_ref()
                    .map(|c| c.profile.first_name.as_str().to_owned())
                    .unwrap_or_default(),
                consents: profile
                    .as_ref()
                    .map(|c| c.profile.consents)
                    .unwrap_or_default(),
                opted_out: profile.as_ref().is_some_and(|c| c.opted_out()),
                vins,
                interval_months,
                visits,
            });
        }
        Ok(Base {
            vehicles,
            customers,
        })
    }

    pub fn customer(&self, customer_id: &str) -> Option<&CustomerFacts> {
        self.customers
            .binary_search_by(|c| c.customer_id.as_str().cmp(customer_id))
            .ok()
            .map(|i| &self.customers[i])
    }

    pub fn vehicle(&self, vin: &str) -> Option<&VehicleFacts> {
        self.vehicles
            .binary_search_by(|v| v.vin.as_str().cmp(vin))
            .ok()
            .map(|i| &self.vehicles[i])
    }
}

fn vehicle_facts(vin: &str, customer_id: &str, vehicle: &Vehicle) -> VehicleFacts {
    VehicleFacts {
        vin: vin.to_owned(),
        customer_id: customer_id.to_owned(),
        make: vehicle.make().as_str().to_owned(),
        model: vehicle.model().as_str().to_owned(),
        first_registration: vehicle.first_registration(),
    }
}
