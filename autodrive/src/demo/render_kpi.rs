//! The KPI engine's figures as the demo prints them, in Russian.

use std::fmt::Write;

use app::kpi::tables::{interval_ru, points_ru, reason_ru};
use app::kpi::KpiReport;
use domain::render::{money_ru, thousands_ru};
use domain::uplift::percent_ru;
use domain::Money;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

fn date_ru(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn percent(d: Option<Decimal>) -> String {
    d.map_or("—".to_owned(), |d| {
        format!("{}\u{a0}%", d.normalize()).replace('.', ",")
    })
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    percent_ru(part as f64 / whole as f64)
}

fn decimal(d: Option<Decimal>) -> String {
    d.map_or("—".to_owned(), |d| {
        d.normalize().to_string().replace('.', ",")
    })
}

/// Roubles, negative with a minus.
fn signed_money_ru(amount: Decimal) -> String {
    let text = money_ru(Money::from_decimal(amount.abs()).unwrap_or(Money::ZERO));
    if amount.is_sign_negative() && !amount.is_zero() {
        format!("−{text}")
    } else {
        text
    }
}

fn n(x: u64) -> String {
    thousands_ru(x)
}

/// The engine's lines of section 3.
pub fn render_kpis(out: &mut String, k: &KpiReport) {
    let _ = writeln!(
        out,
        "  Показатели из хранилища с {} по {} (данные на {}):",
        date_ru(k.query.from),
        date_ru(k.query.to),
        date_ru(k.query.at)
    );
    let f = k.funnel.total();
    let _ = writeln!(
        out,
        "  Воронка: отправлено {}, доставлено {} ({}), прочитано {} ({}), «Записаться» {}, \
         забронировали {}, подтверждено {}, приехали {}, не приехали {}",
        n(f.sent),
        n(f.delivered),
        share(f.delivered, f.sent),
        n(f.read),
        share(f.read, f.sent),
        n(f.clicked),
        n(f.held),
        n(f.confirmed),
        n(f.visited),
        n(f.no_show)
    );
    let _ = writeln!(
        out,
        "  Напоминание → запись: {}; явка по записи: {} (записей, чей день наступил: {})",
        percent(k.reminder_to_booking_percent()),
        percent(f.show_percent),
        n(f.bookings_due)
    );
    let r = k.retention.total();
    let _ = writeln!(
        out,
        "  Удержание автомобилей 3+ лет (13 месяцев): вернулись {} из {} ({}){}",
        n(r.retained),
        n(r.base),
        percent(r.percent),
        if k.retention_window.complete {
            String::new()
        } else {
            format!(
                "; окно идёт, визиты учтены по {}",
                date_ru(k.retention_window.returned_by)
            )
        }
    );
    let back = k.reactivation.total();
    let _ = writeln!(
        out,
        "  Реактивированные клиенты (без визита больше 12 месяцев): {}, визитов {}, выручка {}, маржа {}",
        n(back.customers),
        n(back.visits),
        money_ru(back.revenue),
        signed_money_ru(back.margin)
    );
    let p = k.pricing.total();
    let _ = writeln!(
        out,
        "  Скидки: {} предложений с расчётом, выгода клиентов {} (в среднем {} на работы, маржа \
         после скидки {}); порог маржи сохранил {} в {} предложениях; скидка по визитам из \
         предложений {}; бонусных баллов начислено {}",
        n(p.priced_offers),
        money_ru(p.discount_offered),
        percent(p.mean_labor_discount_percent),
        percent(p.mean_margin_after_percent),
        money_ru(p.margin_kept_by_floor),
        n(p.floor_applied),
        money_ru(p.discount_on_visits),
        thousands_ru(p.points_granted.max(0).unsigned_abs())
    );
    let a = k.accuracy.total();
    let _ = writeln!(
        out,
        "  Точность прогноза по {} ТО: средняя ошибка {} дн. (смещение {} дн.), в пределах 14 \
         дней {}, в 80-процентном интервале {}, средняя ошибка {} км",
        n(a.visits),
        decimal(a.mae_days),
        a.mean_error_days
            .filter(|d| d.is_sign_positive() && !d.is_zero())
            .map_or(decimal(a.mean_error_days), |d| format!(
                "+{}",
                decimal(Some(d))
            )),
        percent(a.within_14_days_percent),
        percent(a.within_interval_percent),
        a.mae_km.map_or("—".to_owned(), |km| {
            thousands_ru(km.round().to_u64().unwrap_or(0))
        })
    );
    let c = k.churn.total();
    let reasons: Vec<String> = app::kpi::churn::REASONS
        .iter()
        .map(|r| r.to_string())
        .chain(
            c.by_reason
                .keys()
                .filter(|r| !app::kpi::churn::REASONS.contains(&r.as_str()))
                .cloned(),
        )
        .filter(|r| c.count(r) > 0)
        .map(|r| format!("{} {}", reason_ru(&r), c.count(&r)))
        .collect();
    let _ = writeln!(
        out,
        "  Ответы «Уже обслужился»: {}{}",
        n(c.answers),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    let u = k.uplift.total();
    if let Some(uplift) = &u.uplift {
        let _ = writeln!(
            out,
            "  Прирост визитов к контрольной группе (все клиенты как назначены): с рассылкой {} из {} \
             ({}), контрольная группа {} из {} ({}); разница {}; {}",
            n(uplift.treatment.visited),
            n(uplift.treatment.customers),
            share(uplift.treatment.visited, uplift.treatment.customers),
            n(uplift.control.visited),
            n(uplift.control.customers),
            share(uplift.control.visited, uplift.control.customers),
            uplift
                .difference
                .map_or("—".to_owned(), |d| format!("{} п.\u{a0}п.", points_ru(d))),
            interval_ru(uplift)
        );
        let _ = writeln!(out, "    окно: {}", k.campaign_ru());
        if let Some(warning) = &u.warning_ru {
            let _ = writeln!(out, "    Внимание: {warning}");
        }
    }
}
