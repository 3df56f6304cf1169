//! The Russian production calendar as data (`data/ru-production-calendar.toml`, compiled in):
//! which dates are official non-working days and which weekend days are worked instead.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

const DATA: &str = include_str!("../../data/ru-production-calendar.toml");

#[derive(Debug, Deserialize)]
struct File {
    years: Vec<Year>,
}

#[derive(Debug, Deserialize)]
struct Year {
    year: i32,
    #[allow(dead_code)]
    source: String,
    provisional: bool,
    non_working: Vec<NaiveDate>,
    working_weekends: Vec<WorkingWeekend>,
}

#[derive(Debug, Deserialize)]
struct WorkingWeekend {
    date: NaiveDate,
    instead_of: NaiveDate,
}

fn parse() -> Result<File, String> {
    let file: File = toml::from_str(DATA).map_err(|e| e.to_string())?;
    for y in &file.years {
        let dates = y
            .non_working
            .iter()
            .chain(y.working_weekends.iter().map(|w| &w.date));
        if let Some(d) = dates.into_iter().find(|d| d.year() != y.year) {
            return Err(format!("{d} is listed under {}", y.year));
        }
    }
    Ok(file)
}

fn calendar() -> &'static File {
    static CALENDAR: OnceLock<File> = OnceLock::new();
    // The file is part of the build and a unit test parses it: an empty calendar is unreachable.
    CALENDAR.get_or_init(|| parse().unwrap_or(File { years: Vec::new() }))
}

/// Whether `date` is an official non-working day (a public holiday or a day off moved onto it).
pub fn is_non_working(date: NaiveDate) -> bool {
    calendar()
        .years
        .iter()
        .any(|y| y.year == date.year() && y.non_working.contains(&date))
}

/// For a weekend day the calendar makes a working day, the weekday it is worked instead of.
pub fn worked_instead_of(date: NaiveDate) -> Option<Weekday> {
    calendar()
        .years
        .iter()
        .filter(|y| y.year == date.year())
        .flat_map(|y| &y.working_weekends)
        .find(|w| w.date == date)
        .map(|w| w.instead_of.weekday())
}

/// The years the calendar covers, with whether the year's decree is still to come.
pub fn years() -> Vec<(i32, bool)> {
    calendar()
        .years
        .iter()
        .map(|y| (y.year, y.provisional))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_calendar_file_parses_and_covers_2025_to_2027() {
        let file = parse().unwrap();
        let years: Vec<i32> = file.years.iter().map(|y| y.year).collect();
        assert_eq!(years, [2025, 2026, 2027]);
    }

    #[test]
    fn the_2026_decree_days_are_non_working_and_ordinary_weekdays_are_not() {
        for d in [
            "2026-01-01",
            "2026-01-08",
            "2026-01-09",
            "2026-02-23",
            "2026-03-09",
            "2026-05-01",
            "2026-05-11",
            "2026-06-12",
            "2026-11-04",
            "2026-12-31",
        ] {
            assert!(is_non_working(day(d)), "{d}");
        }
        for d in [
            "2026-01-12",
            "2026-03-10",
            "2026-05-12",
            "2026-11-05",
            "2026-12-30",
        ] {
            assert!(!is_non_working(day(d)), "{d}");
        }
    }

    #[test]
    fn the_working_saturday_of_2025_is_worked_instead_of_a_monday() {
        assert_eq!(worked_instead_of(day("2025-11-01")), Some(Weekday::Mon));
        assert!(is_non_working(day("2025-11-03")));
        assert_eq!(worked_instead_of(day("2025-11-08")), None);
    }
}
