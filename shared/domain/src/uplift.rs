//! Control-group uplift: the difference of two visit rates (treatment − control) with Newcombe's
//! hybrid score interval, the relative lift, and the customers each arm needs to see a given
//! relative lift. Pure arithmetic on counts; who is in which arm is the caller's business.

use serde::{Deserialize, Serialize};

use crate::render::{plural_ru, thousands_ru};

/// The standard normal quantile of 0.975: a two-sided 95 % interval, α = 0.05.
pub const Z_95: f64 = 1.959_963_984_540_054;
/// The standard normal quantile of 0.8: power 0.8.
pub const Z_POWER_80: f64 = 0.841_621_233_572_914_3;
/// The relative lift the sample size is computed for: +20 % over the control rate.
pub const DETECTABLE_LIFT: f64 = 0.2;

/// A closed interval of a proportion or a difference of proportions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// Wilson's score interval for `successes` of `trials` at the normal quantile `z` (no
/// continuity correction): the proportions `p` with `|p̂ − p| ≤ z·√(p(1−p)/n)`. `None` for no
/// trials or more successes than trials.
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let x = successes as f64;
    let z2 = z * z;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = z * (x * (n - x) / n + z2 / 4.0).sqrt() / (n + z2);
    // At x = 0 and x = n one end is exactly 0 or 1; rounding must not push it past.
    let lower = if successes == 0 { 0.0 } else { centre - half };
    let upper = if successes == trials {
        1.0
    } else {
        centre + half
    };
    Some(Interval {
        lower: lower.clamp(0.0, 1.0),
        upper: upper.clamp(0.0, 1.0),
    })
}

/// Newcombe's hybrid score interval (1998, method 10) for `x1/n1 − x2/n2` at the normal
/// quantile `z`: from the Wilson intervals `(l1, u1)` and `(l2, u2)`, `δ − √((p1−l1)² + (u2−p2)²)`
/// to `δ + √((u1−p1)² + (p2−l2)²)`. `None` when an arm has no trials.
pub fn newcombe_difference(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Interval> {
    let w1 = wilson(x1, n1, z)?;
    let w2 = wilson(x2, n2, z)?;
    let p1 = x1 as f64 / n1 as f64;
    let p2 = x2 as f64 / n2 as f64;
    let d = p1 - p2;
    Some(Interval {
        lower: (d - ((p1 - w1.lower).powi(2) + (w2.upper - p2).powi(2)).sqrt()).max(-1.0),
        upper: (d + ((w1.upper - p1).powi(2) + (p2 - w2.lower).powi(2)).sqrt()).min(1.0),
    })
}

/// Customers per arm for a two-sided test of two proportions at α = 0.05 with power 0.8 to
/// detect `control_rate × (1 + relative_lift)` against `control_rate` (the normal
/// approximation: `(z_α/2·√(2·p̄·q̄) + z_β·√(p1·q1 + p2·q2))² / (p1 − p2)²`, rounded up).
/// `None` when the control rate is 0 or 1 or the lift is not positive (no finite answer).
pub fn customers_per_arm(control_rate: f64, relative_lift: f64) -> Option<u64> {
    if !(control_rate > 0.0 && control_rate < 1.0 && relative_lift > 0.0) {
        return None;
    }
    let p2 = control_rate;
    let p1 = (p2 * (1.0 + relative_lift)).min(1.0);
    let mean = (p1 + p2) / 2.0;
    let root = Z_95 * (2.0 * mean * (1.0 - mean)).sqrt()
        + Z_POWER_80 * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (root / (p1 - p2)).powi(2);
    n.is_finite().then(|| n.ceil() as u64)
}

/// One arm of a comparison: how many customers, how many of them did it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arm {
    pub customers: u64,
    pub visited: u64,
}

impl Arm {
    /// The share who did it; `None` for an empty arm.
    pub fn rate(&self) -> Option<f64> {
        (self.customers > 0).then(|| self.visited as f64 / self.customers as f64)
    }
}

/// Treatment against control on one rate, with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Uplift {
    pub treatment: Arm,
    pub control: Arm,
    pub treatment_rate: Option<f64>,
    pub control_rate: Option<f64>,
    /// Treatment rate minus control rate (a fraction: 0.05 is 5 percentage points).
    pub difference: Option<f64>,
    /// Newcombe's 95 % interval of the difference.
    pub interval: Option<Interval>,
    /// The difference over the control rate (0.2 is +20 %); `None` when the control rate is 0.
    pub relative_lift: Option<f64>,
    /// Customers each arm needs to see a [`DETECTABLE_LIFT`] relative lift over the control
    /// rate (α = 0.05 two-sided, power 0.8); `None` when the control rate gives no answer.
    pub needed_per_arm: Option<u64>,
    /// Whether an arm is smaller than `needed_per_arm` (or the need cannot be computed): a
    /// difference this small would go unseen.
    pub underpowered: bool,
}

/// The uplift of `treatment` over `control`.
pub fn measure_uplift(treatment: Arm, control: Arm) -> Uplift {
    let treatment_rate = treatment.rate();
    let control_rate = control.rate();
    let difference = treatment_rate.zip(control_rate).map(|(t, c)| t - c);
    let interval = newcombe_difference(
        treatment.visited,
        treatment.customers,
        control.visited,
        control.customers,
        Z_95,
    );
    let relative_lift = difference
        .zip(control_rate)
        .filter(|(_, c)| *c > 0.0)
        .map(|(d, c)| d / c);
    let needed_per_arm = control_rate.and_then(|c| customers_per_arm(c, DETECTABLE_LIFT));
    let underpowered =
        needed_per_arm.is_none_or(|n| treatment.customers.min(control.customers) < n);
    Uplift {
        treatment,
        control,
        treatment_rate,
        control_rate,
        difference,
        interval,
        relative_lift,
        needed_per_arm,
        underpowered,
    }
}

impl Uplift {
    /// A plain Russian warning when the arms are too small to see a +20 % lift, with the
    /// customers each arm would need; `None` when they are large enough.
    pub fn warning_ru(&self) -> Option<String> {
        if !self.underpowered {
            return None;
        }
        let (t, c) = (self.treatment.customers, self.control.customers);
        Some(match self.needed_per_arm {
            Some(n) => format!(
                "Групп мало, чтобы увидеть рост визитов на 20 %: при доле визитов в контрольной \
                 группе {} нужно не меньше {} клиентов в каждой группе, а сейчас {} с рассылкой \
                 и {} в контрольной. Разница ниже может быть случайной.",
                percent_ru(self.control_rate.unwrap_or(0.0)),
                thousands_ru(n),
                thousands_ru(t),
                thousands_ru(c)
            ),
            None => format!(
                "Сравнивать не с чем: в контрольной группе {} {}{}, поэтому нельзя \
                 рассчитать, сколько клиентов нужно, чтобы увидеть рост на 20 %. Разница ниже \
                 может быть случайной.",
                thousands_ru(c),
                plural_ru(c, ["клиент", "клиента", "клиентов"]),
                match self.control_rate {
                    Some(r) if r <= 0.0 => " и ни одного визита",
                    Some(_) => " и визиты у всех",
                    None => "",
                }
            ),
        })
    }
}

/// `12,3 %`.
pub fn percent_ru(fraction: f64) -> String {
    format!("{:.1}\u{a0}%", fraction * 100.0).replace('.', ",")
}

#[cfg(test)]
mod tests;
