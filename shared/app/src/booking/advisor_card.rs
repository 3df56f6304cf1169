//! What the advisors' chat gets about a booking: a request names the time, the car, what was
//! agreed, the customer and their history, with «Подтвердить», «Другое время» and «Отменить»;
//! a confirmed booking carries «Не приехал» and «Отменить».

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use store::repo::{Booking, Repos};
use store::{Store, StoreError};

use super::buttons::{button, confirmed_row, Kind};
use super::reserve::confirm_data;
use super::terms::describe;
use super::{client, BookingRecord, BookingSettings};
use crate::ports::{Address, Button, OutgoingMessage};

/// The request for `booking` (held now) under `headline`, with its buttons.
pub(super) async fn request<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    booking: &Booking<BookingRecord>,
    headline: String,
    now: DateTime<Utc>,
) -> Result<OutgoingMessage, StoreError> {
    let mut text = headline;
    if let Some(terms) = &booking.booking.terms {
        for line in describe(terms, policy.time_zone(), false) {
            text.push(' ');
            text.push_str(&line);
        }
    }
    text.push('\n');
    // Boxed: the history reads several reports' worth of data, a large future to inline.
    let about = Box::pin(about_customer(repos, policy, &booking.customer_id, now)).await?;
    text.push_str(&about);
    let id = &booking.booking_id;
    let attempt = booking.attempt;
    Ok(OutgoingMessage {
        to: Address::Telegram(settings.advisor_chat_id),
        text,
        buttons: vec![
            vec![Button {
                text: "Подтвердить".into(),
                callback_data: confirm_data(id, attempt),
            }],
            vec![
                button("Другое время", Kind::OtherTime, id, attempt),
                button("Отменить", Kind::AdvisorCancel, id, attempt),
            ],
        ],
    })
}

/// A message about a confirmed booking, with «Не приехал» and «Отменить».
pub(super) fn confirmed(
    settings: &BookingSettings,
    booking: &Booking<BookingRecord>,
    text: String,
) -> OutgoingMessage {
    OutgoingMessage {
        to: Address::Telegram(settings.advisor_chat_id),
        text,
        buttons: vec![confirmed_row(&booking.booking_id, booking.attempt)],
    }
}

/// Who the customer is and their history, one line each.
pub(super) async fn about_customer<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let mut lines = vec![client::who(repos, customer_id).await?];
    lines.extend(client::history(repos, policy, customer_id, today).await?);
    Ok(lines.join("\n"))
}
