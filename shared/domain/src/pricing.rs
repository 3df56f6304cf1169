//! Offer pricing: the proposed work order for the due service, priced by the policy's rule for
//! the customer's status and the car's age band, never discounting parts and never below the
//! margin floor, with perks, a timed gift and mid-week bonus points.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc, Weekday};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::contact::local_instant;
use crate::money::Money;
use crate::policy::{BonusMode, Percent, Policy};
use crate::status::{AgeBand, CustomerStatus};
use crate::values::{LineKind, Quantity, Recommendation, WorkOrderLine};

/// Rule id reported when the margin floor shrank the discount.
pub const MARGIN_FLOOR_RULE: &str = "margin_floor";
/// Rule id reported when the offer carries mid-week bonus points.
pub const WEEKDAY_BONUS_RULE: &str = "weekday_bonus";

/// What the offer is for.
#[derive(Debug, Clone, Copy)]
pub struct OfferInput<'a> {
    pub status: CustomerStatus,
    pub age_band: AgeBand,
    pub make: &'a str,
    pub model: &'a str,
    /// The lines of the customer's last maintenance work order (may be empty).
    pub last_maintenance: &'a [WorkOrderLine],
    /// When the offer is made.
    pub at: DateTime<Utc>,
}

/// Where the proposed work order comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LinesFrom {
    Package {
        id: String,
    },
    LastMaintenance,
    /// The work recommended at a visit and declined, at its estimates.
    DeclinedWork,
}

/// One line of the proposed work order with its discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferLine {
    pub kind: LineKind,
    pub code: String,
    pub name: String,
    pub qty: Quantity,
    pub unit_price: Money,
    /// Unit price × quantity.
    pub list_price: Money,
    /// Always zero on a part.
    pub discount: Money,
    /// What the customer pays for the line.
    pub price: Money,
}

/// The dealer's margin on a work order: price minus cost, and its share of the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Margin {
    /// Negative when the work order is sold below cost.
    pub amount: Decimal,
    /// Percent of the price, two decimals; 0 for a free work order.
    pub percent: Decimal,
}

/// A perk in the offer; a gift has a booking deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferPerk {
    pub id: String,
    pub name: String,
    /// Book before this to get it (gifts only).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why the offer differs from what its rule asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Adjustment {
    /// The rule's discount would take the margin below the floor; the discount shrank to fit
    /// (to zero when even the list price is below the floor).
    MarginFloor {
        wanted_percent: Decimal,
        granted_percent: Decimal,
        floor_percent: Percent,
    },
    /// The rule offers a package but none fits the car: priced at list price.
    NoPackageForCar,
}

/// A priced personal offer, with everything the advisor needs to see why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The offer rule that matched, then `margin_floor` and `weekday_bonus` when they applied.
    pub rule_ids: Vec<String>,
    pub lines_from: LinesFrom,
    pub lines: Vec<OfferLine>,
    pub list_price: Money,
    pub final_price: Money,
    /// The discount on the labour lines as a share of their list price.
    pub labor_discount_percent: Decimal,
    /// Always zero: parts are never discounted.
    pub parts_discount: Money,
    pub customer_saving: Money,
    pub margin_before: Margin,
    pub margin_after: Margin,
    /// The package price when the offer is a fixed-price package.
    pub package_price: Option<Money>,
    /// Points for booking on one of `weekday_bonus_days` or `bonus_dates`.
    pub weekday_bonus_points: u32,
    pub weekday_bonus_days: Vec<String>,
    /// The policy's `load` bonus mode: the idle days the bonus is on (set when the offer is
    /// priced from the workshop's coming load; empty in the weekdays mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bonus_dates: Vec<NaiveDate>,
    pub perks: Vec<OfferPerk>,
    /// The end of the offer's last valid day (dealer time).
    pub expires_at: DateTime<Utc>,
    pub adjustments: Vec<Adjustment>,
}

/// Why no offer could be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("no maintenance package fits the car and the customer has no maintenance on record")]
    NothingToPrice,
}

/// Basis points (hundredths of a percent) of a percentage.
fn basis_points(p: Percent) -> u64 {
    (p.value() * Decimal::ONE_HUNDRED)
        .round()
        .to_u64()
        .unwrap_or(0)
}

fn percent_of(part: u64, whole: u64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    let bp = (u128::from(part) * 10_000 * 2 + u128::from(whole)) / (u128::from(whole) * 2);
    Decimal::new(bp as i64, 2)
}

fn margin(revenue: u64, cost: u64) -> Margin {
    let amount = Decimal::new(revenue as i64 - cost as i64, 2);
    let percent = if revenue == 0 {
        Decimal::ZERO
    } else {
        (amount * Decimal::ONE_HUNDRED / Decimal::new(revenue as i64, 2))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    };
    Margin { amount, percent }
}

/// The end of the local day `days` after `at`'s local day.
fn end_of_local_day(policy: &Policy, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let tz = policy.time_zone();
    let last = at.with_timezone(&tz).date_naive() + Days::new(u64::from(days));
    local_instant(tz, last + Days::new(1), NaiveTime::MIN) - chrono::Duration::seconds(1)
}

/// Bonus points for a booking on `day`: the policy's points on its bonus weekdays, else 0.
pub fn weekday_bonus(policy: &Policy, day: NaiveDate) -> u32 {
    use chrono::Datelike;
    let rules = policy.pricing();
    if rules.weekday_bonus_days.contains(day.weekday()) {
        rules.weekday_bonus_points
    } else {
        0
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Prices the offer for the due service.
///
/// The work order is the policy's package for the car when the rule offers a package; otherwise
/// a package for the car's make or model, else the customer's last maintenance lines, else a
/// package for every make. The rule's discount (or the package price) comes off labour only;
/// if it would take the margin below the floor it shrinks to fit (to a whole percent of labour,
/// or a package price in whole roubles), down to none.
pub fn price_offer(policy: &Policy, input: &OfferInput<'_>) -> Result<Offer, PricingError> {
    let rule = policy.offer_rule(input.status, input.age_band);
    let mut adjustments = Vec::new();
    let package = policy.package_for(input.make, input.model);
    let wants_package = rule.is_some_and(|r| r.package);
    let (lines_from, base, package_price) = match package {
        Some(p) if wants_package => (
            LinesFrom::Package { id: p.id.clone() },
            &p.lines[..],
            Some(p.price),
        ),
        _ => {
            if wants_package {
                adjustments.push(Adjustment::NoPackageForCar);
            }
            match package {
                Some(p) if p.make.is_some() => {
                    (LinesFrom::Package { id: p.id.clone() }, &p.lines[..], None)
                }
                _ if !input.last_maintenance.is_empty() => {
                    (LinesFrom::LastMaintenance, input.last_maintenance, None)
                }
                Some(p) => (LinesFrom::Package { id: p.id.clone() }, &p.lines[..], None),
                None => return Err(PricingError::NothingToPrice),
            }
        }
    };
    Ok(priced(
        policy,
        input,
        lines_from,
        base,
        package_price,
        adjustments,
    ))
}

/// Prices work the customer declined at a visit (lines from [`declined_work_lines`]) by the
/// same rule as the due service: the rule's labour discount, never on parts, never below the
/// margin floor.
pub fn price_declined_work(
    policy: &Policy,
    input: &OfferInput<'_>,
    lines: &[WorkOrderLine],
) -> Result<Offer, PricingError> {
    if lines.is_empty() {
        return Err(PricingError::NothingToPrice);
    }
    Ok(priced(
        policy,
        input,
        LinesFrom::DeclinedWork,
        lines,
        None,
        Vec::new(),
    ))
}

/// The work order of declined recommendations, a labour line and a parts line per job at its
/// estimates. Their cost is not in the estimate: it is taken at the cost share of the same kind
/// of lines on the visit that recommended the work (the workshop's own labour rate and parts
/// mark-up that day); without such lines at cost, so the margin floor allows no discount.
pub fn declined_work_lines(
    recommendations: &[&Recommendation],
    visit_lines: &[WorkOrderLine],
) -> Vec<WorkOrderLine> {
    let share = |kind: LineKind| {
        let (price, cost) = visit_lines
            .iter()
            .filter(|l| l.kind == kind)
            .fold((Money::ZERO, Money::ZERO), |(p, c), l| {
                (p + l.total_price(), c + l.total_cost())
            });
        if price == Money::ZERO {
            Decimal::ONE
        } else {
            (cost.amount() / price.amount()).min(Decimal::ONE)
        }
    };
    let (labor_share, parts_share) = (share(LineKind::Labor), share(LineKind::Part));
    let mut lines = Vec::new();
    for r in recommendations {
        let jobs = [
            (
                LineKind::Labor,
                r.labor_estimate,
                labor_share,
                r.name.clone(),
            ),
            (
                LineKind::Part,
                r.parts_estimate,
                parts_share,
                // A name at the length limit is cut to leave room for the prefix.
                format!("Запчасти: {}", r.name)
                    .chars()
                    .take(crate::values::LINE_NAME_MAX)
                    .collect(),
            ),
        ];
        for (kind, price, share, name) in jobs {
            if price == Money::ZERO {
                continue;
            }
            if let Ok(line) =
                WorkOrderLine::parse(kind, &r.code, &name, Quantity::ONE, price, price * share)
            {
                lines.push(line);
            }
        }
    }
    lines
}

/// The offer for `base` lines: the rule's discount (or the package price) off labour only,
/// shrunk to the margin floor; perks, gift and bonus points by the rule and the policy.
fn priced(
    policy: &Policy,
    input: &OfferInput<'_>,
    lines_from: LinesFrom,
    base: &[WorkOrderLine],
    package_price: Option<Money>,
    mut adjustments: Vec<Adjustment>,
) -> Offer {
    let rule = policy.offer_rule(input.status, input.age_band);

    let mut labor = 0u64;
    let mut revenue = 0u64;
    let mut cost = 0u64;
    let mut totals = Vec::with_capacity(base.len());
    for line in base {
        let price = line.total_price().kopecks();
        revenue += price;
        cost += line.total_cost().kopecks();
        if line.kind == LineKind::Labor {
            labor += price;
        }
        totals.push(price);
    }

    let wanted = match (package_price, rule) {
        (Some(p), _) => revenue.saturating_sub(p.kopecks()).min(labor),
        (None, Some(r)) => (labor * basis_points(r.labor_discount) + 5_000) / 10_000,
        (None, None) => 0,
    };
    let floor = &policy.pricing().margin_floor;
    let floor_bp = basis_points(*floor).min(9_999);
    let min_revenue = {
        let keep = 10_000 - floor_bp;
        let needed = (u128::from(cost) * 10_000).div_ceil(u128::from(keep));
        u64::try_from(needed)
            .unwrap_or(u64::MAX)
            .max(u64::from(revenue > 0))
    };
    let allowed = revenue.saturating_sub(min_revenue).min(labor);
    let discount = if wanted <= allowed {
        wanted
    } else if package_price.is_some() {
        // A shrunk package price stays in whole roubles.
        allowed - allowed % 100
    } else {
        // A shrunk discount stays a whole percent of labour, so the customer reads "10 %",
        // not "9.73 %"; rounding down keeps the margin above the floor.
        let whole_percent = u128::from(allowed) * 100 / u128::from(labor.max(1));
        u64::try_from(u128::from(labor) * whole_percent / 100).unwrap_or(0)
    };
    if discount < wanted {
        adjustments.push(Adjustment::MarginFloor {
            wanted_percent: percent_of(wanted, labor),
            granted_percent: percent_of(discount, labor),
            floor_percent: *floor,
        });
    }

    let mut shares: Vec<u64> = base
        .iter()
        .zip(&totals)
        .map(|(line, &t)| match line.kind {
            LineKind::Labor if labor > 0 => {
                (u128::from(discount) * u128::from(t) / u128::from(labor)) as u64
            }
            _ => 0,
        })
        .collect();
    let mut rest = discount - shares.iter().sum::<u64>();
    for ((line, &t), share) in base.iter().zip(&totals).zip(shares.iter_mut()) {
        if rest == 0 {
            break;
        }
        if line.kind == LineKind::Labor {
            let extra = rest.min(t - *share);
            *share += extra;
            rest -= extra;
        }
    }

    let lines = base
        .iter()
        .zip(totals.iter().zip(&shares))
        .map(|(line, (&t, &d))| OfferLine {
            kind: line.kind,
            code: line.code.clone(),
            name: line.name.clone(),
            qty: line.qty,
            unit_price: line.price,
            list_price: Money::from_kopecks(t),
            discount: Money::from_kopecks(d),
            price: Money::from_kopecks(t - d),
        })
        .collect();

    let pricing = policy.pricing();
    let mut rule_ids = Vec::with_capacity(3);
    if let Some(r) = rule {
        rule_ids.push(r.id.clone());
    }
    if discount < wanted {
        rule_ids.push(MARGIN_FLOOR_RULE.to_owned());
    }
    // In the load mode the days are the workshop's idle ones, chosen by the caller from the
    // store (`app`), which drops the bonus when none is idle.
    let bonus_days: Vec<String> = match pricing.bonus_mode {
        BonusMode::Weekdays => pricing
            .weekday_bonus_days
            .iter(Weekday::Mon)
            .map(|d| weekday_name(d).to_owned())
            .collect(),
        BonusMode::Load => Vec::new(),
    };
    let bonus = if bonus_days.is_empty() && pricing.bonus_mode == BonusMode::Weekdays {
        0
    } else {
        pricing.weekday_bonus_points
    };
    if bonus > 0 {
        rule_ids.push(WEEKDAY_BONUS_RULE.to_owned());
    }

    let mut perks = Vec::new();
    if let Some(r) = rule {
        for id in &r.perks {
            if let Some(p) = policy.perk(id) {
                perks.push(OfferPerk {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    expires_at: None,
                });
            }
        }
        if let Some(gift) = &r.gift {
            if let Some(p) = policy.perk(&gift.perk) {
                perks.push(OfferPerk {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    expires_at: Some(end_of_local_day(policy, input.at, gift.book_within_days)),
                });
            }
        }
    }

    let final_revenue = revenue - discount;
    Offer {
        rule_ids,
        lines_from,
        lines,
        list_price: Money::from_kopecks(revenue),
        final_price: Money::from_kopecks(final_revenue),
        labor_discount_percent: percent_of(discount, labor),
        parts_discount: Money::ZERO,
        customer_saving: Money::from_kopecks(discount),
        margin_before: margin(revenue, cost),
        margin_after: margin(final_revenue, cost),
        package_price: package_price.map(|_| Money::from_kopecks(final_revenue)),
        weekday_bonus_points: bonus,
        weekday_bonus_days: bonus_days,
        bonus_dates: Vec::new(),
        perks,
        expires_at: end_of_local_day(policy, input.at, pricing.offer_valid_days),
        adjustments,
    }
}

#[cfg(test)]
mod tests;
