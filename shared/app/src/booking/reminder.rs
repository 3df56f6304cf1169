//! The day before a confirmed booking the customer gets a reminder: the time, the service's
//! address, what was agreed, with «Перенести» and «Отменить». The nightly run lists tomorrow's
//! confirmed bookings ([`reminders_due`]) and queues one reminder each on the compose queue,
//! not before [`REMINDER_TIME`] (or the end of the quiet hours); the composer sends it
//! ([`send_reminder`]) once per hold (a conditional mark on the booking), outside the quiet
//! hours, through the messenger the customer booked through.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, Utc};
use domain::contact::{in_quiet_hours, next_allowed_instant};
use domain::policy::Policy;
use domain::{ContactClass, Customer};
use store::repo::{Booking, BookingState, ReminderClaim, Repos};
use store::{Store, StoreError};

use super::advisor_actions::starts_at;
use super::buttons::customer_row;
use super::reserve::customer_address;
use super::terms::describe;
use super::BookingRecord;
use crate::compose::{ComposeError, SEND_LEASE_SECONDS};
use crate::messages::RemindBooking;
use crate::outreach::{
    choose_route, in_service_window, template_body, Delivery, Outreach, Route, Template,
    TEMPLATE_LANGUAGE,
};
use crate::ports::{Address, Messenger, OutgoingMessage};

/// The dealer's time of day reminders go out the day before the booking (later when the
/// policy's quiet hours last longer).
pub const REMINDER_TIME: (u32, u32) = (9, 0);

/// The WhatsApp template of a reminder outside the service window: {{1}} the first name,
/// {{2}} the reminder; its quick-reply buttons are «Перенести» and «Отменить».
pub const REMINDER_TEMPLATE: &str = "autodrive_booking_reminder";

/// What sending a reminder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// Sent through `channel` (`telegram`, `whatsapp` or `sms`).
    Sent {
        message_id: String,
        channel: &'static str,
    },
    /// It went out before.
    AlreadySent,
    /// Too early (or quiet hours): hand it back until `send_at`.
    NotYet { send_at: DateTime<Utc> },
    /// The booking moved, was cancelled or its time has come: nothing to remind of.
    Stale,
    /// The customer said STOP, withdrew consent to service messages, or cannot be reached.
    NotReachable,
}

/// The reminders of the night of `run_date`: the bookings confirmed for the next day not yet
/// reminded of, each not before [`REMINDER_TIME`] on `run_date` outside the quiet hours.
pub async fn reminders_due<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    run_date: NaiveDate,
) -> Result<Vec<RemindBooking>, StoreError> {
    let tomorrow = run_date + Days::new(1);
    let (h, m) = REMINDER_TIME;
    let at = run_date
        .and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default())
        .and_local_timezone(policy.time_zone())
        .earliest()
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let send_at = next_allowed_instant(policy, at);
    Ok(repos
        .capacity
        .bookings_on::<serde::de::IgnoredAny>(tomorrow)
        .await?
        .into_iter()
        .filter(|b| b.state == BookingState::Confirmed && b.reminded_at.is_none())
        .map(|b| RemindBooking::V1 {
            booking_id: b.booking_id,
            attempt: b.attempt,
            send_at,
        })
        .collect())
}

/// The reminder's text on `now`'s day; `with_buttons` when it goes with «Перенести» and
/// «Отменить» (not by SMS).
fn reminder_text(
    policy: &Policy,
    customer: &Customer,
    booking: &Booking<BookingRecord>,
    now: DateTime<Utc>,
    with_buttons: bool,
) -> String {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let day = booking.date.format("%d.%m");
    let when = if booking.date == today + Days::new(1) {
        format!("завтра, {day}, в {}", booking.start)
    } else {
        format!("{day} в {}", booking.start)
    };
    let dealer = policy.dealer();
    let mut text = format!(
        "{}, напоминаем: {when} ждём вас в «{}» по адресу: {}.",
        customer.first_name.as_str(),
        dealer.name,
        dealer.address
    );
    if let Some(terms) = &booking.booking.terms {
        for line in describe(terms, policy.time_zone(), true) {
            text.push(' ');
            text.push_str(&line);
        }
    }
    if with_buttons {
        text.push_str(" Если планы изменились, перенесите или отмените запись.");
    }
    text
}

/// Where the reminder goes: the messenger the customer booked through when this deployment
/// reaches it, else the customer's channel as offers choose it.
fn route(
    outreach_reach: crate::outreach::Reach,
    customer: &Customer,
    booking: &Booking<BookingRecord>,
    whatsapp_inbound_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Route> {
    let booked = match (
        booking.booking.channel,
        customer_address(customer, booking.booking.channel),
    ) {
        (Messenger::Telegram, Some(Address::Telegram(chat))) if outreach_reach.telegram => {
            Some(Route::Telegram(chat))
        }
        (Messenger::WhatsApp, Some(Address::WhatsApp(id))) if outreach_reach.whatsapp => {
            Some(match whatsapp_inbound_at {
                Some(last) if in_service_window(last, now) => Route::WhatsAppSession(id),
                _ => Route::WhatsAppTemplate(id),
            })
        }
        (Messenger::Sms, Some(Address::Sms(phone))) if outreach_reach.sms => {
            Some(Route::Sms(phone))
        }
        _ => None,
    };
    booked.or_else(|| {
        choose_route(
            customer,
            ContactClass::Service,
            whatsapp_inbound_at,
            outreach_reach,
            now,
        )
        .ok()
    })
}

fn delivery(
    route: Route,
    customer: &Customer,
    booking: &Booking<BookingRecord>,
    text: String,
) -> Delivery {
    let buttons = vec![customer_row(&booking.booking_id, booking.attempt)];
    let message = |to: Address| {
        Delivery::Message(OutgoingMessage {
            to,
            text: text.clone(),
            buttons: buttons.clone(),
        })
    };
    match route {
        Route::Telegram(chat) => message(Address::Telegram(chat)),
        Route::WhatsAppSession(id) => message(Address::WhatsApp(id)),
        Route::WhatsAppTemplate(id) => Delivery::Template {
            to: id,
            template: Template {
                name: REMINDER_TEMPLATE.into(),
                language: TEMPLATE_LANGUAGE.into(),
                body: template_body(customer.first_name.as_str(), &text),
                quick_replies: buttons
                    .concat()
                    .into_iter()
                    .map(|b| b.callback_data)
                    .collect(),
            },
        },
        Route::Sms(phone) => Delivery::Sms {
            to: phone,
            text: crate::sms_text::fit_sms(&text),
        },
    }
}

/// Sends the reminder at `now` as `sender` (the invocation's id), once per hold.
pub async fn send_reminder<S: Store, O: Outreach>(
    repos: &Repos<S>,
    policy: &Policy,
    outreach: &O,
    message: &RemindBooking,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<ReminderOutcome, ComposeError> {
    let RemindBooking::V1 {
        booking_id,
        attempt,
        send_at,
    } = message;
    if *send_at > now {
        return Ok(ReminderOutcome::NotYet { send_at: *send_at });
    }
    if in_quiet_hours(policy, now) {
        return Ok(ReminderOutcome::NotYet {
            send_at: next_allowed_instant(policy, now),
        });
    }
    let Some(booking) = repos.capacity.booking::<BookingRecord>(booking_id).await? else {
        return Ok(ReminderOutcome::Stale);
    };
    let current = booking.state == BookingState::Confirmed && booking.attempt == *attempt;
    if !current || starts_at(policy, &booking).is_none_or(|start| start <= now) {
        tracing::info!(booking_id = %booking_id, attempt, "reminder of a changed booking dropped");
        return Ok(ReminderOutcome::Stale);
    }
    let Some(stored) = repos
        .customers
        .get::<Customer>(&booking.customer_id)
        .await?
    else {
        return Ok(ReminderOutcome::NotReachable);
    };
    if stored.opted_out()
        || !stored.profile.consents.allows(ContactClass::Service)
        || super::rights::suppressed(repos, &stored.profile).await?
    {
        tracing::info!(booking_id = %booking_id, "reminder not sent: opted out or no consent");
        return Ok(ReminderOutcome::NotReachable);
    }
    let customer = &stored.profile;
    let Some(route) = route(
        outreach.reach(),
        customer,
        &booking,
        stored.whatsapp_inbound_at,
        now,
    ) else {
        tracing::info!(booking_id = %booking_id, "reminder not sent: no channel");
        return Ok(ReminderOutcome::NotReachable);
    };
    let lease = Duration::seconds(SEND_LEASE_SECONDS);
    match repos
        .capacity
        .claim_reminder(booking_id, *attempt, sender, now, lease)
        .await?
    {
        ReminderClaim::Claimed => {}
        ReminderClaim::AlreadySent => return Ok(ReminderOutcome::AlreadySent),
        ReminderClaim::Stale => return Ok(ReminderOutcome::Stale),
        ReminderClaim::Busy => return Err(ComposeError::Busy(booking_id.clone())),
    }
    let with_buttons = !matches!(route, Route::Sms(_));
    let text = reminder_text(policy, customer, &booking, now, with_buttons);
    let channel = route.channel();
    match outreach
        .deliver(&delivery(route, customer, &booking, text))
        .await
    {
        Ok(message_id) => {
            repos
                .capacity
                .mark_reminded(booking_id, sender, now)
                .await?;
            tracing::info!(booking_id = %booking_id, attempt, "booking reminder sent");
            Ok(ReminderOutcome::Sent {
                message_id,
                channel,
            })
        }
        Err(error) => {
            repos.capacity.release_reminder(booking_id, sender).await?;
            Err(ComposeError::Channel { channel, error })
        }
    }
}
