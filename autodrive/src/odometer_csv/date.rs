//! `YYYY-MM-DD` dates read by hand: made from their day of the year, with no calendar table.

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};

/// January 1st of the years read lately, by year modulo 32: a date is then made from its day of
/// the year with no calendar table (chrono's cost cache misses next to the forecaster's work).
#[derive(Clone, Default)]
pub(super) struct Years([(u32, Option<NaiveDate>); 32]);

impl Years {
    #[inline(always)]
    fn first_day(&mut self, year: u32) -> Option<NaiveDate> {
        let slot = &mut self.0[year as usize % 32];
        if slot.0 != year || slot.1.is_none() {
            *slot = (year, NaiveDate::from_yo_opt(year as i32, 1));
        }
        slot.1
    }
}

/// `YYYY-MM-DD`, read by hand when it is exactly that, else as chrono reads `%Y-%m-%d`.
pub(super) fn parse_date(text: &[u8], years: &mut Years) -> Result<NaiveDate> {
    if let Some(date) = exact_date(text, years) {
        return Ok(date);
    }
    let text = String::from_utf8_lossy(text);
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .with_context(|| format!("{text:?} is not YYYY-MM-DD"))
}

/// A valid date written exactly `YYYY-MM-DD`, made from its day of the year.
#[inline(always)]
pub(super) fn exact_date(text: &[u8], years: &mut Years) -> Option<NaiveDate> {
    /// Days before each month, and in the year, of a common year.
    const BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = <&[u8; 10]>::try_from(text).ok()? else {
        return None;
    };
    // All eight are digits: each byte's high half 3, and its low half at most 9 (adding 6 keeps
    // the high half, with no carry between bytes).
    let word = u64::from_le_bytes([y0, y1, y2, y3, m0, m1, d0, d1]);
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    if word & HIGH != THREES || (word + 0x0606_0606_0606_0606) & HIGH != THREES {
        return None;
    }
    let [y0, y1, y2, y3, m0, m1, d0, d1] = (word & !HIGH).to_le_bytes().map(u32::from);
    let year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
    let (month, day) = ((m0 * 10 + m1) as usize, d0 * 10 + d1);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let first_day = years.first_day(year)?;
    let leap = first_day.leap_year();
    let february = u32::from(leap && month == 2);
    if day > BEFORE[month] - BEFORE[month - 1] + february {
        return None;
    }
    let ordinal = BEFORE[month - 1] + u32::from(leap && month > 2) + day;
    first_day.with_ordinal(ordinal)
}
