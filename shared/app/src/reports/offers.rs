//! «Сообщения и предложения»: every message sent to a customer (or about a vehicle): when, which
//! stage, why, the priced offer, and what came of it as far as the store records it: the
//! customer's reactions, a booking, the next visit. The advisor's view of a customer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::policy::Policy;
use domain::pricing::Offer;
use domain::triggers::{Reaction, Reason, Stage};
use store::repo::{Booking, BookingState, OfferState, Repos};
use store::{Store, StoreError};

use super::base::{Base, CustomerFacts, Period};
use super::export::date_ru;
use super::mileage::WorkOrderRef;
use super::ru::{booking_state_ru, reaction_ru, reason_ru, stage_ru};
use super::table::{Cell, ColumnKind, Table};
use crate::booking::BookingRecord;
use crate::compose::OfferRecord;
use crate::evaluate::ReactionMark;

/// Whose messages the report lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffersFilter {
    All,
    Customer(String),
    Vin(String),
}

/// A booking made from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFacts {
    pub date: NaiveDate,
    /// `HH:MM`.
    pub start: String,
    pub state: BookingState,
}

/// One message sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRow {
    pub offer_id: String,
    pub sent_at: DateTime<Utc>,
    /// `sent_at` in dealer time.
    pub sent_local: NaiveDateTime,
    pub customer_id: String,
    pub first_name: String,
    pub vin: String,
    /// `Toyota Camry`.
    pub car: String,
    pub stage: Stage,
    pub reason: Reason,
    /// The priced offer of the offer stages.
    pub priced: Option<Offer>,
    /// The customer's reactions to this message, in the order they came.
    pub reactions: Vec<Reaction>,
    pub booking: Option<BookingFacts>,
    /// The vehicle's first visit on or after the day the message went out.
    pub visit: Option<WorkOrderRef>,
}

/// The messages of a customer, a vehicle or everyone over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct OffersReport {
    pub filter: OffersFilter,
    pub period: Period,
    /// By time sent, then offer id.
    pub rows: Vec<OfferRow>,
}

impl OffersReport {
    pub fn table(&self) -> Table {
        let whose = match &self.filter {
            OffersFilter::All => String::new(),
            OffersFilter::Customer(id) => format!(" клиента {id}"),
            OffersFilter::Vin(vin) => format!(" по автомобилю {vin}"),
        };
        let mut table = Table::new(
            format!("Сообщения и предложения{whose} {}", self.period.label_ru()),
            "Сообщения",
        )
        .column("Отправлено", ColumnKind::DateTime)
        .column("Клиент", ColumnKind::Text)
        .column("Имя", ColumnKind::Text)
        .column("VIN", ColumnKind::Text)
        .column("Автомобиль", ColumnKind::Text)
        .column("Этап", ColumnKind::Text)
        .column("Почему", ColumnKind::Text)
        .column("Правила", ColumnKind::Text)
        .column("Цена по прайсу, ₽", ColumnKind::Money)
        .column("Скидка на работы, %", ColumnKind::Percent(1))
        .column("Цена предложения, ₽", ColumnKind::Money)
        .column("Выгода клиента, ₽", ColumnKind::Money)
        .column("Маржа после скидки, %", ColumnKind::Percent(1))
        .column("Бонусные баллы", ColumnKind::Integer)
        .column("Подарки и опции", ColumnKind::Text)
        .column("Реакция", ColumnKind::Text)
        .column("Запись", ColumnKind::Text)
        .column("Визит", ColumnKind::Date)
        .column("Заказ-наряд визита", ColumnKind::Text);
        for r in &self.rows {
            let o = r.priced.as_ref();
            let reactions: Vec<String> = r.reactions.iter().map(|x| reaction_ru(*x)).collect();
            let booking = r.booking.as_ref().map(|b| {
                format!(
                    "{} {}, {}",
                    date_ru(b.date),
                    b.start,
                    booking_state_ru(b.state)
                )
            });
            let perks = o.map(|o| {
                o.perks
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            table.push(vec![
                r.sent_local.into(),
                r.customer_id.as_str().into(),
                r.first_name.as_str().into(),
                r.vin.as_str().into(),
                r.car.as_str().into(),
                stage_ru(r.stage).into(),
                reason_ru(&r.reason).into(),
                o.map(|o| o.rule_ids.join(", ")).into(),
                o.map_or(Cell::Empty, |o| Cell::money(o.list_price)),
                o.map_or(Cell::Empty, |o| Cell::Percent(o.labor_discount_percent)),
                o.map_or(Cell::Empty, |o| Cell::money(o.final_price)),
                o.map_or(Cell::Empty, |o| Cell::money(o.customer_saving)),
                o.map_or(Cell::Empty, |o| Cell::Percent(o.margin_after.percent)),
                o.map_or(Cell::Empty, |o| Cell::int(o.weekday_bonus_points)),
                perks.filter(|p| !p.is_empty()).into(),
                (!reactions.is_empty()).then(|| reactions.join(", ")).into(),
                booking.into(),
                r.visit.as_ref().map(|v| v.closed_on).into(),
                r.visit.as_ref().map(|v| v.work_order_id.as_str()).into(),
            ]);
        }
        table
    }
}

/// The messages sent in `period` (by the dealer's day they went out) to the customers of the
/// base that the filter picks.
pub async fn offers_report<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    policy: &Policy,
    filter: OffersFilter,
    period: Period,
) -> Result<OffersReport, StoreError> {
    let mut rows = Vec::new();
    for customer in &base.customers {
        let wanted = match &filter {
            OffersFilter::All => true,
            OffersFilter::Customer(id) => &customer.customer_id == id,
            OffersFilter::Vin(vin) => customer.vins.contains(vin),
        };
        if wanted {
            customer_rows(repos, base, policy, customer, &filter, &period, &mut rows).await?;
        }
    }
    rows.sort_by(|a, b| (a.sent_at, &a.offer_id).cmp(&(b.sent_at, &b.offer_id)));
    Ok(OffersReport {
        filter,
        period,
        rows,
    })
}

async fn customer_rows<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    policy: &Policy,
    customer: &CustomerFacts,
    filter: &OffersFilter,
    period: &Period,
    rows: &mut Vec<OfferRow>,
) -> Result<(), StoreError> {
    let tz = policy.time_zone();
    let offers = repos
        .offers
        .for_customer::<OfferRecord>(&customer.customer_id)
        .await?;
    let mut bookings: Option<BTreeMap<String, BookingFacts>> = None;
    let mut reactions: BTreeMap<(String, String), Vec<(String, ReactionMark)>> = BTreeMap::new();
    for offer in offers {
        let Some(sent_at) = offer.sent_at.filter(|_| offer.state == OfferState::Sent) else {
            continue;
        };
        let sent_local = sent_at.with_timezone(&tz).naive_local();
        if !period.contains(sent_local.date()) {
            continue;
        }
        if matches!(filter, OffersFilter::Vin(vin) if *vin != offer.vin) {
            continue;
        }
        let record = offer.offer;
        let key = (offer.vin.clone(), record.cycle_id.clone());
        if !reactions.contains_key(&key) {
            let found = repos
                .cycles
                .reactions::<ReactionMark>(&offer.vin, &record.cycle_id)
                .await?
                .into_iter()
                .map(|(stage, _, mark)| (stage, mark))
                .collect();
            reactions.insert(key.clone(), found);
        }
        let mut marks: Vec<ReactionMark> = reactions[&key]
            .iter()
            .filter(|(stage, _)| stage == record.stage.as_str())
            .map(|(_, mark)| *mark)
            .collect();
        marks.sort_by_key(|m| m.at);
        if bookings.is_none() {
            bookings = Some(booking_facts(repos, &customer.customer_id).await?);
        }
        let booking = bookings
            .as_ref()
            .and_then(|b| b.get(&offer.offer_id))
            .cloned();
        let visit = customer
            .visits
            .iter()
            .find(|v| v.vin == offer.vin && v.closed_on >= sent_local.date())
            .map(|v| WorkOrderRef {
                work_order_id: v.work_order_id.clone(),
                closed_on: v.closed_on,
            });
        rows.push(OfferRow {
            offer_id: offer.offer_id,
            sent_at,
            sent_local,
            customer_id: customer.customer_id.clone(),
            first_name: customer.first_name.clone(),
            car: base
                .vehicle(&offer.vin)
                .map(|v| v.car())
                .unwrap_or_default(),
            vin: offer.vin,
            stage: record.stage,
            reason: record.reason,
            priced: record.priced,
            reactions: marks.into_iter().map(|m| m.reaction).collect(),
            booking,
            visit,
        });
    }
    Ok(())
}

/// The customer's bookings by the offer they came from: a confirmed one over a held one over a
/// cancelled one, the later over the earlier.
async fn booking_facts<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
) -> Result<BTreeMap<String, BookingFacts>, StoreError> {
    let rank = |s: BookingState| match s {
        BookingState::Confirmed | BookingState::NoShow => 2,
        BookingState::Held => 1,
        BookingState::Cancelled | BookingState::Lapsed => 0,
    };
    let mut by_offer: BTreeMap<String, BookingFacts> = BTreeMap::new();
    let bookings: Vec<Booking<BookingRecord>> =
        repos.capacity.bookings_of_customer(customer_id).await?;
    for b in bookings {
        let facts = BookingFacts {
            date: b.date,
            start: b.start,
            state: b.state,
        };
        let better = by_offer
            .get(&b.booking.offer_id)
            .is_none_or(|old| (rank(facts.state), facts.date) >= (rank(old.state), old.date));
        if better {
            by_offer.insert(b.booking.offer_id, facts);
        }
    }
    Ok(by_offer)
}
