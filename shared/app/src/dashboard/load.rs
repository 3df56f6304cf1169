//! The coming weeks' load against the workshop's capacity: per day, the vehicles whose stored
//! forecast falls due that day, the units of its slots held or booked, and the units it has
//! (lifts × slots). Read only: a day whose slots are not stored yet counts the workshop plan's
//! lifts, as the booking would derive them.

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
        let stored = repos.capacity.slots_on(date).await?;
        let plan = policy.workshop().slots_on(date);
        let mut capacity: u32 = stored.iter().map(|s| s.capacity).sum();
        capacity += plan
            .iter()
            .filter(|p| !stored.iter().any(|s| s.start == p.start))
            .map(|p| p.lifts)
            .sum::<u32>();
        let booked = stored
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
