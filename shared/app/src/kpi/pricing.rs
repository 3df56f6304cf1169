//! What the offers cost and what the margin floor kept: over the priced offers sent in the
//! period, the discount offered (the customers' saving as priced), the discount the margin
//! floor withheld (what the rule wanted minus what it granted, on the labour list price), and
//! of the offers credited with a visit the discount given; and the bonus points granted in the
//! period (the ledger written when an advisor confirms a mid-week booking).

use std::collections::HashMap;

use domain::pricing::{Adjustment, Offer};
use domain::{LineKind, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::breakdown::{Breakdown, Figures, Tags, Tally};
use super::facts::Facts;
use super::KpiQuery;

/// Discounts and points of one slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Priced offers sent.
    pub priced_offers: u64,
    /// Their saving for the customer, as priced.
    pub discount_offered: Money,
    /// Offers whose discount the margin floor cut.
    pub floor_applied: u64,
    /// The labour discount the floor withheld.
    pub margin_kept_by_floor: Money,
    /// Priced offers credited with a visit.
    pub converted_offers: u64,
    /// Their saving for the customer.
    pub discount_on_visits: Money,
    /// Mean labour discount of the priced offers, percent.
    pub mean_labor_discount_percent: Option<Decimal>,
    /// Mean work-order margin after the discount, percent.
    pub mean_margin_after_percent: Option<Decimal>,
    /// Bonus points granted in the period.
    pub points_granted: i64,
    /// Bookings that earned them.
    pub bookings_with_points: u64,
    #[serde(skip)]
    labor_discount_sum: Decimal,
    #[serde(skip)]
    margin_after_sum: Decimal,
}

impl Figures for Pricing {
    fn finish(&mut self) {
        let n = Decimal::from(self.priced_offers);
        if self.priced_offers > 0 {
            self.mean_labor_discount_percent = Some((self.labor_discount_sum / n).round_dp(1));
            self.mean_margin_after_percent = Some((self.margin_after_sum / n).round_dp(1));
        }
    }
}

/// The labour discount the margin floor withheld from an offer: (wanted − granted) % of the
/// labour list price.
pub fn margin_kept_by_floor(offer: &Offer) -> Money {
    let labour: Money = offer
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Labor)
        .map(|l| l.list_price)
        .sum();
    offer
        .adjustments
        .iter()
        .filter_map(|a| match a {
            Adjustment::MarginFloor {
                wanted_percent,
                granted_percent,
                ..
            } => Some(labour.scale((wanted_percent - granted_percent) / Decimal::ONE_HUNDRED)),
            Adjustment::NoPackageForCar => None,
        })
        .sum()
}

pub fn pricing(facts: &Facts<'_>, query: &KpiQuery) -> Breakdown<Pricing> {
    let mut tally = Tally::<Pricing>::default();
    let mut tags_of_offer: HashMap<&str, Tags> = HashMap::new();
    for row in &facts.offers {
        let tags = facts.message_tags(row);
        tags_of_offer.insert(&row.offer_id, tags.clone());
        let Some(offer) = &row.priced else {
            continue;
        };
        let kept = margin_kept_by_floor(offer);
        let floor = offer
            .adjustments
            .iter()
            .any(|a| matches!(a, Adjustment::MarginFloor { .. }));
        let converted = facts.credits.contains_key(&row.offer_id);
        tally.add(&tags, |p| {
            p.priced_offers += 1;
            p.discount_offered = p.discount_offered + offer.customer_saving;
            p.floor_applied += u64::from(floor);
            p.margin_kept_by_floor = p.margin_kept_by_floor + kept;
            p.labor_discount_sum += offer.labor_discount_percent;
            p.margin_after_sum += offer.margin_after.percent;
            if converted {
                p.converted_offers += 1;
                p.discount_on_visits = p.discount_on_visits + offer.customer_saving;
            }
        });
    }
    for entry in &facts.points {
        if entry.on < query.from || entry.on > query.to {
            continue;
        }
        let tags = entry
            .offer_id
            .as_deref()
            .and_then(|id| tags_of_offer.get(id).cloned())
            .unwrap_or_default();
        tally.add(&tags, |p| {
            p.points_granted += entry.points;
            p.bookings_with_points += 1;
        });
    }
    tally.finish()
}
