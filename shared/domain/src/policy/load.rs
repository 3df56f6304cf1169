//! Reading a policy file: walks the TOML tree key by key so every error names its key.

mod fields;
mod offers;
mod sections;
mod workshop;

use toml::{Table, Value};

use super::{Policy, PolicyError, PolicyErrors};

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

struct Reader {
    errors: Vec<PolicyError>,
}

impl Reader {
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
}
