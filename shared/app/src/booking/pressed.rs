//! The booking a pressed button names, checked before anything changes: it exists, it is the
//! presser's (a customer's button) and the button was made for its current attempt. A press
//! that fails a check is refused ([`UpdateError::Refused`]: answered with why, in the chat and
//! on the button) and changes nothing.

use store::repo::{Booking, BookingState, Repos};
use store::Store;

use super::buttons::{with_toast, Pressed};
use super::reserve::slot_label;
use super::{customer_at, BookingRecord, UpdateError, UpdateReplies};
use crate::compose::{BOOK_BUTTON, BOOK_PREFIX};
use crate::ports::{Address, Button};

/// A button from an older message about the booking.
pub const STALE: &str =
    "Эта кнопка из старого сообщения: запись с тех пор изменилась. Действуют кнопки последнего сообщения.";

/// A refused press: the text goes to the chat and on the button.
pub(super) fn refused(text: impl Into<String>) -> UpdateError {
    UpdateError::Refused(text.into())
}

/// Why a booking no longer takes changes, in the customer's words (with «Записаться» when
/// booking again makes sense), or `None` while it is held or confirmed.
pub(super) fn closed_for_customer(
    booking: &Booking<BookingRecord>,
    to: &Address,
) -> Option<UpdateReplies> {
    let when = slot_label(booking.date, &booking.start);
    let (text, book_again) = match booking.state {
        BookingState::Held | BookingState::Confirmed => return None,
        BookingState::Cancelled => (format!("Запись на {when} уже отменена."), true),
        BookingState::Lapsed => (
            format!("Бронь на {when} истекла: мастер-консультант не успел её подтвердить."),
            true,
        ),
        BookingState::NoShow => (format!("Запись на {when} уже закрыта."), false),
    };
    let mut replies = with_toast(UpdateReplies::answer(to, text.clone()), text);
    if book_again {
        replies.messages[0]
            .text
            .push_str(" Чтобы записаться снова, нажмите «Записаться».");
        replies.messages[0].buttons = vec![vec![Button {
            text: BOOK_BUTTON.into(),
            callback_data: format!("{BOOK_PREFIX}{}", booking.booking.offer_id),
        }]];
    }
    Some(replies)
}

/// The booking a customer's button names, if the press is theirs and current.
pub(super) async fn customers<S: Store>(
    repos: &Repos<S>,
    from: &Address,
    pressed: &Pressed,
) -> Result<Booking<BookingRecord>, UpdateError> {
    let booking = found(repos, pressed).await?;
    let customer = customer_at(repos, from).await?;
    if customer.as_deref() != Some(booking.customer_id.as_str()) {
        tracing::info!(booking_id = %booking.booking_id, channel = %from.messenger(), "a booking button pressed by someone else");
        return Err(refused("Эта запись оформлена не на вас."));
    }
    current(booking, pressed)
}

/// The booking an advisor's button names, if the press is current.
pub(super) async fn advisors<S: Store>(
    repos: &Repos<S>,
    pressed: &Pressed,
) -> Result<Booking<BookingRecord>, UpdateError> {
    current(found(repos, pressed).await?, pressed)
}

async fn found<S: Store>(
    repos: &Repos<S>,
    pressed: &Pressed,
) -> Result<Booking<BookingRecord>, UpdateError> {
    repos
        .capacity
        .booking::<BookingRecord>(&pressed.booking_id)
        .await?
        .ok_or_else(|| refused("Запись не найдена."))
}

fn current(
    booking: Booking<BookingRecord>,
    pressed: &Pressed,
) -> Result<Booking<BookingRecord>, UpdateError> {
    if booking.attempt != pressed.attempt {
        tracing::info!(booking_id = %booking.booking_id, pressed = pressed.attempt, current = booking.attempt, "a button of an older attempt");
        return Err(refused(STALE));
    }
    Ok(booking)
}
