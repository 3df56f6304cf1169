//! Trade-in leads: the signs a trade-in manager looks for in an older car's service history
//! (`[trade_in]` in the policy), each a reason code the lead carries.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};

use crate::money::Money;
use crate::policy::Policy;
use crate::values::{Recommendation, VisitKind, WorkOrderLine};

/// One visit of the car as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct VisitFacts<'a> {
    pub closed_on: NaiveDate,
    pub kind: VisitKind,
    pub lines: &'a [WorkOrderLine],
    /// Work recommended at the visit and declined.
    pub recommendations: &'a [Recommendation],
}

/// What the rule looks at for one car on one day.
#[derive(Debug, Clone, Copy)]
pub struct TradeInInput<'a> {
    pub today: NaiveDate,
    pub first_registration: NaiveDate,
    pub warranty_until: Option<NaiveDate>,
    /// The car's visits (any order); only repairs count.
    pub visits: &'a [VisitFacts<'a>],
    /// The satisfaction score of the car's last visit, if the owner gave one.
    pub last_rating: Option<u8>,
}

/// Why a car is a trade-in lead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TradeInReason {
    /// The warranty ended within the policy's window.
    WarrantyEnded,
    /// Repeated repairs of one system (its code prefix or normalised line name).
    RepeatedRepairs(String),
    /// The last visit was rated at or below the policy's maximum.
    LowRating,
    /// At the owner's last visit work estimated at or above the policy's minimum was declined.
    DeclinedEstimate,
}

impl TradeInReason {
    /// The reason's code: `warranty_ended`, `repeated_repairs:<system>`, `low_rating`.
    pub fn code(&self) -> String {
        match self {
            TradeInReason::WarrantyEnded => "warranty_ended".to_owned(),
            TradeInReason::RepeatedRepairs(system) => format!("repeated_repairs:{system}"),
            TradeInReason::LowRating => "low_rating".to_owned(),
            TradeInReason::DeclinedEstimate => "declined_estimate".to_owned(),
        }
    }
}

/// Whether the car is old enough to be a lead on `today`.
pub fn old_enough(policy: &Policy, first_registration: NaiveDate, today: NaiveDate) -> bool {
    let years = policy.trade_in().min_age_years;
    first_registration
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .is_some_and(|line| line <= today)
}

/// The reasons the car is a trade-in lead on `today`; empty when it is not (too young, or no
/// sign).
pub fn trade_in_reasons(policy: &Policy, input: &TradeInInput<'_>) -> Vec<TradeInReason> {
    let rules = policy.trade_in();
    if !old_enough(policy, input.first_registration, input.today) {
        return Vec::new();
    }
    let mut reasons = Vec::new();
    if let Some(until) = input.warranty_until {
        let ended_days = (input.today - until).num_days();
        if ended_days > 0 && ended_days <= i64::from(rules.warranty_ended_within_days) {
            reasons.push(TradeInReason::WarrantyEnded);
        }
    }
    for system in repeated_systems(policy, input) {
        reasons.push(TradeInReason::RepeatedRepairs(system));
    }
    if input
        .last_rating
        .is_some_and(|score| score <= rules.low_rating_max)
    {
        reasons.push(TradeInReason::LowRating);
    }
    if declined_at_last_visit(input) >= Money::from_roubles(rules.declined_estimate_min_rub) {
        reasons.push(TradeInReason::DeclinedEstimate);
    }
    reasons
}

/// The estimate of the work declined at the last visit up to `today` (a later visit is the
/// owner's answer to it, so only the last counts).
fn declined_at_last_visit(input: &TradeInInput<'_>) -> Money {
    input
        .visits
        .iter()
        .filter(|v| v.closed_on <= input.today)
        .max_by_key(|v| v.closed_on)
        .map_or(Money::ZERO, |last| {
            last.recommendations
                .iter()
                .map(Recommendation::estimate)
                .sum()
        })
}

/// The systems repaired on at least `repeated_repairs` repair visits within the window: grouped
/// by line code prefix first, then by normalised line name where the name adds visits the code
/// groups did not already report.
fn repeated_systems(policy: &Policy, input: &TradeInInput<'_>) -> Vec<String> {
    let rules = policy.trade_in();
    let Some(from) = input
        .today
        .checked_sub_months(Months::new(rules.repeated_repairs_months))
    else {
        return Vec::new();
    };
    let mut by_code: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (i, visit) in input.visits.iter().enumerate() {
        if visit.kind != VisitKind::Repair
            || visit.closed_on <= from
            || visit.closed_on > input.today
        {
            continue;
        }
        for line in visit.lines {
            let code = system_of_code(&line.code);
            if !code.is_empty() {
                by_code.entry(code).or_default().insert(i);
            }
            let name = normalised_name(&line.name);
            if !name.is_empty() {
                by_name.entry(name).or_default().insert(i);
            }
        }
    }
    let enough = |visits: &BTreeSet<usize>| visits.len() >= rules.repeated_repairs as usize;
    let mut systems = Vec::new();
    let mut reported: Vec<&BTreeSet<usize>> = Vec::new();
    for (code, visits) in &by_code {
        if enough(visits) {
            systems.push(code.clone());
            reported.push(visits);
        }
    }
    for (name, visits) in &by_name {
        if enough(visits) && !reported.iter().any(|r| visits.is_subset(r)) {
            systems.push(name.clone());
        }
    }
    systems
}

/// A line code's system: the part before the first separator (`BRK-014` → `BRK`), upper case.
fn system_of_code(code: &str) -> String {
    let prefix = code
        .trim()
        .split(['-', '.', '/', ' ', '_'])
        .next()
        .unwrap_or_default();
    slug(&prefix.to_uppercase())
}

/// A line name compared across visits: lower case, words joined by `_`.
fn normalised_name(name: &str) -> String {
    slug(&name.to_lowercase())
}

/// Letters and digits kept, every other run of characters one `_`, at most 60 characters.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed: String = out.trim_end_matches('_').chars().take(60).collect();
    trimmed.trim_end_matches('_').to_owned()
}

/// The calendar quarter of a day: `2026Q4`.
pub fn quarter(day: NaiveDate) -> String {
    format!("{}Q{}", day.year(), (day.month() - 1) / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{LineKind, Quantity, Urgency};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn line(code: &str, name: &str) -> WorkOrderLine {
        WorkOrderLine::parse(
            LineKind::Labor,
            code,
            name,
            Quantity::ONE,
            Money::from_roubles(3000),
            Money::from_roubles(1000),
        )
        .unwrap()
    }

    fn input<'a>(visits: &'a [VisitFacts<'a>]) -> TradeInInput<'a> {
        TradeInInput {
            today: day("2026-11-20"),
            first_registration: day("2022-06-01"),
            warranty_until: None,
            visits,
            last_rating: None,
        }
    }

    #[test]
    fn a_car_younger_than_the_minimum_age_is_never_a_lead() {
        let policy = Policy::default();
        let mut young = input(&[]);
        young.first_registration = day("2024-01-10");
        young.warranty_until = Some(day("2026-11-01"));
        young.last_rating = Some(2);
        assert!(trade_in_reasons(&policy, &young).is_empty());
    }

    #[test]
    fn an_ended_warranty_counts_only_within_the_window() {
        let policy = Policy::default();
        let mut car = input(&[]);
        car.warranty_until = Some(day("2026-10-01"));
        assert_eq!(
            trade_in_reasons(&policy, &car),
            [TradeInReason::WarrantyEnded]
        );
        car.warranty_until = Some(day("2026-08-01"));
        assert!(trade_in_reasons(&policy, &car).is_empty());
        car.warranty_until = Some(day("2026-12-01"));
        assert!(trade_in_reasons(&policy, &car).is_empty());
    }

    #[test]
    fn three_repairs_of_one_system_within_a_year_are_named_by_their_code_prefix() {
        let policy = Policy::default();
        let brakes = [line("BRK-014", "Замена тормозных колодок")];
        let pads = [line("BRK-020", "Проточка дисков")];
        let other = [line("ENG-001", "Замена ремня")];
        let visits = [
            VisitFacts {
                closed_on: day("2026-01-15"),
                kind: VisitKind::Repair,
                lines: &brakes,
                recommendations: &[],
            },
            VisitFacts {
                closed_on: day("2026-05-15"),
                kind: VisitKind::Repair,
                lines: &pads,
                recommendations: &[],
            },
            VisitFacts {
                closed_on: day("2026-09-15"),
                kind: VisitKind::Repair,
                lines: &brakes,
                recommendations: &[],
            },
            VisitFacts {
                closed_on: day("2026-10-15"),
                kind: VisitKind::Maintenance,
                lines: &other,
                recommendations: &[],
            },
        ];
        let reasons = trade_in_reasons(&policy, &input(&visits));
        assert_eq!(reasons, [TradeInReason::RepeatedRepairs("BRK".into())]);
        assert_eq!(reasons[0].code(), "repeated_repairs:BRK");
        let two = &visits[1..];
        assert!(trade_in_reasons(&policy, &input(two)).is_empty());
    }

    #[test]
    fn the_same_repair_under_different_codes_is_found_by_its_name() {
        let policy = Policy::default();
        let a = [line("A1", "Замена  стартера")];
        let b = [line("B2", "замена стартера")];
        let c = [line("C3", "Замена стартера.")];
        let visits: Vec<VisitFacts<'_>> = [&a[..], &b[..], &c[..]]
            .into_iter()
            .enumerate()
            .map(|(i, lines)| VisitFacts {
                closed_on: day("2026-03-01") + chrono::Days::new(30 * i as u64),
                kind: VisitKind::Repair,
                lines,
                recommendations: &[],
            })
            .collect();
        assert_eq!(
            trade_in_reasons(&policy, &input(&visits)),
            [TradeInReason::RepeatedRepairs("замена_стартера".into())]
        );
    }

    #[test]
    fn a_low_last_rating_is_a_reason() {
        let policy = Policy::default();
        let mut car = input(&[]);
        car.last_rating = Some(6);
        assert_eq!(trade_in_reasons(&policy, &car), [TradeInReason::LowRating]);
        car.last_rating = Some(7);
        assert!(trade_in_reasons(&policy, &car).is_empty());
    }

    fn declined(labor: u32, parts: u32) -> Recommendation {
        Recommendation {
            code: "SUS-010".into(),
            name: "Замена амортизаторов".into(),
            urgency: Urgency::Soon,
            labor_estimate: Money::from_roubles(labor),
            parts_estimate: Money::from_roubles(parts),
        }
    }

    #[test]
    fn a_costly_estimate_declined_at_the_last_visit_is_a_reason() {
        let policy = Policy::default();
        let lines = [line("TO-60", "ТО-6")];
        let costly = [declined(18_000, 32_000)];
        let cheap = [declined(9_000, 20_000)];
        let pair = [cheap[0].clone(), cheap[0].clone()];
        let visit = |closed_on: &str, recommendations| VisitFacts {
            closed_on: day(closed_on),
            kind: VisitKind::Maintenance,
            lines: &lines,
            recommendations,
        };
        let last_declined = [
            visit("2026-02-01", &cheap[..]),
            visit("2026-10-01", &costly[..]),
        ];
        assert_eq!(
            trade_in_reasons(&policy, &input(&last_declined)),
            [TradeInReason::DeclinedEstimate]
        );
        assert_eq!(TradeInReason::DeclinedEstimate.code(), "declined_estimate");
        // Two cheap jobs add up; a visit after the costly one is the owner's answer to it.
        let two_cheap = [visit("2026-10-01", &pair[..])];
        assert_eq!(
            trade_in_reasons(&policy, &input(&two_cheap)),
            [TradeInReason::DeclinedEstimate]
        );
        let answered = [
            visit("2026-02-01", &costly[..]),
            visit("2026-10-01", &[][..]),
        ];
        assert!(trade_in_reasons(&policy, &input(&answered)).is_empty());
        let below = [visit("2026-10-01", &cheap[..])];
        assert!(trade_in_reasons(&policy, &input(&below)).is_empty());
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        assert_eq!(quarter(day("2026-01-01")), "2026Q1");
        assert_eq!(quarter(day("2026-06-30")), "2026Q2");
        assert_eq!(quarter(day("2026-12-31")), "2026Q4");
    }
}
