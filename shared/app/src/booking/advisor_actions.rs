//! The advisor's «Отменить» (the unit goes back, the customer is told and may book again) and
//! «Не приехал» (a confirmed booking marked a no-show once its time has come, kept in the
//! booking's state for the reports).

use chrono::{DateTime, NaiveTime, Utc};
use domain::policy::Policy;
use domain::Customer;
use store::repo::{Booking, BookingState, Repos};
use store::Store;

use super::buttons::{with_toast, Pressed};
use super::pressed::refused;
use super::reserve::{customer_address, slot_label};
use super::{pressed, BookingRecord, UpdateError, UpdateReplies};
use crate::compose::{BOOK_BUTTON, BOOK_PREFIX};
use crate::ports::{Address, Button, OutgoingMessage};

/// The instant a booking's slot starts.
pub(super) fn starts_at(
    policy: &Policy,
    booking: &Booking<BookingRecord>,
) -> Option<DateTime<Utc>> {
    let time = NaiveTime::parse_from_str(&booking.start, "%H:%M").ok()?;
    booking
        .date
        .and_time(time)
        .and_local_timezone(policy.time_zone())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// «Отменить» in the advisors' chat.
pub(super) async fn cancel<S: Store>(
    repos: &Repos<S>,
    advisor: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::advisors(repos, pressed).await?;
    let when = slot_label(booking.date, &booking.start);
    let not_active = match booking.state {
        BookingState::Held | BookingState::Confirmed => None,
        BookingState::Cancelled => Some(format!("Запись на {when} уже отменена.")),
        BookingState::Lapsed => Some(format!("Бронь на {when} уже истекла, время свободно.")),
        BookingState::NoShow => Some(format!("Запись на {when} закрыта: клиент не приехал.")),
    };
    if let Some(text) = not_active {
        return Err(refused(text));
    }
    if !repos
        .capacity
        .cancel_attempt(&booking.booking_id, booking.attempt)
        .await?
    {
        return Err(refused(pressed::STALE));
    }
    tracing::info!(booking_id = %booking.booking_id, attempt = booking.attempt, "booking cancelled by an advisor");
    let mut messages = Vec::new();
    let customer = repos
        .customers
        .get::<Customer>(&booking.customer_id)
        .await?;
    let told = customer
        .and_then(|c| customer_address(&c.profile, booking.booking.channel).map(|to| (c, to)));
    // The advisor reads whether the customer hears of it (not after an erasure of their data).
    let outcome = if told.is_some() {
        "Клиенту сообщили."
    } else {
        "Сообщить клиенту нельзя: его контактов больше нет."
    };
    messages.push(OutgoingMessage::text(
        advisor.clone(),
        format!(
            "Запись на {when} отменена, автомобиль {}. {outcome}",
            booking.vin
        ),
    ));
    if let Some((customer, to)) = told {
        messages.push(OutgoingMessage {
            to,
            text: format!(
                "{}, к сожалению, сервис не сможет принять вас {when}: запись отменена. Выберите, пожалуйста, другое время.",
                customer.profile.first_name.as_str()
            ),
            buttons: vec![vec![Button {
                text: BOOK_BUTTON.into(),
                callback_data: format!("{BOOK_PREFIX}{}", booking.booking.offer_id),
            }]],
        });
    }
    Ok(with_toast(
        UpdateReplies {
            messages,
            callback_answer: None,
            events: vec![crate::events::BusinessEvent::new(
                crate::events::EventKind::BookingCancelled {
                    booking: crate::events::booking_ids(&booking),
                    by: crate::events::CancelledBy::Advisor,
                },
                now,
            )],
        },
        "Запись отменена",
    ))
}

/// «Не приехал»: after the slot's start, a confirmed booking becomes a no-show.
pub(super) async fn no_show<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    advisor: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::advisors(repos, pressed).await?;
    let when = slot_label(booking.date, &booking.start);
    match booking.state {
        BookingState::Confirmed => {}
        BookingState::NoShow => return Err(refused(format!("Неявка на {when} уже отмечена."))),
        _ => {
            return Err(refused(format!(
                "Запись на {when} не подтверждена: отмечать неявку не к чему."
            )))
        }
    }
    if starts_at(policy, &booking).is_none_or(|start| now < start) {
        return Err(refused(format!(
            "Отметить неявку можно после начала записи: {when}."
        )));
    }
    if !repos
        .capacity
        .mark_no_show(&booking.booking_id, booking.attempt)
        .await?
    {
        return Err(refused(pressed::STALE));
    }
    tracing::info!(booking_id = %booking.booking_id, attempt = booking.attempt, "no-show marked");
    let mut replies = UpdateReplies::answer(
        advisor,
        format!(
            "Отмечено: клиент не приехал на {when}, автомобиль {}.",
            booking.vin
        ),
    );
    replies.events.push(crate::events::BusinessEvent::new(
        crate::events::EventKind::NoShow(crate::events::booking_ids(&booking)),
        now,
    ));
    Ok(with_toast(replies, "Неявка отмечена"))
}
