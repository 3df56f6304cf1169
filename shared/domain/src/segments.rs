//! Customer segments over a customer base: RFM scores (1–5 each) and ABC classes.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::policy::{AbcBasis, SegmentRules};

/// What one customer did at the dealership over the period looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerActivity {
    /// `None` when the customer never visited.
    pub last_visit: Option<NaiveDate>,
    pub visits: u32,
    pub revenue: Money,
    /// Revenue minus cost; negative when the customer cost the dealer money.
    pub margin: Decimal,
}

/// Recency, frequency and monetary scores, 1 (worst fifth of the base) to 5 (best fifth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rfm {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

/// A: the customers making the first 75 % of the total, B: the next 20 %, C: the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AbcClass {
    A,
    B,
    C,
}

/// A customer's place in the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    pub rfm: Rfm,
    pub abc: AbcClass,
}

/// Scores 1–5 by position in the base, in the order of `key` (higher is better). Equal keys get
/// equal scores (the middle of their run), so a base where everyone is alike scores 3.
fn quintiles<K: Ord + Copy>(keys: &[K]) -> Vec<u8> {
    let n = keys.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| keys[i]);
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && keys[order[end]] == keys[order[start]] {
            end += 1;
        }
        let score = (1 + 5 * (start + end) / (2 * n)).min(5) as u8;
        for &i in &order[start..end] {
            scores[i] = score;
        }
        start = end;
    }
    scores
}

/// RFM scores of every customer in the base on `today`, in input order. A customer who never
/// visited has the worst recency.
pub fn rfm_scores(base: &[CustomerActivity], today: NaiveDate) -> Vec<Rfm> {
    let recency: Vec<i64> = base
        .iter()
        .map(|c| {
            c.last_visit
                .map_or(i64::MIN, |d| -(today - d).num_days().max(0))
        })
        .collect();
    let frequency: Vec<u32> = base.iter().map(|c| c.visits).collect();
    let monetary: Vec<Money> = base.iter().map(|c| c.revenue).collect();
    let (r, f, m) = (
        quintiles(&recency),
        quintiles(&frequency),
        quintiles(&monetary),
    );
    (0..base.len())
        .map(|i| Rfm {
            recency: r[i],
            frequency: f[i],
            monetary: m[i],
        })
        .collect()
}

/// ABC classes of the values, in input order: sorted from the largest, a customer is A while the
/// total before it is under `abc_a` % of the whole, B while under `abc_a + abc_b` %, else C.
/// Zero or negative values are C.
pub fn abc_classes(values: &[Decimal], rules: &SegmentRules) -> Vec<AbcClass> {
    let total: Decimal = values.iter().filter(|v| v.is_sign_positive()).sum();
    let mut classes = vec![AbcClass::C; values.len()];
    if total <= Decimal::ZERO {
        return classes;
    }
    let a_limit = total * rules.abc_a.fraction();
    let b_limit = total * (rules.abc_a.fraction() + rules.abc_b.fraction());
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&x, &y| values[y].cmp(&values[x]).then(x.cmp(&y)));
    let mut before = Decimal::ZERO;
    for i in order {
        let v = values[i];
        if v <= Decimal::ZERO {
            break;
        }
        classes[i] = if before < a_limit {
            AbcClass::A
        } else if before < b_limit {
            AbcClass::B
        } else {
            AbcClass::C
        };
        before += v;
    }
    classes
}

/// What an RFM score says about a customer, from recency and frequency (monetary refines the
/// order within a segment, not the segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    /// Came recently and often.
    Champions,
    /// Comes often and not long ago.
    Loyal,
    /// Came recently, not often yet.
    Promising,
    /// Neither recent nor frequent: a middle recency and few visits.
    NeedsAttention,
    /// Came often but not for a long time.
    CannotLose,
    /// Came now and then, not for a long time.
    AtRisk,
    /// Few visits, long ago.
    Sleeping,
    /// Few visits, the longest ago.
    Lost,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 8] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::Promising,
        RfmSegment::NeedsAttention,
        RfmSegment::CannotLose,
        RfmSegment::AtRisk,
        RfmSegment::Sleeping,
        RfmSegment::Lost,
    ];

    /// The segment of a score: recency 4–5 is recent, 3 middle, 1–2 long ago; frequency 4–5
    /// is often, 3 now and then, 1–2 seldom.
    pub fn of(rfm: Rfm) -> Self {
        match (rfm.recency, rfm.frequency) {
            (4.., 4..) => RfmSegment::Champions,
            (4.., 3) | (3, 3..) => RfmSegment::Loyal,
            (4.., _) => RfmSegment::Promising,
            (3, _) => RfmSegment::NeedsAttention,
            (_, 4..) => RfmSegment::CannotLose,
            (_, 3) => RfmSegment::AtRisk,
            (2, _) => RfmSegment::Sleeping,
            _ => RfmSegment::Lost,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedsAttention => "needs_attention",
            RfmSegment::CannotLose => "cannot_lose",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::Sleeping => "sleeping",
            RfmSegment::Lost => "lost",
        }
    }
}

/// RFM scores and ABC classes (by revenue or margin, as the policy says) of the whole base.
pub fn segment_customers(
    base: &[CustomerActivity],
    today: NaiveDate,
    rules: &SegmentRules,
) -> Vec<Segment> {
    let values: Vec<Decimal> = base
        .iter()
        .map(|c| match rules.abc_basis {
            AbcBasis::Revenue => c.revenue.amount(),
            AbcBasis::Margin => c.margin,
        })
        .collect();
    let abc = abc_classes(&values, rules);
    rfm_scores(base, today)
        .into_iter()
        .zip(abc)
        .map(|(rfm, abc)| Segment { rfm, abc })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::Policy;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn activity(last: Option<&str>, visits: u32, revenue: u32, margin: i64) -> CustomerActivity {
        CustomerActivity {
            last_visit: last.map(day),
            visits,
            revenue: Money::from_roubles(revenue),
            margin: Decimal::from(margin),
        }
    }

    fn rules() -> SegmentRules {
        Policy::default().segments().clone()
    }

    #[test]
    fn ten_customers_spread_over_five_scores_two_each() {
        let base: Vec<_> = (1..=10).map(|i| activity(None, i, i * 1000, 0)).collect();
        let scores: Vec<u8> = rfm_scores(&base, day("2025-01-01"))
            .iter()
            .map(|r| r.frequency)
            .collect();
        assert_eq!(scores, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn the_most_recent_visitor_gets_the_best_recency_and_a_non_visitor_the_worst() {
        let base = [
            activity(Some("2024-12-20"), 1, 100, 0),
            activity(None, 0, 0, 0),
            activity(Some("2023-01-01"), 1, 100, 0),
            activity(Some("2024-06-01"), 1, 100, 0),
            activity(Some("2024-09-01"), 1, 100, 0),
        ];
        let r: Vec<u8> = rfm_scores(&base, day("2025-01-01"))
            .iter()
            .map(|x| x.recency)
            .collect();
        assert_eq!(r, [5, 1, 2, 3, 4]);
    }

    #[test]
    fn a_base_where_everyone_is_alike_scores_three() {
        let base = vec![activity(Some("2024-12-01"), 2, 5000, 0); 7];
        for rfm in rfm_scores(&base, day("2025-01-01")) {
            assert_eq!(
                rfm,
                Rfm {
                    recency: 3,
                    frequency: 3,
                    monetary: 3
                }
            );
        }
    }

    #[test]
    fn abc_puts_each_customer_in_the_class_where_its_revenue_starts() {
        let revenue = [50u32, 10, 25, 5, 6, 4];
        let base: Vec<_> = revenue.iter().map(|&r| activity(None, 1, r, 0)).collect();
        let classes: Vec<AbcClass> = segment_customers(&base, day("2025-01-01"), &rules())
            .iter()
            .map(|s| s.abc)
            .collect();
        use AbcClass::*;
        assert_eq!(classes, [A, B, A, B, B, C]);
    }

    #[test]
    fn one_customer_with_most_of_the_revenue_is_a_and_nobody_else_is() {
        let classes = abc_classes(
            &[Decimal::from(900), Decimal::from(60), Decimal::from(40)],
            &rules(),
        );
        assert_eq!(classes, [AbcClass::A, AbcClass::B, AbcClass::C]);
    }

    #[test]
    fn abc_by_margin_ranks_by_margin_and_puts_loss_makers_in_c() {
        let policy = Policy::from_toml("[segments]\nabc_basis = \"margin\"\n").unwrap();
        let base = [
            activity(None, 1, 90_000, -500),
            activity(None, 1, 1_000, 800),
            activity(None, 1, 1_000, 100),
        ];
        let classes: Vec<AbcClass> = segment_customers(&base, day("2025-01-01"), policy.segments())
            .iter()
            .map(|s| s.abc)
            .collect();
        assert_eq!(classes, [AbcClass::C, AbcClass::A, AbcClass::B]);
    }

    #[test]
    fn rfm_segments_go_from_recent_and_frequent_to_long_ago_and_seldom() {
        let seg = |recency, frequency| {
            RfmSegment::of(Rfm {
                recency,
                frequency,
                monetary: 3,
            })
        };
        assert_eq!(seg(5, 5), RfmSegment::Champions);
        assert_eq!(seg(3, 4), RfmSegment::Loyal);
        assert_eq!(seg(5, 1), RfmSegment::Promising);
        assert_eq!(seg(3, 2), RfmSegment::NeedsAttention);
        assert_eq!(seg(1, 5), RfmSegment::CannotLose);
        assert_eq!(seg(2, 3), RfmSegment::AtRisk);
        assert_eq!(seg(2, 1), RfmSegment::Sleeping);
        assert_eq!(seg(1, 2), RfmSegment::Lost);
    }

    proptest! {
        #[test]
        fn every_score_is_between_one_and_five(visits in proptest::collection::vec(0u32..50, 1..60)) {
            let base: Vec<_> = visits.iter().map(|&v| activity(Some("2024-01-01"), v, v * 10, 0)).collect();
            for rfm in rfm_scores(&base, day("2025-01-01")) {
                prop_assert!((1..=5).contains(&rfm.frequency));
                prop_assert!((1..=5).contains(&rfm.recency));
                prop_assert!((1..=5).contains(&rfm.monetary));
            }
        }

        #[test]
        fn more_revenue_never_gets_a_worse_class(revenue in proptest::collection::vec(0u32..100_000, 1..60)) {
            let values: Vec<Decimal> = revenue.iter().map(|&r| Decimal::from(r)).collect();
            let classes = abc_classes(&values, &rules());
            for i in 0..values.len() {
                for j in 0..values.len() {
                    if values[i] > values[j] {
                        prop_assert!(classes[i] <= classes[j]);
                    }
                }
            }
        }
    }
}
