//! «RFM-сегменты»: recency, frequency and monetary scores 1–5 of every customer (the domain's
//! `rfm_scores` over the whole base), the segment they make and what to do about it.

use chrono::NaiveDate;
use domain::segments::{rfm_scores, Rfm, RfmSegment};
use domain::Money;

use super::base::{Base, Period};
use super::table::{Cell, ColumnKind, Table};

/// The segment as the marketer calls it.
pub fn segment_ru(segment: RfmSegment) -> &'static str {
    match segment {
        RfmSegment::Champions => "Чемпионы",
        RfmSegment::Loyal => "Лояльные",
        RfmSegment::Promising => "Перспективные",
        RfmSegment::NeedsAttention => "Требуют внимания",
        RfmSegment::CannotLose => "Нельзя потерять",
        RfmSegment::AtRisk => "Под угрозой ухода",
        RfmSegment::Sleeping => "Спящие",
        RfmSegment::Lost => "Потерянные",
    }
}

/// What to do with a customer of the segment, in line with the policy's offers (no discounts
/// for those who come anyway).
pub fn action_ru(segment: RfmSegment) -> &'static str {
    match segment {
        RfmSegment::Champions => "Благодарить: привилегии и бонусы, без скидок",
        RfmSegment::Loyal => "Напоминания о ТО и бонусы за запись на вт–чт, без скидок",
        RfmSegment::Promising => "Закрепить: напомнить о следующем ТО, комфорт-опции",
        RfmSegment::NeedsAttention => "Персональное напоминание о ТО до срока",
        RfmSegment::CannotLose => "Звонок мастера-консультанта и персональное предложение",
        RfmSegment::AtRisk => "Персональное предложение: скидка на работы",
        RfmSegment::Sleeping => "Реактивация: скидка на работы или пакет ТО",
        RfmSegment::Lost => "Критическое предложение; без повторов после отказа",
    }
}

/// What to do with a customer who sent STOP: nothing through messages.
pub const OPTED_OUT_ACTION: &str = "Клиент отписался: без рассылок, только при визите";

/// One customer's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmRow {
    pub customer_id: String,
    pub first_name: String,
    pub rfm: Rfm,
    pub segment: RfmSegment,
    pub opted_out: bool,
    /// The last visit on or before the period's end.
    pub last_visit: Option<NaiveDate>,
    pub visits: u32,
    pub revenue: Money,
}

impl RfmRow {
    /// `545`: recency, frequency, monetary.
    pub fn code(&self) -> String {
        format!(
            "{}{}{}",
            self.rfm.recency, self.rfm.frequency, self.rfm.monetary
        )
    }

    pub fn action_ru(&self) -> &'static str {
        if self.opted_out {
            OPTED_OUT_ACTION
        } else {
            action_ru(self.segment)
        }
    }
}

/// The scores of the base on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmReport {
    pub at: NaiveDate,
    pub period: Period,
    /// By segment, then the best scores and the most revenue first.
    pub rows: Vec<RfmRow>,
}

impl RfmReport {
    pub fn count(&self, segment: RfmSegment) -> usize {
        self.rows.iter().filter(|r| r.segment == segment).count()
    }

    pub fn table(&self) -> Table {
        let mut table = Table::new(
            format!(
                "RFM-сегменты клиентов на {}; частота и выручка {}",
                super::export::date_ru(self.at),
                self.period.label_ru()
            ),
            "RFM-сегменты",
        )
        .column("Сегмент", ColumnKind::Text)
        .column("Клиент", ColumnKind::Text)
        .column("Имя", ColumnKind::Text)
        .column("R", ColumnKind::Integer)
        .column("F", ColumnKind::Integer)
        .column("M", ColumnKind::Integer)
        .column("RFM", ColumnKind::Text)
        .column("Что делать", ColumnKind::Text)
        .column("Последний визит", ColumnKind::Date)
        .column("Визитов за период", ColumnKind::Integer)
        .column("Выручка за период, ₽", ColumnKind::Money);
        for r in &self.rows {
            table.push(vec![
                segment_ru(r.segment).into(),
                r.customer_id.as_str().into(),
                r.first_name.as_str().into(),
                Cell::int(r.rfm.recency),
                Cell::int(r.rfm.frequency),
                Cell::int(r.rfm.monetary),
                r.code().into(),
                r.action_ru().into(),
                r.last_visit.into(),
                Cell::int(r.visits),
                Cell::money(r.revenue),
            ]);
        }
        table
    }
}

/// RFM scores on `at` of every customer who visited by the period's end: recency from the last
/// visit, frequency and monetary over the period.
pub fn rfm_report(base: &Base, at: NaiveDate, period: Period) -> RfmReport {
    let customers: Vec<_> = base
        .customers
        .iter()
        .map(|c| (c, c.activity(&period)))
        .filter(|(_, a)| a.last_visit.is_some())
        .collect();
    let activities: Vec<_> = customers.iter().map(|(_, a)| *a).collect();
    let scores = rfm_scores(&activities, at);
    let mut rows: Vec<RfmRow> = customers
        .iter()
        .zip(scores)
        .map(|((c, a), rfm)| RfmRow {
            customer_id: c.customer_id.clone(),
            first_name: c.first_name.clone(),
            rfm,
            segment: RfmSegment::of(rfm),
            opted_out: c.opted_out,
            last_visit: a.last_visit,
            visits: a.visits,
            revenue: a.revenue,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &RfmRow| (r.rfm.recency, r.rfm.frequency, r.rfm.monetary, r.revenue);
        a.segment
            .cmp(&b.segment)
            .then_with(|| key(b).cmp(&key(a)))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    RfmReport { at, period, rows }
}
