//! Day arithmetic: days between dates, the date some days on, calendar months on.

use chrono::{Datelike, Days, Months, NaiveDate};

/// Days from `a` to `b` (cheaper than a chrono duration on the hot path).
pub(super) fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    i64::from(b.num_days_from_ce()) - i64::from(a.num_days_from_ce())
}

/// The day `days` after `origin`.
pub(super) fn date_after(origin: NaiveDate, days: i64) -> NaiveDate {
    i32::try_from(i64::from(origin.num_days_from_ce()) + days)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(origin)
}

/// `date` + `months` calendar months, the day clamped to the month's end.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or_else(|| {
            date.checked_add_days(Days::new(u64::from(months) * 30))
                .unwrap_or(date)
        })
}
