//! Reading perks, packages and offer rules, and checking that what the rules name exists.

use toml::Value;

use super::{Reader, Tbl};
use crate::money::Money;
use crate::policy::{Gift, OfferRule, Package, Percent, Perk, Policy};
use crate::status::{AgeBand, CustomerStatus};
use crate::values::{LineDto, WorkOrderLine};

/// Ids the pricing reports for its built-in rules; an offer rule may not take them.
const RESERVED_RULE_IDS: &[&str] = &[
    crate::pricing::MARGIN_FLOOR_RULE,
    crate::pricing::WEEKDAY_BONUS_RULE,
];

impl Reader {
    pub(super) fn perks(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn packages(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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

    pub(super) fn offers(&mut self, root: &Tbl<'_>, p: &mut Policy) {
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
    pub(super) fn references(&mut self, root: &Tbl<'_>, p: &Policy) {
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
