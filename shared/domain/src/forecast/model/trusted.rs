//! Trusted readings: the run a car can have produced, on one continuous km scale.

use std::cell::RefCell;

use chrono::{Datelike, NaiveDate};

use super::dates::days_between;
use super::Forecaster;
use crate::forecast::{Reading, ReadingFlag, ReadingSource};

/// A trusted point on the vehicle's odometer curve, km on one continuous scale.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point {
    pub(super) day: i64,
    pub(super) km: f64,
    /// The km shown on the cluster that produced this point.
    pub(super) shown: f64,
    pub(super) source: ReadingSource,
}

/// The order in which readings are read: by date, then km.
pub(super) fn reading_order(r: &Reading) -> (NaiveDate, u32) {
    (r.date, r.km)
}

/// Buffers a forecast works in, kept from one vehicle to the next on a thread, so that a
/// forecast allocates only what it returns.
#[derive(Default)]
pub(super) struct Scratch {
    /// The readings as of the forecast's day, sorted, when the input's are not.
    pub(super) readings: Vec<Reading>,
    pub(super) work: Work,
}

/// Where the trusted points are worked out.
#[derive(Default)]
pub(super) struct Work {
    /// Each reading's day, counted from the first.
    days: Vec<i64>,
    /// The trusted readings' indices.
    chain: Vec<usize>,
    points: Vec<Point>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `work` with this thread's scratch buffers (new ones if they are in use).
pub(super) fn with_scratch<T>(work: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => work(&mut scratch),
        Err(_) => work(&mut Scratch::default()),
    })
}

impl Forecaster {
    /// The trusted points of `readings` (sorted, not empty), in `work.points`; the readings not
    /// trusted are flagged.
    pub(super) fn trusted_points<'w>(
        &self,
        readings: &[Reading],
        origin: NaiveDate,
        flags: &mut Vec<ReadingFlag>,
        work: &'w mut Work,
    ) -> &'w [Point] {
        let Work {
            days,
            chain,
            points,
        } = work;
        days.clear();
        days.extend(readings.iter().map(|r| days_between(origin, r.date)));
        self.trusted_chain(readings, days, flags, chain);
        self.continuous_points(readings, days, chain, origin, flags, points);
        points
    }

    /// Indices of the longest run of readings that a car can actually have produced:
    /// never decreasing, never faster than `max_km_per_day`, in `chain`. Everything else is
    /// flagged.
    fn trusted_chain(
        &self,
        readings: &[Reading],
        days: &[i64],
        flags: &mut Vec<ReadingFlag>,
        chain: &mut Vec<usize>,
    ) {
        let n = readings.len();
        let plausible = |j: usize, i: usize| {
            self.plausible_pace((days[j], readings[j].km), (days[i], readings[i].km))
        };
        chain.clear();
        // Every step plausible (the usual log): the whole log is the one longest run.
        if (1..n).all(|i| plausible(i - 1, i)) {
            chain.extend(0..n);
        } else {
            self.longest_plausible_run(readings, plausible, chain);
        }
        self.drop_spikes(readings, days, chain, flags);
        if chain.len() == n {
            return;
        }
        let mut next = chain.iter().peekable();
        for (i, r) in readings.iter().enumerate() {
            if next.next_if(|&&c| c == i).is_some() || flags.iter().any(|f| f.is_about(r)) {
                continue;
            }
            let below = chain
                .iter()
                .any(|&c| readings[c].date <= r.date && readings[c].km > r.km);
            flags.push(if below {
                ReadingFlag::Rollback {
                    date: r.date,
                    km: r.km,
                }
            } else {
                ReadingFlag::ImpossibleJump {
                    date: r.date,
                    km: r.km,
                }
            });
        }
    }

    /// The longest run of readings each a plausible step from the one before (the lowest of
    /// equally long ones), by dynamic programming over every pair, into `chain`.
    fn longest_plausible_run(
        &self,
        readings: &[Reading],
        plausible: impl Fn(usize, usize) -> bool,
        chain: &mut Vec<usize>,
    ) {
        let n = readings.len();
        // (length of the best run ending here, the reading before it in that run)
        let mut best: Vec<(u32, u32)> = vec![(1, u32::MAX); n];
        for i in 0..n {
            for j in 0..i {
                if plausible(j, i) && best[j].0 + 1 >= best[i].0 {
                    best[i] = (best[j].0 + 1, j as u32);
                }
            }
        }
        let mut end = 0;
        for i in 0..n {
            let longer = best[i].0 > best[end].0;
            let as_long_but_lower = best[i].0 == best[end].0 && readings[i].km <= readings[end].km;
            if longer || as_long_but_lower {
                end = i;
            }
        }
        let mut i = end;
        loop {
            chain.push(i);
            if best[i].1 == u32::MAX {
                break;
            }
            i = best[i].1 as usize;
        }
        chain.reverse();
    }

    fn plausible_step(&self, from: &Reading, to: &Reading) -> bool {
        self.plausible_pace(
            (i64::from(from.date.num_days_from_ce()), from.km),
            (i64::from(to.date.num_days_from_ce()), to.km),
        )
    }

    /// Whether a car can go from `(day, km)` to `(day, km)`: never back, never too fast.
    fn plausible_pace(&self, from: (i64, u32), to: (i64, u32)) -> bool {
        let days = (to.0 - from.0).max(1) as f64;
        to.1 >= from.1 && f64::from(to.1 - from.1) <= self.params.max_km_per_day * days
    }

    /// Drops an interior reading that makes a spike or a dip: the pace into it and out of it
    /// differ more than tenfold while skipping it gives a pace close to the car's usual one.
    fn drop_spikes(
        &self,
        readings: &[Reading],
        days: &[i64],
        chain: &mut Vec<usize>,
        flags: &mut Vec<ReadingFlag>,
    ) {
        if chain.len() < 4 {
            return;
        }
        let pace = |a: usize, b: usize| {
            f64::from(readings[b].km - readings[a].km) / (days[b] - days[a]).max(1) as f64
        };
        let usual = pace(chain[0], chain[chain.len() - 1]).max(self.params.min_km_per_day);
        let mut k = 1;
        // The pace out of one reading is the pace into the next, unless it was dropped.
        let mut known_into = None;
        while k + 1 < chain.len() {
            let (a, b, c) = (chain[k - 1], chain[k], chain[k + 1]);
            let long_enough = days[b] - days[a] >= 7 && days[c] - days[b] >= 7;
            let into = known_into.take().unwrap_or_else(|| pace(a, b).max(0.1));
            let out = pace(b, c).max(0.1);
            let strays = (into.max(out) > usual * 5.0) || (into.min(out) < usual / 5.0);
            let lopsided = || into / out > 10.0 || out / into > 10.0;
            let skip_is_usual = || {
                let skip = pace(a, c);
                skip > usual / 3.0 && skip < usual * 3.0
            };
            if long_enough && strays && lopsided() && skip_is_usual() {
                let b = &readings[b];
                flags.push(ReadingFlag::ImpossibleJump {
                    date: b.date,
                    km: b.km,
                });
                chain.remove(k);
            } else {
                known_into = Some(out);
                k += 1;
            }
        }
    }

    /// Trusted points on one continuous km scale, one per day, in `points`. A later run of two
    /// or more consistent readings that restarts below the trusted run is a replaced instrument
    /// cluster: it is shifted up to continue the curve.
    fn continuous_points(
        &self,
        readings: &[Reading],
        days: &[i64],
        chain: &[usize],
        origin: NaiveDate,
        flags: &mut Vec<ReadingFlag>,
        points: &mut Vec<Point>,
    ) {
        let day = |d: NaiveDate| days_between(origin, d);
        points.clear();
        for &i in chain {
            let r = readings[i];
            let km = f64::from(r.km);
            push_daily(
                points,
                Point {
                    day: days[i],
                    km,
                    shown: km,
                    source: r.source,
                },
            );
        }
        let last_day = points.last().map_or(0, |p| p.day);
        let later: Vec<Reading> = if flags.is_empty() {
            Vec::new()
        } else {
            readings
                .iter()
                .zip(days)
                .filter(|&(r, &d)| d > last_day && flags.iter().any(|f| f.is_about(r)))
                .map(|(r, _)| *r)
                .collect()
        };
        if later.len() >= 2 && later.windows(2).all(|w| self.plausible_step(&w[0], &w[1])) {
            let rate = self.average_pace(points);
            let end = *points.last().unwrap_or(&points[0]);
            let first = later[0];
            let shift = end.km + rate * (day(first.date) - end.day) as f64 - f64::from(first.km);
            flags.retain(|f| !later.iter().any(|r| f.is_about(r)));
            flags.push(ReadingFlag::ClusterReplaced {
                date: first.date,
                km: first.km,
            });
            for r in later {
                let shown = f64::from(r.km);
                push_daily(
                    points,
                    Point {
                        day: day(r.date),
                        km: shown + shift,
                        shown,
                        source: r.source,
                    },
                );
            }
        }
    }

    /// Average km/day of the trusted curve, for bridging gaps (cluster swaps, off-curve dates).
    pub(super) fn average_pace(&self, points: &[Point]) -> f64 {
        match (points.first(), points.last()) {
            (Some(a), Some(b)) if b.day > a.day => (b.km - a.km) / (b.day - a.day) as f64,
            _ => self.params.fleet_km_per_day,
        }
        .max(self.params.min_km_per_day)
    }
}

/// Keeps one point per day (the highest; same-day readings are already plausible steps).
fn push_daily(points: &mut Vec<Point>, p: Point) {
    match points.last_mut() {
        Some(last) if last.day == p.day => {
            if p.km >= last.km {
                last.km = p.km;
                last.shown = p.shown;
                if p.source == ReadingSource::Visit {
                    last.source = p.source;
                }
            }
        }
        _ => points.push(p),
    }
}

/// Odometer on `day` by interpolation, or extrapolation at `rate` outside the points.
pub(super) fn km_at(points: &[Point], day: i64, rate: f64) -> Option<f64> {
    let first = points.first()?;
    let last = points.last()?;
    if day <= first.day {
        return Some((first.km - rate * (first.day - day) as f64).max(0.0));
    }
    if day >= last.day {
        return Some(last.km + rate * (day - last.day) as f64);
    }
    let w = points
        .windows(2)
        .find(|w| w[0].day <= day && day <= w[1].day)?;
    let t = (day - w[0].day) as f64 / (w[1].day - w[0].day).max(1) as f64;
    Some(w[0].km + t * (w[1].km - w[0].km))
}

/// Fractional day on which the trusted curve reached `km`, if it did.
pub(super) fn crossing_day(points: &[Point], km: f64) -> Option<f64> {
    let i = points.iter().position(|p| p.km >= km)?;
    if i == 0 {
        return Some(points[0].day as f64);
    }
    let (a, b) = (points[i - 1], points[i]);
    let t = (km - a.km) / (b.km - a.km).max(f64::EPSILON);
    Some(a.day as f64 + t * (b.day - a.day) as f64)
}
