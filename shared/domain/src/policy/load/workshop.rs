//! Reading `[workshop]`: lifts, slot length, hours per weekday, closed days.

use chrono::{NaiveDate, NaiveTime};
use toml::Value;

use super::{Reader, Tbl};
use crate::policy::{DayHours, Policy};

const KEYS: [&str; 7] = [
    "lifts",
    "slot_minutes",
    "days_ahead",
    "hold_minutes",
    "production_calendar",
    "closed_days",
    "hours",
];

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `"09:00-20:00"`.
fn parse_range(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (open, close) = text.split_once('-')?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").ok()?;
    let close = NaiveTime::parse_from_str(close.trim(), "%H:%M").ok()?;
    (open < close).then_some((open, close))
}

impl Reader {
    pub(super) fn workshop(&mut self, root: &Tbl<'_>, p: &mut Policy) {
        let Some(t) = self.section(root, "workshop", &KEYS) else {
            return;
        };
        let w = &mut p.workshop;
        let default_lifts = w.lifts;
        w.lifts = self.uint(&t, "lifts", w.lifts, 1, 100);
        w.slot_minutes = self.uint(&t, "slot_minutes", w.slot_minutes, 15, 480);
        w.days_ahead = self.uint(&t, "days_ahead", w.days_ahead, 1, 60);
        w.hold_minutes = self.uint(&t, "hold_minutes", w.hold_minutes, 1, 24 * 60);
        w.production_calendar = self.boolean(&t, "production_calendar", w.production_calendar);
        if let Some(days) = self.list(&t, "closed_days", "a date like \"2026-12-31\"", |s| {
            s.parse::<NaiveDate>().ok()
        }) {
            p.workshop.closed_days = days;
        }
        let lifts = p.workshop.lifts;
        if lifts != default_lifts {
            for h in p.workshop.hours.iter_mut().flatten() {
                if h.lifts == default_lifts {
                    h.lifts = lifts;
                }
            }
        }
        if let Some(hours) = self.section(&t, "hours", &WEEKDAYS) {
            for (i, day) in WEEKDAYS.iter().enumerate() {
                if let Some(value) = hours.get(day) {
                    p.workshop.hours[i] = self.day_hours(&hours, day, value, lifts);
                }
            }
        }
        let w = &p.workshop;
        if w.hours.iter().all(Option::is_none) {
            self.error(
                t.key("hours"),
                "the workshop must be open on at least one day",
            );
        }
        for (i, h) in w.hours.iter().enumerate() {
            let Some(h) = h else { continue };
            let minutes = (h.close - h.open).num_minutes();
            if minutes < i64::from(w.slot_minutes) {
                self.error(
                    format!("{}.{}", t.key("hours"), WEEKDAYS[i]),
                    format!(
                        "is shorter than one slot of slot_minutes ({})",
                        w.slot_minutes
                    ),
                );
            }
        }
    }

    /// `"09:00-20:00"`, `"closed"` or `{ hours = "10:00-16:00", lifts = 2 }`.
    fn day_hours(&mut self, t: &Tbl<'_>, day: &str, value: &Value, lifts: u32) -> Option<DayHours> {
        let what = "\"HH:MM-HH:MM\" (opening before closing), \"closed\" or { hours, lifts }";
        let range = |r: &mut Reader, key: String, text: &str| {
            let parsed = parse_range(text);
            if parsed.is_none() {
                r.error(key, format!("must be {what}, got {text:?}"));
            }
            parsed
        };
        match value {
            Value::String(s) if s.trim() == "closed" => None,
            Value::String(s) => {
                range(self, t.key(day), s).map(|(open, close)| DayHours { open, close, lifts })
            }
            Value::Table(table) => {
                let sub = Tbl {
                    path: t.key(day),
                    table,
                };
                self.known_keys(&sub, &["hours", "lifts"]);
                let day_lifts = self.uint(&sub, "lifts", lifts, 0, 100);
                let text = self.required_text(&sub, "hours")?;
                let (open, close) = range(self, sub.key("hours"), &text)?;
                Some(DayHours {
                    open,
                    close,
                    lifts: day_lifts,
                })
            }
            other => {
                self.wrong_type(t.key(day), what, other);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn errors(text: &str) -> Vec<String> {
        match Policy::from_toml(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_workshop_section_sets_lifts_hours_and_closed_days() {
        let policy = Policy::from_toml(
            r#"
            [workshop]
            lifts = 2
            slot_minutes = 30
            days_ahead = 14
            hold_minutes = 45
            production_calendar = false
            closed_days = ["2026-12-03"]
            [workshop.hours]
            sat = { hours = "10:00-14:00", lifts = 1 }
            sun = "closed"
            mon = "08:00-12:00"
            "#,
        )
        .unwrap();
        let w = policy.workshop();
        assert_eq!(
            (w.lifts, w.slot_minutes, w.days_ahead, w.hold_minutes),
            (2, 30, 14, 45)
        );
        assert!(!w.production_calendar);
        let monday = w.slots_on("2026-11-30".parse().unwrap());
        assert_eq!(monday.len(), 8);
        assert!(monday.iter().all(|s| s.lifts == 2));
        let saturday = w.slots_on("2026-12-05".parse().unwrap());
        assert_eq!(saturday.len(), 8);
        assert!(saturday.iter().all(|s| s.lifts == 1));
        assert!(w.slots_on("2026-12-03".parse().unwrap()).is_empty());
    }

    #[test]
    fn bad_workshop_values_are_reported_at_their_keys() {
        let found = errors(
            r#"
            [workshop]
            lifts = 0
            closed_days = ["03.12.2026"]
            posts = 3
            [workshop.hours]
            mon = "20:00-09:00"
            tue = { hours = "09:00-18:00", lifts = "two" }
            wed = 9
            "#,
        );
        for key in [
            "workshop.lifts: must be between 1 and 100",
            "workshop.closed_days[0]: must be a date",
            "workshop.posts: unknown key",
            "workshop.hours.mon: must be \"HH:MM-HH:MM\"",
            "workshop.hours.tue.lifts: must be an integer",
            "workshop.hours.wed: must be \"HH:MM-HH:MM\"",
        ] {
            assert!(
                found.iter().any(|e| e.starts_with(key)),
                "{key} in {found:#?}"
            );
        }
    }

    #[test]
    fn a_workshop_closed_every_day_or_with_hours_shorter_than_a_slot_is_refused() {
        let closed = [
            "[workshop.hours]",
            "mon = \"closed\"\ntue = \"closed\"\nwed = \"closed\"\nthu = \"closed\"",
            "fri = \"closed\"\nsat = \"closed\"\nsun = \"closed\"",
        ]
        .join("\n");
        assert!(errors(&closed)
            .iter()
            .any(|e| e.starts_with("workshop.hours: the workshop must be open")));
        let short = "[workshop]\nslot_minutes = 120\n[workshop.hours]\nsat = \"10:00-11:00\"";
        assert!(errors(short)
            .iter()
            .any(|e| e.starts_with("workshop.hours.sat: is shorter than one slot")));
    }
}
