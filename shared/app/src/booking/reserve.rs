//! Booking a slot: the picker (free slots derived from the workshop's plan, lapsed holds freed
//! first), the conditional hold with what was agreed, and the advisor's confirmation, which a
//! lapsed hold refuses and which grants the booking's bonus points once.

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Reaction;
use domain::Customer;
use serde::{Deserialize, Serialize};
use store::repo::{Booking, BookingState, HoldOutcome, NewHold, Repos, StoredOffer};
use store::{Store, StoreError};

use super::buttons::{confirmed_row, customer_row};
use super::terms::{agree, describe};
use super::{
    BookingRecord, BookingSettings, UpdateError, UpdateReplies, CONFIRM_PREFIX, SLOT_PREFIX,
};
use crate::compose::{OfferRecord, BOOK_BUTTON, BOOK_PREFIX};
use crate::evaluate::record_reaction;
use crate::ports::{Address, Button, Messenger, OutgoingMessage, WhatsAppId};

/// Why points were granted, as kept in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsDetail {
    pub rule: String,
    pub offer_id: String,
    pub date: NaiveDate,
    pub start: String,
}

/// The booking id of an offer: one booking per offer, held again after a lapse or a cancel.
pub fn booking_id_of(offer_id: &str) -> String {
    format!("b{}", offer_id.trim_start_matches('o'))
}

/// `c:<booking id>:<attempt>`: the advisor's button confirms that hold and no later one.
pub(super) fn confirm_data(booking_id: &str, attempt: u32) -> String {
    format!("{CONFIRM_PREFIX}{booking_id}:{attempt}")
}

/// The booking id and (from current buttons) the attempt of a confirm button's data.
pub(super) fn parse_confirm(rest: &str) -> (&str, Option<u32>) {
    match rest.rsplit_once(':') {
        Some((id, n)) => match n.parse() {
            Ok(n) => (id, Some(n)),
            Err(_) => (rest, None),
        },
        None => (rest, None),
    }
}

pub(super) fn slot_label(date: NaiveDate, start: &str) -> String {
    format!("{} {start}", date.format("%d.%m"))
}

fn text(to: &Address, text: impl Into<String>) -> OutgoingMessage {
    OutgoingMessage::text(to.clone(), text)
}

/// The offer chosen by `from`, which must be its customer's address.
pub(super) async fn offer_of_sender<S: Store>(
    repos: &Repos<S>,
    offer_id: &str,
    from: &Address,
) -> Result<(String, StoredOffer<OfferRecord>), UpdateError> {
    let offer = repos
        .offers
        .get::<OfferRecord>(offer_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("offer {offer_id}")))?;
    match super::customer_at(repos, from).await? {
        Some(customer_id) if customer_id == offer.customer_id => Ok((customer_id, offer)),
        _ => Err(UpdateError::Forbidden(from.clone())),
    }
}

/// The free slots from tomorrow to the policy's days ahead, as buttons (at most what the
/// settings and the messenger allow). Each day's lapsed holds are released first and its
/// slots derived from the workshop's plan when none are stored.
pub(super) async fn slot_picker<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer: &StoredOffer<OfferRecord>,
    to: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let shown = settings.max_slots_shown.min(to.max_buttons());
    let offer_id = offer.offer_id.as_str();
    // The `load` bonus's idle days are marked (the weekdays mode's are named in the offer).
    let priced = offer
        .offer
        .priced
        .as_ref()
        .filter(|p| !p.bonus_dates.is_empty() && p.weekday_bonus_points > 0);
    let mut marked = false;
    let buttons: Vec<Vec<Button>> = free_slots(repos, policy, now, shown, None)
        .await?
        .into_iter()
        .map(|(date, start)| {
            let mut text = slot_label(date, &start);
            if priced
                .as_ref()
                .is_some_and(|p| p.bonus_dates.contains(&date))
            {
                text.push_str(" ★");
                marked = true;
            }
            vec![Button {
                text,
                callback_data: format!("{SLOT_PREFIX}{offer_id}:{date}:{start}"),
            }]
        })
        .collect();
    let text = match &priced {
        _ if buttons.is_empty() => {
            "К сожалению, свободного времени в ближайшие дни нет. Мы напишем, когда оно появится."
                .to_owned()
        }
        Some(p) if marked => format!(
            "Выберите удобное время. ★ — +{} бонусных баллов: в эти дни в сервисе свободнее.",
            p.weekday_bonus_points
        ),
        _ => "Выберите удобное время:".to_owned(),
    };
    Ok(UpdateReplies {
        messages: vec![OutgoingMessage {
            to: to.clone(),
            text,
            buttons,
        }],
        callback_answer: None,
        events: Vec::new(),
    })
}

/// Up to `limit` free slots from tomorrow to the policy's days ahead, earliest first, but for
/// `except` (a booking's own slot). Each day's lapsed holds are released first and its slots
/// derived from the workshop's plan when none are stored.
pub(super) async fn free_slots<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    now: DateTime<Utc>,
    limit: usize,
    except: Option<(NaiveDate, &str)>,
) -> Result<Vec<(NaiveDate, String)>, StoreError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let workshop = policy.workshop();
    let mut found = Vec::new();
    for d in 1..=u64::from(workshop.days_ahead) {
        if found.len() >= limit {
            break;
        }
        let date = today + Days::new(d);
        repos.capacity.release_lapsed_on(date, now).await?;
        let day = repos.capacity.day(date, &workshop.slots_on(date)).await?;
        let free = day
            .free_slots()
            .filter(|slot| except != Some((date, slot.start.as_str())))
            .take(limit - found.len());
        found.extend(free.map(|slot| (date, slot.start.clone())));
    }
    Ok(found)
}

/// Whether `date` is a day customers may book: from tomorrow to the policy's days ahead.
pub(super) fn bookable(policy: &Policy, date: NaiveDate, now: DateTime<Utc>) -> bool {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    date > today && date <= today + Days::new(u64::from(policy.workshop().days_ahead))
}

/// The picker again, after a line saying why the chosen time was not held.
async fn picker_after<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer: &StoredOffer<OfferRecord>,
    to: &Address,
    now: DateTime<Utc>,
    why: String,
) -> Result<UpdateReplies, UpdateError> {
    let mut replies = slot_picker(repos, policy, settings, offer, to, now).await?;
    if let Some(first) = replies.messages.first_mut() {
        first.text = format!("{why} {}", first.text);
    }
    // The button's answer says why too, not «Готово».
    replies.callback_answer = Some((String::new(), why));
    Ok(replies)
}

/// Holds the slot for the offer's booking at `now` until the policy's hold timeout, with the
/// terms agreed at this moment; a booking that lapsed or was cancelled is held again.
#[allow(clippy::too_many_arguments)]
pub(super) async fn hold<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer_id: &str,
    date: NaiveDate,
    start: &str,
    from: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let (customer_id, offer) = offer_of_sender(repos, offer_id, from).await?;
    let booking_id = booking_id_of(offer_id);
    // One hold of a car at a time: two offers' times pressed together must not take two lifts.
    let lease = Duration::seconds(30);
    if !repos
        .idempotency
        .lock(CAR_LOCK, &offer.vin, now, lease)
        .await?
    {
        return Err(UpdateError::InProgress(booking_id));
    }
    let held = hold_car(
        repos,
        policy,
        settings,
        (customer_id, &offer),
        (date, start),
        from,
        now,
    )
    .await;
    repos.idempotency.abandon(CAR_LOCK, &offer.vin).await?;
    held
}

/// The hold-lock's scope in the idempotency records (keyed by VIN).
const CAR_LOCK: &str = "car-hold";

/// [`hold`] under the car's lock: a car with another booking open gets the offer's work added
/// to that visit instead of a second lift.
async fn hold_car<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    (customer_id, offer): (String, &StoredOffer<OfferRecord>),
    (date, start): (NaiveDate, &str),
    from: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let offer_id = offer.offer_id.as_str();
    let booking_id = booking_id_of(offer_id);
    if let Some(open) = super::join::open_booking_of_car(repos, policy, offer, now).await? {
        return super::join::join_visit(repos, policy, settings, offer, &open, from, now).await;
    }
    let tz = policy.time_zone();
    let workshop = policy.workshop();
    let when = slot_label(date, start);
    // A day out of the booking window, closed since, or a time that is no slot start of it is
    // not «занято»: it cannot be booked at all.
    let unavailable = format!("Время {when} недоступно для записи.");
    if !bookable(policy, date, now) {
        return picker_after(repos, policy, settings, offer, from, now, unavailable).await;
    }
    if let Some(before) = repos.capacity.booking::<BookingRecord>(&booking_id).await? {
        if before.lapsed_at(now) {
            repos.capacity.release_lapsed(&booking_id, now).await?;
        }
    }
    repos.capacity.release_lapsed_on(date, now).await?;
    let day = repos.capacity.day(date, &workshop.slots_on(date)).await?;
    if day.closed || !day.slots.iter().any(|s| s.start == start) {
        return picker_after(repos, policy, settings, offer, from, now, unavailable).await;
    }
    let terms = agree(offer.offer.priced.as_ref(), date, now);
    let outcome = repos
        .capacity
        .hold(&NewHold {
            booking_id: &booking_id,
            date,
            start,
            customer_id: &customer_id,
            vin: &offer.vin,
            hold_until: now + Duration::minutes(i64::from(workshop.hold_minutes)),
            booking: &BookingRecord {
                offer_id: offer_id.to_owned(),
                channel: from.messenger(),
                terms: Some(terms.clone()),
            },
        })
        .await?;
    match outcome {
        HoldOutcome::Held => {
            let held = repos
                .capacity
                .booking::<BookingRecord>(&booking_id)
                .await?
                .ok_or_else(|| UpdateError::NotFound(format!("booking {booking_id}")))?;
            let attempt = held.attempt;
            tracing::info!(booking_id = %booking_id, offer_id = %offer_id, attempt, "slot held");
            react(repos, offer, Reaction::Replied, now).await?;
            let agreed = describe(&terms, tz, false);
            let mut to_customer = format!(
                "Заявка на {when} отправлена мастеру-консультанту. Он подтвердит её в ближайшее время."
            );
            for line in &agreed {
                to_customer.push(' ');
                to_customer.push_str(line);
            }
            let until = (now + Duration::minutes(i64::from(workshop.hold_minutes)))
                .with_timezone(&tz)
                .format("%H:%M");
            let mut headline = format!(
                "Новая запись на {when}, автомобиль {}. Подтвердите до {until}, иначе бронь снимется.",
                offer.vin
            );
            if let Some(work) = work_of(&offer.offer) {
                headline.push_str(&format!(" Работы: {work}."));
            }
            let card =
                super::advisor_card::request(repos, policy, settings, &held, headline, now).await?;
            Ok(UpdateReplies {
                messages: vec![text(from, to_customer), card],
                callback_answer: None,
                events: vec![crate::events::BusinessEvent::new(
                    crate::events::EventKind::BookingHeld(crate::events::booking_ids(&held)),
                    now,
                )],
            })
        }
        HoldOutcome::AlreadyHeld => {
            let held = repos.capacity.booking::<BookingRecord>(&booking_id).await?;
            let when = held.map_or(when, |b| slot_label(b.date, &b.start));
            Ok(UpdateReplies::answer(
                from,
                format!("Вы уже записаны по этому предложению на {when}."),
            ))
        }
        HoldOutcome::Full => {
            let why = format!("Время {when} уже занято.");
            picker_after(repos, policy, settings, offer, from, now, why).await
        }
    }
}

/// The work a priced offer is for, as the advisors' card names it: its labour lines (the
/// declined work a follow-up offers, the maintenance of a reminder).
pub(super) fn work_of(offer: &OfferRecord) -> Option<String> {
    let names: Vec<&str> = offer
        .priced
        .as_ref()?
        .lines
        .iter()
        .filter(|line| line.kind == domain::LineKind::Labor)
        .map(|line| line.name.as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The customer acted on the offer's message: the triggers of its cycle will know.
pub(super) async fn react<S: Store>(
    repos: &Repos<S>,
    offer: &StoredOffer<OfferRecord>,
    reaction: Reaction,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let record = &offer.offer;
    record_reaction(
        repos,
        &offer.vin,
        &record.cycle_id,
        record.stage,
        reaction,
        now,
    )
    .await
    .map(|_| ())
}

/// A confirmed booking: the strongest reaction to the offer's message, and the bonus points it
/// earned (each at most once, so a redelivered confirmation repairs a failure in between).
async fn booked<S: Store>(
    repos: &Repos<S>,
    booking: &Booking<BookingRecord>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let offer_id = &booking.booking.offer_id;
    if let Some(offer) = repos.offers.get::<OfferRecord>(offer_id).await? {
        react(repos, &offer, Reaction::Booked, now).await?;
    }
    let points = booking.booking.terms.as_ref().map_or(0, |t| t.bonus_points);
    if points > 0 {
        let detail = PointsDetail {
            rule: domain::pricing::WEEKDAY_BONUS_RULE.to_owned(),
            offer_id: offer_id.clone(),
            date: booking.date,
            start: booking.start.clone(),
        };
        let granted = repos
            .points
            .grant(
                &booking.customer_id,
                &booking.booking_id,
                i64::from(points),
                now,
                &detail,
            )
            .await?;
        if granted {
            tracing::info!(booking_id = %booking.booking_id, customer_id = %booking.customer_id, points, "bonus points granted");
        }
    }
    Ok(())
}

/// Where the customer's messages about the booking go: the messenger they booked through.
pub(super) fn customer_address(customer: &Customer, channel: Messenger) -> Option<Address> {
    match channel {
        Messenger::Telegram => customer
            .telegram_chat_id
            .map(|chat| Address::Telegram(chat.get())),
        Messenger::WhatsApp => Some(Address::WhatsApp(WhatsAppId::of_phone(&customer.phone))),
        Messenger::Sms => Some(Address::Sms(customer.phone.clone())),
    }
}

/// The advisor confirms hold `attempt` of a booking at `now`. A lapsed hold is refused (and
/// released, the customer asked to choose again), as is a hold the customer replaced.
pub(super) async fn confirm<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    booking_id: &str,
    attempt: Option<u32>,
    advisor: Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let not_found = || UpdateError::NotFound(format!("booking {booking_id}"));
    let confirmed = repos.capacity.confirm(booking_id, attempt, now).await?;
    let booking = repos
        .capacity
        .booking::<BookingRecord>(booking_id)
        .await?
        .ok_or_else(not_found)?;
    let when = slot_label(booking.date, &booking.start);
    // A customer who erased their data has no profile: the advisor still gets the booking's
    // state, the customer nothing.
    let customer = repos
        .customers
        .get::<Customer>(&booking.customer_id)
        .await?
        .map(|stored| stored.profile);
    let to_customer = customer
        .as_ref()
        .and_then(|c| customer_address(c, booking.booking.channel).map(|to| (c, to)));
    let superseded = attempt.is_some_and(|a| a != booking.attempt);
    if !confirmed {
        let (note, customer_note) = match booking.state {
            _ if superseded => (
                "Эта заявка больше не действует: клиент выбрал другое время.".to_owned(),
                None,
            ),
            BookingState::Confirmed => {
                booked(repos, &booking, now).await?;
                ("Запись уже подтверждена.".to_owned(), None)
            }
            BookingState::Held | BookingState::Lapsed => {
                let released_now = booking.state == BookingState::Held
                    && repos.capacity.release_lapsed(booking_id, now).await?;
                tracing::info!(booking_id = %booking_id, "confirmation of a lapsed hold refused");
                let note = format!(
                    "Бронь на {when} истекла: она не была подтверждена вовремя, время освобождено."
                );
                (note, released_now.then_some(()))
            }
            BookingState::Cancelled => ("Запись отменена и больше не действует.".to_owned(), None),
            BookingState::NoShow => ("Запись закрыта: клиент не приехал.".to_owned(), None),
        };
        let mut messages = vec![text(&advisor, note)];
        if let (Some(()), Some((_, to))) = (customer_note, to_customer) {
            messages.push(OutgoingMessage {
                to,
                text: format!(
                    "Заявка на {when} не была подтверждена вовремя, и время освободилось. Выберите, пожалуйста, время ещё раз."
                ),
                buttons: vec![vec![Button {
                    text: BOOK_BUTTON.into(),
                    callback_data: format!("{BOOK_PREFIX}{}", booking.booking.offer_id),
                }]],
            });
        }
        // A repeated confirmation repeats the event (the same id): a lost publish is repaired.
        let events = if booking.state == BookingState::Confirmed && !superseded {
            vec![confirmed_event(&booking, now).repeated()]
        } else {
            Vec::new()
        };
        return Ok(UpdateReplies {
            messages,
            callback_answer: None,
            events,
        });
    }
    tracing::info!(booking_id = %booking_id, "booking confirmed");
    booked(repos, &booking, now).await?;
    let mut messages = vec![OutgoingMessage {
        to: advisor.clone(),
        text: format!("Запись на {when} подтверждена."),
        buttons: vec![confirmed_row(booking_id, booking.attempt)],
    }];
    if let Some((customer, to)) = to_customer {
        let mut confirmation = format!(
            "{}, ваша запись на {when} подтверждена.",
            customer.first_name.as_str()
        );
        if let Some(terms) = &booking.booking.terms {
            for line in describe(terms, policy.time_zone(), true) {
                confirmation.push(' ');
                confirmation.push_str(&line);
            }
        }
        let dealer = policy.dealer();
        confirmation.push_str(&format!(
            " Ждём вас в «{}» по адресу: {}.",
            dealer.name, dealer.address
        ));
        messages.push(OutgoingMessage {
            to,
            text: confirmation,
            buttons: vec![customer_row(booking_id, booking.attempt)],
        });
    }
    Ok(UpdateReplies {
        messages,
        callback_answer: None,
        events: vec![confirmed_event(&booking, now)],
    })
}

fn confirmed_event(
    booking: &Booking<BookingRecord>,
    now: DateTime<Utc>,
) -> crate::events::BusinessEvent {
    crate::events::BusinessEvent::new(
        crate::events::EventKind::BookingConfirmed(crate::events::booking_ids(booking)),
        now,
    )
}
