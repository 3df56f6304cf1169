//! A customer's history as the advisors see it: the last visits, the last messages with what
//! came of them (the rows of the offers report), the last bookings and the last rating. It goes
//! with every booking request, and answers `/client <phone | VIN | plate>` in the advisors'
//! chat (`/client +79161234567`, `/client XW7BE40K70S025476`, `/client А123ВС777`).

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Reaction;
use domain::{Customer, PhoneE164, Plate, Vehicle, Vin, VisitKind};
use store::repo::{Booking, Repos};
use store::{Store, StoreError};

use super::{BookingRecord, UpdateError, UpdateReplies};
use crate::ports::Address;
use crate::reports::ru::{booking_state_ru, reaction_ru, stage_ru};
use crate::reports::{offers_report, Base, OffersFilter, Period};

/// How many visits, messages and bookings the history shows (the latest).
const SHOWN: usize = 3;

/// The answer to `/client` from outside the advisors' chat.
pub const NOT_FOR_YOU: &str = "Эта команда доступна только мастерам-консультантам.";

const USAGE: &str = "Укажите телефон, VIN или госномер: /client +79161234567, \
/client XW7BE40K70S025476 или /client А123ВС777.";

/// Whom `/client` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientQuery {
    Phone(PhoneE164),
    Vin(Vin),
    Plate(Plate),
}

/// `Some` when the text is a `/client` command (with an optional bot mention): what it asks
/// for, or `Err` when that is no phone, VIN or plate. A phone may be written `8 916 123-45-67`.
pub fn parse_client(text: &str) -> Option<Result<ClientQuery, ()>> {
    let text = text.trim();
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let head = head.to_lowercase();
    if head.split('@').next() != Some("/client") {
        return None;
    }
    Some(read_query(rest.trim()).ok_or(()))
}

fn read_query(text: &str) -> Option<ClientQuery> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() >= 10 {
        let e164 = match (compact.starts_with('+'), digits.len(), digits.as_bytes()[0]) {
            (false, 11, b'8') => format!("+7{}", &digits[1..]),
            (false, 10, _) => format!("+7{digits}"),
            _ => format!("+{digits}"),
        };
        return PhoneE164::parse(&e164).ok().map(ClientQuery::Phone);
    }
    if compact.chars().count() == 17 {
        if let Ok(vin) = Vin::parse(&compact) {
            return Some(ClientQuery::Vin(vin));
        }
    }
    Plate::parse(text).ok().map(ClientQuery::Plate)
}

/// The customers a query finds (a plate may have changed cars).
async fn find<S: Store>(repos: &Repos<S>, query: &ClientQuery) -> Result<Vec<String>, StoreError> {
    let mut ids = match query {
        ClientQuery::Phone(phone) => repos
            .customers
            .by_phone(phone.as_str())
            .await?
            .into_iter()
            .collect(),
        ClientQuery::Vin(vin) => repos
            .vehicles
            .get::<Vehicle>(vin.as_str())
            .await?
            .map(|v| v.customer_id)
            .into_iter()
            .collect(),
        ClientQuery::Plate(plate) => repos
            .vehicles
            .by_plate::<Vehicle>(plate.as_str())
            .await?
            .into_iter()
            .map(|v| v.customer_id)
            .collect::<Vec<_>>(),
    };
    ids.dedup();
    Ok(ids)
}

/// Answers `/client` in the advisors' chat at `now`: each customer found, with their history.
pub(super) async fn answer<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    query: Result<ClientQuery, ()>,
    advisor: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let Ok(query) = query else {
        return Ok(UpdateReplies::answer(advisor, USAGE));
    };
    let ids = find(repos, &query).await?;
    tracing::info!(found = ids.len(), "client looked up by an advisor");
    if ids.is_empty() {
        let what = match &query {
            ClientQuery::Phone(p) => p.as_str().to_owned(),
            ClientQuery::Vin(v) => v.as_str().to_owned(),
            ClientQuery::Plate(p) => p.as_str().to_owned(),
        };
        return Ok(UpdateReplies::answer(
            advisor,
            format!("Клиент не найден: {what}."),
        ));
    }
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let mut replies = UpdateReplies::default();
    for customer_id in ids.iter().take(SHOWN) {
        let mut lines = vec![who(repos, customer_id).await?];
        lines.extend(Box::pin(history(repos, policy, customer_id, today)).await?);
        replies.messages.push(crate::ports::OutgoingMessage::text(
            advisor.clone(),
            lines.join("\n"),
        ));
    }
    Ok(replies)
}

/// «Клиент C-1001: Михаил, +79161234567», or the id alone when the profile is gone.
pub(super) async fn who<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
) -> Result<String, StoreError> {
    let stored = repos.customers.get::<Customer>(customer_id).await?;
    Ok(match stored {
        Some(c) => {
            let stop = if c.opted_out() {
                " (отписан)"
            } else {
                ""
            };
            format!(
                "Клиент {customer_id}: {}, {}{stop}",
                c.profile.first_name.as_str(),
                c.profile.phone.as_str()
            )
        }
        None => format!("Клиент {customer_id}"),
    })
}

fn kind_ru(kind: VisitKind) -> &'static str {
    match kind {
        VisitKind::Maintenance => "ТО",
        VisitKind::Repair => "ремонт",
        VisitKind::Warranty => "гарантия",
        VisitKind::Bodywork => "кузовной ремонт",
        VisitKind::Tires => "шиномонтаж",
        VisitKind::Diagnostics => "диагностика",
    }
}

fn day_ru(day: NaiveDate) -> String {
    day.format("%d.%m.%Y").to_string()
}

/// The customer's history on `today`, one line per part that has something to show.
pub(super) async fn history<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    customer_id: &str,
    today: NaiveDate,
) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    let Some(base) = Base::load_customer(repos, policy, customer_id).await? else {
        return Ok(lines);
    };
    let plates = vehicles_line(repos, &base, customer_id).await?;
    lines.extend(plates);
    if let Some(customer) = base.customer(customer_id) {
        let visits: Vec<String> = customer
            .visits
            .iter()
            .rev()
            .take(SHOWN)
            .map(|v| {
                format!(
                    "{} {}, {} км, {} ({})",
                    day_ru(v.closed_on),
                    kind_ru(v.kind),
                    domain::render::thousands_ru(v.odometer_km),
                    v.work_order_id,
                    v.vin
                )
            })
            .collect();
        if !visits.is_empty() {
            lines.push(format!("Визиты: {}.", visits.join("; ")));
        }
    }
    let report = offers_report(
        repos,
        &base,
        policy,
        OffersFilter::Customer(customer_id.to_owned()),
        Period::until(today),
    )
    .await?;
    let messages: Vec<String> = report
        .rows
        .iter()
        .rev()
        .take(SHOWN)
        .map(|r| {
            let outcome: Vec<String> = r.reactions.iter().map(|x| reaction_ru(*x)).collect();
            let outcome = if outcome.is_empty() {
                "без ответа".to_owned()
            } else {
                outcome.join(", ")
            };
            let visit = r
                .visit
                .as_ref()
                .map(|v| format!(", визит {}", day_ru(v.closed_on)))
                .unwrap_or_default();
            format!(
                "{} {} — {outcome}{visit}",
                day_ru(r.sent_local.date()),
                stage_ru(r.stage)
            )
        })
        .collect();
    if !messages.is_empty() {
        lines.push(format!("Сообщения: {}.", messages.join("; ")));
    }
    let bookings = repos
        .capacity
        .bookings_of_customer::<BookingRecord>(customer_id)
        .await?;
    lines.extend(bookings_line(&bookings));
    let rating = report.rows.iter().rev().find_map(|r| {
        r.reactions.iter().rev().find_map(|x| match x {
            Reaction::Rated(score) => Some((*score, r.sent_local.date())),
            _ => None,
        })
    });
    if let Some((score, asked)) = rating {
        lines.push(format!(
            "Последняя оценка: {score} из 10 (запрос от {}).",
            day_ru(asked)
        ));
    }
    Ok(lines)
}

async fn vehicles_line<S: Store>(
    repos: &Repos<S>,
    base: &Base,
    customer_id: &str,
) -> Result<Option<String>, StoreError> {
    let mut cars = Vec::new();
    for facts in base
        .vehicles
        .iter()
        .filter(|v| v.customer_id == customer_id)
    {
        let plate = repos
            .vehicles
            .get::<Vehicle>(&facts.vin)
            .await?
            .and_then(|v| v.vehicle.plate().map(|p| format!(", {p}")))
            .unwrap_or_default();
        cars.push(format!("{} {}{plate}", facts.car(), facts.vin));
    }
    Ok((!cars.is_empty()).then(|| format!("Автомобили: {}.", cars.join("; "))))
}

fn bookings_line(bookings: &[Booking<BookingRecord>]) -> Option<String> {
    let mut sorted: Vec<&Booking<BookingRecord>> = bookings.iter().collect();
    sorted.sort_by(|a, b| (a.date, &a.start).cmp(&(b.date, &b.start)));
    let shown: Vec<String> = sorted
        .iter()
        .rev()
        .take(SHOWN)
        .map(|b| {
            format!(
                "{} {} — {}",
                day_ru(b.date),
                b.start,
                booking_state_ru(b.state)
            )
        })
        .collect();
    (!shown.is_empty()).then(|| format!("Записи: {}.", shown.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Option<Result<ClientQuery, ()>> {
        parse_client(text)
    }

    #[test]
    fn a_phone_a_vin_or_a_plate_is_read_after_client() {
        let phone = ClientQuery::Phone(PhoneE164::parse("+79161234567").unwrap());
        for text in [
            "/client +79161234567",
            "/client 8 916 123-45-67",
            "/client@AutodriveBot +7 (916) 123-45-67",
            "/CLIENT 79161234567",
            "/client 9161234567",
        ] {
            assert_eq!(query(text), Some(Ok(phone.clone())), "{text:?}");
        }
        assert_eq!(
            query("/client xw7be40k70s025476"),
            Some(Ok(ClientQuery::Vin(
                Vin::parse("XW7BE40K70S025476").unwrap()
            )))
        );
        assert_eq!(
            query("/client a 123 bc 777"),
            Some(Ok(ClientQuery::Plate(Plate::parse("А123ВС777").unwrap())))
        );
    }

    #[test]
    fn other_texts_are_not_the_command_and_bad_arguments_are_reported() {
        for text in ["client +79161234567", "/clients 1", "/close 2026-12-03", ""] {
            assert_eq!(query(text), None, "{text:?}");
        }
        for text in ["/client", "/client ???", "/client +0123456789"] {
            assert_eq!(query(text), Some(Err(())), "{text:?}");
        }
    }
}
