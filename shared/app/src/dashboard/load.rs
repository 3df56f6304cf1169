//! The coming weeks' load against the workshop's capacity: per day, the vehicles whose stored
//! forecast falls due that day, the units of its slots held or booked, and the units it has
//! (lifts × slots). Read only: a day whose slots are not stored yet counts the workshop plan's
//! lifts, as the booking would derive them; a day or lift the advisors closed counts none.

use chrono::{Days, NaiveDate};
use domain::policy::Policy;
use store::repo::Repos;
use store::{Store, StoreError};

/// Days the load chart looks ahead.
pub const LOAD_DAYS: u32 = 28;

/// One day of the coming load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayLoad {
    pub date: NaiveDate,
    /// Vehicles whose stored forecast falls due this day.
    pub due: u32,
    /// Units held or booked (held and confirmed bookings).
    pub booked: u32,
    /// Units of the day's slots.
    pub capacity: u32,
}

/// The load of the `days` days from `from` (included).
pub async fn coming_load<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    from: NaiveDate,
    days: u32,
) -> Result<Vec<DayLoad>, StoreError> {
    let mut out = Vec::with_capacity(days as usize);
    for date in (0..days).filter_map(|n| from.checked_add_days(Days::new(u64::from(n)))) {
        let due = repos.forecasts.due_on(date).await?.len();
        let day = repos.capacity.stored_day(date).await?;
        let plan = policy.workshop().slots_on(date);
        // A day an advisor closed offers nothing; a closed lift is a unit fewer per slot (the
        // stored slots have it taken off already, the ones still to derive have not).
        let capacity = if day.closed {
            0
        } else {
            let closed_lifts = u32::try_from(day.closed_lifts.len()).unwrap_or(u32::MAX);
            let stored: u32 = day.slots.iter().map(|s| s.capacity).sum();
            stored
                + plan
                    .iter()
                    .filter(|p| !day.slots.iter().any(|s| s.start == p.start))
                    .map(|p| p.lifts.saturating_sub(closed_lifts))
                    .sum::<u32>()
        };
        let booked = day
            .slots
            .iter()
            .map(|s| s.capacity.saturating_sub(s.remaining))
            .sum();
        out.push(DayLoad {
            date,
            due: u32::try_from(due).unwrap_or(u32::MAX),
            booked,
            capacity,
        });
    }
    Ok(out)
}
