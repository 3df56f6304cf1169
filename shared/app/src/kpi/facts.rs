//! What the KPIs are computed from, read once: the base (vehicles, customers, visits), the
//! messages of the period with their reactions and bookings (the offers report's rows), and per
//! customer and vehicle the delivery statuses, conversion credits, points, forecasts before
//! visits and the answers that closed cycles.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::status::{age_band, AgeBand};
use domain::triggers::Stage;
use serde::Deserialize;
use store::repo::{Repos, StoredDelivery};
use store::{Store, StoreError};

use super::accuracy::ForecastBefore;
use super::breakdown::Tags;
use super::KpiQuery;
use crate::conversions::ConversionRecord;
use crate::reports::{offers_report, Base, OfferRow, OffersFilter, Period, VisitFacts};

/// A conversion credit: the visit a message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub work_order_id: String,
    pub stage: Stage,
    pub rule: Option<String>,
}

/// Points granted for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsFact {
    pub customer_id: String,
    /// The dealer's day they were granted.
    pub on: NaiveDate,
    pub points: i64,
    pub offer_id: Option<String>,
}

/// An answer that closed a cycle («Уже обслужился»: here, elsewhere, sold; "moved" and any
/// later reason are kept as they are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureFact {
    pub vin: String,
    /// `serviced_here`, `serviced_elsewhere`, `sold`, ...
    pub reason: String,
    pub on: NaiveDate,
    pub stage: Option<Stage>,
}

#[derive(Debug, Deserialize)]
struct PointsOf {
    #[serde(default)]
    offer_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Closure {
    reason: String,
    at: DateTime<Utc>,
    #[serde(default)]
    stage: Option<Stage>,
}

/// Everything read for one computation.
pub struct Facts<'a> {
    pub base: &'a Base,
    pub policy: &'a Policy,
    /// The messages sent in the period.
    pub offers: Vec<OfferRow>,
    /// By offer id.
    pub deliveries: HashMap<String, StoredDelivery>,
    /// By offer id.
    pub credits: HashMap<String, Credit>,
    /// Conversion credits by the work order of the visit.
    pub credited_visits: HashMap<String, Credit>,
    pub points: Vec<PointsFact>,
    /// By work order.
    pub forecasts_before: HashMap<String, ForecastBefore>,
    pub closures: Vec<ClosureFact>,
}

impl<'a> Facts<'a> {
    pub async fn load<S: Store>(
        repos: &Repos<S>,
        base: &'a Base,
        policy: &'a Policy,
        query: &KpiQuery,
    ) -> Result<Facts<'a>, StoreError> {
        let tz = policy.time_zone();
        let period = Period {
            from: Some(query.from),
            to: query.to,
        };
        let offers = offers_report(repos, base, policy, OffersFilter::All, period)
            .await?
            .rows;
        let mut facts = Facts {
            base,
            policy,
            offers,
            deliveries: HashMap::new(),
            credits: HashMap::new(),
            credited_visits: HashMap::new(),
            points: Vec::new(),
            forecasts_before: HashMap::new(),
            closures: Vec::new(),
        };
        for customer in &base.customers {
            let id = &customer.customer_id;
            for d in repos.deliveries.for_customer(id).await? {
                facts.deliveries.insert(d.offer_id.clone(), d);
            }
            for entry in repos.points.ledger::<PointsOf>(id).await? {
                facts.points.push(PointsFact {
                    customer_id: id.clone(),
                    on: entry.at.with_timezone(&tz).date_naive(),
                    points: entry.points,
                    offer_id: entry.detail.offer_id,
                });
            }
            for (work_order_id, note) in repos.visits.forecasts_before(id).await? {
                facts.forecasts_before.insert(work_order_id, note);
            }
        }
        for vehicle in &base.vehicles {
            let vin = &vehicle.vin;
            for c in repos
                .conversions
                .for_vehicle::<ConversionRecord>(vin)
                .await?
            {
                let credit = Credit {
                    work_order_id: c.work_order_id.clone(),
                    stage: c.record.stage,
                    rule: c.record.rule.clone(),
                };
                facts
                    .credited_visits
                    .insert(c.work_order_id.clone(), credit.clone());
                facts.credits.insert(c.record.offer_id, credit);
            }
            for (_, closure) in repos.cycles.closures::<Closure>(vin).await? {
                facts.closures.push(ClosureFact {
                    vin: vin.clone(),
                    reason: closure.reason,
                    on: closure.at.with_timezone(&tz).date_naive(),
                    stage: closure.stage,
                });
            }
        }
        Ok(facts)
    }

    /// The car's age band on `day`, if the car is known.
    pub fn age_band(&self, vin: &str, day: NaiveDate) -> Option<AgeBand> {
        self.base
            .vehicle(vin)
            .map(|v| age_band(v.first_registration, day, self.policy.age_bands()))
    }

    /// The vehicle's visits, oldest first.
    pub fn visits_of<'b>(&'b self, vin: &'b str) -> impl Iterator<Item = &'b VisitFacts> + 'b {
        self.base
            .vehicle(vin)
            .and_then(|v| self.base.customer(&v.customer_id))
            .into_iter()
            .flat_map(|c| c.visits.iter())
            .filter(move |v| v.vin == vin)
    }

    /// The advisor of the vehicle's last visit on or before `day`.
    pub fn advisor_before(&self, vin: &str, day: NaiveDate) -> Option<String> {
        let visits: Vec<&VisitFacts> = self.visits_of(vin).collect();
        visits
            .into_iter()
            .rev()
            .find(|v| v.closed_on <= day)
            .and_then(|v| v.advisor_id.clone())
    }

    /// The tags of a message: its stage and rule, the car's age band and advisor when sent.
    pub fn message_tags(&self, row: &OfferRow) -> Tags {
        let day = row.sent_local.date();
        Tags {
            age_band: self.age_band(&row.vin, day),
            stage: Some(row.stage),
            rule: rule_of(row),
            advisor: self.advisor_before(&row.vin, day),
            stage_rule: false,
        }
    }
}

/// The offer rule that priced a message (its first rule id).
pub fn rule_of(row: &OfferRow) -> Option<String> {
    row.priced
        .as_ref()
        .and_then(|o| o.rule_ids.first().cloned())
}
