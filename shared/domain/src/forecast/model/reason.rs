//! The forecast's reason text, written into bytes without `fmt`.

use chrono::{Datelike, NaiveDate};

use super::RateEstimate;
use crate::forecast::{DueLimit, RateBasis, Schedule};

pub(super) fn describe(
    limit: DueLimit,
    service: NaiveDate,
    schedule: Schedule,
    estimate: &RateEstimate,
    readings: usize,
    span_days: i64,
    flagged: usize,
) -> String {
    let basis = match estimate.basis {
        RateBasis::History => "own history",
        RateBasis::HistoryShrunkToLifetime => "short history shrunk toward the lifetime average",
        RateBasis::HistoryShrunkToFleet => "short history shrunk toward the fleet average",
        RateBasis::Lifetime => "lifetime average since first registration",
        RateBasis::Fleet => "fleet average",
    };
    // Written by hand, without `fmt`, into bytes: this runs once per vehicle a night.
    let mut text = Vec::with_capacity(160);
    match limit {
        DueLimit::Time => {
            push_number(&mut text, u64::from(schedule.months));
            text.extend_from_slice(b" months");
        }
        DueLimit::Distance => {
            push_number(&mut text, u64::from(schedule.km));
            text.extend_from_slice(b" km");
        }
    }
    text.extend_from_slice(b" after the service of ");
    push_date(&mut text, service);
    text.extend_from_slice(b"; ");
    let tenths = (estimate.km_per_day * 10.0).round().clamp(0.0, 1e12) as u64;
    push_number(&mut text, tenths / 10);
    text.push(b'.');
    push_number(&mut text, tenths % 10);
    text.extend_from_slice(b" km/day from ");
    text.extend_from_slice(basis.as_bytes());
    text.extend_from_slice(b" (");
    push_number(&mut text, readings as u64);
    text.extend_from_slice(b" readings over ");
    push_number(&mut text, span_days.max(0) as u64);
    text.extend_from_slice(b" days)");
    if flagged > 0 {
        text.extend_from_slice(b"; ");
        push_number(&mut text, flagged as u64);
        text.extend_from_slice(b" reading(s) not trusted");
    }
    // ASCII throughout.
    String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `n` in decimal.
fn push_number(text: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.extend_from_slice(&digits[i..]);
}

/// Appends `date` as `YYYY-MM-DD` (a year outside 0..=9999 as `fmt` pads it).
fn push_date(text: &mut Vec<u8>, date: NaiveDate) {
    let Some(year) = u32::try_from(date.year()).ok().filter(|&y| y <= 9999) else {
        use std::io::Write;
        let _ = write!(
            text,
            "{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        );
        return;
    };
    let (month, day) = (date.month(), date.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    text.extend_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ]);
}
