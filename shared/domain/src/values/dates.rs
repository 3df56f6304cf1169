//! Strict parsing of wire dates: calendar dates and RFC 3339 timestamps with an offset.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// Why a date or timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("expected a calendar date like 2019-05-20, got {0:?}")]
    NotADate(String),
    #[error(
        "expected an RFC 3339 date-time with an offset like 2026-11-12T15:40:00+03:00, got {0:?}"
    )]
    NotATimestamp(String),
}

fn shortened(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Parses `YYYY-MM-DD` exactly (four-digit year, two-digit month and day).
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shape_ok
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| DateError::NotADate(shortened(text)))
}

/// Parses an RFC 3339 timestamp; the offset (`Z` or `±hh:mm`) is required and kept.
pub fn parse_timestamp(text: &str) -> Result<DateTime<FixedOffset>, DateError> {
    DateTime::parse_from_rfc3339(text).map_err(|_| DateError::NotATimestamp(shortened(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_calendar_date_parses() {
        assert_eq!(
            parse_date("2019-05-20"),
            Ok(NaiveDate::from_ymd_opt(2019, 5, 20).unwrap())
        );
        assert_eq!(
            parse_date("2024-02-29"),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
    }

    #[test]
    fn a_date_in_another_shape_or_impossible_is_rejected() {
        for bad in [
            "2019-5-20",
            "20.05.2019",
            "2019-05-20T00:00:00",
            "2019-02-30",
            "",
            "2019/05/20",
        ] {
            assert!(
                matches!(parse_date(bad), Err(DateError::NotADate(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_timestamp_with_an_offset_parses_and_keeps_the_offset() {
        let t = parse_timestamp("2026-11-12T15:40:00+03:00").unwrap();
        assert_eq!(t.offset().local_minus_utc(), 3 * 3600);
        assert_eq!(t.to_rfc3339(), "2026-11-12T15:40:00+03:00");
        assert!(parse_timestamp("2026-11-12T12:40:00Z").is_ok());
    }

    #[test]
    fn a_timestamp_without_an_offset_is_rejected() {
        for bad in ["2026-11-12T15:40:00", "2026-11-12", "12.11.2026 15:40", ""] {
            assert!(
                matches!(parse_timestamp(bad), Err(DateError::NotATimestamp(_))),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_string_never_panics_the_date_parsers(text in any::<String>()) {
            let _ = parse_date(&text);
            let _ = parse_timestamp(&text);
        }
    }
}
