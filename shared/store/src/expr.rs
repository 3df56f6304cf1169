//! Conditions and updates on top-level attributes, with the semantics of DynamoDB expressions.

use std::cmp::Ordering;

use crate::item::{AttrValue, Item, Key, Number};
use crate::table;

/// A condition on the current state of an item; `None` (no item) has no attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists(String),
    NotExists(String),
    Eq(String, AttrValue),
    Lt(String, AttrValue),
    Le(String, AttrValue),
    Gt(String, AttrValue),
    Ge(String, AttrValue),
    BeginsWith(String, String),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

impl Condition {
    /// `attribute_not_exists(pk)`: no item with this key.
    pub fn absent() -> Self {
        Condition::NotExists(table::PK.into())
    }

    /// `attribute_exists(pk)`: an item with this key.
    pub fn present() -> Self {
        Condition::Exists(table::PK.into())
    }

    pub fn eq(name: &str, value: impl Into<AttrValue>) -> Self {
        Condition::Eq(name.into(), value.into())
    }

    pub fn lt(name: &str, value: impl Into<AttrValue>) -> Self {
        Condition::Lt(name.into(), value.into())
    }

    pub fn le(name: &str, value: impl Into<AttrValue>) -> Self {
        Condition::Le(name.into(), value.into())
    }

    pub fn gt(name: &str, value: impl Into<AttrValue>) -> Self {
        Condition::Gt(name.into(), value.into())
    }

    pub fn ge(name: &str, value: impl Into<AttrValue>) -> Self {
        Condition::Ge(name.into(), value.into())
    }

    pub fn and(self, other: Condition) -> Self {
        match self {
            Condition::And(mut all) => {
                all.push(other);
                Condition::And(all)
            }
            first => Condition::And(vec![first, other]),
        }
    }

    pub fn or(self, other: Condition) -> Self {
        match self {
            Condition::Or(mut any) => {
                any.push(other);
                Condition::Or(any)
            }
            first => Condition::Or(vec![first, other]),
        }
    }

    /// Evaluates the condition on an item (`None` when there is none).
    /// Comparisons with a missing attribute or a value of another type are false.
    pub fn holds(&self, item: Option<&Item>) -> bool {
        let attr = |name: &str| item.and_then(|i| i.get(name));
        let compare = |name: &str, value: &AttrValue, accept: fn(Ordering) -> bool| {
            attr(name)
                .and_then(|current| compare_values(current, value))
                .is_some_and(accept)
        };
        match self {
            Condition::Exists(name) => attr(name).is_some(),
            Condition::NotExists(name) => attr(name).is_none(),
            Condition::Eq(name, value) => attr(name).is_some_and(|current| {
                compare_values(current, value).map_or(current == value, |o| o.is_eq())
            }),
            Condition::Lt(name, value) => compare(name, value, Ordering::is_lt),
            Condition::Le(name, value) => compare(name, value, Ordering::is_le),
            Condition::Gt(name, value) => compare(name, value, Ordering::is_gt),
            Condition::Ge(name, value) => compare(name, value, Ordering::is_ge),
            Condition::BeginsWith(name, prefix) => attr(name)
                .and_then(AttrValue::as_s)
                .is_some_and(|s| s.starts_with(prefix.as_str())),
            Condition::And(all) => all.iter().all(|c| c.holds(item)),
            Condition::Or(any) => any.iter().any(|c| c.holds(item)),
        }
    }
}

/// Order of two scalars of the same type: numbers numerically, strings and binaries bytewise.
fn compare_values(a: &AttrValue, b: &AttrValue) -> Option<Ordering> {
    match (a, b) {
        (AttrValue::N(a), AttrValue::N(b)) => a.cmp_numeric(b),
        (AttrValue::S(a), AttrValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (AttrValue::B(a), AttrValue::B(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// An `UpdateItem`: SET, ADD (numbers) and REMOVE on top-level attributes, with a condition.
/// Updating a missing item creates it from the key, as DynamoDB does.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub key: Key,
    pub set: Vec<(String, AttrValue)>,
    pub add: Vec<(String, Number)>,
    pub remove: Vec<String>,
    pub condition: Option<Condition>,
}

/// Why an update cannot be applied to the item it targets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("the update changes the key attribute {0}")]
    ChangesKey(String),
    #[error("the update touches attribute {0} twice")]
    Overlap(String),
    #[error("ADD on attribute {0}, which is not a number")]
    AddToNonNumber(String),
    #[error("ADD on attribute {0} overflows")]
    Overflow(String),
    #[error("the update changes nothing")]
    Empty,
}

impl Update {
    pub fn new(key: Key) -> Self {
        Update {
            key,
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            condition: None,
        }
    }

    pub fn set(mut self, name: &str, value: impl Into<AttrValue>) -> Self {
        self.set.push((name.into(), value.into()));
        self
    }

    pub fn add(mut self, name: &str, by: impl Into<Number>) -> Self {
        self.add.push((name.into(), by.into()));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.into());
        self
    }

    /// Adds a condition (ANDed with any condition already given).
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(match self.condition.take() {
            Some(existing) => existing.and(condition),
            None => condition,
        });
        self
    }

    /// Checks the update is well formed: no primary key change, each attribute touched once.
    pub fn validate(&self) -> Result<(), UpdateError> {
        let names = self
            .set
            .iter()
            .map(|(n, _)| n)
            .chain(self.add.iter().map(|(n, _)| n))
            .chain(self.remove.iter());
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            if name == table::PK || name == table::SK {
                return Err(UpdateError::ChangesKey(name.clone()));
            }
            if !seen.insert(name.as_str()) {
                return Err(UpdateError::Overlap(name.clone()));
            }
        }
        if seen.is_empty() {
            return Err(UpdateError::Empty);
        }
        Ok(())
    }

    /// The item after the update (the condition is not checked here).
    pub fn apply(&self, current: Option<Item>) -> Result<Item, UpdateError> {
        self.validate()?;
        let mut item = current.unwrap_or_else(|| self.key.to_item());
        for (name, value) in &self.set {
            item.insert(name.clone(), value.clone());
        }
        for (name, by) in &self.add {
            let next = match item.get(name) {
                None => by.clone(),
                Some(AttrValue::N(n)) => n
                    .checked_add(by)
                    .ok_or_else(|| UpdateError::Overflow(name.clone()))?,
                Some(_) => return Err(UpdateError::AddToNonNumber(name.clone())),
            };
            item.insert(name.clone(), AttrValue::N(next));
        }
        for name in &self.remove {
            item.remove(name);
        }
        Ok(item)
    }
}

/// Sort-key condition of a query (on the table's `sk` or the index's sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SortKey {
    pub fn matches(&self, sk: &str) -> bool {
        let sk = sk.as_bytes();
        match self {
            SortKey::Eq(v) => sk == v.as_bytes(),
            SortKey::BeginsWith(p) => sk.starts_with(p.as_bytes()),
            SortKey::Between(a, b) => sk >= a.as_bytes() && sk <= b.as_bytes(),
            SortKey::Lt(v) => sk < v.as_bytes(),
            SortKey::Le(v) => sk <= v.as_bytes(),
            SortKey::Gt(v) => sk > v.as_bytes(),
            SortKey::Ge(v) => sk >= v.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttrValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_missing_item_satisfies_only_absence() {
        assert!(Condition::absent().holds(None));
        assert!(!Condition::present().holds(None));
        assert!(!Condition::eq("state", "PENDING").holds(None));
        assert!(!Condition::lt("n", 5).holds(None));
    }

    #[test]
    fn numbers_compare_numerically_not_as_text() {
        let it = item(&[("n", AttrValue::from(10))]);
        assert!(Condition::gt("n", 9).holds(Some(&it)));
        assert!(Condition::ge("n", 10).holds(Some(&it)));
        assert!(!Condition::lt("n", 9).holds(Some(&it)));
        assert!(Condition::eq("n", AttrValue::N(Number::parse("10.0").unwrap())).holds(Some(&it)));
    }

    #[test]
    fn comparisons_across_types_are_false() {
        let it = item(&[("n", AttrValue::from("10"))]);
        assert!(!Condition::gt("n", 1).holds(Some(&it)));
        assert!(!Condition::eq("n", 10).holds(Some(&it)));
    }

    #[test]
    fn and_or_combine_as_expected() {
        let it = item(&[("state", "SENDING".into()), ("lease", 100.into())]);
        let takeover = Condition::eq("state", "PENDING")
            .or(Condition::eq("state", "SENDING").and(Condition::lt("lease", 50)));
        assert!(!takeover.holds(Some(&it)));
        let later = Condition::eq("state", "PENDING")
            .or(Condition::eq("state", "SENDING").and(Condition::lt("lease", 150)));
        assert!(later.holds(Some(&it)));
    }

    #[test]
    fn an_update_sets_adds_and_removes() {
        let key = Key::new("P", "S");
        let after = Update::new(key.clone())
            .set("a", "x")
            .add("n", -1)
            .remove("gone")
            .apply(Some({
                let mut i = key.to_item();
                i.insert("n".into(), 3.into());
                i.insert("gone".into(), true.into());
                i
            }))
            .unwrap();
        assert_eq!(after.get("a"), Some(&AttrValue::from("x")));
        assert_eq!(after.get("n"), Some(&AttrValue::from(2)));
        assert!(!after.contains_key("gone"));
    }

    #[test]
    fn an_update_may_not_touch_the_primary_key() {
        let u = Update::new(Key::new("P", "S")).set("sk", "other");
        assert_eq!(u.validate(), Err(UpdateError::ChangesKey("sk".into())));
    }
}
