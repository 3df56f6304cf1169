//! The booking bonus where the lifts are idle (the policy's `[pricing] bonus_mode = "load"`):
//! when an offer is priced, the bonus goes on the days of the next
//! [`LOAD_BONUS_HORIZON_DAYS`] (within the days a customer can book) whose forecast load, the
//! vehicles falling due there plus the units already held or booked, is furthest below the
//! workshop's capacity. The offer names those days, the slot picker marks them, and the hold
//! grants the points only there. Reached by offer-composer (`compose_and_send`, through
//! `compose::price`) and, through the same composer, by `autodrive serve` and the demo.

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::policy::{BonusMode, Policy, LOAD_BONUS_HORIZON_DAYS};
use domain::pricing::{Offer, WEEKDAY_BONUS_RULE};
use store::repo::Repos;
use store::{Store, StoreError};

use crate::dashboard::load::{coming_load, DayLoad};

/// The `n` idlest days of `loads`, by date: the largest share of capacity left once the
/// vehicles falling due and the booked units are counted, then the most units left, then the
/// earliest. A closed day or a full one is never chosen.
pub fn pick_idle(loads: &[DayLoad], n: usize) -> Vec<NaiveDate> {
    let mut open: Vec<(&DayLoad, u32)> = loads
        .iter()
        .filter(|d| d.capacity > 0)
        .map(|d| (d, d.capacity.saturating_sub(d.due.saturating_add(d.booked))))
        .filter(|&(_, spare)| spare > 0)
        .collect();
    // spare_a / capacity_a > spare_b / capacity_b, compared exactly.
    open.sort_by(|(a, sa), (b, sb)| {
        let left = u64::from(*sa) * u64::from(b.capacity);
        let right = u64::from(*sb) * u64::from(a.capacity);
        right.cmp(&left).then(sb.cmp(sa)).then(a.date.cmp(&b.date))
    });
    let mut days: Vec<NaiveDate> = open.into_iter().take(n).map(|(d, _)| d.date).collect();
    days.sort_unstable();
    days
}

/// The days the `load` bonus goes on for an offer priced at `now`: from tomorrow, within the
/// horizon and the days the workshop takes bookings.
pub async fn idle_days<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<NaiveDate>, StoreError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let Some(tomorrow) = today.checked_add_days(Days::new(1)) else {
        return Ok(Vec::new());
    };
    let horizon = LOAD_BONUS_HORIZON_DAYS.min(policy.workshop().days_ahead);
    let loads = coming_load(repos, policy, tomorrow, horizon).await?;
    Ok(pick_idle(&loads, policy.pricing().load_bonus_days as usize))
}

/// Puts the `load` mode's days on a freshly priced offer, or takes the bonus off when no day
/// ahead has room; the weekdays mode leaves the offer as priced.
pub async fn place_bonus<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    offer: &mut Offer,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if policy.pricing().bonus_mode != BonusMode::Load || offer.weekday_bonus_points == 0 {
        return Ok(());
    }
    offer.bonus_dates = idle_days(repos, policy, now).await?;
    if offer.bonus_dates.is_empty() {
        offer.weekday_bonus_points = 0;
        offer.rule_ids.retain(|r| r != WEEKDAY_BONUS_RULE);
    }
    Ok(())
}

/// Whether a booking on `date` earns the offer's bonus: one of its weekdays, or of its dates.
pub fn is_bonus_day(offer: &Offer, date: NaiveDate) -> bool {
    use chrono::Datelike;
    let name = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [date.weekday().num_days_from_monday() as usize];
    offer.weekday_bonus_points > 0
        && (offer.bonus_dates.contains(&date) || offer.weekday_bonus_days.iter().any(|d| d == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, n).unwrap()
    }

    fn load(n: u32, due: u32, booked: u32, capacity: u32) -> DayLoad {
        DayLoad {
            date: day(n),
            due,
            booked,
            capacity,
        }
    }

    #[test]
    fn the_idlest_open_days_are_picked_by_share_of_capacity_left() {
        let loads = [
            load(1, 10, 10, 24), // 4 of 24 left
            load(2, 0, 0, 0),    // closed
            load(3, 2, 2, 24),   // 20 of 24
            load(4, 1, 0, 8),    // 7 of 8: the largest share
            load(5, 30, 0, 24),  // overbooked by dues
            load(7, 2, 2, 24),   // 20 of 24, later than the 3rd
        ];
        assert_eq!(pick_idle(&loads, 3), [day(3), day(4), day(7)]);
        assert_eq!(pick_idle(&loads, 1), [day(4)]);
        assert_eq!(pick_idle(&loads, 10).len(), 4, "never a closed or full day");
        assert!(pick_idle(&[load(1, 24, 0, 24), load(2, 0, 0, 0)], 3).is_empty());
    }

    #[test]
    fn a_hold_earns_the_bonus_on_the_offers_dates_or_weekdays_only() {
        let policy = Policy::default();
        let lines = [domain::WorkOrderLine::parse(
            domain::LineKind::Labor,
            "TO",
            "ТО",
            domain::Quantity::ONE,
            domain::money::Money::from_roubles(10_000),
            domain::money::Money::from_roubles(4_000),
        )
        .unwrap()];
        let input = domain::pricing::OfferInput {
            status: domain::status::CustomerStatus::Sleeping,
            age_band: domain::status::AgeBand::Middle,
            make: "Toyota",
            model: "Camry",
            last_maintenance: &lines,
            at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 9, 0, 0).unwrap(),
        };
        let mut offer = domain::pricing::price_offer(&policy, &input).unwrap();
        // 1 December 2026 is a Tuesday, the 5th a Saturday.
        assert!(is_bonus_day(&offer, day(1)) && !is_bonus_day(&offer, day(5)));
        offer.weekday_bonus_days.clear();
        offer.bonus_dates = vec![day(5)];
        assert!(!is_bonus_day(&offer, day(1)) && is_bonus_day(&offer, day(5)));
        offer.weekday_bonus_points = 0;
        assert!(!is_bonus_day(&offer, day(5)), "no points, no bonus day");
    }
}
