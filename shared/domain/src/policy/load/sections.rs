//! Reading the settings sections, `[dealer]` to `[trade_in]`, with their cross-field checks.

use chrono::{Weekday, WeekdaySet};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::{Reader, Tbl};
use crate::forecast::Schedule;
use crate::policy::{
    AbcBasis, BonusMode, ModelSchedule, Percent, Policy, SeasonWindow, LOAD_BONUS_HORIZON_DAYS,
};

impl Reader {
    pub(super) fn dealer(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(t) = self.section(root, "dealer", &["time_zone", "name", "address"]) else {
            return;
        };
        let limits = [
            ("name", crate::policy::DEALER_NAME_MAX_CHARS),
            ("address", crate::policy::DEALER_ADDRESS_MAX_CHARS),
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

    pub(super) fn schedule(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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
                crate::policy::eq_ignore_case(&m.make, &make)
                    && match (&m.model, &model) {
                        (Some(a), Some(b)) => crate::policy::eq_ignore_case(a, b),
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

    pub(super) fn age_bands(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn thresholds(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn triggers(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn contact(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn pricing(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn segments(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn trade_in(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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
