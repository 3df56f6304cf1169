//! Reading a policy file: walks the TOML tree key by key so every error names its key.

mod workshop;

use chrono::{NaiveTime, Weekday, WeekdaySet};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use toml::{Table, Value};

use super::{
    AbcBasis, BonusMode, Gift, ModelSchedule, MonthDay, OfferRule, Package, Percent, Perk, Policy,
    PolicyError, PolicyErrors, SeasonWindow, LOAD_BONUS_HORIZON_DAYS,
};
use crate::forecast::Schedule;
use crate::money::Money;
use crate::status::{AgeBand, CustomerStatus};
use crate::values::{LineDto, WorkOrderLine};

/// Ids the pricing reports for its built-in rules; an offer rule may not take them.
const RESERVED_RULE_IDS: &[&str] = &[
    crate::pricing::MARGIN_FLOOR_RULE,
    crate::pricing::WEEKDAY_BONUS_RULE,
];

const ROOT_KEYS: &[&str] = &[
    "dealer",
    "schedule",
    "age_bands",
    "thresholds",
    "triggers",
    "contact",
    "pricing",
    "segments",
    "trade_in",
    "perks",
    "packages",
    "offers",
    "workshop",
];

pub(super) fn from_toml(text: &str) -> Result<Policy, PolicyErrors> {
    let root: Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e.span().map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: ")
        });
        PolicyErrors(vec![PolicyError {
            key: String::new(),
            problem: format!("{}{}", at.unwrap_or_default(), e.message().trim()),
        }])
    })?;
    let mut r = Reader { errors: Vec::new() };
    let policy = r.policy(&Tbl {
        path: String::new(),
        table: &root,
    });
    if r.errors.is_empty() {
        Ok(policy)
    } else {
        Err(PolicyErrors(r.errors))
    }
}

/// A table and the key path that leads to it.
struct Tbl<'t> {
    path: String,
    table: &'t Table,
}

impl<'t> Tbl<'t> {
    fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'t Value> {
        self.table.get(key)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

struct Reader {
    errors: Vec<PolicyError>,
}

impl Reader {
    fn error(&mut self, key: String, problem: impl Into<String>) {
        self.errors.push(PolicyError {
            key,
            problem: problem.into(),
        });
    }

    fn wrong_type(&mut self, key: String, expected: &str, got: &Value) {
        self.error(key, format!("must be {expected}, got {}", type_name(got)));
    }

    fn known_keys(&mut self, t: &Tbl<'_>, allowed: &[&str]) {
        for key in t.table.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    t.key(key),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    fn section<'t>(&mut self, t: &Tbl<'t>, key: &str, allowed: &[&str]) -> Option<Tbl<'t>> {
        match t.get(key)? {
            Value::Table(table) => {
                let sub = Tbl {
                    path: t.key(key),
                    table,
                };
                self.known_keys(&sub, allowed);
                Some(sub)
            }
            other => {
                self.wrong_type(t.key(key), "a table", other);
                None
            }
        }
    }

    /// An array of tables (`[[key]]`), each checked for unknown keys.
    fn tables<'t>(&mut self, t: &Tbl<'t>, key: &str, allowed: &[&str]) -> Option<Vec<Tbl<'t>>> {
        let items = match t.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong_type(t.key(key), "an array of tables", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", t.key(key));
            match item {
                Value::Table(table) => {
                    let sub = Tbl { path, table };
                    self.known_keys(&sub, allowed);
                    out.push(sub);
                }
                other => self.wrong_type(path, "a table", other),
            }
        }
        Some(out)
    }

    fn uint(&mut self, t: &Tbl<'_>, key: &str, default: u32, min: u32, max: u32) -> u32 {
        match t.get(key) {
            None => default,
            Some(Value::Integer(n)) if (i64::from(min)..=i64::from(max)).contains(n) => *n as u32,
            Some(Value::Integer(n)) => {
                self.error(
                    t.key(key),
                    format!("must be between {min} and {max}, got {n}"),
                );
                default
            }
            Some(other) => {
                self.wrong_type(t.key(key), "an integer", other);
                default
            }
        }
    }

    fn text(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
        match t.get(key)? {
            Value::String(s) if s.trim().is_empty() => {
                self.error(t.key(key), "must not be blank");
                None
            }
            Value::String(s) if s.chars().any(char::is_control) => {
                self.error(t.key(key), "must not contain control characters");
                None
            }
            Value::String(s) => Some(s.trim().to_owned()),
            other => {
                self.wrong_type(t.key(key), "a string", other);
                None
            }
        }
    }

    fn required_text(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
        if t.get(key).is_none() {
            self.error(t.key(key), "is required");
            return None;
        }
        self.text(t, key)
    }

    fn id(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
        let id = self.required_text(t, key)?;
        let ok = id.len() <= 40
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Some(id)
        } else {
            self.error(
                t.key(key),
                format!("must be 1 to 40 of a-z, 0-9, '_' and '-', got {id:?}"),
            );
            None
        }
    }

    fn boolean(&mut self, t: &Tbl<'_>, key: &str, default: bool) -> bool {
        match t.get(key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                self.wrong_type(t.key(key), "true or false", other);
                default
            }
        }
    }

    fn percent(&mut self, t: &Tbl<'_>, key: &str, default: Percent) -> Percent {
        let parsed = match t.get(key) {
            None => return default,
            Some(Value::Integer(n)) => Percent::from_decimal(Decimal::from(*n)),
            Some(Value::Float(f)) => match Decimal::from_str_exact(&f.to_string()) {
                Ok(d) => Percent::from_decimal(d),
                Err(_) => Percent::parse(&f.to_string()),
            },
            Some(other) => {
                self.wrong_type(t.key(key), "a number of percent", other);
                return default;
            }
        };
        parsed.unwrap_or_else(|e| {
            self.error(t.key(key), e.to_string());
            default
        })
    }

    fn money(&mut self, t: &Tbl<'_>, key: &str) -> Option<Money> {
        match t.get(key) {
            None => {
                self.error(t.key(key), "is required");
                None
            }
            Some(Value::String(s)) => Money::parse(s)
                .map_err(|e| self.error(t.key(key), e.to_string()))
                .ok(),
            Some(other) => {
                self.wrong_type(
                    t.key(key),
                    "a decimal string in roubles like \"9900.00\"",
                    other,
                );
                None
            }
        }
    }

    fn time(&mut self, t: &Tbl<'_>, key: &str, default: NaiveTime) -> NaiveTime {
        let Some(text) = self.text(t, key) else {
            return default;
        };
        NaiveTime::parse_from_str(&text, "%H:%M").unwrap_or_else(|_| {
            self.error(
                t.key(key),
                format!("must be a time of day like \"21:00\", got {text:?}"),
            );
            default
        })
    }

    fn month_day(&mut self, t: &Tbl<'_>, key: &str) -> Option<MonthDay> {
        let text = self.required_text(t, key)?;
        MonthDay::parse(&text).or_else(|| {
            self.error(
                t.key(key),
                format!("must be a day of the year like \"10-01\", got {text:?}"),
            );
            None
        })
    }

    /// A list of strings, each mapped by `parse`; `what` describes a valid element.
    fn list<T: PartialEq>(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = match t.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong_type(t.key(key), "an array of strings", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", t.key(key));
            match item {
                Value::String(s) => match parse(s) {
                    Some(v) if out.contains(&v) => {
                        self.error(path, format!("{s:?} is listed twice"))
                    }
                    Some(v) => out.push(v),
                    None => self.error(path, format!("must be {what}, got {s:?}")),
                },
                other => self.wrong_type(path, "a string", other),
            }
        }
        Some(out)
    }

    fn policy(&mut self, root: &Tbl<'_>) -> Policy {
        self.known_keys(root, ROOT_KEYS);
        let mut p = Policy::default();
        self.dealer(root, &mut p);
        self.schedule(root, &mut p);
        self.age_bands(root, &mut p);
        self.thresholds(root, &mut p);
        self.triggers(root, &mut p);
        self.contact(root, &mut p);
        self.pricing(root, &mut p);
        self.segments(root, &mut p);
        self.trade_in(root, &mut p);
        self.perks(root, &mut p);
        self.packages(root, &mut p);
        self.offers(root, &mut p);
        self.workshop(root, &mut p);
        if self.errors.is_empty() {
            self.references(root, &p);
        }
        p
    }

    fn dealer(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(t) = self.section(root, "dealer", &["time_zone", "name", "address"]) else {
            return;
        };
        let limits = [
            ("name", super::DEALER_NAME_MAX_CHARS),
            ("address", super::DEALER_ADDRESS_MAX_CHARS),
        ];
        for (key, max) in limits {
            let Some(value) = self.text(&t, key) else {
                continue;
            };
            let len = value.chars().count();
            if len > max {
                self.error(
                    t.key(key),
                    format!("has at most {max} characters, got {len}"),
                );
            } else if key == "name" {
                p.dealer.name = value;
            } else {
                p.dealer.address = value;
            }
        }
        if let Some(zone) = self.text(&t, "time_zone") {
            match zone.parse::<Tz>() {
                Ok(tz) => p.dealer.time_zone = tz,
                Err(_) => self.error(
                    t.key("time_zone"),
                    format!("must be an IANA time zone like \"Europe/Moscow\", got {zone:?}"),
                ),
            }
        }
    }

    fn schedule_values(&mut self, t: &Tbl<'_>, default: Schedule) -> Schedule {
        Schedule {
            km: self.uint(t, "km", default.km, 1_000, 100_000),
            months: self.uint(t, "months", default.months, 1, 60),
        }
    }

    fn schedule(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(t) = self.section(root, "schedule", &["km", "months", "models"]) else {
            return;
        };
        p.schedule.default = self.schedule_values(&t, p.schedule.default);
        let Some(items) = self.tables(&t, "models", &["make", "model", "km", "months"]) else {
            return;
        };
        let mut models: Vec<ModelSchedule> = Vec::new();
        for item in &items {
            let make = self.required_text(item, "make");
            let model = self.text(item, "model");
            for key in ["km", "months"] {
                if item.get(key).is_none() {
                    self.error(item.key(key), "is required");
                }
            }
            let schedule = self.schedule_values(item, p.schedule.default);
            let Some(make) = make else { continue };
            let same = |m: &ModelSchedule| {
                super::eq_ignore_case(&m.make, &make)
                    && match (&m.model, &model) {
                        (Some(a), Some(b)) => super::eq_ignore_case(a, b),
                        (None, None) => true,
                        _ => false,
                    }
            };
            if models.iter().any(same) {
                self.error(
                    item.path.clone(),
                    "this make and model already has a schedule",
                );
                continue;
            }
            models.push(ModelSchedule {
                make,
                model,
                schedule,
            });
        }
        p.schedule.models = models;
    }

    fn age_bands(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(t) = self.section(root, "age_bands", &["middle_from_years", "old_from_years"])
        else {
            return;
        };
        let b = &mut p.age_bands;
        b.middle_from_years = self.uint(&t, "middle_from_years", b.middle_from_years, 1, 30);
        b.old_from_years = self.uint(&t, "old_from_years", b.old_from_years, 1, 30);
        if b.old_from_years <= b.middle_from_years {
            self.error(
                t.key("old_from_years"),
                format!(
                    "must be greater than middle_from_years ({})",
                    b.middle_from_years
                ),
            );
        }
    }

    fn thresholds(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "sleeping_after_overdue_days",
            "lost_after_overdue_days",
            "critical_overdue_months",
            "warranty_window_days",
            "csat_alarm_max",
            "age_line_window_days",
            "csat_recovery_days",
            // Replaced keys, accepted by name so they get a clear error below.
            "sleeping_after_months",
            "lost_after_months",
        ];
        let Some(t) = self.section(root, "thresholds", &keys) else {
            return;
        };
        for (old, new) in [
            ("sleeping_after_months", "sleeping_after_overdue_days"),
            ("lost_after_months", "lost_after_overdue_days"),
        ] {
            if t.get(old).is_some() {
                self.error(
                    t.key(old),
                    format!(
                        "is no longer used: statuses are relative to the car's due date, \
                         set {new} (days past the forecast due date) instead"
                    ),
                );
            }
        }
        let h = &mut p.thresholds;
        h.sleeping_after_overdue_days =
            self.uint(&t, keys[0], h.sleeping_after_overdue_days, 0, 3650);
        h.lost_after_overdue_days = self.uint(&t, keys[1], h.lost_after_overdue_days, 1, 3650);
        h.critical_overdue_months = self.uint(&t, keys[2], h.critical_overdue_months, 0, 120);
        h.warranty_window_days = self.uint(&t, keys[3], h.warranty_window_days, 0, 365);
        h.csat_alarm_max = self.uint(&t, keys[4], u32::from(h.csat_alarm_max), 0, 10) as u8;
        h.age_line_window_days = self.uint(&t, keys[5], h.age_line_window_days, 1, 365);
        h.csat_recovery_days = self.uint(&t, keys[6], h.csat_recovery_days, 0, 365);
        if h.lost_after_overdue_days <= h.sleeping_after_overdue_days {
            self.error(
                t.key(keys[1]),
                format!(
                    "must be greater than sleeping_after_overdue_days ({})",
                    h.sleeping_after_overdue_days
                ),
            );
        }
    }

    fn triggers(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "ask_odometer_days_before_due",
            "ask_odometer_min_interval_days",
            "soft_reminder_days_before_due",
            "personal_offer_days_before_due",
            "reaction_wait_days",
            "satisfaction_after_days",
            "satisfaction_window_days",
            "seasonal_tires",
            "declined_work_first_days",
            "declined_work_second_days",
            "declined_work_last_days",
            "declined_work_window_days",
        ];
        let Some(t) = self.section(root, "triggers", &keys) else {
            return;
        };
        let g = &mut p.triggers;
        g.ask_odometer_days_before_due =
            self.uint(&t, keys[0], g.ask_odometer_days_before_due, 0, 365);
        g.ask_odometer_min_interval_days =
            self.uint(&t, keys[1], g.ask_odometer_min_interval_days, 0, 3650);
        g.soft_reminder_days_before_due =
            self.uint(&t, keys[2], g.soft_reminder_days_before_due, 0, 365);
        g.personal_offer_days_before_due =
            self.uint(&t, keys[3], g.personal_offer_days_before_due, 0, 365);
        g.reaction_wait_days = self.uint(&t, keys[4], g.reaction_wait_days, 0, 60);
        g.satisfaction_after_days = self.uint(&t, keys[5], g.satisfaction_after_days, 0, 60);
        g.satisfaction_window_days = self.uint(&t, keys[6], g.satisfaction_window_days, 1, 60);
        for (i, key) in keys[8..11].iter().enumerate() {
            g.declined_work_days[i] = self.uint(&t, key, g.declined_work_days[i], 0, 365);
        }
        g.declined_work_window_days = self.uint(&t, keys[11], g.declined_work_window_days, 1, 60);
        for i in 1..3 {
            let (before, day) = (g.declined_work_days[i - 1], g.declined_work_days[i]);
            if day < before + 2 {
                self.error(
                    t.key(keys[8 + i]),
                    format!("must be at least 2 days after {} ({before})", keys[7 + i]),
                );
            }
        }
        if g.soft_reminder_days_before_due <= g.personal_offer_days_before_due {
            self.error(
                t.key(keys[2]),
                format!(
                    "must be greater than personal_offer_days_before_due ({})",
                    g.personal_offer_days_before_due
                ),
            );
        }
        if g.ask_odometer_days_before_due <= g.soft_reminder_days_before_due {
            self.error(
                t.key(keys[0]),
                format!(
                    "must be greater than soft_reminder_days_before_due ({})",
                    g.soft_reminder_days_before_due
                ),
            );
        }
        let Some(items) = self.tables(&t, "seasonal_tires", &["name", "from", "to"]) else {
            return;
        };
        let mut windows: Vec<SeasonWindow> = Vec::new();
        for item in &items {
            let name = self.id(item, "name");
            let from = self.month_day(item, "from");
            let to = self.month_day(item, "to");
            if let (Some(name), Some(from), Some(to)) = (name, from, to) {
                if windows.iter().any(|w| w.name == name) {
                    self.error(
                        item.key("name"),
                        format!("{name:?} is used by another window"),
                    );
                } else {
                    windows.push(SeasonWindow { name, from, to });
                }
            }
        }
        p.triggers.seasonal_tires = windows;
    }

    fn contact(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "quiet_hours_from",
            "quiet_hours_to",
            "marketing_min_gap_days",
            "control_group_percent",
        ];
        let Some(t) = self.section(root, "contact", &keys) else {
            return;
        };
        let c = &mut p.contact;
        c.quiet_from = self.time(&t, keys[0], c.quiet_from);
        c.quiet_to = self.time(&t, keys[1], c.quiet_to);
        c.marketing_min_gap_days = self.uint(&t, keys[2], c.marketing_min_gap_days, 0, 365);
        c.control_group = self.percent(&t, keys[3], c.control_group);
        if c.quiet_from == c.quiet_to {
            self.error(t.key(keys[1]), "must differ from quiet_hours_from");
        }
    }

    fn pricing(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "margin_floor_percent",
            "offer_valid_days",
            "weekday_bonus_points",
            "weekday_bonus_days",
            "bonus_mode",
            "load_bonus_days",
        ];
        let Some(t) = self.section(root, "pricing", &keys) else {
            return;
        };
        let r = &mut p.pricing;
        r.margin_floor = self.percent(&t, keys[0], r.margin_floor);
        if r.margin_floor.value() >= Decimal::ONE_HUNDRED {
            self.error(t.key(keys[0]), "must be below 100");
            r.margin_floor = Percent::ZERO;
        }
        r.offer_valid_days = self.uint(&t, keys[1], r.offer_valid_days, 1, 365);
        r.weekday_bonus_points = self.uint(&t, keys[2], r.weekday_bonus_points, 0, 1_000_000);
        let what = "a day like \"tue\" (mon, tue, wed, thu, fri, sat, sun)";
        if let Some(days) = self.list(&t, keys[3], what, parse_weekday) {
            let mut set = WeekdaySet::EMPTY;
            for d in days {
                set.insert(d);
            }
            p.pricing.weekday_bonus_days = set;
        }
        if let Some(mode) = self.text(&t, keys[4]) {
            match mode.as_str() {
                "weekdays" => p.pricing.bonus_mode = BonusMode::Weekdays,
                "load" => p.pricing.bonus_mode = BonusMode::Load,
                other => self.error(
                    t.key(keys[4]),
                    format!("must be \"weekdays\" or \"load\", got {other:?}"),
                ),
            }
        }
        p.pricing.load_bonus_days = self.uint(
            &t,
            keys[5],
            p.pricing.load_bonus_days,
            1,
            LOAD_BONUS_HORIZON_DAYS,
        );
    }

    fn segments(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = ["abc_basis", "abc_a_percent", "abc_b_percent"];
        let Some(t) = self.section(root, "segments", &keys) else {
            return;
        };
        if let Some(basis) = self.text(&t, keys[0]) {
            match basis.as_str() {
                "revenue" => p.segments.abc_basis = AbcBasis::Revenue,
                "margin" => p.segments.abc_basis = AbcBasis::Margin,
                other => self.error(
                    t.key(keys[0]),
                    format!("must be \"revenue\" or \"margin\", got {other:?}"),
                ),
            }
        }
        let s = &mut p.segments;
        s.abc_a = self.percent(&t, keys[1], s.abc_a);
        s.abc_b = self.percent(&t, keys[2], s.abc_b);
        if s.abc_a.is_zero() {
            self.error(t.key(keys[1]), "must be above 0");
        }
        if s.abc_a.value() + s.abc_b.value() > Decimal::ONE_HUNDRED {
            self.error(
                t.key(keys[2]),
                format!(
                    "abc_a_percent + abc_b_percent must not exceed 100, got {}",
                    s.abc_a.value() + s.abc_b.value()
                ),
            );
        }
    }

    fn trade_in(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "min_age_years",
            "warranty_ended_within_days",
            "repeated_repairs",
            "repeated_repairs_months",
            "low_rating_max",
            "declined_estimate_min_rub",
        ];
        let Some(t) = self.section(root, "trade_in", &keys) else {
            return;
        };
        let r = &mut p.trade_in;
        r.min_age_years = self.uint(&t, keys[0], r.min_age_years, 0, 50);
        r.warranty_ended_within_days =
            self.uint(&t, keys[1], r.warranty_ended_within_days, 0, 3650);
        r.repeated_repairs = self.uint(&t, keys[2], r.repeated_repairs, 2, 100);
        r.repeated_repairs_months = self.uint(&t, keys[3], r.repeated_repairs_months, 1, 120);
        r.low_rating_max = self.uint(&t, keys[4], u32::from(r.low_rating_max), 0, 9) as u8;
        r.declined_estimate_min_rub =
            self.uint(&t, keys[5], r.declined_estimate_min_rub, 1, 100_000_000);
    }

    fn perks(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(items) = self.tables(root, "perks", &["id", "name"]) else {
            return;
        };
        let mut perks: Vec<Perk> = Vec::new();
        for item in &items {
            let id = self.id(item, "id");
            let name = self.required_text(item, "name");
            if let (Some(id), Some(name)) = (id, name) {
                if perks.iter().any(|x| x.id == id) {
                    self.error(item.key("id"), format!("{id:?} is used by another perk"));
                } else {
                    perks.push(Perk { id, name });
                }
            }
        }
        p.perks = perks;
    }

    fn line(&mut self, path: String, value: &Value) -> Option<WorkOrderLine> {
        let Value::Table(table) = value else {
            self.wrong_type(path, "a table", value);
            return None;
        };
        let t = Tbl { path, table };
        let fields = ["kind", "code", "name", "qty", "price", "cost"];
        self.known_keys(&t, &fields);
        let mut texts = Vec::with_capacity(fields.len());
        for key in fields {
            match t.get(key) {
                Some(Value::String(s)) => texts.push(s.clone()),
                Some(other) => {
                    self.wrong_type(t.key(key), "a string", other);
                    return None;
                }
                None => {
                    self.error(t.key(key), "is required");
                    return None;
                }
            }
        }
        let mut it = texts.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let dto = LineDto {
            kind: next(),
            code: next(),
            name: next(),
            qty: next(),
            price: next(),
            cost: next(),
        };
        WorkOrderLine::try_from(dto)
            .map_err(|errors| {
                for e in errors.0 {
                    self.error(t.key(e.field()), e.to_string());
                }
            })
            .ok()
    }

    fn packages(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = ["id", "name", "make", "model", "price", "lines"];
        let Some(items) = self.tables(root, "packages", &keys) else {
            return;
        };
        let mut packages: Vec<Package> = Vec::new();
        for item in &items {
            let id = self.id(item, "id");
            let name = self.required_text(item, "name");
            let make = self.text(item, "make");
            let model = self.text(item, "model");
            let price = self.money(item, "price");
            if model.is_some() && make.is_none() && item.get("make").is_none() {
                self.error(item.key("model"), "a package for a model needs its make");
            }
            let lines = match item.get("lines") {
                Some(Value::Array(values)) if !values.is_empty() => {
                    let mut lines = Vec::with_capacity(values.len());
                    let mut ok = true;
                    for (i, v) in values.iter().enumerate() {
                        match self.line(format!("{}[{i}]", item.key("lines")), v) {
                            Some(l) => lines.push(l),
                            None => ok = false,
                        }
                    }
                    ok.then_some(lines)
                }
                Some(Value::Array(_)) | None => {
                    self.error(item.key("lines"), "needs at least one line");
                    None
                }
                Some(other) => {
                    self.wrong_type(item.key("lines"), "an array of lines", other);
                    None
                }
            };
            let (Some(id), Some(name), Some(price), Some(lines)) = (id, name, price, lines) else {
                continue;
            };
            if !lines.iter().any(WorkOrderLine::is_labor) {
                self.error(item.key("lines"), "needs at least one labour line");
                continue;
            }
            let parts: Money = lines
                .iter()
                .filter(|l| l.is_part())
                .map(WorkOrderLine::total_price)
                .sum();
            let list: Money = lines.iter().map(WorkOrderLine::total_price).sum();
            if price < parts {
                self.error(
                    item.key("price"),
                    format!("{price} is below the list price of the package's parts ({parts}); parts are never discounted"),
                );
                continue;
            }
            if price > list {
                self.error(
                    item.key("price"),
                    format!("{price} is above the list price of its lines ({list})"),
                );
                continue;
            }
            if packages.iter().any(|x| x.id == id) {
                self.error(item.key("id"), format!("{id:?} is used by another package"));
                continue;
            }
            packages.push(Package {
                id,
                name,
                make,
                model,
                price,
                lines,
            });
        }
        p.packages = packages;
    }

    fn offers(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let keys = [
            "id",
            "age_bands",
            "statuses",
            "labor_discount_percent",
            "package",
            "perks",
            "gift",
        ];
        let Some(items) = self.tables(root, "offers", &keys) else {
            return;
        };
        let mut rules: Vec<OfferRule> = Vec::new();
        for item in &items {
            let id = self.id(item, "id");
            let bands = self.list(
                item,
                "age_bands",
                "\"0-3\", \"3-5\" or \"5+\"",
                AgeBand::parse,
            );
            let statuses = self.list(
                item,
                "statuses",
                "one of new, loyal, sleeping, lost, returned, blocked",
                CustomerStatus::parse,
            );
            let labor_discount = self.percent(item, "labor_discount_percent", Percent::ZERO);
            let package = self.boolean(item, "package", false);
            if package && item.get("labor_discount_percent").is_some() {
                self.error(
                    item.key("labor_discount_percent"),
                    "a package offer is priced by its package; leave the discount out",
                );
            }
            let perks = self
                .list(item, "perks", "a perk id", |s| Some(s.to_owned()))
                .unwrap_or_default();
            let gift = self
                .section(item, "gift", &["perk", "book_within_days"])
                .and_then(|g| {
                    let perk = self.required_text(&g, "perk")?;
                    if g.get("book_within_days").is_none() {
                        self.error(g.key("book_within_days"), "is required");
                    }
                    let book_within_days = self.uint(&g, "book_within_days", 7, 1, 90);
                    Some(Gift {
                        perk,
                        book_within_days,
                    })
                });
            let Some(id) = id else { continue };
            if RESERVED_RULE_IDS.contains(&id.as_str()) {
                self.error(
                    item.key("id"),
                    format!("{id:?} is reserved for a built-in rule"),
                );
                continue;
            }
            if rules.iter().any(|r| r.id == id) {
                self.error(
                    item.key("id"),
                    format!("{id:?} is used by another offer rule"),
                );
                continue;
            }
            rules.push(OfferRule {
                id,
                age_bands: bands.unwrap_or_default(),
                statuses: statuses.unwrap_or_default(),
                labor_discount,
                package,
                perks,
                gift,
            });
        }
        p.offers = rules;
    }

    /// Offer rules may only name perks and packages the policy has, whether the rules come from
    /// the file or are the defaults kept beside a replaced perk or package list.
    fn references(&mut self, root: &Tbl<'_>, p: &Policy) {
        let from_file = root.get("offers").is_some();
        let at = |i: usize, rest: &str| {
            if from_file {
                format!("offers[{i}].{rest}")
            } else {
                format!("offers (default rule {:?}).{rest}", p.offers[i].id)
            }
        };
        for (i, rule) in p.offers.iter().enumerate() {
            for (j, perk) in rule.perks.iter().enumerate() {
                if p.perk(perk).is_none() {
                    self.error(
                        at(i, &format!("perks[{j}]")),
                        format!("no perk with id {perk:?}"),
                    );
                }
            }
            if let Some(gift) = &rule.gift {
                if p.perk(&gift.perk).is_none() {
                    self.error(
                        at(i, "gift.perk"),
                        format!("no perk with id {:?}", gift.perk),
                    );
                }
            }
            if rule.package && p.packages.is_empty() {
                self.error(at(i, "package"), "there is no package to offer");
            }
        }
    }
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    match text {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    }
}
