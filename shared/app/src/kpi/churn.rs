//! Churn reasons from the conversation: the answers to «Уже обслужился» given in the period
//! (serviced here, at another garage, the car sold, and any reason stored later such as
//! "moved"), as kept under the cycles they closed. Sliced by the car's age band on the day of
//! the answer, the stage answered and the advisor of the car's last visit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::KpiQuery;

/// The stored reasons, in the order reports list them.
pub const REASONS: [&str; 4] = ["serviced_elsewhere", "sold", "moved", "serviced_here"];

/// Answers of one slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Churn {
    pub answers: u64,
    /// By the stored reason (`serviced_elsewhere`, `sold`, `moved`, `serviced_here`, ...).
    pub by_reason: BTreeMap<String, u64>,
}

impl Churn {
    /// Answers that mean the customer went elsewhere or left: all but «у нас».
    pub fn lost(&self) -> u64 {
        self.answers - self.count("serviced_here")
    }

    pub fn count(&self, reason: &str) -> u64 {
        self.by_reason.get(reason).copied().unwrap_or(0)
    }
}

impl Figures for Churn {}

pub fn churn(facts: &Facts<'_>, query: &KpiQuery) -> Breakdown<Churn> {
    let mut tally = Tally::<Churn>::default();
    for closure in &facts.closures {
        if closure.on < query.from || closure.on > query.to {
            continue;
        }
        let tags = Tags {
            age_band: facts.age_band(&closure.vin, closure.on),
            stage: closure.stage,
            advisor: facts.advisor_before(&closure.vin, closure.on),
            ..Tags::default()
        };
        tally.add(&tags, |c| {
            c.answers += 1;
            *c.by_reason.entry(closure.reason.clone()).or_default() += 1;
        });
    }
    tally.finish()
}
