//! Messenger updates: «Записаться» → slot picker → hold → the advisor confirms → the customer
//! gets the confirmation. Idempotent per update id; every state change is conditional.

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use domain::policy::Policy;
use domain::Customer;
use serde::{Deserialize, Serialize};
use store::repo::{Begin, BookingState, HoldOutcome, NewHold, Repos};
use store::{Store, StoreError};

use crate::compose::{OfferRecord, BOOK_PREFIX};
use crate::ports::{Button, OutgoingMessage};

const SLOT_PREFIX: &str = "s:";
const CONFIRM_PREFIX: &str = "c:";
const UPDATE_SCOPE: &str = "telegram-update";

/// A messenger update, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerUpdate {
    pub update_id: String,
    pub chat_id: i64,
    pub kind: UpdateKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateKind {
    /// A button was pressed.
    Callback { callback_id: String, data: String },
    /// A text message (not handled yet: odometer and rating replies, STOP).
    Text(String),
}

/// Where bookings are confirmed and how far ahead slots are offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSettings {
    pub advisor_chat_id: i64,
    pub days_ahead: u32,
    pub hold_minutes: i64,
    pub max_slots_shown: usize,
}

/// What to send back: messages, and the answer that stops a button's spinner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateReplies {
    pub messages: Vec<OutgoingMessage>,
    pub callback_answer: Option<(String, String)>,
}

/// A booking as stored (ids only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub offer_id: String,
}

/// Why an update was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("chat {0} may not do this")]
    Forbidden(i64),
    #[error("{0} not found")]
    NotFound(String),
    /// The same update is being handled right now.
    #[error("update {0} is in progress")]
    InProgress(String),
    #[error("unreadable button data")]
    Malformed,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Handles the update at `now`, unless it was handled before (then nothing to send). Call
/// `finish_update` after the replies went out.
pub async fn handle_update<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    match repos
        .idempotency
        .begin::<bool>(
            UPDATE_SCOPE,
            &update.update_id,
            now,
            Duration::seconds(60),
            Duration::days(7),
        )
        .await?
    {
        Begin::Started => {}
        Begin::Completed(_) => return Ok(UpdateReplies::default()),
        Begin::InProgress => return Err(UpdateError::InProgress(update.update_id.clone())),
    }
    let result = dispatch(repos, policy, settings, update, now).await;
    if result.is_err() {
        repos
            .idempotency
            .abandon(UPDATE_SCOPE, &update.update_id)
            .await?;
    }
    result
}

/// Records that the update's replies went out.
pub async fn finish_update<S: Store>(
    repos: &Repos<S>,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    repos
        .idempotency
        .complete(
            UPDATE_SCOPE,
            &update.update_id,
            &true,
            now,
            Duration::days(7),
        )
        .await
}

async fn dispatch<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let UpdateKind::Callback { callback_id, data } = &update.kind else {
        return Ok(UpdateReplies::default());
    };
    let mut replies = if let Some(offer_id) = data.strip_prefix(BOOK_PREFIX) {
        offer_of_chat(repos, offer_id, update.chat_id).await?;
        slot_picker(repos, policy, settings, offer_id, update.chat_id, now).await?
    } else if let Some(rest) = data.strip_prefix(SLOT_PREFIX) {
        let mut parts = rest.splitn(3, ':');
        let (Some(offer_id), Some(date), Some(start)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(UpdateError::Malformed);
        };
        let date: NaiveDate = date.parse().map_err(|_| UpdateError::Malformed)?;
        hold(
            repos,
            policy,
            settings,
            offer_id,
            date,
            start,
            update.chat_id,
            now,
        )
        .await?
    } else if let Some(booking_id) = data.strip_prefix(CONFIRM_PREFIX) {
        if update.chat_id != settings.advisor_chat_id {
            return Err(UpdateError::Forbidden(update.chat_id));
        }
        confirm(repos, booking_id, update.chat_id).await?
    } else {
        return Err(UpdateError::Malformed);
    };
    replies.callback_answer = Some((callback_id.clone(), "Готово".into()));
    Ok(replies)
}

/// The offer pressed in `chat_id`, which must be its customer's chat.
async fn offer_of_chat<S: Store>(
    repos: &Repos<S>,
    offer_id: &str,
    chat_id: i64,
) -> Result<(String, store::repo::StoredOffer<OfferRecord>), UpdateError> {
    let offer = repos
        .offers
        .get::<OfferRecord>(offer_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("offer {offer_id}")))?;
    match repos.customers.by_telegram_chat(chat_id).await? {
        Some(customer_id) if customer_id == offer.customer_id => Ok((customer_id, offer)),
        _ => Err(UpdateError::Forbidden(chat_id)),
    }
}

fn slot_label(date: NaiveDate, start: &str) -> String {
    format!("{} {start}", date.format("%d.%m"))
}

async fn slot_picker<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer_id: &str,
    chat_id: i64,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let mut buttons = Vec::new();
    for d in 1..=u64::from(settings.days_ahead) {
        let date = today + Days::new(d);
        for slot in repos.capacity.slots_on(date).await? {
            if slot.remaining > 0 && buttons.len() < settings.max_slots_shown {
                buttons.push(vec![Button {
                    text: slot_label(date, &slot.start),
                    callback_data: format!("{SLOT_PREFIX}{offer_id}:{date}:{}", slot.start),
                }]);
            }
        }
    }
    let text = if buttons.is_empty() {
        "К сожалению, свободного времени в ближайшие дни нет. Мы напишем, когда оно появится."
    } else {
        "Выберите удобное время:"
    };
    Ok(UpdateReplies {
        messages: vec![OutgoingMessage {
            chat_id,
            text: text.into(),
            buttons,
        }],
        callback_answer: None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn hold<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer_id: &str,
    date: NaiveDate,
    start: &str,
    chat_id: i64,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let (customer_id, offer) = offer_of_chat(repos, offer_id, chat_id).await?;
    let booking_id = format!("b{}", offer_id.trim_start_matches('o'));
    let outcome = repos
        .capacity
        .hold(&NewHold {
            booking_id: &booking_id,
            date,
            start,
            customer_id: &customer_id,
            vin: &offer.vin,
            hold_until: now + Duration::minutes(settings.hold_minutes),
            booking: &BookingRecord {
                offer_id: offer_id.to_owned(),
            },
        })
        .await?;
    let when = slot_label(date, start);
    match outcome {
        HoldOutcome::Held => {
            tracing::info!(booking_id = %booking_id, offer_id = %offer_id, "slot held");
            Ok(UpdateReplies {
                messages: vec![
                    OutgoingMessage {
                        chat_id,
                        text: format!(
                            "Заявка на {when} отправлена мастеру-консультанту. Он подтвердит её в ближайшее время."
                        ),
                        buttons: vec![],
                    },
                    OutgoingMessage {
                        chat_id: settings.advisor_chat_id,
                        text: format!("Новая запись на {when}, автомобиль {}.", offer.vin),
                        buttons: vec![vec![Button {
                            text: "Подтвердить".into(),
                            callback_data: format!("{CONFIRM_PREFIX}{booking_id}"),
                        }]],
                    },
                ],
                callback_answer: None,
            })
        }
        HoldOutcome::AlreadyHeld => Ok(UpdateReplies {
            messages: vec![OutgoingMessage {
                chat_id,
                text: "Вы уже записаны по этому предложению.".into(),
                buttons: vec![],
            }],
            callback_answer: None,
        }),
        HoldOutcome::Full => {
            let mut replies = slot_picker(repos, policy, settings, offer_id, chat_id, now).await?;
            if let Some(first) = replies.messages.first_mut() {
                first.text = format!("Время {when} уже занято. {}", first.text);
            }
            Ok(replies)
        }
    }
}

async fn confirm<S: Store>(
    repos: &Repos<S>,
    booking_id: &str,
    advisor_chat_id: i64,
) -> Result<UpdateReplies, UpdateError> {
    let booking = repos
        .capacity
        .booking::<BookingRecord>(booking_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("booking {booking_id}")))?;
    if !repos.capacity.confirm(booking_id).await? {
        let state = if booking.state == BookingState::Confirmed {
            "уже подтверждена"
        } else {
            "больше не действует"
        };
        return Ok(UpdateReplies {
            messages: vec![OutgoingMessage {
                chat_id: advisor_chat_id,
                text: format!("Запись {state}."),
                buttons: vec![],
            }],
            callback_answer: None,
        });
    }
    tracing::info!(booking_id = %booking_id, "booking confirmed");
    let customer = repos
        .customers
        .get::<Customer>(&booking.customer_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("customer {}", booking.customer_id)))?
        .profile;
    let when = slot_label(booking.date, &booking.start);
    let mut messages = vec![OutgoingMessage {
        chat_id: advisor_chat_id,
        text: format!("Запись на {when} подтверждена."),
        buttons: vec![],
    }];
    if let Some(chat) = customer.telegram_chat_id {
        messages.push(OutgoingMessage {
            chat_id: chat.get(),
            text: format!(
                "{}, ваша запись на {when} подтверждена. Ждём вас!",
                customer.first_name.as_str()
            ),
            buttons: vec![],
        });
    }
    Ok(UpdateReplies {
        messages,
        callback_answer: None,
    })
}
