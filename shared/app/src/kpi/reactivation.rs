//! Revenue and margin from reactivated customers: a visit in the period reactivates its
//! customer when their previous visit (any of their cars) was more than 12 months before it;
//! that visit and the customer's later visits in the period count. Sliced by the car's age band
//! and the advisor on each visit, and by the stage and offer rule of the message the
//! reactivating visit was credited to (none when it came unprompted).

use domain::forecast::add_months;
use domain::Money;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::KpiQuery;

/// A customer is reactivated by a visit after more than this many months without one.
pub const REACTIVATION_MONTHS: u32 = 12;

/// What reactivated customers brought in one slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reactivation {
    /// Customers reactivated in the period.
    pub customers: u64,
    /// Their visits in the period from the reactivating one on.
    pub visits: u64,
    pub revenue: Money,
    /// Revenue minus cost (negative when the work orders lost money).
    pub margin: Decimal,
}

impl Figures for Reactivation {}

pub fn reactivation(facts: &Facts<'_>, query: &KpiQuery) -> Breakdown<Reactivation> {
    let mut tally = Tally::<Reactivation>::default();
    for customer in &facts.base.customers {
        let mut reactivated_by: Option<Tags> = None;
        for (i, visit) in customer.visits.iter().enumerate() {
            if visit.closed_on < query.from || visit.closed_on > query.to {
                continue;
            }
            let first = reactivated_by.is_none();
            if first {
                let previous = customer.visits[..i].last();
                let lapsed = previous.is_some_and(|p| {
                    add_months(p.closed_on, REACTIVATION_MONTHS) < visit.closed_on
                });
                if !lapsed {
                    continue;
                }
                let credit = facts.credited_visits.get(&visit.work_order_id);
                reactivated_by = Some(Tags {
                    stage: credit.map(|c| c.stage),
                    rule: credit.and_then(|c| c.rule.clone()),
                    ..Tags::default()
                });
            }
            let Some(prompted) = &reactivated_by else {
                continue;
            };
            let tags = Tags {
                age_band: facts.age_band(&visit.vin, visit.closed_on),
                advisor: visit.advisor_id.clone(),
                ..prompted.clone()
            };
            tally.add(&tags, |r| {
                r.customers += u64::from(first);
                r.visits += 1;
                r.revenue = r.revenue + visit.revenue;
                r.margin += visit.margin();
            });
        }
    }
    tally.finish()
}
