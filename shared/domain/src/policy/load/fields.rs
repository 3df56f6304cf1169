//! Typed values at a key: a wrong value records an error that names the key.

use chrono::NaiveTime;
use rust_decimal::Decimal;
use toml::Value;

use super::{Reader, Tbl};
use crate::money::Money;
use crate::policy::{MonthDay, Percent, PolicyError};

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

impl Reader {
    pub(super) fn error(&mut self, key: String, problem: impl Into<String>) {
        self.errors.push(PolicyError {
            key,
            problem: problem.into(),
        });
    }

    pub(super) fn wrong_type(&mut self, key: String, expected: &str, got: &Value) {
        self.error(key, format!("must be {expected}, got {}", type_name(got)));
    }

    pub(super) fn known_keys(&mut self, t: &Tbl<'_>, allowed: &[&str]) {
        for key in t.table.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    t.key(key),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    pub(super) fn section<'t>(
        &mut self,
        t: &Tbl<'t>,
        key: &str,
        allowed: &[&str],
    ) -> Option<Tbl<'t>> {
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
    pub(super) fn tables<'t>(
        &mut self,
        t: &Tbl<'t>,
        key: &str,
        allowed: &[&str],
    ) -> Option<Vec<Tbl<'t>>> {
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

    pub(super) fn uint(&mut self, t: &Tbl<'_>, key: &str, default: u32, min: u32, max: u32) -> u32 {
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

    pub(super) fn text(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
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

    pub(super) fn required_text(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
        if t.get(key).is_none() {
            self.error(t.key(key), "is required");
            return None;
        }
        self.text(t, key)
    }

    pub(super) fn id(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
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

    pub(super) fn boolean(&mut self, t: &Tbl<'_>, key: &str, default: bool) -> bool {
        match t.get(key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                self.wrong_type(t.key(key), "true or false", other);
                default
            }
        }
    }

    pub(super) fn percent(&mut self, t: &Tbl<'_>, key: &str, default: Percent) -> Percent {
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

    pub(super) fn money(&mut self, t: &Tbl<'_>, key: &str) -> Option<Money> {
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

    pub(super) fn time(&mut self, t: &Tbl<'_>, key: &str, default: NaiveTime) -> NaiveTime {
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

    pub(super) fn month_day(&mut self, t: &Tbl<'_>, key: &str) -> Option<MonthDay> {
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
    pub(super) fn list<T: PartialEq>(
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
}
