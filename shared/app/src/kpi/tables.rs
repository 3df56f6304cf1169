//! The KPIs as report tables in the dealer's words: `kpi` (every figure with its slices, the
//! funnel and the uplift in total), `funnel` (the funnel of every slice, by stage and offer
//! rule first) and `uplift` (both arms and their comparison, per slice).

use domain::status::AgeBand;
use domain::uplift::Uplift;
use rust_decimal::{Decimal, RoundingStrategy};

use super::breakdown::{Breakdown, Dimension, Figures};
use super::{KpiReport, Row};
use crate::reports::export::date_ru;
use crate::reports::ru::stage_ru;
use crate::reports::table::{Cell, ColumnKind, Table};

/// The kind of a slice and its name, in Russian.
pub fn dimension_ru(dimension: &Dimension) -> (&'static str, String) {
    match dimension {
        Dimension::Total => ("всего", String::new()),
        Dimension::AgeBand(band) => ("возраст автомобиля", age_band_ru(*band).to_owned()),
        Dimension::Stage(stage) => ("этап", stage_ru(*stage).to_owned()),
        Dimension::Rule(rule) => ("правило предложения", rule.clone()),
        Dimension::StageRule { stage, rule } => (
            "этап и правило",
            format!(
                "{} · {}",
                stage_ru(*stage),
                rule.as_deref().unwrap_or("без расчёта цены")
            ),
        ),
        Dimension::Advisor(advisor) => ("мастер-консультант", advisor.clone()),
    }
}

pub fn age_band_ru(band: AgeBand) -> &'static str {
    match band {
        AgeBand::Warranty => "до 3 лет",
        AgeBand::Middle => "3–5 лет",
        AgeBand::Old => "5 лет и старше",
    }
}

/// A churn reason as the customer chose it.
pub fn reason_ru(reason: &str) -> String {
    match reason {
        "serviced_elsewhere" => "обслужился в другом сервисе".into(),
        "sold" => "продал автомобиль".into(),
        "moved" => "переехал".into(),
        "serviced_here" => "обслужился у нас".into(),
        other => other.into(),
    }
}

/// A fraction (0.123) as percentage points rounded to `places` (12.3).
pub fn points(fraction: f64, places: u32) -> Cell {
    Decimal::from_f64_retain(fraction * 100.0)
        .map(|d| {
            Cell::Percent(d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero))
        })
        .unwrap_or(Cell::Empty)
}

/// `+1,2` or `−1,2` percentage points, signed.
pub fn points_ru(fraction: f64) -> String {
    format!("{:+.1}", fraction * 100.0)
        .replace('.', ",")
        .replace('-', "\u{2212}")
}

/// «95 % ДИ: от −1,2 до +3,4 п. п.; рост +12,0 %».
pub fn interval_ru(uplift: &Uplift) -> String {
    let mut text = match uplift.interval {
        Some(i) => format!(
            "95\u{a0}% ДИ: от {} до {} п.\u{a0}п.",
            points_ru(i.lower),
            points_ru(i.upper)
        ),
        None => "интервал не рассчитать: в группе нет клиентов".to_owned(),
    };
    if let Some(lift) = uplift.relative_lift {
        text.push_str(&format!("; относительный рост {}\u{a0}%", points_ru(lift)));
    }
    text
}

fn percent(p: Option<Decimal>) -> Cell {
    p.map_or(Cell::Empty, Cell::Percent)
}

fn count(n: u64) -> Cell {
    Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn share(part: u64, whole: u64) -> Cell {
    percent(super::share_percent(part, whole))
}

/// Slices of a breakdown except the funnel's stage-and-rule ones.
fn slices<T: Figures>(b: &Breakdown<T>) -> impl Iterator<Item = &Row<T>> {
    b.rows
        .iter()
        .filter(|r| !matches!(r.dimension, Dimension::StageRule { .. }))
}

struct KpiTable(Table);

impl KpiTable {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        name: &str,
        dimension: &Dimension,
        count: Cell,
        of: Cell,
        share: Cell,
        sum: Cell,
        value: Cell,
        note: Option<String>,
    ) {
        let (kind, group) = dimension_ru(dimension);
        self.0.push(vec![
            name.into(),
            kind.into(),
            group.into(),
            count,
            of,
            share,
            sum,
            value,
            note.into(),
        ]);
    }
}

fn value(d: Option<Decimal>) -> Cell {
    d.map_or(Cell::Empty, Cell::Decimal)
}

impl KpiReport {
    fn period_ru(&self) -> String {
        format!(
            "с {} по {}",
            date_ru(self.query.from),
            date_ru(self.query.to)
        )
    }

    /// «Показатели удержания»: every figure, its total and slices.
    pub fn kpi_table(&self) -> Table {
        let table = Table::new(
            format!(
                "Показатели удержания {} (данные на {})",
                self.period_ru(),
                date_ru(self.query.at)
            ),
            "Показатели",
        )
        .column("Показатель", ColumnKind::Text)
        .column("Разрез", ColumnKind::Text)
        .column("Группа", ColumnKind::Text)
        .column("Количество", ColumnKind::Integer)
        .column("Из", ColumnKind::Integer)
        .column("Доля, %", ColumnKind::Percent(1))
        .column("Сумма, ₽", ColumnKind::Money)
        .column("Значение", ColumnKind::Decimal(1))
        .column("Примечание", ColumnKind::Text);
        let mut t = KpiTable(table);
        let w = &self.retention_window;
        let retention_note = format!(
            "были с {} по {}, вернулись по {}{}",
            date_ru(w.seen_from),
            date_ru(self.query.from.pred_opt().unwrap_or(self.query.from)),
            date_ru(w.returned_by),
            if w.complete {
                ""
            } else {
                "; 13 месяцев ещё не прошли"
            }
        );
        for r in slices(&self.retention) {
            let f = &r.figures;
            t.row(
                "Удержание автомобилей 3+ лет (13 месяцев)",
                &r.dimension,
                count(f.retained),
                count(f.base),
                percent(f.percent),
                Cell::Empty,
                Cell::Empty,
                Some(retention_note.clone()),
            );
        }
        self.funnel_rows(&mut t);
        for r in slices(&self.reactivation) {
            let f = &r.figures;
            t.row(
                "Реактивированные клиенты: выручка",
                &r.dimension,
                count(f.customers),
                Cell::Empty,
                Cell::Empty,
                Cell::money(f.revenue),
                Cell::Empty,
                Some(format!("визитов: {}", f.visits)),
            );
            t.row(
                "Реактивированные клиенты: маржа",
                &r.dimension,
                count(f.customers),
                Cell::Empty,
                Cell::Empty,
                Cell::Money(f.margin),
                Cell::Empty,
                None,
            );
        }
        self.pricing_rows(&mut t);
        self.accuracy_rows(&mut t);
        for r in slices(&self.churn) {
            let f = &r.figures;
            let mut reasons: Vec<&String> = f.by_reason.keys().collect();
            reasons.sort_by_key(|k| {
                super::churn::REASONS
                    .iter()
                    .position(|r| r == k)
                    .unwrap_or(usize::MAX)
            });
            for reason in reasons {
                t.row(
                    &format!("Ответ «Уже обслужился»: {}", reason_ru(reason)),
                    &r.dimension,
                    count(f.count(reason)),
                    count(f.answers),
                    share(f.count(reason), f.answers),
                    Cell::Empty,
                    Cell::Empty,
                    None,
                );
            }
        }
        self.uplift_rows(&mut t);
        t.0
    }

    fn funnel_rows(&self, t: &mut KpiTable) {
        let total = Dimension::Total;
        let f = self.funnel.total();
        let steps = [
            ("доставлено", f.delivered),
            ("прочитано", f.read),
            ("не доставлено (ошибка мессенджера)", f.failed),
            ("нажали «Записаться»", f.clicked),
            ("забронировали слот", f.held),
            ("запись подтверждена мастером", f.confirmed),
            ("приехали на визит (засчитано сообщению)", f.visited),
        ];
        t.row(
            "Воронка: отправлено сообщений",
            &total,
            count(f.sent),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            None,
        );
        for (name, n) in steps {
            t.row(
                &format!("Воронка: {name}"),
                &total,
                count(n),
                count(f.sent),
                share(n, f.sent),
                Cell::Empty,
                Cell::Empty,
                None,
            );
        }
        t.row(
            "Воронка: не приехали по подтверждённой записи",
            &total,
            count(f.no_show),
            count(f.confirmed),
            share(f.no_show, f.confirmed),
            Cell::Empty,
            Cell::Empty,
            None,
        );
        t.row(
            "Явка по записи",
            &total,
            count(f.shown),
            count(f.bookings_due),
            percent(f.show_percent),
            Cell::Empty,
            Cell::Empty,
            Some("подтверждённые записи, чей день наступил".into()),
        );
        for r in &self.funnel.rows {
            if let Dimension::Stage(_) = r.dimension {
                let f = &r.figures;
                t.row(
                    "Этап: визиты и выручка",
                    &r.dimension,
                    count(f.visited),
                    count(f.sent),
                    percent(f.visit_percent),
                    Cell::money(f.revenue),
                    Cell::Empty,
                    Some("визиты, засчитанные сообщениям этапа, и их выручка".into()),
                );
            }
        }
        for r in &self.funnel.rows {
            if let Dimension::Stage(domain::triggers::Stage::SoftReminder) = r.dimension {
                let f = &r.figures;
                t.row(
                    "Напоминание → запись",
                    &r.dimension,
                    count(f.held),
                    count(f.sent),
                    percent(f.booking_percent),
                    Cell::Empty,
                    Cell::Empty,
                    None,
                );
            }
        }
    }

    fn pricing_rows(&self, t: &mut KpiTable) {
        for r in slices(&self.pricing) {
            let f = &r.figures;
            let d = &r.dimension;
            if f.priced_offers > 0 {
                t.row(
                    "Скидка в отправленных предложениях",
                    d,
                    count(f.priced_offers),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::money(f.discount_offered),
                    value(f.mean_labor_discount_percent),
                    Some("значение: средняя скидка на работы, %".into()),
                );
                t.row(
                    "Маржа, сохранённая порогом",
                    d,
                    count(f.floor_applied),
                    count(f.priced_offers),
                    share(f.floor_applied, f.priced_offers),
                    Cell::money(f.margin_kept_by_floor),
                    value(f.mean_margin_after_percent),
                    Some("значение: средняя маржа после скидки, %".into()),
                );
                t.row(
                    "Скидка по визитам из предложений",
                    d,
                    count(f.converted_offers),
                    count(f.priced_offers),
                    share(f.converted_offers, f.priced_offers),
                    Cell::money(f.discount_on_visits),
                    Cell::Empty,
                    None,
                );
            }
            if f.bookings_with_points > 0 || *d == Dimension::Total {
                t.row(
                    "Бонусные баллы начислены",
                    d,
                    Cell::Integer(f.points_granted),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Some(format!("за {} записей", f.bookings_with_points)),
                );
            }
        }
    }

    fn accuracy_rows(&self, t: &mut KpiTable) {
        for r in slices(&self.accuracy) {
            let f = &r.figures;
            let d = &r.dimension;
            t.row(
                "Точность прогноза: средняя ошибка, дней",
                d,
                count(f.visits),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                value(f.mae_days),
                Some(
                    "количество: ТО с прогнозом до визита; значение: средняя |факт − прогноз|"
                        .into(),
                ),
            );
            t.row(
                "Точность прогноза: в пределах 14 дней",
                d,
                count(f.within_14_days),
                count(f.visits),
                percent(f.within_14_days_percent),
                Cell::Empty,
                Cell::Empty,
                None,
            );
            t.row(
                "Точность прогноза: смещение, дней",
                d,
                count(f.visits),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                value(f.mean_error_days),
                Some("больше нуля — приезжают позже прогноза".into()),
            );
            t.row(
                "Точность прогноза: средняя ошибка, км",
                d,
                count(f.visits),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                value(f.mae_km),
                None,
            );
        }
    }

    fn uplift_rows(&self, t: &mut KpiTable) {
        let total = Dimension::Total;
        let f = self.uplift.total();
        let Some(u) = &f.uplift else {
            return;
        };
        let arm = |t: &mut KpiTable, name: &str, a: &domain::uplift::Arm| {
            t.row(
                name,
                &total,
                count(a.visited),
                count(a.customers),
                share(a.visited, a.customers),
                Cell::Empty,
                Cell::Empty,
                Some(self.campaign_ru()),
            );
        };
        arm(t, "Визиты в окне кампании: с рассылкой", &u.treatment);
        arm(t, "Визиты в окне кампании: контрольная группа", &u.control);
        t.row(
            "Прирост визитов к контрольной группе, п. п.",
            &total,
            Cell::Empty,
            Cell::Empty,
            u.difference.map_or(Cell::Empty, |d| points(d, 1)),
            Cell::Empty,
            Cell::Empty,
            Some(interval_ru(u)),
        );
        t.row(
            "Нужно клиентов в каждой группе, чтобы увидеть рост на 20 %",
            &total,
            u.needed_per_arm.map_or(Cell::Empty, count),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            f.warning_ru.clone(),
        );
    }

    /// The campaign window in words.
    pub fn campaign_ru(&self) -> String {
        let c = &self.campaign;
        format!(
            "клиенты с ТО с {} по {} (по прогнозу на начало окна), визиты с {} по {}{}; \
             контрольная группа {}\u{a0}%",
            date_ru(c.due_from),
            date_ru(c.due_to),
            date_ru(c.from),
            date_ru(c.visits_until),
            if c.complete {
                ""
            } else {
                ", наблюдение ещё идёт"
            },
            c.control_share_percent.normalize()
        )
    }

    /// «Воронка»: the funnel of every slice.
    pub fn funnel_table(&self) -> Table {
        let mut table = Table::new(format!("Воронка сообщений {}", self.period_ru()), "Воронка")
            .column("Разрез", ColumnKind::Text)
            .column("Группа", ColumnKind::Text)
            .column("Отправлено", ColumnKind::Integer)
            .column("Доставлено", ColumnKind::Integer)
            .column("Прочитано", ColumnKind::Integer)
            .column("Ошибка доставки", ColumnKind::Integer)
            .column("«Записаться»", ColumnKind::Integer)
            .column("Забронировали", ColumnKind::Integer)
            .column("Подтверждено", ColumnKind::Integer)
            .column("Приехали", ColumnKind::Integer)
            .column("Не приехали", ColumnKind::Integer)
            .column("Записей, чей день наступил", ColumnKind::Integer)
            .column("Пришли по записи", ColumnKind::Integer)
            .column("Запись из отправленных, %", ColumnKind::Percent(1))
            .column("Явка по записи, %", ColumnKind::Percent(1))
            .column("Визит из отправленных, %", ColumnKind::Percent(1));
        let mut rows: Vec<&Row<super::Funnel>> = self.funnel.rows.iter().collect();
        rows.sort_by_key(|r| match r.dimension {
            Dimension::Total => 0,
            Dimension::StageRule { .. } => 1,
            Dimension::Stage(_) => 2,
            Dimension::Rule(_) => 3,
            Dimension::AgeBand(_) => 4,
            Dimension::Advisor(_) => 5,
        });
        for r in rows {
            let f = &r.figures;
            let (kind, group) = dimension_ru(&r.dimension);
            table.push(vec![
                kind.into(),
                group.into(),
                count(f.sent),
                count(f.delivered),
                count(f.read),
                count(f.failed),
                count(f.clicked),
                count(f.held),
                count(f.confirmed),
                count(f.visited),
                count(f.no_show),
                count(f.bookings_due),
                count(f.shown),
                percent(f.booking_percent),
                percent(f.show_percent),
                percent(f.visit_percent),
            ]);
        }
        table
    }

    /// «Прирост к контрольной группе»: both arms and their comparison, per slice.
    pub fn uplift_table(&self) -> Table {
        let mut table = Table::new(
            format!(
                "Прирост визитов к контрольной группе (все клиенты как назначены) {}: {}",
                self.period_ru(),
                self.campaign_ru()
            ),
            "Прирост",
        )
        .column("Разрез", ColumnKind::Text)
        .column("Группа", ColumnKind::Text)
        .column("С рассылкой: клиентов", ColumnKind::Integer)
        .column("С рассылкой: визитов", ColumnKind::Integer)
        .column("С рассылкой: доля, %", ColumnKind::Percent(1))
        .column("Контрольная: клиентов", ColumnKind::Integer)
        .column("Контрольная: визитов", ColumnKind::Integer)
        .column("Контрольная: доля, %", ColumnKind::Percent(1))
        .column("Разница, п. п.", ColumnKind::Percent(2))
        .column("95 % ДИ от, п. п.", ColumnKind::Percent(2))
        .column("95 % ДИ до, п. п.", ColumnKind::Percent(2))
        .column("Относительный рост, %", ColumnKind::Percent(1))
        .column("Нужно клиентов в группе (рост 20 %)", ColumnKind::Integer)
        .column("Предупреждение", ColumnKind::Text);
        for r in &self.uplift.rows {
            let f = &r.figures;
            let Some(u) = &f.uplift else {
                continue;
            };
            let (kind, group) = dimension_ru(&r.dimension);
            let rate = |x: Option<f64>| x.map_or(Cell::Empty, |x| points(x, 1));
            table.push(vec![
                kind.into(),
                group.into(),
                count(u.treatment.customers),
                count(u.treatment.visited),
                rate(u.treatment_rate),
                count(u.control.customers),
                count(u.control.visited),
                rate(u.control_rate),
                u.difference.map_or(Cell::Empty, |d| points(d, 2)),
                u.interval.map_or(Cell::Empty, |i| points(i.lower, 2)),
                u.interval.map_or(Cell::Empty, |i| points(i.upper, 2)),
                rate(u.relative_lift),
                u.needed_per_arm.map_or(Cell::Empty, count),
                f.warning_ru.clone().into(),
            ]);
        }
        table
    }
}
