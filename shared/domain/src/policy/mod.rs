//! The dealer's retention rules as data: schedules, thresholds, contact limits, offers, packages
//! and perks, loaded from TOML and validated, with the stakeholders' defaults built in.

pub mod calendar;
mod defaults;
mod load;
mod workshop;

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveTime, WeekdaySet};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::forecast::Schedule;
use crate::money::Money;
use crate::status::{AgeBand, CustomerStatus};
use crate::values::WorkOrderLine;

pub use workshop::{DayHours, PlannedSlot, Workshop};

/// One problem in a policy file: the key it is at (`offers[2].labor_discount_percent`) and what
/// is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Empty when the file is not valid TOML at all.
    pub key: String,
    pub problem: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.key, self.problem)
        }
    }
}

impl std::error::Error for PolicyError {}

/// Every problem found in a policy file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid policy")?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

/// Why a percentage was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("a percentage must be between 0 and 100, got {0}")]
    OutOfRange(String),
    #[error("a percentage has at most 2 decimal places, got {0}")]
    TooPrecise(String),
    #[error("a percentage must be a number like 20 or 12.5, got {0:?}")]
    NotANumber(String),
}

/// A percentage from 0 to 100 with at most two decimal places.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Percent(Decimal);

impl Percent {
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    pub fn from_decimal(value: Decimal) -> Result<Self, PercentError> {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err(PercentError::OutOfRange(value.to_string()));
        }
        if value.normalize().scale() > 2 {
            return Err(PercentError::TooPrecise(value.to_string()));
        }
        Ok(Percent(value.normalize()))
    }

    /// Parses a plain decimal ("20", "12.5").
    pub fn parse(text: &str) -> Result<Self, PercentError> {
        let t = text.trim();
        if t.is_empty()
            || !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(PercentError::NotANumber(text.chars().take(40).collect()));
        }
        let value = Decimal::from_str(t)
            .map_err(|_| PercentError::NotANumber(text.chars().take(40).collect()))?;
        Self::from_decimal(value)
    }

    /// A whole percentage; values above 100 are clamped to 100.
    pub fn whole(value: u32) -> Self {
        Percent(Decimal::from(value.min(100)))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// The share of one: 25 % is 0.25.
    pub fn fraction(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<String> for Percent {
    type Error = PercentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Percent::parse(&value)
    }
}

impl From<Percent> for String {
    fn from(value: Percent) -> String {
        value.to_string()
    }
}

/// A day of the year without a year (`"10-01"`), for windows that repeat every year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Parses `MM-DD`; 02-29 is allowed and means 28 February in a common year.
    pub fn parse(text: &str) -> Option<Self> {
        let (m, d) = text.split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        let month: u32 = m.parse().ok()?;
        let day: u32 = d.parse().ok()?;
        NaiveDate::from_ymd_opt(2000, month, day)?;
        Some(MonthDay { month, day })
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }

    /// This day in `year` (29 February becomes 28 February in a common year).
    pub fn in_year(self, year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// Dealer-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Dealer {
    /// Zone of quiet hours, weekdays and calendar days.
    pub time_zone: Tz,
    /// The dealer's name as customers know it (in messages about their bookings).
    pub name: String,
    /// The service's address, as the day-before reminder gives it.
    pub address: String,
}

/// Longest dealer name the policy takes, in characters.
pub const DEALER_NAME_MAX_CHARS: usize = 60;
/// Longest service address the policy takes, in characters.
pub const DEALER_ADDRESS_MAX_CHARS: usize = 200;

/// A maintenance schedule for one make, or one model of a make.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSchedule {
    pub make: String,
    /// `None` covers every model of the make.
    pub model: Option<String>,
    pub schedule: Schedule,
}

/// Maintenance schedules: the default and per make/model overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRules {
    pub default: Schedule,
    pub models: Vec<ModelSchedule>,
}

/// Ages (years since first registration) at which a car enters the 3–5 and the 5+ band.
#[derive(Debug, Clone, PartialEq)]
pub struct AgeBands {
    pub middle_from_years: u32,
    pub old_from_years: u32,
}

/// When a customer counts as sleeping or lost, and what makes an offer critical.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `sleeping` when the car's maintenance is overdue (past the forecast due date) by more
    /// than this many days: relative to the car's own schedule, so a customer who comes on
    /// schedule is never sleeping.
    pub sleeping_after_overdue_days: u32,
    /// `lost` when the car's maintenance is overdue by more than this many days.
    pub lost_after_overdue_days: u32,
    /// A low satisfaction score makes a critical (recovery) offer only within this many days
    /// after the visit it rates.
    pub csat_recovery_days: u32,
    /// Overdue by more than this many months makes a critical offer.
    pub critical_overdue_months: u32,
    /// Warranty ending within this many days makes a critical offer.
    pub warranty_window_days: u32,
    /// A satisfaction score at or below this makes a critical offer.
    pub csat_alarm_max: u8,
    /// A car that crossed the 3- or 5-year line at most this many days ago gets a critical offer.
    pub age_line_window_days: u32,
}

/// When a customer's car becomes a trade-in lead for the sales department (at most once per
/// vehicle and calendar quarter): a car at least `min_age_years` old whose owner shows one of
/// the signs below.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeInRules {
    pub min_age_years: u32,
    /// The warranty ended at most this many days ago.
    pub warranty_ended_within_days: u32,
    /// This many repair visits of one system (same line code prefix or same line name) …
    pub repeated_repairs: u32,
    /// … within this many months.
    pub repeated_repairs_months: u32,
    /// The last visit's satisfaction score at or below this.
    pub low_rating_max: u8,
    /// Work declined at the owner's last visit (its recommendations) estimated at this many
    /// roubles or more together.
    pub declined_estimate_min_rub: u32,
}

/// A yearly window for the seasonal tyre-change campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonWindow {
    pub name: String,
    pub from: MonthDay,
    /// Inclusive; a window may run across the new year (`from` after `to`).
    pub to: MonthDay,
}

impl SeasonWindow {
    /// The first day of the occurrence of this window that contains `day`, if any.
    pub fn start_containing(&self, day: NaiveDate) -> Option<NaiveDate> {
        let year = day.year();
        for start_year in [year, year - 1] {
            let start = self.from.in_year(start_year);
            let end_year = if self.to < self.from {
                start_year + 1
            } else {
                start_year
            };
            let end = self.to.in_year(end_year);
            if start <= day && day <= end {
                return Some(start);
            }
        }
        None
    }
}

/// When each stage of the customer cycle fires, relative to the due date or the last visit.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerTimings {
    pub ask_odometer_days_before_due: u32,
    /// Ask for the odometer only when the due date's 80 % interval is wider than this.
    pub ask_odometer_min_interval_days: u32,
    pub soft_reminder_days_before_due: u32,
    pub personal_offer_days_before_due: u32,
    /// The personal offer waits at least this long after an unanswered reminder.
    pub reaction_wait_days: u32,
    pub satisfaction_after_days: u32,
    /// The satisfaction request is not sent later than `after + window` days after the visit.
    pub satisfaction_window_days: u32,
    pub seasonal_tires: Vec<SeasonWindow>,
    /// Days after a visit with declined work on which it is followed up: `safety` work from the
    /// first, `soon` from the second, `later` at the last (each strictly later than the one
    /// before, at least two days apart).
    pub declined_work_days: [u32; 3],
    /// The last follow-up is not sent later than this many days after its day (an earlier one
    /// not later than the next one's day).
    pub declined_work_window_days: u32,
}

/// Consent-independent limits on contacting customers.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactLimits {
    /// Quiet hours start (dealer time); no message goes out from here …
    pub quiet_from: NaiveTime,
    /// … until here (may wrap midnight).
    pub quiet_to: NaiveTime,
    /// At most one marketing message per this many days.
    pub marketing_min_gap_days: u32,
    /// Share of customers held out of every marketing message, chosen by a hash of their id.
    pub control_group: Percent,
}

/// Margin protection and booking incentives.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingRules {
    /// The offer's work-order margin never drops below this share of its price.
    pub margin_floor: Percent,
    pub offer_valid_days: u32,
    pub weekday_bonus_points: u32,
    /// The bonus weekdays in [`BonusMode::Weekdays`].
    pub weekday_bonus_days: WeekdaySet,
    /// Where the booking bonus goes: fixed weekdays, or the idlest days ahead.
    pub bonus_mode: BonusMode,
    /// [`BonusMode::Load`]: how many of the next [`LOAD_BONUS_HORIZON_DAYS`] days carry it.
    pub load_bonus_days: u32,
}

/// Days ahead [`BonusMode::Load`] looks for the workshop's idle days.
pub const LOAD_BONUS_HORIZON_DAYS: u32 = 14;

/// Where the booking bonus goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BonusMode {
    /// On `weekday_bonus_days` (Tuesday to Thursday by default).
    #[default]
    Weekdays,
    /// On the `load_bonus_days` days of the next [`LOAD_BONUS_HORIZON_DAYS`] whose forecast
    /// load (vehicles falling due, booked and held units) is furthest below capacity, chosen
    /// when the offer is priced.
    Load,
}

/// What ABC classes rank customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbcBasis {
    Revenue,
    Margin,
}

/// RFM and ABC segmentation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRules {
    pub abc_basis: AbcBasis,
    /// Customers making up the first this-many percent of the total are class A …
    pub abc_a: Percent,
    /// … the next this-many percent class B, the rest class C.
    pub abc_b: Percent,
}

/// A comfort perk or gift the dealer offers (free check, taxi home, car wash, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perk {
    pub id: String,
    /// Customer-facing name (Russian).
    pub name: String,
}

/// A fixed-price maintenance package: the lines it contains at list prices and the package price.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub id: String,
    pub name: String,
    /// `None` fits every make.
    pub make: Option<String>,
    /// `None` fits every model of the make.
    pub model: Option<String>,
    /// At least the list price of its parts, at most the list price of all its lines.
    pub price: Money,
    /// At least one labour line.
    pub lines: Vec<WorkOrderLine>,
}

/// A perk given only when the customer books within some days of the offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gift {
    pub perk: String,
    pub book_within_days: u32,
}

/// An offer rule for a status × age band; the first rule that matches a customer applies.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRule {
    pub id: String,
    /// Empty matches every band.
    pub age_bands: Vec<AgeBand>,
    /// Empty matches every status.
    pub statuses: Vec<CustomerStatus>,
    /// Discount on labour lines (parts are never discounted).
    pub labor_discount: Percent,
    /// Offer the model's maintenance package at its package price.
    pub package: bool,
    pub perks: Vec<String>,
    pub gift: Option<Gift>,
}

impl OfferRule {
    pub fn matches(&self, status: CustomerStatus, band: AgeBand) -> bool {
        (self.age_bands.is_empty() || self.age_bands.contains(&band))
            && (self.statuses.is_empty() || self.statuses.contains(&status))
    }
}

/// The whole validated policy. Built only by [`Policy::from_toml`] or [`Policy::default`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    dealer: Dealer,
    schedule: ScheduleRules,
    age_bands: AgeBands,
    thresholds: Thresholds,
    triggers: TriggerTimings,
    contact: ContactLimits,
    pricing: PricingRules,
    segments: SegmentRules,
    trade_in: TradeInRules,
    perks: Vec<Perk>,
    packages: Vec<Package>,
    offers: Vec<OfferRule>,
    workshop: Workshop,
}

impl Policy {
    /// Reads a policy file. Every key is optional and defaults as in [`Policy::default`]; a list
    /// given in the file (`perks`, `packages`, `offers`, `schedule.models`,
    /// `triggers.seasonal_tires`) replaces the default list. Unknown keys are errors.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyErrors> {
        load::from_toml(text)
    }

    pub fn dealer(&self) -> &Dealer {
        &self.dealer
    }

    pub fn time_zone(&self) -> Tz {
        self.dealer.time_zone
    }

    pub fn schedules(&self) -> &ScheduleRules {
        &self.schedule
    }

    pub fn age_bands(&self) -> &AgeBands {
        &self.age_bands
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    pub fn triggers(&self) -> &TriggerTimings {
        &self.triggers
    }

    pub fn contact(&self) -> &ContactLimits {
        &self.contact
    }

    pub fn pricing(&self) -> &PricingRules {
        &self.pricing
    }

    pub fn segments(&self) -> &SegmentRules {
        &self.segments
    }

    pub fn trade_in(&self) -> &TradeInRules {
        &self.trade_in
    }

    pub fn perks(&self) -> &[Perk] {
        &self.perks
    }

    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    pub fn offers(&self) -> &[OfferRule] {
        &self.offers
    }

    /// Workshop capacity: what slots a day has, how far ahead they are offered, hold timeout.
    pub fn workshop(&self) -> &Workshop {
        &self.workshop
    }

    /// The schedule for a make and model: the model's override, else the make's, else the
    /// default. Names compare case-insensitively.
    pub fn schedule_for(&self, make: &str, model: &str) -> Schedule {
        let fits = |m: &&ModelSchedule| eq_ignore_case(&m.make, make);
        let exact = self
            .schedule
            .models
            .iter()
            .filter(fits)
            .find(|m| m.model.as_deref().is_some_and(|x| eq_ignore_case(x, model)));
        let make_wide = || {
            self.schedule
                .models
                .iter()
                .filter(fits)
                .find(|m| m.model.is_none())
        };
        exact
            .or_else(make_wide)
            .map_or(self.schedule.default, |m| m.schedule)
    }

    /// The maintenance package for a make and model: the model's, else the make's, else a
    /// package for every make.
    pub fn package_for(&self, make: &str, model: &str) -> Option<&Package> {
        let rank = |p: &Package| match (&p.make, &p.model) {
            (Some(mk), Some(md)) if eq_ignore_case(mk, make) && eq_ignore_case(md, model) => {
                Some(0)
            }
            (Some(mk), None) if eq_ignore_case(mk, make) => Some(1),
            (None, None) => Some(2),
            _ => None,
        };
        self.packages
            .iter()
            .filter_map(|p| rank(p).map(|r| (r, p)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, p)| p)
    }

    pub fn perk(&self, id: &str) -> Option<&Perk> {
        self.perks.iter().find(|p| p.id == id)
    }

    /// The first offer rule matching a status and age band.
    pub fn offer_rule(&self, status: CustomerStatus, band: AgeBand) -> Option<&OfferRule> {
        self.offers.iter().find(|r| r.matches(status, band))
    }

    /// The policy with the named offer rules left out: an offer matches the next rule instead.
    pub fn without_offer_rules(&self, ids: &[String]) -> Policy {
        let mut policy = self.clone();
        policy.offers.retain(|r| !ids.contains(&r.id));
        policy
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

#[cfg(test)]
mod tests;
