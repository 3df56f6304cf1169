//! One car, one lift: a customer whose car is already booked (held or confirmed) and who presses
//! «Записаться», or a time, on another offer for it (the tyre season beside the reminder) does
//! not take a second lift at another hour. The offer's work is added to the visit booked: the
//! customer is told so, and the advisors get a note with the work and its terms.

use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::triggers::Reaction;
use store::repo::{Booking, BookingState, Repos, StoredOffer};
use store::Store;

use super::reserve::{booking_id_of, react, slot_label, work_of};
use super::terms::{agree, describe};
use super::{BookingRecord, BookingSettings, UpdateError, UpdateReplies};
use crate::compose::OfferRecord;
use crate::ports::{Address, OutgoingMessage};
use crate::reports::ru::stage_ru;

/// The car's earliest booking still open at `now` (a hold not lapsed, or confirmed, today or
/// later) other than `offer`'s own.
pub(super) async fn open_booking_of_car<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    offer: &StoredOffer<OfferRecord>,
    now: DateTime<Utc>,
) -> Result<Option<Booking<BookingRecord>>, UpdateError> {
    let own = booking_id_of(&offer.offer_id);
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    Ok(repos
        .capacity
        .bookings_of_customer::<BookingRecord>(&offer.customer_id)
        .await?
        .into_iter()
        .filter(|b| b.booking_id != own && b.vin == offer.vin && b.date >= today)
        .filter(|b| {
            b.state == BookingState::Confirmed
                || (b.state == BookingState::Held && !b.lapsed_at(now))
        })
        .min_by(|a, b| (a.date, &a.start).cmp(&(b.date, &b.start))))
}

/// What the customer can do about the time of `open`: only a confirmed booking's message
/// carries «Перенести».
fn other_time(open: &Booking<BookingRecord>) -> &'static str {
    if open.state == BookingState::Confirmed {
        " Если удобнее другое время, нажмите «Перенести» в сообщении о записи."
    } else {
        " Запись ждёт подтверждения мастера-консультанта."
    }
}

/// The offer's work goes with the visit `open`: the customer is told, the advisors get a note
/// with the work and the terms the offer gives on that day.
pub(super) async fn join_visit<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer: &StoredOffer<OfferRecord>,
    open: &Booking<BookingRecord>,
    from: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    react(repos, offer, Reaction::Replied, now).await?;
    let booked = slot_label(open.date, &open.start);
    let work = work_of(&offer.offer).unwrap_or_else(|| stage_ru(offer.offer.stage).to_owned());
    let mut note = format!(
        "Клиент просит добавить к записи на {booked}, автомобиль {}: {work}.",
        offer.vin
    );
    let terms = agree(offer.offer.priced.as_ref(), open.date, now);
    for line in describe(&terms, policy.time_zone(), false) {
        note.push(' ');
        note.push_str(&line);
    }
    let other_time = other_time(open);
    let mut messages = vec![OutgoingMessage::text(
        from.clone(),
        format!(
            "Автомобиль уже записан на {booked}. Мастер-консультант добавит к этому визиту: {work}.{other_time}"
        ),
    )];
    // The advisors hear of an offer joining a booking once, however often it is pressed.
    let key = format!("{}:{}:{}", offer.offer_id, open.booking_id, open.attempt);
    let first = repos
        .idempotency
        .lock(JOINED, &key, now, Duration::days(30))
        .await?;
    if first {
        tracing::info!(booking_id = %open.booking_id, offer_id = %offer.offer_id, "offer joined to the car's booking");
        messages.push(OutgoingMessage::text(
            Address::Telegram(settings.advisor_chat_id),
            note,
        ));
    }
    Ok(UpdateReplies {
        messages,
        callback_answer: Some((String::new(), "Добавим к визиту".into())),
        events: Vec::new(),
    })
}

/// The idempotency scope of the advisors' note that an offer joined a booking.
const JOINED: &str = "offer-joined";
