//! The demo's result as the dealer reads it, in Russian.

use std::collections::BTreeSet;
use std::fmt::Write;

use app::reports::ru::{stage_ru as stage_name_ru, status_ru as status_name_ru};
use chrono::NaiveDate;
use domain::render::money_ru;
use domain::status::CustomerStatus;
use domain::triggers::Stage;
use rust_decimal::Decimal;

use super::report::DemoReport;

fn date_ru(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn stage_ru(stage: &str) -> &'static str {
    Stage::from_mark_key(stage).map_or("другое", stage_name_ru)
}

fn status_ru(status: &str) -> &'static str {
    CustomerStatus::parse(status).map_or("другие", status_name_ru)
}

fn veto_ru(veto: &str) -> String {
    match veto {
        "opted_out" => "STOP (клиент отписался)".into(),
        "no_service_consent" => "нет согласия на сервисные сообщения".into(),
        "no_marketing_consent" => "нет согласия на рекламу".into(),
        "control_group" => "контрольная группа".into(),
        "marketing_cap" => "лимит частоты (1 реклама в 7 дней)".into(),
        "cycle_closed" => "цикл закрыт новым визитом".into(),
        other => match other.strip_prefix("superseded_by_") {
            Some(stage) => format!("вытеснено: уходит «{}»", stage_ru(stage)),
            None => other.into(),
        },
    }
}

fn percent(d: Decimal) -> String {
    format!("{}\u{a0}%", d.normalize()).replace('.', ",")
}

/// The report as the dealer reads it.
pub fn render_ru(r: &DemoReport) -> String {
    let mut out = String::new();
    let m = &r.mileage;
    let _ = writeln!(
        out,
        "АвтоДрайв — демо: ночь {} (сид {}, {} дней истории рассылок до неё)",
        date_ru(r.run_date),
        r.seed,
        r.warm_up_days
    );
    let _ = writeln!(
        out,
        "Клиентов {}, автомобилей {}, заказ-нарядов {}.\n",
        r.kpi.customers, r.kpi.vehicles, r.kpi.visits_recorded
    );
    let _ = writeln!(out, "1. Анализ пробегов: плановое ТО по датам");
    for b in &m.buckets {
        let _ = writeln!(out, "  {:<15} {:>6}", b.label, b.count);
    }
    if m.without_forecast > 0 {
        let _ = writeln!(out, "  {:<15} {:>6}", "без прогноза", m.without_forecast);
    }
    let _ = writeln!(
        out,
        "  {:<15} {:>6}\n",
        "всего",
        m.buckets.iter().map(|b| b.count).sum::<usize>() + m.without_forecast
    );
    let _ = writeln!(
        out,
        "  {:<15} {:<14} {:<20} {:>7} {:>11} {:>9} предел",
        "группа", "автомобиль", "модель", "км/день", "план. дата", "ТО при км"
    );
    for b in &m.buckets {
        for row in &b.samples {
            let _ = writeln!(
                out,
                "  {:<15} {:<14} {:<20} {:>7.1} {:>11} {:>9} {}",
                b.label,
                row.vehicle,
                row.model,
                row.km_per_day,
                date_ru(row.due_date),
                row.due_km,
                if row.limit == "time" {
                    "время"
                } else {
                    "пробег"
                }
            );
        }
    }

    let (n, p) = (&r.offers.night, &r.offers.period);
    let _ = writeln!(
        out,
        "\n2. Сообщения: ночь {} и день после неё | все {} дней",
        date_ru(r.run_date),
        r.warm_up_days + 1
    );
    let row = |out: &mut String, label: &str, a: usize, b: usize| {
        let _ = writeln!(out, "  {label:<44} {a:>6} | {b:>6}");
    };
    row(
        &mut out,
        "проверено автомобилей (за ночь / суммарно)",
        n.evaluated,
        p.evaluated,
    );
    row(&mut out, "решено отправить", n.decided, p.decided);
    row(
        &mut out,
        "  из них отложено: тихие часы 21:00–09:00",
        n.deferred_quiet_hours,
        p.deferred_quiet_hours,
    );
    row(&mut out, "отправлено", n.sent_total, p.sent_total);
    for stage in Stage::ALL {
        let key = stage.as_str();
        let (a, b) = (
            n.sent_by_stage.get(key).copied().unwrap_or(0),
            p.sent_by_stage.get(key).copied().unwrap_or(0),
        );
        if a + b > 0 {
            row(&mut out, &format!("  {}", stage_ru(key)), a, b);
        }
    }
    row(
        &mut out,
        "не отправлено: нет мессенджера",
        n.no_channel,
        p.no_channel,
    );
    row(
        &mut out,
        "не отправлено: STOP после решения",
        n.opted_out_before_send,
        p.opted_out_before_send,
    );
    let _ = writeln!(out, "  запреты контактной политики (этап × автомобиль):");
    let vetoes: BTreeSet<&String> = n.vetoes.keys().chain(p.vetoes.keys()).collect();
    for veto in vetoes {
        row(
            &mut out,
            &format!("  {}", veto_ru(veto)),
            n.vetoes.get(veto).copied().unwrap_or(0),
            p.vetoes.get(veto).copied().unwrap_or(0),
        );
    }
    let _ = writeln!(out, "\n  Примеры сообщений:");
    for (i, s) in r.offers.samples.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}) {} {} — {}, {} {}",
            i + 1,
            date_ru(s.sent_on),
            stage_ru(s.stage),
            s.first_name,
            s.model,
            s.vehicle
        );
        let _ = writeln!(out, "     почему: {}", s.reason);
        if let Some(offer) = &s.offer {
            let _ = writeln!(
                out,
                "     предложение: {} → {}, скидка на работы {}, выгода {}, маржа после {}{}; правила: {}",
                money_ru(offer.list_price),
                money_ru(offer.final_price),
                percent(offer.labor_discount_percent),
                money_ru(offer.customer_saving),
                percent(offer.margin_after_percent),
                if offer.margin_floor_applied {
                    " (скидка урезана до порога маржи)"
                } else {
                    ""
                },
                offer.rule_ids.join(", ")
            );
        }
        let first_line = s.text.lines().next().unwrap_or_default();
        let _ = writeln!(out, "     текст: {first_line}");
    }

    let k = &r.kpi;
    let _ = writeln!(out, "\n3. Показатели");
    let _ = writeln!(
        out,
        "  Автомобилей: {}, клиентов: {}",
        k.vehicles, k.customers
    );
    let statuses: Vec<String> = k
        .customers_by_status
        .iter()
        .map(|(s, n)| format!("{} {n}", status_ru(s)))
        .collect();
    let _ = writeln!(out, "  Клиенты по статусу: {}", statuses.join(", "));
    let _ = writeln!(
        out,
        "  Контрольная группа (без рекламы): {} клиентов",
        k.control_group_customers
    );
    let _ = writeln!(
        out,
        "  Отправлено сообщений: {} за день, {} за {} дней",
        k.messages_sent_today,
        k.messages_sent_period,
        r.warm_up_days + 1
    );
    let _ = writeln!(
        out,
        "  STOP за {} дней: {}",
        r.warm_up_days + 1,
        k.stops_period
    );
    let _ = writeln!(
        out,
        "  Оценки визитов: {}, из них низких (≤ {}): {}; сигналов мастерам: {}",
        k.ratings_period, k.csat_alarm_max, k.low_ratings_period, k.advisor_alerts_period
    );
    super::render_kpi::render_kpis(&mut out, &r.kpis);
    let a = &r.audit;
    let _ = writeln!(
        out,
        "  Проверка {} отправленных: реклама контрольной группе {}, без согласия {}, в тихие часы {}",
        a.messages_checked,
        a.marketing_to_control_group,
        a.marketing_without_consent + a.service_without_consent,
        a.sent_in_quiet_hours
    );
    render_segments(&mut out, r);
    out
}

/// Section 4: the figures of the lost, ABC and RFM reports and where every report was written.
fn render_segments(out: &mut String, r: &DemoReport) {
    let s = &r.segments;
    let counts = |items: &[super::report::Count]| -> String {
        items
            .iter()
            .map(|c| format!("{} {}", c.label, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "\n4. Отчёты");
    let _ = writeln!(
        out,
        "  Потерянные клиенты по числу визитов: {}",
        counts(&s.lost_by_visits)
    );
    let abc: Vec<String> = s
        .abc
        .iter()
        .map(|c| format!("{} {} ({})", c.class, c.customers, percent(c.share_percent)))
        .collect();
    let by = if s.abc_by == "margin" {
        "марже"
    } else {
        "выручке"
    };
    let _ = writeln!(
        out,
        "  ABC по {by}: клиентов в классе (доля): {}",
        abc.join(", ")
    );
    let _ = writeln!(out, "  RFM-сегменты: {}", counts(&s.rfm));
    let _ = writeln!(out, "  Файлы XLSX и CSV в {}:", r.reports_dir.display());
    for f in &r.reports {
        let _ = writeln!(
            out,
            "    {}: строк {}; {}",
            f.title,
            f.rows,
            f.files
                .iter()
                .map(|f| f.trim_start_matches("reports/"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
