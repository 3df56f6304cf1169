//! The customer moves or cancels a booking from its confirmation or its day-before reminder:
//! «Перенести» shows the free times, picking one moves the booking there in one conditional
//! transaction (the old unit given back with the new one taken: never two slots, and on any
//! failure the old one kept), «Отменить» gives the unit back. The advisors are told either way.
//! A confirmed booking stays confirmed at its new time; a held one waits for the advisor again.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::policy::Policy;
use domain::pricing::Offer;
use store::repo::{Booking, BookingState, MoveOutcome, MoveTo, NewSlot, Repos};
use store::{Store, StoreError};

use super::buttons::{button, customer_row, slot_button, with_toast, Kind, Pressed};
use super::pressed::{closed_for_customer, refused};
use super::reserve::{bookable, free_slots, slot_label};
use super::terms::{agree, BookingTerms};
use super::{advisor_card, pressed, BookingRecord, BookingSettings, UpdateError, UpdateReplies};
use crate::compose::{OfferRecord, BOOK_BUTTON, BOOK_PREFIX};
use crate::ports::{Address, Button, OutgoingMessage};

/// The terms of a booking moved to `date`: what was agreed stays, the mid-week bonus follows
/// the new day.
pub(super) fn moved_terms(
    before: Option<&BookingTerms>,
    offer: Option<&Offer>,
    date: NaiveDate,
) -> Option<BookingTerms> {
    let mut terms = before?.clone();
    if let (true, Some(offer)) = (terms.offer_applied, offer) {
        terms.bonus_points = agree(Some(offer), date, offer.expires_at).bonus_points;
    }
    Some(terms)
}

/// The record of `booking` at a new slot on `date`, booked through `from`'s messenger.
pub(super) async fn moved_record<S: Store>(
    repos: &Repos<S>,
    booking: &Booking<BookingRecord>,
    from: &Address,
    date: NaiveDate,
) -> Result<BookingRecord, UpdateError> {
    let offer = repos
        .offers
        .get::<OfferRecord>(&booking.booking.offer_id)
        .await?
        .and_then(|o| o.offer.priced);
    Ok(BookingRecord {
        offer_id: booking.booking.offer_id.clone(),
        channel: from.messenger(),
        terms: moved_terms(booking.booking.terms.as_ref(), offer.as_ref(), date),
    })
}

/// «Перенести»: the free times but the booking's own, and «Отменить запись».
pub(super) async fn picker<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    from: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::customers(repos, from, pressed).await?;
    if let Some(refusal) = closed_for_customer(&booking, from) {
        return Ok(refusal);
    }
    let why = format!(
        "Ваша запись — {}.",
        slot_label(booking.date, &booking.start)
    );
    choose_again(repos, policy, settings, from, &booking, why, now).await
}

/// The picker of new times for `booking`, after `why`.
async fn choose_again<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    from: &Address,
    booking: &Booking<BookingRecord>,
    why: String,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let (id, attempt) = (booking.booking_id.as_str(), booking.attempt);
    let shown = settings
        .max_slots_shown
        .min(from.max_buttons().saturating_sub(1));
    let own = Some((booking.date, booking.start.as_str()));
    let mut buttons: Vec<Vec<Button>> = free_slots(repos, policy, now, shown, own)
        .await?
        .into_iter()
        .map(|(date, start)| {
            let label = slot_label(date, &start);
            vec![slot_button(
                &label,
                Kind::RescheduleTo,
                id,
                attempt,
                date,
                &start,
            )]
        })
        .collect();
    let text = if buttons.is_empty() {
        format!("{why} Другого свободного времени в ближайшие дни нет, запись остаётся в силе.")
    } else {
        format!("{why} Выберите новое время:")
    };
    buttons.push(vec![button("Отменить запись", Kind::Cancel, id, attempt)]);
    Ok(UpdateReplies {
        messages: vec![OutgoingMessage {
            to: from.clone(),
            text,
            buttons,
        }],
        callback_answer: None,
        events: Vec::new(),
    })
}

/// The customer picked a new time: the booking moves there at once, or stays where it was.
pub(super) async fn to_slot<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    from: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::customers(repos, from, pressed).await?;
    if let Some(refusal) = closed_for_customer(&booking, from) {
        return Ok(refusal);
    }
    let Some((date, start)) = pressed.slot.clone() else {
        return Err(UpdateError::Malformed);
    };
    let old = slot_label(booking.date, &booking.start);
    let new = slot_label(date, &start);
    if !bookable(policy, date, now) {
        let why =
            format!("Время {new} недоступно для записи. Ваша запись на {old} остаётся в силе.");
        return choose_again(repos, policy, settings, from, &booking, why, now).await;
    }
    let to = match booking.state {
        BookingState::Confirmed => MoveTo::Confirmed,
        _ => MoveTo::Held {
            hold_until: now + Duration::minutes(i64::from(policy.workshop().hold_minutes)),
        },
    };
    let outcome = move_to(repos, policy, &booking, from, date, &start, to, now).await?;
    match outcome {
        MoveOutcome::Moved { attempt } => {
            tracing::info!(booking_id = %booking.booking_id, attempt, "booking moved by the customer");
            let moved = repos
                .capacity
                .booking::<BookingRecord>(&booking.booking_id)
                .await?
                .ok_or_else(|| UpdateError::NotFound(format!("booking {}", booking.booking_id)))?;
            moved_replies(repos, policy, settings, from, &moved, &old, now).await
        }
        MoveOutcome::Full => {
            let why = format!("Время {new} уже занято. Ваша запись на {old} остаётся в силе.");
            let replies = choose_again(repos, policy, settings, from, &booking, why, now).await?;
            Ok(with_toast(replies, format!("Время {new} уже занято")))
        }
        MoveOutcome::SameSlot => Err(refused(format!("Вы уже записаны на {new}."))),
        MoveOutcome::Stale => Err(refused(pressed::STALE)),
    }
}

/// Moves `booking` to `date` `start` as `to`, deriving the day's slots first.
#[allow(clippy::too_many_arguments)]
pub(super) async fn move_to<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    booking: &Booking<BookingRecord>,
    from: &Address,
    date: NaiveDate,
    start: &str,
    to: MoveTo,
    now: DateTime<Utc>,
) -> Result<MoveOutcome, UpdateError> {
    repos.capacity.release_lapsed_on(date, now).await?;
    let day = repos
        .capacity
        .day(date, &policy.workshop().slots_on(date))
        .await?;
    if day.closed || !day.slots.iter().any(|s| s.start == start) {
        return Ok(MoveOutcome::Full);
    }
    let record = moved_record(repos, booking, from, date).await?;
    let slot = NewSlot {
        date,
        start,
        to,
        booking: &record,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        match repos
            .capacity
            .move_booking(&booking.booking_id, booking.attempt, &slot)
            .await
        {
            // Another write to the same slot at the same instant: the next try decides.
            Err(StoreError::Conflict) if tries < 3 => continue,
            outcome => return Ok(outcome?),
        }
    }
}

/// What the customer and the advisors get when a booking moved from `old` (`moved` as it is
/// now): a confirmed one keeps its buttons, a held one goes to the advisors for confirmation.
pub(super) async fn moved_replies<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    from: &Address,
    moved: &Booking<BookingRecord>,
    old: &str,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let new = slot_label(moved.date, &moved.start);
    let (id, attempt) = (moved.booking_id.as_str(), moved.attempt);
    let terms = moved
        .booking
        .terms
        .as_ref()
        .map(|t| super::terms::describe(t, policy.time_zone(), false).join(" "))
        .filter(|t| !t.is_empty())
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    let vin = &moved.vin;
    let (to_customer, to_advisor) = if moved.state == BookingState::Confirmed {
        let customer = OutgoingMessage {
            to: from.clone(),
            text: format!("Запись перенесена на {new} (вместо {old}).{terms} Ждём вас!"),
            buttons: vec![customer_row(id, attempt)],
        };
        let text = format!("Клиент перенёс запись с {old} на {new}, автомобиль {vin}.");
        (customer, advisor_card::confirmed(settings, moved, text))
    } else {
        let until = moved
            .hold_until
            .unwrap_or(now)
            .with_timezone(&policy.time_zone());
        let customer = OutgoingMessage::text(
            from.clone(),
            format!(
                "Заявка на {new} (вместо {old}) отправлена мастеру-консультанту. Он подтвердит её в ближайшее время.{terms}"
            ),
        );
        let headline = format!(
            "Клиент выбрал другое время: {new} вместо {old}, автомобиль {vin}. Подтвердите до {}, иначе бронь снимется.",
            until.format("%H:%M")
        );
        let card = advisor_card::request(repos, policy, settings, moved, headline, now).await?;
        (customer, card)
    };
    Ok(with_toast(
        UpdateReplies {
            messages: vec![to_customer, to_advisor],
            callback_answer: None,
            events: vec![crate::events::BusinessEvent::new(
                crate::events::EventKind::BookingRescheduled(crate::events::booking_ids(moved)),
                now,
            )],
        },
        format!("Новое время: {new}"),
    ))
}

/// «Отменить»: the booking is cancelled and its unit given back; the advisors are told.
pub(super) async fn cancel<S: Store>(
    repos: &Repos<S>,
    settings: &BookingSettings,
    from: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::customers(repos, from, pressed).await?;
    if let Some(refusal) = closed_for_customer(&booking, from) {
        return Ok(refusal);
    }
    if !repos
        .capacity
        .cancel_attempt(&booking.booking_id, booking.attempt)
        .await?
    {
        return Err(refused(pressed::STALE));
    }
    tracing::info!(booking_id = %booking.booking_id, attempt = booking.attempt, "booking cancelled by the customer");
    let when = slot_label(booking.date, &booking.start);
    let to_customer = OutgoingMessage {
        to: from.clone(),
        text: format!(
            "Запись на {when} отменена. Если захотите записаться снова, нажмите «Записаться»."
        ),
        buttons: vec![vec![Button {
            text: BOOK_BUTTON.into(),
            callback_data: format!("{BOOK_PREFIX}{}", booking.booking.offer_id),
        }]],
    };
    let to_advisor = OutgoingMessage::text(
        Address::Telegram(settings.advisor_chat_id),
        format!(
            "Клиент отменил запись на {when}, автомобиль {}. Время освобождено.",
            booking.vin
        ),
    );
    Ok(with_toast(
        UpdateReplies {
            messages: vec![to_customer, to_advisor],
            callback_answer: None,
            events: vec![crate::events::BusinessEvent::new(
                crate::events::EventKind::BookingCancelled {
                    booking: crate::events::booking_ids(&booking),
                    by: crate::events::CancelledBy::Customer,
                },
                now,
            )],
        },
        "Запись отменена",
    ))
}
