//! The booking page an SMS link opens. Opening it and tapping a slot are messenger updates from
//! the customer's phone (`Address::Sms`) run through the booking use case
//! ([`crate::handle_update`]): the same slot picker, the same conditional hold, the same advisor
//! confirmation. The page offers the other answers of the messenger too («Уже обслужился»,
//! «Напомнить позже», «Не присылать» and what follows them, the odometer after a service
//! elsewhere), run the same way. A forged or expired link is refused before anything is read or
//! written.

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use domain::{Customer, Vehicle};
use store::repo::{BookingState, Repos};
use store::{Store, StoreError};

use crate::booking::{BookingRecord, BookingSettings, MessengerUpdate, UpdateError, UpdateKind};
use crate::booking_link::{BookingLinks, LinkError};
use crate::compose::{offer_text, OfferRecord, BOOK_PREFIX};
use crate::ports::{Address, Button, OutgoingMessage};

/// Why the page cannot be shown or the slot not held.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The slot chosen is not one of this offer's.
    #[error("the slot does not belong to the link's offer")]
    WrongSlot,
    /// The answer chosen is not one the page offers for this offer.
    #[error("the answer does not belong to the link's offer")]
    WrongAnswer,
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// A booking of the offer already made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingBooking {
    /// «dd.mm HH:MM».
    pub when: String,
    pub confirmed: bool,
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    pub offer_id: String,
    /// The offer as the messenger message says it.
    pub offer_text: String,
    /// The use case's answers to the customer (the picker's prompt, «Заявка … отправлена», …).
    pub notices: Vec<String>,
    /// Free slots: label and the value to send back.
    pub slots: Vec<Button>,
    /// The other answers: label and the value to send back (field `answer`).
    pub answers: Vec<Button>,
    /// The odometer after a service elsewhere is asked for (field `km`).
    pub ask_km: bool,
    pub booking: Option<ExistingBooking>,
}

/// A page update run through the use case: what to show, what to deliver to others (the
/// advisors), and the update to finish once delivered ([`crate::finish_update`]).
#[derive(Debug, Clone)]
pub struct PageStep {
    pub view: PageView,
    pub deliver: Vec<OutgoingMessage>,
    pub update: MessengerUpdate,
    /// The business events of the update (published by the caller).
    pub events: Vec<crate::events::BusinessEvent>,
}

/// The customer of the link's offer, as the page acts for them.
async fn page_address<S: Store>(
    repos: &Repos<S>,
    offer_id: &str,
) -> Result<(OfferOwner, Address), PageError> {
    let offer = repos
        .offers
        .get::<OfferRecord>(offer_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("offer {offer_id}")))?;
    let customer = repos
        .customers
        .get::<Customer>(&offer.customer_id)
        .await?
        .ok_or_else(|| UpdateError::NotFound(format!("customer {}", offer.customer_id)))?;
    let address = Address::Sms(customer.profile.phone.clone());
    Ok((
        OfferOwner {
            customer_id: offer.customer_id,
            vin: offer.vin,
        },
        address,
    ))
}

struct OfferOwner {
    customer_id: String,
    vin: String,
}

/// Opens the page of `token` at `now`: the offer and its free slots (the «Записаться» press).
pub async fn open_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    links: &BookingLinks,
    token: &str,
    now: DateTime<Utc>,
) -> Result<PageStep, PageError> {
    let offer_id = links.verify(token, now)?;
    let update_id = format!(
        "open-{offer_id}-{}",
        now.timestamp_nanos_opt().unwrap_or_default()
    );
    let data = format!("{BOOK_PREFIX}{offer_id}");
    let kind = UpdateKind::Callback {
        callback_id: None,
        data,
    };
    let mut step = run(repos, policy, settings, &offer_id, update_id, kind, now).await?;
    if step.view.booking.is_none() && step.view.answers.is_empty() {
        step.view.answers = crate::compose::answers(&offer_id)
            .into_iter()
            .skip(1)
            .map(|(text, data)| Button::new(text, data))
            .collect();
    }
    Ok(step)
}

/// Takes an answer the page offered (`answer`, ending in the link's offer id) at `now`; the same
/// answer twice within a minute changes nothing.
pub async fn answer_from_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    links: &BookingLinks,
    token: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<PageStep, PageError> {
    let offer_id = links.verify(token, now)?;
    let own = answer.len() <= crate::ports::MAX_CALLBACK_DATA
        && answer
            .rsplit_once(':')
            .is_some_and(|(kind, id)| id == offer_id && !kind.is_empty())
        && !answer.starts_with("s:")
        && !answer.starts_with(BOOK_PREFIX);
    if !own {
        return Err(PageError::WrongAnswer);
    }
    let update_id = format!("answer-{answer}-{}", now.timestamp() / 60);
    let kind = UpdateKind::Callback {
        callback_id: None,
        data: answer.to_owned(),
    };
    let mut step = run(repos, policy, settings, &offer_id, update_id, kind, now).await?;
    step.view.ask_km = answer.starts_with("dw:e:") && step.view.answers.is_empty();
    Ok(step)
}

/// Takes the odometer typed on the page after «В другом сервисе» at `now` (digits and spaces).
pub async fn km_from_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    links: &BookingLinks,
    token: &str,
    km: &str,
    now: DateTime<Utc>,
) -> Result<PageStep, PageError> {
    let offer_id = links.verify(token, now)?;
    let km: String = km.chars().filter(|c| !c.is_whitespace()).collect();
    if km.is_empty() || km.len() > 7 || !km.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PageError::WrongAnswer);
    }
    let update_id = format!("km-{offer_id}-{km}");
    let kind = UpdateKind::Text(km);
    run(repos, policy, settings, &offer_id, update_id, kind, now).await
}

/// Holds the slot `slot` (a value the page offered) for `token`'s offer at `now`. Tapping the
/// same slot again changes nothing.
pub async fn hold_from_page<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    links: &BookingLinks,
    token: &str,
    slot: &str,
    now: DateTime<Utc>,
) -> Result<PageStep, PageError> {
    let offer_id = links.verify(token, now)?;
    let own = slot
        .strip_prefix("s:")
        .and_then(|rest| rest.strip_prefix(offer_id.as_str()))
        .is_some_and(|rest| rest.starts_with(':'));
    if !own || slot.len() > 100 {
        return Err(PageError::WrongSlot);
    }
    let update_id = format!("hold-{slot}");
    let kind = UpdateKind::Callback {
        callback_id: None,
        data: slot.to_owned(),
    };
    run(repos, policy, settings, &offer_id, update_id, kind, now).await
}

async fn run<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer_id: &str,
    update_id: String,
    kind: UpdateKind,
    now: DateTime<Utc>,
) -> Result<PageStep, PageError> {
    let (owner, address) = page_address(repos, offer_id).await?;
    let update = MessengerUpdate {
        update_id,
        from: address.clone(),
        kind,
    };
    let replies = crate::handle_update(repos, policy, settings, &update, now).await?;
    let events = replies.events;
    let (mine, deliver): (Vec<_>, Vec<_>) =
        replies.messages.into_iter().partition(|m| m.to == address);
    let booking = existing_booking(repos, &owner.customer_id, offer_id).await?;
    let (slots, answers): (Vec<Button>, Vec<Button>) = if booking.is_some() {
        (vec![], vec![])
    } else {
        mine.iter()
            .flat_map(|m| m.buttons.iter().flatten().cloned())
            .partition(|b| b.callback_data.starts_with("s:"))
    };
    let offer_text = match repos.vehicles.get::<Vehicle>(&owner.vin).await? {
        Some(_) => offer_text(repos, policy, offer_id)
            .await?
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(PageStep {
        view: PageView {
            offer_id: offer_id.to_owned(),
            offer_text,
            notices: mine.into_iter().map(|m| m.text).collect(),
            slots,
            answers,
            ask_km: false,
            booking,
        },
        deliver,
        update,
        events,
    })
}

async fn existing_booking<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
    offer_id: &str,
) -> Result<Option<ExistingBooking>, StoreError> {
    let bookings = repos
        .capacity
        .bookings_of_customer::<BookingRecord>(customer_id)
        .await?;
    Ok(bookings
        .into_iter()
        .filter(|b| b.booking.offer_id == offer_id && b.state.is_active())
        .map(|b| ExistingBooking {
            when: format!("{} {}", b.date.format("%d.%m"), b.start),
            confirmed: b.state == BookingState::Confirmed,
        })
        .next())
}
