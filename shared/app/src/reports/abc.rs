//! «ABC-анализ»: the customers who visited in the period, ranked by revenue or margin, each in
//! class A (the first 75 % of the total by default), B (the next 20 %) or C (the rest), by the
//! domain's `abc_classes`.

use domain::policy::{AbcBasis, Policy};
use domain::segments::{abc_classes, AbcClass};
use domain::Money;
use rust_decimal::Decimal;

use super::base::{Base, Period};
use super::table::{Cell, ColumnKind, Table};

/// One customer's place in the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct AbcRow {
    pub class: AbcClass,
    pub customer_id: String,
    pub first_name: String,
    pub visits: u32,
    pub revenue: Money,
    pub margin: Decimal,
    /// Percent of the positive total of the ranked value.
    pub share_percent: Decimal,
    /// Percent of that total made by this customer and everyone ranked before.
    pub cumulative_percent: Decimal,
}

/// How many customers a class holds and how much they make.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTotal {
    pub class: AbcClass,
    pub customers: usize,
    pub value: Decimal,
    pub share_percent: Decimal,
}

/// The ranking over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct AbcReport {
    pub period: Period,
    pub by: AbcBasis,
    /// Largest value first.
    pub rows: Vec<AbcRow>,
    pub classes: Vec<ClassTotal>,
}

pub fn basis_ru(by: AbcBasis) -> &'static str {
    match by {
        AbcBasis::Revenue => "по выручке",
        AbcBasis::Margin => "по марже",
    }
}

pub fn class_ru(class: AbcClass) -> &'static str {
    match class {
        AbcClass::A => "A",
        AbcClass::B => "B",
        AbcClass::C => "C",
    }
}

impl AbcReport {
    pub fn table(&self) -> Table {
        let mut table = Table::new(
            format!(
                "ABC-анализ клиентов {} {}",
                basis_ru(self.by),
                self.period.label_ru()
            ),
            format!("ABC {}", basis_ru(self.by)),
        )
        .column("Класс", ColumnKind::Text)
        .column("Клиент", ColumnKind::Text)
        .column("Имя", ColumnKind::Text)
        .column("Визитов", ColumnKind::Integer)
        .column("Выручка, ₽", ColumnKind::Money)
        .column("Маржа, ₽", ColumnKind::Money)
        .column("Доля, %", ColumnKind::Percent(2))
        .column("Доля нарастающим итогом, %", ColumnKind::Percent(2));
        for r in &self.rows {
            table.push(vec![
                class_ru(r.class).into(),
                r.customer_id.as_str().into(),
                r.first_name.as_str().into(),
                Cell::int(r.visits),
                Cell::money(r.revenue),
                Cell::Money(r.margin),
                Cell::Percent(r.share_percent),
                Cell::Percent(r.cumulative_percent),
            ]);
        }
        table
    }
}

/// ABC classes of the customers who visited in `period`, by `by` (the policy's basis when
/// `None`) with the policy's class limits.
pub fn abc_report(base: &Base, policy: &Policy, period: Period, by: Option<AbcBasis>) -> AbcReport {
    let by = by.unwrap_or(policy.segments().abc_basis);
    let mut rows: Vec<AbcRow> = base
        .customers
        .iter()
        .filter_map(|c| {
            let activity = c.activity(&period);
            (activity.visits > 0).then(|| AbcRow {
                class: AbcClass::C,
                customer_id: c.customer_id.clone(),
                first_name: c.first_name.clone(),
                visits: activity.visits,
                revenue: activity.revenue,
                margin: activity.margin,
                share_percent: Decimal::ZERO,
                cumulative_percent: Decimal::ZERO,
            })
        })
        .collect();
    let value = |r: &AbcRow| match by {
        AbcBasis::Revenue => r.revenue.amount(),
        AbcBasis::Margin => r.margin,
    };
    rows.sort_by(|a, b| {
        value(b)
            .cmp(&value(a))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    let values: Vec<Decimal> = rows.iter().map(value).collect();
    let classes = abc_classes(&values, policy.segments());
    let total: Decimal = values.iter().filter(|v| v.is_sign_positive()).sum();
    let percent = |v: Decimal| {
        if total > Decimal::ZERO {
            (v.max(Decimal::ZERO) * Decimal::ONE_HUNDRED / total).round_dp(2)
        } else {
            Decimal::ZERO
        }
    };
    let mut running = Decimal::ZERO;
    for (row, class) in rows.iter_mut().zip(classes) {
        let v = value(row);
        running += v.max(Decimal::ZERO);
        row.class = class;
        row.share_percent = percent(v);
        row.cumulative_percent = percent(running);
    }
    let classes = [AbcClass::A, AbcClass::B, AbcClass::C]
        .into_iter()
        .map(|class| {
            let members: Vec<&AbcRow> = rows.iter().filter(|r| r.class == class).collect();
            let value: Decimal = members.iter().map(|r| value(r)).sum();
            ClassTotal {
                class,
                customers: members.len(),
                value,
                share_percent: percent(value),
            }
        })
        .collect();
    AbcReport {
        period,
        by,
        rows,
        classes,
    }
}
