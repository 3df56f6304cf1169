//! Messenger updates from Telegram and WhatsApp: «Записаться» → slot picker → hold → the
//! advisor confirms (in Telegram) → the customer gets the confirmation on the messenger they
//! booked through; a number in reply to the odometer request re-times the forecast at once; a
//! score in reply to the satisfaction request is stored and a low one alerts the advisors;
//! the other answers under offers and reminders ([`answers`]); STOP and data erasure
//! ([`rights`]); after a booking, the customer's moves and cancellations (`reschedule`), the
//! advisor's other times, cancellation and no-show (`alternatives`, `advisor_actions`) on the
//! buttons of [`buttons`], the day-before reminder ([`reminder`]) and `/client` ([`client`]);
//! an advisor closes or opens a day or a lift from the advisors' chat. Idempotent
//! per update id; every state change is conditional. Button data is never trusted: each press is
//! checked against the store, and a refused press is answered (in the chat and on the button).

mod advisor;
mod advisor_actions;
mod advisor_card;
mod alternatives;
pub mod answers;
pub mod buttons;
pub mod client;
mod guard;
mod join;
mod pressed;
pub mod reminder;
mod reschedule;
mod reserve;
pub mod rights;
pub mod terms;

pub use advisor::{parse_command, Command};
pub use reserve::{booking_id_of, PointsDetail};
pub use rights::{is_stop, STOP_REPLY, STOP_WORDS};
pub use terms::BookingTerms;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::{Reaction, Stage};
use domain::{Customer, Reading, ReadingSource, Vehicle};
use serde::{Deserialize, Serialize};
use store::repo::{Begin, Repos, StoredVehicle};
use store::{Store, StoreError};

use crate::compose::BOOK_PREFIX;
use crate::evaluate::{record_reaction, CycleInfo, StageMark};
use crate::ports::{Address, Messenger, OutgoingMessage, MAX_CALLBACK_DATA};

const SLOT_PREFIX: &str = "s:";
const CONFIRM_PREFIX: &str = "c:";

/// A messenger update (a Telegram update or one WhatsApp message), parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerUpdate {
    /// Unique per messenger: Telegram's `update_id`, WhatsApp's message id (`wamid...`).
    pub update_id: String,
    pub from: Address,
    pub kind: UpdateKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateKind {
    /// A button or list row was chosen; `callback_id` is Telegram's id of the press, to stop
    /// the button's spinner (WhatsApp has none).
    Callback {
        callback_id: Option<String>,
        data: String,
    },
    /// A text message: STOP, an odometer reading or a satisfaction score; other texts are left
    /// to the advisors.
    Text(String),
}

/// Where bookings are confirmed and how many slots a picker shows. How far ahead slots are
/// offered and how long a hold lasts are the policy's (`[workshop]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSettings {
    pub advisor_chat_id: i64,
    pub max_slots_shown: usize,
}

/// What to send back: messages, and the answer that stops a button's spinner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateReplies {
    pub messages: Vec<OutgoingMessage>,
    pub callback_answer: Option<(String, String)>,
    /// The business events of what the update did (published by the caller).
    pub events: Vec<crate::events::BusinessEvent>,
}

impl UpdateReplies {
    /// One plain text back to the sender.
    fn answer(to: &Address, text: impl Into<String>) -> Self {
        UpdateReplies {
            messages: vec![OutgoingMessage::text(to.clone(), text)],
            callback_answer: None,
            events: Vec::new(),
        }
    }
}

/// A booking as stored (ids only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub offer_id: String,
    /// The messenger the customer booked through; the confirmation goes there.
    #[serde(default)]
    pub channel: Messenger,
    /// What was agreed when the slot was held (absent on bookings from before terms).
    #[serde(default)]
    pub terms: Option<BookingTerms>,
}

/// Why an update was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The sender (kept for the caller, never in the message: a chat id or a phone number is
    /// personal data, and this text goes to the logs).
    #[error("the sender may not do this")]
    Forbidden(Address),
    #[error("{0} not found")]
    NotFound(String),
    /// The same update is being handled right now.
    #[error("update {0} is in progress")]
    InProgress(String),
    #[error("unreadable button data")]
    Malformed,
    /// The press names something the sender may no longer act on (an answered or closed
    /// cycle, a sold car, an old button); the text tells them why.
    #[error("refused: {0}")]
    Refused(String),
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
            scope(update),
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
    // One press on a booking at a time, until its replies went out: an advisor's «Подтвердить»
    // and «Отменить» pressed together must not tell the customer «подтверждена» after the
    // cancel. The other press is answered «in progress» and its messenger delivers it again.
    if let Some(booking) = booking_subject(update) {
        let lease = Duration::seconds(60);
        if !repos
            .idempotency
            .lock(BOOKING_LOCK, &booking, now, lease)
            .await?
        {
            repos
                .idempotency
                .abandon(scope(update), &update.update_id)
                .await?;
            return Err(UpdateError::InProgress(update.update_id.clone()));
        }
    }
    let result = match dispatch(repos, policy, settings, update, now).await {
        Err(e) => refusal(update, e),
        ok => ok,
    };
    if let Ok(replies) = &result {
        for button in replies
            .messages
            .iter()
            .flat_map(|m| m.buttons.iter().flatten())
        {
            button.assert_fits();
        }
    }
    if result.is_err() {
        repos
            .idempotency
            .abandon(scope(update), &update.update_id)
            .await?;
        release_booking(repos, update).await?;
    }
    result
}

/// The per-booking lock's scope in the idempotency records.
const BOOKING_LOCK: &str = "booking-lock";

/// The booking a press acts on: a hold (`s:<offer>:…`), a confirmation (`c:<booking>:…`) or a
/// booking button (reschedule, cancel, proposals, no-show).
fn booking_subject(update: &MessengerUpdate) -> Option<String> {
    let UpdateKind::Callback { data, .. } = &update.kind else {
        return None;
    };
    let id_in = |rest: &str| {
        rest.split(':')
            .next()
            .filter(|id| !id.is_empty() && id.len() <= 40)
            .filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(str::to_owned)
    };
    if let Some(rest) = data.strip_prefix(SLOT_PREFIX) {
        return id_in(rest).map(|offer| booking_id_of(&offer));
    }
    if let Some(rest) = data.strip_prefix(CONFIRM_PREFIX) {
        return id_in(rest);
    }
    match buttons::parse(data) {
        Some(Ok((_, pressed))) => Some(pressed.booking_id),
        _ => None,
    }
}

/// Lets the next press on the update's booking in.
async fn release_booking<S: Store>(
    repos: &Repos<S>,
    update: &MessengerUpdate,
) -> Result<(), StoreError> {
    match booking_subject(update) {
        Some(booking) => repos.idempotency.abandon(BOOKING_LOCK, &booking).await,
        None => Ok(()),
    }
}

/// A press of a Telegram or WhatsApp button that is refused (not the sender's, not found,
/// unreadable, stale) is answered with why, in the chat and on the button, and counts as handled;
/// other errors (and refusals on the booking page, which shows its own) stay errors.
fn refusal(update: &MessengerUpdate, e: UpdateError) -> Result<UpdateReplies, UpdateError> {
    let UpdateKind::Callback { callback_id, .. } = &update.kind else {
        return Err(e);
    };
    if update.from.messenger() == Messenger::Sms {
        return Err(e);
    }
    let text = match &e {
        UpdateError::Forbidden(_) => {
            "Эта кнопка не для вас: она из сообщения другому клиенту или мастеру.".to_owned()
        }
        UpdateError::NotFound(_) => {
            "Не нашли, к чему относится эта кнопка: сообщение устарело.".to_owned()
        }
        UpdateError::Malformed => "Эта кнопка не работает: сообщение устарело.".to_owned(),
        UpdateError::Refused(text) => text.clone(),
        UpdateError::InProgress(_) | UpdateError::Store(_) => return Err(e),
    };
    tracing::info!(update_id = %update.update_id, channel = %update.from.messenger(), error = %e, "button press refused");
    let toast: String = text.chars().take(200).collect();
    let mut replies = UpdateReplies::answer(&update.from, text);
    replies.callback_answer = callback_id.clone().map(|id| (id, toast));
    Ok(replies)
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
            scope(update),
            &update.update_id,
            &true,
            now,
            Duration::days(7),
        )
        .await?;
    release_booking(repos, update).await
}

/// Update ids are unique per messenger only.
fn scope(update: &MessengerUpdate) -> &'static str {
    match update.from.messenger() {
        Messenger::Telegram => "telegram-update",
        Messenger::WhatsApp => "whatsapp-message",
        Messenger::Sms => "booking-page",
    }
}

async fn dispatch<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let advisor = Address::Telegram(settings.advisor_chat_id);
    let (callback_id, data) = match &update.kind {
        UpdateKind::Callback { callback_id, data } => (callback_id, data),
        UpdateKind::Text(text) if is_stop(text) => {
            return rights::opt_out(repos, &update.from, now).await;
        }
        UpdateKind::Text(text) if rights::is_erase_request(text) => {
            return Ok(rights::ask_erasure(policy, &update.from, now));
        }
        UpdateKind::Text(text) => {
            if let Some(query) = client::parse_client(text) {
                if update.from != advisor {
                    return Ok(UpdateReplies::answer(&update.from, client::NOT_FOR_YOU));
                }
                return client::answer(repos, policy, query, &advisor, now).await;
            }
            if let Some(command) = parse_command(text, today) {
                if update.from != advisor {
                    return Err(UpdateError::Forbidden(update.from.clone()));
                }
                return advisor::run(repos, policy, command, &advisor, now).await;
            }
            if let Some(km) = parse_odometer(text) {
                if let Some(replies) =
                    answers::service_odometer(repos, policy, update, km, now).await?
                {
                    return Ok(replies);
                }
                return odometer_reply(repos, policy, update, km, now).await;
            }
            return match parse_rating(text) {
                Some(score) => rating_reply(repos, policy, settings, update, score, now).await,
                None => Ok(UpdateReplies::default()),
            };
        }
    };
    let from = &update.from;
    // Ids in button data are printable: a NUL or another control character is no button of
    // ours (and no storage key).
    if data.is_empty() || data.len() > MAX_CALLBACK_DATA || data.chars().any(char::is_control) {
        return Err(UpdateError::Malformed);
    }
    let mut replies = if let Some(offer_id) = data.strip_prefix(BOOK_PREFIX) {
        let offer = guard::offer_for(repos, offer_id, from, guard::Need::OpenCycle)
            .await?
            .offer;
        reserve::react(repos, &offer, Reaction::Clicked, now).await?;
        // The car booked by another offer: this offer's work joins that visit.
        match join::open_booking_of_car(repos, policy, &offer, now).await? {
            Some(open) => {
                join::join_visit(repos, policy, settings, &offer, &open, from, now).await?
            }
            None => book_picker(repos, policy, settings, &offer, from, now).await?,
        }
    } else if let Some(rest) = data.strip_prefix(SLOT_PREFIX) {
        let mut parts = rest.splitn(3, ':');
        let (Some(offer_id), Some(date), Some(start)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(UpdateError::Malformed);
        };
        let date: NaiveDate = date.parse().map_err(|_| UpdateError::Malformed)?;
        guard::offer_for(repos, offer_id, from, guard::Need::OpenCycle).await?;
        reserve::hold(repos, policy, settings, offer_id, date, start, from, now).await?
    } else if let Some(rest) = data.strip_prefix(CONFIRM_PREFIX) {
        if *from != advisor {
            return Err(UpdateError::Forbidden(from.clone()));
        }
        let (booking_id, attempt) = reserve::parse_confirm(rest);
        reserve::confirm(repos, policy, booking_id, attempt, advisor, now).await?
    } else if let Some(button) = buttons::parse(data) {
        use buttons::Kind;
        let (kind, pressed) = button.map_err(|()| UpdateError::Malformed)?;
        if kind.advisors_only() && *from != advisor {
            return Err(UpdateError::Forbidden(from.clone()));
        }
        let p = &pressed;
        match kind {
            Kind::Reschedule => reschedule::picker(repos, policy, settings, from, p, now).await?,
            Kind::RescheduleTo => {
                reschedule::to_slot(repos, policy, settings, from, p, now).await?
            }
            Kind::Cancel => reschedule::cancel(repos, settings, from, p, now).await?,
            Kind::TakeAlternative => {
                alternatives::take(repos, policy, settings, from, p, now).await?
            }
            Kind::OtherTime => alternatives::open(repos, policy, &advisor, p, now).await?,
            Kind::Propose => alternatives::pick(repos, policy, p, now).await?,
            Kind::SendProposal => alternatives::send(repos, &advisor, p).await?,
            Kind::AdvisorCancel => advisor_actions::cancel(repos, &advisor, p, now).await?,
            Kind::NoShow => advisor_actions::no_show(repos, policy, &advisor, p, now).await?,
        }
    } else if let Some(replies) = answers::on_callback(repos, policy, from, data, now).await? {
        replies
    } else if let Some(replies) =
        rights::on_callback(repos, policy, &advisor, from, data, now).await?
    {
        replies
    } else {
        return Err(UpdateError::Malformed);
    };
    // Every press is answered: with the text a branch chose for the button, else «Готово».
    replies.callback_answer = callback_id.as_ref().map(|id| {
        let text = replies
            .callback_answer
            .take()
            .map_or_else(|| "Готово".to_owned(), |(_, text)| text);
        (id.clone(), text)
    });
    Ok(replies)
}

/// The slot picker for `offer`'s «Записаться»; an expired priced offer says first that its
/// price, perks and gift are gone (the hold agrees no terms of it), the visit can still be booked.
async fn book_picker<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    offer: &store::repo::StoredOffer<crate::compose::OfferRecord>,
    from: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let mut picker = reserve::slot_picker(repos, policy, settings, offer, from, now).await?;
    if let Some(until) = offer.offer.priced.as_ref().map(|p| p.expires_at) {
        if now > until {
            let day = until.with_timezone(&policy.time_zone()).format("%d.%m.%Y");
            if let Some(first) = picker.messages.first_mut() {
                first.text = format!(
                    "Срок предложения истёк {day}: скидка и подарки больше не действуют. \
                         Записаться можно по обычной цене. {}",
                    first.text
                );
            }
            picker.callback_answer = Some((String::new(), "Срок предложения истёк".into()));
        }
    }
    Ok(picker)
}

/// The odometer in a customer's text reply («52 000», «52000 км», «52.000»): digits with
/// thousands separators and an optional unit; at least 100 km (smaller numbers are ratings or
/// noise) and at most 2,000,000.
pub fn parse_odometer(text: &str) -> Option<u32> {
    let lower = text.trim().to_lowercase();
    let number = lower
        .strip_suffix("км")
        .or_else(|| lower.strip_suffix("km"))
        .unwrap_or(&lower);
    let groups: Vec<&str> = number
        .trim()
        .split([' ', '\u{a0}', '\u{202f}', '.', ',', '\''])
        .collect();
    let grouped = match groups.as_slice() {
        [single] => !single.is_empty(),
        [first, rest @ ..] => (1..=3).contains(&first.len()) && rest.iter().all(|g| g.len() == 3),
        [] => false,
    };
    let digits = groups.concat();
    if !grouped || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let km: u32 = digits.parse().ok()?;
    (100..=2_000_000).contains(&km).then_some(km)
}

/// A customer reported the odometer: stored once as a customer reading of the vehicle we
/// asked about (or their only one), the vehicle re-forecast at once, the answer counted as a
/// reply to the odometer request. A reading below the last one is refused and stores nothing.
async fn odometer_reply<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    update: &MessengerUpdate,
    km: u32,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let from = &update.from;
    let Some(customer_id) = customer_at(repos, from).await? else {
        return Ok(UpdateReplies::default());
    };
    let answer = |text: String| UpdateReplies::answer(from, text);
    let vehicles = repos.vehicles.for_customer::<Vehicle>(&customer_id).await?;
    let asked = last_asked(repos, &vehicles, Stage::AskOdometer, now).await?;
    let (stored, cycle_id) = match (asked, vehicles.as_slice()) {
        (Some((stored, cycle_id)), _) => (stored, Some(cycle_id)),
        (None, [only]) => (only, None),
        (None, _) => {
            return Ok(answer(
                "Спасибо! Не поняли, к какому автомобилю относится пробег, — мастер-консультант уточнит.".into(),
            ))
        }
    };
    let vehicle = &stored.vehicle;
    let vin = vehicle.vin().as_str();
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let last = repos
        .readings
        .for_vehicle(vin)
        .await?
        .iter()
        .map(|r| r.km)
        .max()
        .unwrap_or(0);
    if km < last {
        tracing::info!(vehicle_id = %vin, "reported odometer below the last reading");
        return Ok(answer(format!(
            "Пробег {} км меньше, чем при последнем визите ({} км). Проверьте, пожалуйста, и пришлите ещё раз.",
            domain::render::thousands_ru(km),
            domain::render::thousands_ru(last)
        )));
    }
    let reading = Reading {
        date: today,
        km,
        source: ReadingSource::CustomerReported,
    };
    let reference = format!("{}:{}", from.messenger(), update.update_id);
    repos.readings.append(vin, &reading, &reference).await?;
    let due = crate::forecasting::forecast_vehicle(repos, policy, vehicle, today).await?;
    if let Some(cycle_id) = cycle_id {
        record_reaction(
            repos,
            vin,
            &cycle_id,
            Stage::AskOdometer,
            Reaction::Replied,
            now,
        )
        .await?;
    }
    tracing::info!(vehicle_id = %vin, "odometer reported");
    let text = match due {
        Some(due) => format!(
            "Спасибо! С пробегом {} км следующее ТО — около {}. Мы напомним заранее.",
            domain::render::thousands_ru(km),
            due.due_date.format("%d.%m.%Y")
        ),
        None => "Спасибо! Пробег записали.".into(),
    };
    Ok(answer(text))
}

/// Of the customer's vehicles, the one whose open cycle's `stage` message went out last (by
/// `now`), with that cycle's id: what a reply to that message is about.
async fn last_asked<'v, S: Store>(
    repos: &Repos<S>,
    vehicles: &'v [StoredVehicle<Vehicle>],
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<Option<(&'v StoredVehicle<Vehicle>, String)>, StoreError> {
    let mut asked: Option<(&StoredVehicle<Vehicle>, String, DateTime<Utc>)> = None;
    for stored in vehicles {
        let vin = stored.vehicle.vin().as_str();
        let Some((cycle_id, _)) = repos.cycles.open_cycle::<CycleInfo>(vin).await? else {
            continue;
        };
        let marks = repos.cycles.stages::<StageMark>(vin, &cycle_id).await?;
        let sent = marks
            .iter()
            .find(|(name, mark)| name == stage.as_str() && mark.send_at <= now)
            .map(|(_, mark)| mark.send_at);
        if let Some(sent) = sent {
            if asked.as_ref().is_none_or(|(_, _, at)| sent > *at) {
                asked = Some((stored, cycle_id, sent));
            }
        }
    }
    Ok(asked.map(|(stored, cycle_id, _)| (stored, cycle_id)))
}

/// A satisfaction score in a customer's text: «8», «8/10», «8 из 10», 0 to 10, nothing else.
pub fn parse_rating(text: &str) -> Option<u8> {
    let compact: String = text.split_whitespace().collect::<String>().to_lowercase();
    let number = compact
        .strip_suffix("/10")
        .or_else(|| compact.strip_suffix("из10"))
        .unwrap_or(&compact);
    if number.is_empty() || number.len() > 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let score: u8 = number.parse().ok()?;
    (score <= 10).then_some(score)
}

/// A customer rated the visit in reply to the satisfaction request: the score is stored once as
/// the reaction to that request (the next night's triggers see it, and a score at or below the
/// policy's CSAT alarm makes a critical offer), the customer is thanked, and a low score alerts
/// the advisors at once, the first time only. A number that answers no request is left alone.
async fn rating_reply<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    settings: &BookingSettings,
    update: &MessengerUpdate,
    score: u8,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    let from = &update.from;
    let Some(customer_id) = customer_at(repos, from).await? else {
        return Ok(UpdateReplies::default());
    };
    let vehicles = repos.vehicles.for_customer::<Vehicle>(&customer_id).await?;
    let Some((stored, cycle_id)) =
        last_asked(repos, &vehicles, Stage::SatisfactionRequest, now).await?
    else {
        return Ok(UpdateReplies::default());
    };
    let vin = stored.vehicle.vin().as_str();
    let first = record_reaction(
        repos,
        vin,
        &cycle_id,
        Stage::SatisfactionRequest,
        Reaction::Rated(score),
        now,
    )
    .await?;
    let low = score <= policy.thresholds().csat_alarm_max;
    let text = if low {
        "Спасибо за честную оценку. Нам жаль, что визит вас не порадовал: мастер-консультант \
         свяжется с вами, чтобы во всём разобраться."
    } else if score >= 9 {
        "Спасибо за высокую оценку! Будем рады видеть вас снова."
    } else {
        "Спасибо за оценку! Мы учтём её, чтобы стать лучше."
    };
    let mut replies = UpdateReplies::answer(from, text);
    if low && first {
        tracing::info!(vehicle_id = %vin, score, "low satisfaction score");
        let customer = repos
            .customers
            .get::<Customer>(&customer_id)
            .await?
            .map(|c| c.profile);
        let who = customer.map_or_else(String::new, |c| {
            format!(" Клиент: {}, {}.", c.first_name.as_str(), c.phone.as_str())
        });
        replies.messages.push(OutgoingMessage::text(
            Address::Telegram(settings.advisor_chat_id),
            format!(
                "Низкая оценка визита: {score} из 10, автомобиль {} {} ({vin}).{who} \
                 Свяжитесь с клиентом сегодня.",
                stored.vehicle.make().as_str(),
                stored.vehicle.model().as_str(),
            ),
        ));
    }
    Ok(replies)
}

/// The id of the customer who writes from `address`.
async fn customer_at<S: Store>(
    repos: &Repos<S>,
    address: &Address,
) -> Result<Option<String>, StoreError> {
    match address {
        Address::Telegram(chat) => repos.customers.by_telegram_chat(*chat).await,
        Address::WhatsApp(id) => repos.customers.by_phone(&id.e164()).await,
        Address::Sms(phone) => repos.customers.by_phone(phone.as_str()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_odometer, parse_rating};

    #[test]
    fn an_odometer_reply_is_read_with_separators_and_a_unit() {
        for (text, km) in [
            ("52000", 52_000),
            (" 52 000 ", 52_000),
            ("52\u{a0}000 км", 52_000),
            ("52.000 KM", 52_000),
            ("52,000km", 52_000),
            ("100", 100),
            ("1 999 999", 1_999_999),
        ] {
            assert_eq!(parse_odometer(text), Some(km), "{text:?}");
        }
    }

    #[test]
    fn ratings_words_and_impossible_odometers_are_not_readings() {
        for text in [
            "7",
            "10",
            "99",
            "",
            "км",
            "пятьдесят тысяч",
            "52 000 миль",
            "-52000",
            "52000.5",
            "3000000",
            "12345678",
        ] {
            assert_eq!(parse_odometer(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_score_is_read_alone_or_out_of_ten() {
        for (text, score) in [
            ("0", 0),
            ("7", 7),
            (" 10 ", 10),
            ("8/10", 8),
            ("8 / 10", 8),
            ("9 из 10", 9),
            ("10 ИЗ 10", 10),
        ] {
            assert_eq!(parse_rating(text), Some(score), "{text:?}");
        }
        for text in ["11", "-1", "", "8,5", "восемь", "100", "8/5", "у меня 8"] {
            assert_eq!(parse_rating(text), None, "{text:?}");
        }
    }
}
