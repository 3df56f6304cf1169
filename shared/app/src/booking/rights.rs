//! The customer's say over their messages and data. STOP opts them out at once on every
//! channel. «Удалите мои данные» (or `/delete`) asks for a confirmation, then erases their
//! personal data (152-FZ): the profile keeps only the id, visits keep their work orders with the
//! customer part anonymised, offers and bookings carry ids only anyway, and the phone and chat
//! are suppressed by digest, so nothing is sent to them again ([`suppressed`], checked before
//! every send). [`erase_customer`] does the same for a request that came by phone.
//!
//! The rule for a customer who comes back: a visit from the CRM that closed after the erasure
//! and carries a consent (service or marketing) is the customer giving their data again; it is
//! stored as sent and lifts the suppression of the phone and chat it names. A visit that closed
//! before the erasure (a late delivery, a back-fill) is stored anonymised: the erasure is applied
//! to it again and the suppression stays.

use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::{Consents, Customer, FirstName, PhoneE164, Visit};
use store::repo::{Booking, BookingState, ContactHandle, OptOutOutcome, Repos};
use store::{Store, StoreError};

use super::answers::dealer_name;
use super::reserve::slot_label;
use super::{customer_at, BookingRecord, UpdateError, UpdateReplies};
use crate::ports::{Address, Button, OutgoingMessage};

/// Customer texts that opt out of every message (compared trimmed and case-insensitively).
pub const STOP_WORDS: [&str; 4] = ["stop", "стоп", "/stop", "отписаться"];

/// The answer to STOP.
pub const STOP_REPLY: &str = "Вы отписались: напоминаний и предложений от нас больше не будет.";

/// Customer texts that ask to erase their data (trimmed, any case, a final «.» or «!» ignored).
pub const ERASE_WORDS: [&str; 4] = [
    "/delete",
    "удалите мои данные",
    "удалить мои данные",
    "удалите мои персональные данные",
];

/// The confirmation buttons: `erase:<yes|no>:<minute asked, unix>:<tag of the asker>`.
const ERASE_PREFIX: &str = "erase:";
/// How long the confirmation buttons stay valid.
const ERASE_CONFIRM_HOURS: i64 = 24;

/// The first name the visits of an erased customer keep.
const ERASED_NAME: &str = "Удалено";
/// The phone they keep: a valid number no one has.
const ERASED_PHONE: &str = "+70000000000";

/// The texts a command may carry after a bot mention: `/stop@Bot` is `/stop`.
fn normalised(text: &str) -> String {
    let text = text.trim().to_lowercase();
    match text.split_once('@') {
        Some((command, _bot)) if command.starts_with('/') => command.to_owned(),
        _ => text,
    }
}

/// Whether a customer's text is STOP: «STOP», «СТОП», «/stop» or «Отписаться», in any case,
/// with surrounding spaces (and a Telegram bot mention after `/stop`).
pub fn is_stop(text: &str) -> bool {
    STOP_WORDS.contains(&normalised(text).as_str())
}

/// Whether a customer's text asks to erase their data.
pub fn is_erase_request(text: &str) -> bool {
    let text = normalised(text);
    let text = text.trim_end_matches(['.', '!']).trim_end();
    ERASE_WORDS.contains(&text)
}

/// The handle a messenger address is: its chat or its phone.
fn handle_of(address: &Address) -> (Option<i64>, Option<String>) {
    match address {
        Address::Telegram(chat) => (Some(*chat), None),
        Address::WhatsApp(id) => (None, Some(id.e164())),
        Address::Sms(phone) => (None, Some(phone.as_str().to_owned())),
    }
}

fn handles<'a>(chat: Option<i64>, phone: Option<&'a str>) -> Vec<ContactHandle<'a>> {
    let mut out: Vec<ContactHandle<'a>> = phone.map(ContactHandle::Phone).into_iter().collect();
    out.extend(chat.map(ContactHandle::Telegram));
    out
}

/// STOP: the chat or phone is remembered, the customer is opted out at once (the first time is
/// kept) and told so. A sender the store does not know yet gets the same answer and stays
/// opted out when the CRM sends them later.
pub(super) async fn opt_out<S: Store>(
    repos: &Repos<S>,
    from: &Address,
    now: DateTime<Utc>,
) -> Result<UpdateReplies, UpdateError> {
    // Remembered by the handle first, so a customer the CRM sends later (or is sending right
    // now) is opted out when their visit is recorded.
    let (chat, phone) = handle_of(from);
    for handle in handles(chat, phone.as_deref()) {
        let channel = Some(from.messenger().as_str());
        repos.customers.suppress_from(handle, now, channel).await?;
    }
    let mut events = Vec::new();
    match customer_at(repos, from).await? {
        Some(customer_id) => {
            let outcome = repos.customers.opt_out(&customer_id, now).await?;
            if outcome == OptOutOutcome::OptedOut {
                events.push(crate::events::BusinessEvent::opted_out(
                    &customer_id,
                    from.messenger().as_str(),
                    None,
                    now,
                ));
            }
            let outcome = match outcome {
                OptOutOutcome::OptedOut => "opted_out",
                OptOutOutcome::AlreadyOptedOut => "already_opted_out",
                OptOutOutcome::UnknownCustomer => "unknown_customer",
            };
            tracing::info!(customer_id = %customer_id, channel = %from.messenger(), outcome, "stop");
        }
        None => {
            tracing::info!(channel = %from.messenger(), "stop from an unknown sender, remembered")
        }
    }
    let mut replies = UpdateReplies::answer(from, STOP_REPLY);
    replies.events = events;
    Ok(replies)
}

/// Binds the confirmation to the chat or phone that asked: a forwarded button does not act for
/// whoever presses it. The first 8 hex digits of a SHA-256 of the handle and the minute.
fn asker_tag(from: &Address, minute: i64) -> String {
    use sha2::Digest;
    let handle = match handle_of(from) {
        (Some(chat), _) => format!("TG#{chat}"),
        (None, phone) => format!("PHONE#{}", phone.unwrap_or_default()),
    };
    let digest = sha2::Sha256::digest(format!("erase#{handle}#{minute}").as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// «Удалите мои данные»: asks to confirm with a button (valid for a day).
pub(super) fn ask_erasure(policy: &Policy, from: &Address, now: DateTime<Utc>) -> UpdateReplies {
    let minute = now.timestamp() / 60;
    let tag = asker_tag(from, minute);
    let text = format!(
        "Удалить ваши данные из {}? Мы удалим имя, телефон и переписку с ботом и больше не будем \
         вам писать. История обслуживания останется без персональных данных.",
        dealer_name(policy)
    );
    UpdateReplies {
        messages: vec![OutgoingMessage {
            to: from.clone(),
            text,
            buttons: vec![
                vec![Button::new(
                    "Да, удалить",
                    format!("{ERASE_PREFIX}yes:{minute}:{tag}"),
                )],
                vec![Button::new(
                    "Отмена",
                    format!("{ERASE_PREFIX}no:{minute}:{tag}"),
                )],
            ],
        }],
        callback_answer: None,
        events: Vec::new(),
    }
}

/// Handles the confirmation buttons (`None` for other buttons). The buttons act only on the
/// sender's own data, whatever they carry; an old one is refused.
pub(super) async fn on_callback<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    advisor: &Address,
    from: &Address,
    data: &str,
    now: DateTime<Utc>,
) -> Result<Option<UpdateReplies>, UpdateError> {
    let Some(rest) = data.strip_prefix(ERASE_PREFIX) else {
        return Ok(None);
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(answer), Some(minute), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(UpdateError::Malformed);
    };
    let confirm = match answer {
        "yes" => true,
        "no" => false,
        _ => return Err(UpdateError::Malformed),
    };
    let minute = minute.parse::<i64>().map_err(|_| UpdateError::Malformed)?;
    let asked = minute
        .checked_mul(60)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(UpdateError::Malformed)?;
    if tag != asker_tag(from, minute) {
        return Err(UpdateError::Forbidden(from.clone()));
    }
    if asked > now + Duration::minutes(1) || now - asked > Duration::hours(ERASE_CONFIRM_HOURS) {
        return Err(UpdateError::Refused(
            "Эта кнопка устарела. Чтобы удалить данные, напишите «Удалите мои данные» ещё раз."
                .into(),
        ));
    }
    if !confirm {
        return Ok(Some(UpdateReplies::answer(
            from,
            "Хорошо, ничего не удаляем.",
        )));
    }
    let mut to_advisors = Vec::new();
    match customer_at(repos, from).await? {
        Some(customer_id) => {
            let (_, bookings) = erase(repos, &customer_id, now).await?;
            to_advisors = bookings.tell(advisor);
        }
        None => {
            // Nothing stored under this handle; it is suppressed all the same.
            let (chat, phone) = handle_of(from);
            for handle in handles(chat, phone.as_deref()) {
                repos.erasure.suppress(handle, now).await?;
            }
            tracing::info!(channel = %from.messenger(), "erasure asked by an unknown sender");
        }
    }
    let mut replies = UpdateReplies::answer(
        from,
        format!(
            "Готово: {} удалил ваши данные и больше не будет вам писать. Если вы снова \
             обратитесь в сервис, мы сохраним только то, что вы сообщите.",
            dealer_name(policy)
        ),
    );
    replies.messages.extend(to_advisors);
    Ok(Some(replies))
}

/// What erasing a customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The personal data is gone now; `visits` visits were anonymised and `holds_released`
    /// unconfirmed holds let go (no one can tell the customer of their confirmation).
    Erased {
        visits: usize,
        holds_released: usize,
    },
    /// It was erased before (at that time); nothing personal was left to erase.
    AlreadyErased { at: DateTime<Utc> },
    /// No customer with this id.
    UnknownCustomer,
}

/// Erases the personal data of customer `customer_id` at `now` (a request by messenger or by
/// phone): name, phone, chat and WhatsApp ids, consents; the history stays under the id.
pub async fn erase_customer<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<Erasure, StoreError> {
    Ok(erase(repos, customer_id, now).await?.0)
}

/// The customer's bookings an erasure touched: the holds it let go, the confirmed bookings
/// still to come that stay (the customer may come; they can no longer be told of changes).
#[derive(Debug, Default)]
struct BookingsAtErasure {
    released: Vec<Booking<BookingRecord>>,
    kept: Vec<Booking<BookingRecord>>,
}

impl BookingsAtErasure {
    /// What the advisors' chat is told of them.
    fn tell(&self, advisor: &Address) -> Vec<OutgoingMessage> {
        let say = |b: &Booking<BookingRecord>, what: &str, fate: &str| {
            let when = slot_label(b.date, &b.start);
            OutgoingMessage::text(
                advisor.clone(),
                format!(
                    "Клиент удалил свои персональные данные: {what} на {when}, автомобиль {}, {fate}.",
                    b.vin
                ),
            )
        };
        let released = self
            .released
            .iter()
            .map(|b| say(b, "заявка", "снята, время освобождено"));
        let kept = self.kept.iter().map(|b| {
            say(
                b,
                "запись",
                "остаётся в силе, но сообщить клиенту о ней больше нельзя",
            )
        });
        released.chain(kept).collect()
    }
}

/// [`erase_customer`], and what it did to the customer's open bookings.
async fn erase<S: Store>(
    repos: &Repos<S>,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<(Erasure, BookingsAtErasure), StoreError> {
    let Some(stored) = repos.customers.get::<Customer>(customer_id).await? else {
        let erasure = match repos.erasure.erased_at(customer_id).await? {
            Some(at) => Erasure::AlreadyErased { at },
            None => Erasure::UnknownCustomer,
        };
        return Ok((erasure, BookingsAtErasure::default()));
    };
    let erased = erase_profile(repos, &stored.profile, now).await?;
    let mut bookings = BookingsAtErasure::default();
    for booking in repos
        .capacity
        .bookings_of_customer::<BookingRecord>(customer_id)
        .await?
    {
        let open_hold = booking.state == BookingState::Held && !booking.lapsed_at(now);
        if open_hold
            && repos
                .capacity
                .cancel_attempt(&booking.booking_id, booking.attempt)
                .await?
        {
            bookings.released.push(booking);
        } else if booking.state == BookingState::Confirmed && booking.date >= now.date_naive() {
            bookings.kept.push(booking);
        }
    }
    let holds_released = bookings.released.len();
    tracing::info!(customer_id = %customer_id, visits = erased.visits, holds_released, "personal data erased");
    Ok((
        Erasure::Erased {
            visits: erased.visits,
            holds_released,
        },
        bookings,
    ))
}

async fn erase_profile<S: Store>(
    repos: &Repos<S>,
    customer: &Customer,
    at: DateTime<Utc>,
) -> Result<store::repo::Erased, StoreError> {
    let chat = customer.telegram_chat_id.map(|c| c.get());
    let handles = handles(chat, Some(customer.phone.as_str()));
    repos
        .erasure
        .erase_customer(customer.id.as_str(), &handles, at, anonymise_visit)
        .await
}

/// The visit with its customer part anonymised (the id stays).
pub fn anonymise_visit(visit: Visit) -> Option<Visit> {
    let mut parts = visit.into_parts();
    parts.customer = Customer {
        id: parts.customer.id,
        first_name: FirstName::parse(ERASED_NAME).ok()?,
        phone: PhoneE164::parse(ERASED_PHONE).ok()?,
        telegram_chat_id: None,
        consents: Consents::default(),
    };
    Visit::new(parts).ok()
}

/// Whether messages to the customer's phone or chat are suppressed by an erasure.
pub async fn suppressed<S: Store>(
    repos: &Repos<S>,
    customer: &Customer,
) -> Result<bool, StoreError> {
    let chat = customer.telegram_chat_id.map(|c| c.get());
    for handle in handles(chat, Some(customer.phone.as_str())) {
        if repos.erasure.handle_erased_since(handle).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// After a visit was stored: a visit that closed after an erasure and carries a consent lifts
/// the suppression of its handles; one that closed before the customer's erasure is anonymised
/// again (see the module's rule).
pub async fn honour_erasure<S: Store>(repos: &Repos<S>, visit: &Visit) -> Result<(), StoreError> {
    let customer = visit.customer();
    let closed_at = visit.closed_at().to_utc();
    if let Some(erased_at) = repos.erasure.erased_at(customer.id.as_str()).await? {
        if closed_at <= erased_at {
            let came_back = repos
                .visits
                .for_customer::<Visit>(customer.id.as_str())
                .await?
                .iter()
                .any(|v| v.visit.closed_at().to_utc() > erased_at);
            if !came_back {
                erase_profile(repos, customer, erased_at).await?;
                tracing::info!(customer_id = %customer.id.as_str(), "visit from before the erasure stored anonymised");
            }
            return Ok(());
        }
    }
    let consents = customer.consents;
    if !(consents.service_messages || consents.marketing) {
        return Ok(());
    }
    let chat = customer.telegram_chat_id.map(|c| c.get());
    for handle in handles(chat, Some(customer.phone.as_str())) {
        let lift = repos
            .erasure
            .handle_erased_since(handle)
            .await?
            .is_some_and(|since| closed_at > since);
        if lift && repos.erasure.lift(handle).await? {
            tracing::info!(customer_id = %customer.id.as_str(), "suppression lifted by a new consent");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{is_erase_request, is_stop};

    #[test]
    fn every_stop_word_counts_in_any_case_with_spaces_around() {
        for text in [
            "STOP",
            "stop",
            " Stop\n",
            "СТОП",
            "стоп",
            "/stop",
            "/STOP",
            "/stop@AutodriveBot",
            "Отписаться",
            "  ОТПИСАТЬСЯ ",
        ] {
            assert!(is_stop(text), "{text:?}");
        }
    }

    #[test]
    fn a_text_that_only_contains_a_stop_word_is_not_stop() {
        for text in [
            "stop please",
            "не стоп",
            "стопкран",
            "/start",
            "отписаться?",
            "",
            "stop@bot",
        ] {
            assert!(!is_stop(text), "{text:?}");
        }
    }

    #[test]
    fn an_erasure_request_is_read_in_any_case_with_a_final_stop() {
        for text in [
            "Удалите мои данные",
            "удалите мои данные.",
            " УДАЛИТЬ МОИ ДАННЫЕ! ",
            "/delete",
            "/delete@AutodriveBot",
        ] {
            assert!(is_erase_request(text), "{text:?}");
        }
        for text in ["удалите", "не удаляйте мои данные", "/deleted", "stop"]
        {
            assert!(!is_erase_request(text), "{text:?}");
        }
    }
}
