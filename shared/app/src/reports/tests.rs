use chrono::NaiveDate;

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[test]
fn the_report_day_is_today_and_the_buckets_follow_the_dms_groups() {
    let bucket = |days| DueBucket::of_days(days).label_ru();
    assert_eq!(bucket(-1), "просрочено");
    assert_eq!(bucket(0), "сегодня");
    assert_eq!((bucket(1), bucket(6)), ("через 2–7 дней", "через 2–7 дней"));
    assert_eq!((bucket(7), bucket(30)), ("8–31 день", "8–31 день"));
    assert_eq!(bucket(31), "32+ дней");
    let keys: Vec<&str> = DueBucket::ALL.iter().map(|b| b.key()).collect();
    assert_eq!(
        keys,
        ["overdue", "today", "days_2_7", "days_8_31", "days_32_plus"]
    );
}

#[test]
fn visit_bands_are_up_to_3_4_to_7_8_to_10_11_to_20_and_21_or_more() {
    let bands: Vec<VisitBand> = [1, 3, 4, 7, 8, 10, 11, 20, 21, 90]
        .into_iter()
        .map(VisitBand::of)
        .collect();
    use VisitBand::*;
    assert_eq!(
        bands,
        [
            UpTo3, UpTo3, From4To7, From4To7, From8To10, From8To10, From11To20, From11To20, From21,
            From21
        ]
    );
}

#[test]
fn a_period_includes_both_ends_and_an_open_start_is_the_whole_history() {
    let period = Period {
        from: Some(day("2026-01-01")),
        to: day("2026-11-12"),
    };
    assert!(period.contains(day("2026-01-01")) && period.contains(day("2026-11-12")));
    assert!(!period.contains(day("2025-12-31")) && !period.contains(day("2026-11-13")));
    assert_eq!(period.label_ru(), "с 01.01.2026 по 12.11.2026");
    let all = Period::until(day("2026-11-12"));
    assert!(all.contains(day("1990-01-01")));
    assert_eq!(all.label_ru(), "за всё время по 12.11.2026");
}

#[test]
fn report_names_parse_as_they_are_written() {
    for name in ReportName::ALL {
        assert_eq!(ReportName::parse(name.as_str()), Some(name));
    }
    assert_eq!(ReportName::parse("Mileage"), None);
}
