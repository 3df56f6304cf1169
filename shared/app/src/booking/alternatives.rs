//! «Другое время»: the advisor picks up to three free times for a booking request from a
//! picker in the advisors' chat and sends them; the customer picks one, which moves the booking
//! there as a new hold (the old unit given back in the same transaction) and goes back to the
//! advisors for confirmation. The times picked are kept in a note beside the booking, for the
//! attempt they were picked for.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::policy::Policy;
use domain::Customer;
use serde::{Deserialize, Serialize};
use store::repo::{Booking, BookingState, MoveOutcome, MoveTo, Repos};
use store::Store;

use super::buttons::{button, slot_button, with_toast, Kind, Pressed};
use super::pressed::{closed_for_customer, refused};
use super::reschedule::{move_to, moved_replies};
use super::reserve::{bookable, customer_address, free_slots, slot_label};
use super::{pressed, BookingRecord, BookingSettings, UpdateError, UpdateReplies};
use crate::ports::{Address, Button, OutgoingMessage};

/// Most times an advisor proposes at once.
pub const MOST: usize = 3;
/// Times the advisors' picker shows.
const PICKER_SLOTS: usize = 12;
const NOTE: &str = "alternatives";

/// The times an advisor picked for attempt `attempt` of a booking, and whether they went out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Proposal {
    attempt: u32,
    slots: Vec<(NaiveDate, String)>,
    sent: bool,
}

fn labels(slots: &[(NaiveDate, String)]) -> String {
    slots
        .iter()
        .map(|(d, s)| slot_label(*d, s))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn proposal<S: Store>(
    repos: &Repos<S>,
    booking_id: &str,
) -> Result<Option<(Proposal, u32)>, UpdateError> {
    Ok(repos.capacity.note::<Proposal>(booking_id, NOTE).await?)
}

fn open_for_advice(booking: &Booking<BookingRecord>) -> Result<(), UpdateError> {
    let when = slot_label(booking.date, &booking.start);
    match booking.state {
        BookingState::Held | BookingState::Lapsed | BookingState::Confirmed => Ok(()),
        BookingState::Cancelled => Err(refused(format!("Запись на {when} уже отменена."))),
        BookingState::NoShow => Err(refused(format!(
            "Запись на {when} закрыта: клиент не приехал."
        ))),
    }
}

/// «Другое время»: the picker of free times in the advisors' chat.
pub(super) async fn open<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    advisor: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::advisors(repos, pressed).await?;
    open_for_advice(&booking)?;
    let (id, attempt) = (booking.booking_id.as_str(), booking.attempt);
    let before = proposal(repos, id).await?;
    let kept = before
        .as_ref()
        .filter(|(p, _)| p.attempt == attempt && !p.sent)
        .map(|(p, _)| p.slots.clone())
        .unwrap_or_default();
    let fresh = Proposal {
        attempt,
        slots: kept.clone(),
        sent: false,
    };
    if before.as_ref().map(|(p, _)| p) != Some(&fresh) {
        repos
            .capacity
            .put_note(id, NOTE, &fresh, before.map(|(_, v)| v))
            .await?;
    }
    let own = Some((booking.date, booking.start.as_str()));
    let slots = free_slots(repos, policy, now, PICKER_SLOTS, own).await?;
    let mut buttons: Vec<Vec<Button>> = slots
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|(date, start)| {
                    let label = slot_label(*date, start);
                    slot_button(&label, Kind::Propose, id, attempt, *date, start)
                })
                .collect()
        })
        .collect();
    buttons.push(vec![button(
        "Отправить клиенту",
        Kind::SendProposal,
        id,
        attempt,
    )]);
    let mut text = format!(
        "Другое время вместо {}, автомобиль {}: отметьте до {MOST} вариантов и нажмите «Отправить клиенту».",
        slot_label(booking.date, &booking.start),
        booking.vin
    );
    if slots.is_empty() {
        text = format!(
            "Свободного времени в ближайшие дни нет: предложить нечего (запись на {}).",
            slot_label(booking.date, &booking.start)
        );
        buttons.clear();
    } else if !kept.is_empty() {
        text.push_str(&format!(" Уже отмечено: {}.", labels(&kept)));
    }
    Ok(UpdateReplies {
        messages: vec![OutgoingMessage {
            to: advisor.clone(),
            text,
            buttons,
        }],
        callback_answer: None,
        events: Vec::new(),
    })
}

/// The advisor marks a time to propose, or unmarks one marked before.
pub(super) async fn pick<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::advisors(repos, pressed).await?;
    open_for_advice(&booking)?;
    let Some((date, start)) = pressed.slot.clone() else {
        return Err(UpdateError::Malformed);
    };
    let id = booking.booking_id.as_str();
    let label = slot_label(date, &start);
    for _ in 0..3 {
        let Some((mut note, version)) = proposal(repos, id).await? else {
            return Err(refused(pressed::STALE));
        };
        if note.attempt != booking.attempt {
            return Err(refused(pressed::STALE));
        }
        if note.sent {
            return Err(refused("Варианты уже отправлены клиенту."));
        }
        let slot = (date, start.clone());
        if let Some(at) = note.slots.iter().position(|s| *s == slot) {
            note.slots.remove(at);
        } else if note.slots.len() >= MOST {
            return Err(refused(format!(
                "Уже отмечено {MOST} варианта: снимите один или нажмите «Отправить клиенту»."
            )));
        } else if !bookable(policy, date, now) || !is_free(repos, policy, date, &start, now).await?
        {
            return Err(refused(format!("Время {label} уже занято.")));
        } else {
            note.slots.push(slot);
            note.slots.sort();
        }
        if repos
            .capacity
            .put_note(id, NOTE, &note, Some(version))
            .await?
        {
            let text = if note.slots.is_empty() {
                "Ничего не отмечено".to_owned()
            } else {
                format!(
                    "Отмечено {} из {MOST}: {}",
                    note.slots.len(),
                    labels(&note.slots)
                )
            };
            return Ok(with_toast(UpdateReplies::default(), text));
        }
    }
    Err(UpdateError::InProgress(format!("alternatives of {id}")))
}

async fn is_free<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    date: NaiveDate,
    start: &str,
    now: DateTime<Utc>,
) -> Result<bool, UpdateError> {
    repos.capacity.release_lapsed_on(date, now).await?;
    let day = repos
        .capacity
        .day(date, &policy.workshop().slots_on(date))
        .await?;
    let free = day.free_slots().any(|s| s.start == start);
    Ok(free)
}

/// «Отправить клиенту»: the marked times go to the customer, once.
pub(super) async fn send<S: Store>(
    repos: &Repos<S>,
    advisor: &Address,
    pressed: &Pressed,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::advisors(repos, pressed).await?;
    open_for_advice(&booking)?;
    let (id, attempt) = (booking.booking_id.as_str(), booking.attempt);
    let Some((mut note, version)) = proposal(repos, id).await? else {
        return Err(refused(pressed::STALE));
    };
    if note.attempt != attempt {
        return Err(refused(pressed::STALE));
    }
    if note.sent {
        return Err(refused("Варианты уже отправлены клиенту."));
    }
    if note.slots.is_empty() {
        return Err(refused("Сначала отметьте хотя бы одно время."));
    }
    let Some(customer) = repos
        .customers
        .get::<Customer>(&booking.customer_id)
        .await?
    else {
        return Err(UpdateError::NotFound(format!(
            "customer {}",
            booking.customer_id
        )));
    };
    let Some(to) = customer_address(&customer.profile, booking.booking.channel) else {
        return Err(refused("Клиенту не написать: у него нет чата с ботом."));
    };
    note.sent = true;
    if !repos
        .capacity
        .put_note(id, NOTE, &note, Some(version))
        .await?
    {
        return Err(refused("Варианты уже отправлены клиенту."));
    }
    tracing::info!(booking_id = %id, attempt, proposed = note.slots.len(), "alternatives sent");
    let when = slot_label(booking.date, &booking.start);
    let to_customer = alternatives_message(
        &to,
        &booking,
        &note.slots,
        format!(
            "{}, мастер-консультант не может принять вас {when} и предлагает другое время. Выберите удобное:",
            customer.profile.first_name.as_str()
        ),
    );
    let to_advisor = OutgoingMessage::text(
        advisor.clone(),
        format!("Клиенту предложено вместо {when}: {}.", labels(&note.slots)),
    );
    Ok(with_toast(
        UpdateReplies {
            messages: vec![to_customer, to_advisor],
            callback_answer: None,
            events: Vec::new(),
        },
        "Отправлено клиенту",
    ))
}

fn alternatives_message(
    to: &Address,
    booking: &Booking<BookingRecord>,
    slots: &[(NaiveDate, String)],
    text: String,
) -> OutgoingMessage {
    let (id, attempt) = (booking.booking_id.as_str(), booking.attempt);
    let mut buttons: Vec<Vec<Button>> = slots
        .iter()
        .map(|(date, start)| {
            let label = slot_label(*date, start);
            vec![slot_button(
                &label,
                Kind::TakeAlternative,
                id,
                attempt,
                *date,
                start,
            )]
        })
        .collect();
    buttons.push(vec![button("Отменить запись", Kind::Cancel, id, attempt)]);
    OutgoingMessage {
        to: to.clone(),
        text,
        buttons,
    }
}

/// The customer picks a proposed time: the booking moves there as a hold the advisors confirm.
pub(super) async fn take<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    from: &Address,
    pressed: &Pressed,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let booking = pressed::customers(repos, from, pressed).await?;
    if booking.state != BookingState::Lapsed {
        if let Some(refusal) = closed_for_customer(&booking, from) {
            return Ok(refusal);
        }
    }
    let Some((date, start)) = pressed.slot.clone() else {
        return Err(UpdateError::Malformed);
    };
    let slot = (date, start.clone());
    let offered = proposal(repos, &booking.booking_id)
        .await?
        .filter(|(p, _)| p.attempt == booking.attempt && p.sent && p.slots.contains(&slot));
    let Some((note, _)) = offered else {
        return Err(refused("Это время больше не предлагается."));
    };
    let old = slot_label(booking.date, &booking.start);
    let new = slot_label(date, &start);
    let hold_until = now + Duration::minutes(i64::from(policy.workshop().hold_minutes));
    let outcome = if bookable(policy, date, now) {
        move_to(
            repos,
            policy,
            &booking,
            from,
            date,
            &start,
            MoveTo::Held { hold_until },
            now,
        )
        .await?
    } else {
        MoveOutcome::Full
    };
    match outcome {
        MoveOutcome::Moved { attempt } => {
            tracing::info!(booking_id = %booking.booking_id, attempt, "proposed time taken");
            let moved = repos
                .capacity
                .booking::<BookingRecord>(&booking.booking_id)
                .await?
                .ok_or_else(|| UpdateError::NotFound(format!("booking {}", booking.booking_id)))?;
            moved_replies(repos, policy, settings, from, &moved, &old, now).await
        }
        MoveOutcome::Full => {
            let rest: Vec<(NaiveDate, String)> =
                note.slots.into_iter().filter(|s| *s != slot).collect();
            let text = if rest.is_empty() {
                format!("Время {new} уже занято. Мастер-консультант предложит другое.")
            } else {
                format!("Время {new} уже занято. Выберите другое из предложенных:")
            };
            let to_advisor = OutgoingMessage::text(
                Address::Telegram(settings.advisor_chat_id),
                format!(
                    "Клиент выбрал {new} вместо {old}, но это время уже занято, автомобиль {}.",
                    booking.vin
                ),
            );
            Ok(with_toast(
                UpdateReplies {
                    messages: vec![
                        alternatives_message(from, &booking, &rest, text),
                        to_advisor,
                    ],
                    callback_answer: None,
                    events: Vec::new(),
                },
                format!("Время {new} уже занято"),
            ))
        }
        MoveOutcome::SameSlot => Err(refused(format!("Вы уже записаны на {new}."))),
        MoveOutcome::Stale => Err(refused(pressed::STALE)),
    }
}
