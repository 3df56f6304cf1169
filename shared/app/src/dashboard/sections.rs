//! The dashboard's sections, each a chart and the table under it, from the KPI report, the
//! coming load and the campaign switches.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use domain::status::AgeBand;
use domain::uplift::wilson;

use super::html::{
    date_ru, decimal, escape, fraction_percent, path_segment, percent, points_ru, to_f64,
};
use super::load::DayLoad;
use super::svg::{bar_chart, interval_chart, load_chart, Bar, DayColumn, Estimate};
use crate::campaigns::{CampaignKind, CampaignState};
use crate::kpi::tables::{age_band_ru, dimension_ru};
use crate::kpi::{Dimension, KpiReport};
use crate::reports::ru::stage_ru;

/// z of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

fn section(id: &str, title: &str, hint: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\"><h2>{}</h2><p class=\"hint\">{}</p>{body}</section>",
        escape(title),
        escape(hint)
    )
}

fn slice_label(dimension: &Dimension) -> String {
    match dimension {
        Dimension::Total => "всего".into(),
        Dimension::Advisor(a) => format!("мастер {a}"),
        other => dimension_ru(other).1,
    }
}

/// Sent → delivered → read → «Записаться» → held → confirmed → visited, and the no-shows.
pub fn funnel(report: &KpiReport) -> String {
    let f = report.funnel.total();
    let steps = [
        ("отправлено", f.sent),
        ("доставлено", f.delivered),
        ("прочитано", f.read),
        ("нажали «Записаться»", f.clicked),
        ("забронировали слот", f.held),
        ("запись подтверждена", f.confirmed),
        ("приехали", f.visited),
        ("не приехали", f.no_show),
    ];
    let bars: Vec<Bar> = if f.sent == 0 {
        Vec::new()
    } else {
        steps
            .iter()
            .map(|(label, n)| Bar {
                label: (*label).into(),
                value: *n as f64,
                note: format!("{n} ({})", fraction_percent(*n as f64 / f.sent as f64)),
            })
            .collect()
    };
    let mut body = bar_chart("funnel", "Воронка сообщений периода", &bars);
    let _ = write!(
        body,
        "<table><tr><th>Напоминание → запись</th><th>Доля доехавших (show rate)</th>\
         <th>Визиты от отправленных</th><th>Не доставлено</th></tr>\
         <tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td></tr></table>",
        percent(report.reminder_to_booking_percent()),
        percent(f.show_percent),
        percent(f.visit_percent),
        f.failed
    );
    section(
        "funnel",
        "Воронка",
        "Сообщения, отправленные за период, и что с ними стало дальше (запись или визит после \
         периода тоже засчитываются).",
        &body,
    )
}

/// Held over sent per stage and per offer rule, with Wilson's 95 % interval.
pub fn conversion(report: &KpiReport) -> String {
    let mut estimates = Vec::new();
    let mut rows = String::new();
    for row in &report.funnel.rows {
        let label = match &row.dimension {
            Dimension::Stage(stage) => format!("этап: {}", stage_ru(*stage)),
            Dimension::Rule(rule) => format!("правило: {rule}"),
            _ => continue,
        };
        let f = &row.figures;
        if f.sent == 0 {
            continue;
        }
        let rate = f.held as f64 / f.sent as f64;
        let interval = wilson(f.held, f.sent, Z95);
        let span = interval.map_or_else(
            || "—".to_owned(),
            |i| {
                format!(
                    "{} … {}",
                    fraction_percent(i.lower),
                    fraction_percent(i.upper)
                )
            },
        );
        estimates.push(Estimate {
            label: label.clone(),
            value: rate * 100.0,
            interval: interval.map(|i| (i.lower * 100.0, i.upper * 100.0)),
            note: format!("{} ({}/{})", fraction_percent(rate), f.held, f.sent),
        });
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&label),
            f.sent,
            f.held,
            f.visited,
            percent(f.booking_percent),
            escape(&span),
            percent(f.visit_percent),
        );
    }
    let mut body = interval_chart(
        "conversion",
        "Конверсия в запись по кампаниям, % с 95-процентным интервалом",
        &estimates,
    );
    if !rows.is_empty() {
        let _ = write!(
            body,
            "<table><tr><th>Кампания</th><th>Отправлено</th><th>Записались</th><th>Приехали</th>\
             <th>Конверсия в запись</th><th>95 % интервал</th><th>Конверсия в визит</th></tr>\
             {rows}</table>"
        );
    }
    section(
        "conversion",
        "Конверсия по кампаниям",
        "Доля сообщений этапа или правила предложения, после которых клиент забронировал слот; \
         интервал Уилсона.",
        &body,
    )
}

/// Retention of 3+ year old cars by age band.
pub fn retention(report: &KpiReport) -> String {
    let mut bars = Vec::new();
    for band in [AgeBand::Middle, AgeBand::Old] {
        let Some(r) = report.retention.get(&Dimension::AgeBand(band)) else {
            continue;
        };
        if r.base == 0 {
            continue;
        }
        bars.push(Bar {
            label: age_band_ru(band).into(),
            value: r.percent.map_or(0.0, to_f64),
            note: format!("{} из {} ({})", r.retained, r.base, percent(r.percent)),
        });
    }
    let total = report.retention.total();
    let w = &report.retention_window;
    let mut body = bar_chart("retention", "Удержание автомобилей 3+ лет, %", &bars);
    let _ = write!(
        body,
        "<p>Всего: вернулись {} из {} ({}); визиты до {} включительно{}.</p>",
        total.retained,
        total.base,
        percent(total.percent),
        date_ru(w.returned_by),
        if w.complete {
            ""
        } else {
            ", 13 месяцев ещё не прошли — показатель растёт"
        }
    );
    section(
        "retention",
        "Удержание по возрасту автомобиля",
        "Автомобили от 3 лет с визитом за 13 месяцев до начала периода, вернувшиеся в течение \
         13 месяцев.",
        &body,
    )
}

/// Treatment against control by intention to treat, per slice, with Newcombe's interval.
pub fn uplift(report: &KpiReport) -> String {
    let mut estimates = Vec::new();
    let mut rows = String::new();
    for row in &report.uplift.rows {
        let f = &row.figures;
        let label = slice_label(&row.dimension);
        let (t, c) = (f.treatment, f.control);
        let difference = f.uplift.as_ref().and_then(|u| u.difference);
        let interval = f.uplift.as_ref().and_then(|u| u.interval);
        if let Some(d) = difference {
            estimates.push(Estimate {
                label: label.clone(),
                value: d * 100.0,
                interval: interval.map(|i| (i.lower * 100.0, i.upper * 100.0)),
                note: format!(
                    "{} ({}/{} против {}/{})",
                    points_ru(d * 100.0),
                    t.visited,
                    t.customers,
                    c.visited,
                    c.customers
                ),
            });
        }
        let rate = |visited: u64, customers: u64| {
            if customers == 0 {
                "—".to_owned()
            } else {
                fraction_percent(visited as f64 / customers as f64)
            }
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"num\">{}/{} ({})</td><td class=\"num\">{}/{} ({})</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&label),
            t.visited,
            t.customers,
            rate(t.visited, t.customers),
            c.visited,
            c.customers,
            rate(c.visited, c.customers),
            difference.map_or_else(|| "—".to_owned(), |d| points_ru(d * 100.0)),
            interval.map_or_else(
                || "—".to_owned(),
                |i| format!(
                    "{} … {}",
                    points_ru(i.lower * 100.0),
                    points_ru(i.upper * 100.0)
                )
            ),
            escape(f.warning_ru.as_deref().unwrap_or("")),
        );
    }
    let w = &report.campaign;
    let mut body = String::new();
    if let Some(warning) = &report.uplift.total().warning_ru {
        let _ = write!(body, "<div class=\"warning\">{}</div>", escape(warning));
    }
    body.push_str(&interval_chart(
        "uplift",
        "Разница в доле визитов: рассылка минус контрольная группа, п. п., 95 % интервал",
        &estimates,
    ));
    let _ = write!(
        body,
        "<table><tr><th>Срез</th><th>С рассылкой: визиты/клиенты</th>\
         <th>Контрольная группа</th><th>Разница</th><th>95 % интервал (Ньюкомб)</th>\
         <th>Предупреждение</th></tr>{rows}</table>\
         <p class=\"hint\">Клиенты с ТО в окне кампании ({} – {}), визиты до {}{}; контрольная \
         группа {}.</p>",
        date_ru(w.due_from),
        date_ru(w.due_to),
        date_ru(w.visits_until),
        if w.complete { "" } else { " (ещё идёт)" },
        percent(Some(w.control_share_percent)),
    );
    section(
        "uplift",
        "Прирост визитов против контрольной группы",
        "Каждый клиент считается в своей группе, дошло до него сообщение или нет.",
        &body,
    )
}

/// The coming days' vehicles due against booked units and capacity.
pub fn load(days: &[DayLoad]) -> String {
    let columns: Vec<DayColumn> = days
        .iter()
        .map(|d| DayColumn {
            label: d.date.format("%d.%m").to_string(),
            due: d.due,
            booked: d.booked,
            capacity: d.capacity,
        })
        .collect();
    let mut body = load_chart(
        "load",
        "Автомобили к ТО, занятые и все машино-места по дням",
        &columns,
    );
    let over: Vec<String> = days
        .iter()
        .filter(|d| d.due + d.booked > d.capacity && d.due > 0)
        .map(|d| date_ru(d.date))
        .collect();
    if !over.is_empty() {
        let _ = write!(
            body,
            "<div class=\"warning\">Машин к ТО и записей больше, чем мест: {}.</div>",
            escape(&over.join(", "))
        );
    }
    let (due, booked, capacity) = days.iter().fold((0, 0, 0), |(a, b, c), d| {
        (a + d.due, b + d.booked, c + d.capacity)
    });
    let _ = write!(
        body,
        "<p>За {} дней: автомобилей к ТО {due}, занято {booked} из {capacity} машино-мест.</p>",
        days.len()
    );
    section(
        "load",
        "Нагрузка на ближайшие недели",
        "Автомобили, у которых по сохранённому прогнозу наступает ТО, против подъёмников \
         мастерской.",
        &body,
    )
}

/// The forecast's error at the maintenances of the period, per slice.
pub fn accuracy(report: &KpiReport) -> String {
    let mut bars = Vec::new();
    let mut rows = String::new();
    for row in &report.accuracy.rows {
        let a = &row.figures;
        if a.visits == 0 {
            continue;
        }
        let label = slice_label(&row.dimension);
        bars.push(Bar {
            label: label.clone(),
            value: a.mae_days.map_or(0.0, to_f64),
            note: format!(
                "{} дн.; ±14 дней: {}",
                decimal(a.mae_days),
                percent(a.within_14_days_percent)
            ),
        });
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&label),
            a.visits,
            decimal(a.mae_days),
            decimal(a.mean_error_days),
            decimal(a.mae_km),
            percent(a.within_14_days_percent),
            percent(a.within_interval_percent),
        );
    }
    let mut body = bar_chart("accuracy", "Средняя ошибка прогноза даты ТО, дней", &bars);
    if !rows.is_empty() {
        let _ = write!(
            body,
            "<table><tr><th>Срез</th><th>Визитов ТО</th><th>Ошибка, дней</th>\
             <th>Смещение, дней (+ позже прогноза)</th><th>Ошибка, км</th>\
             <th>В пределах 14 дней</th><th>В 80 % интервале</th></tr>{rows}</table>"
        );
    }
    section(
        "accuracy",
        "Точность прогноза",
        "Плановые ТО периода против прогноза, сохранённого до визита.",
        &body,
    )
}

fn when_ru(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

/// Every stage and offer rule with its state, who turned it and when, and its switch.
pub fn campaigns(states: &[CampaignState], base_path: &str, tz: chrono_tz::Tz) -> String {
    let mut rows = String::new();
    for s in states {
        let (kind, name) = match s.kind {
            CampaignKind::Stage => (
                "этап",
                domain::triggers::Stage::parse(&s.name)
                    .map_or_else(|| s.name.clone(), |st| stage_ru(st).to_owned()),
            ),
            CampaignKind::OfferRule => ("правило предложения", s.name.clone()),
        };
        let state = if s.on {
            "<span class=\"on\">включено</span>"
        } else {
            "<span class=\"off-state\">выключено</span>"
        };
        let change = s.last_change.as_ref().map_or_else(
            || "—".to_owned(),
            |c| format!("{}, {}", escape(&c.by), when_ru(c.at, tz)),
        );
        let (action, label, class) = if s.on {
            ("off", "Выключить", " class=\"off\"")
        } else {
            ("on", "Включить", "")
        };
        let _ = write!(
            rows,
            "<tr><td>{name}<br><small>{code}</small></td><td>{kind}</td><td>{state}</td>\
             <td>{change}</td><td><form method=\"post\" action=\"{base}/dashboard/campaigns/{seg}/{action}\">\
             <button type=\"submit\"{class} data-campaign=\"{code}\">{label}</button></form></td></tr>",
            name = escape(&name),
            code = escape(&s.name),
            base = escape(base_path),
            seg = escape(&path_segment(&s.name)),
        );
    }
    let body = format!(
        "<table><tr><th>Кампания</th><th>Что это</th><th>Состояние</th><th>Кто и когда \
         менял</th><th></th></tr>{rows}</table><p><a href=\"{}/dashboard/preview\">Что уйдёт \
         за 7 дней →</a></p>",
        escape(base_path)
    );
    section(
        "campaigns",
        "Переключатели кампаний",
        "Выключенный этап сразу перестаёт отправлять сообщения, в том числе уже поставленные в \
         очередь; выключенное правило не используется при расчёте цены следующих предложений.",
        &body,
    )
}
