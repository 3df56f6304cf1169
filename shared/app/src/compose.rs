//! Composing and sending one stage's message: choose the customer's channel, price the offer,
//! render the Russian text, then the outbox (create once, lease, send, mark sent) so a message
//! goes out at most once.

use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::pricing::{declined_work_lines, price_declined_work, price_offer, Offer, OfferInput};
use domain::render::{render_message, MessageContext};
use domain::status::{age_band, status_for_car};
use domain::triggers::{Reason, Stage};
use domain::{Customer, Vehicle, Visit};
use serde::{Deserialize, Serialize};
use store::repo::{Claim, NewOffer, Repos};
use store::{Store, StoreError};

use crate::booking_link::BookingLinks;
use crate::messages::ComposeOffer;
use crate::outreach::{
    choose_route, template_body, Delivery, Outreach, Route, TelegramOnly, Template, Unreachable,
    WhatsAppTemplates, TEMPLATE_LANGUAGE,
};
use crate::ports::{Address, Button, Channel, OutgoingMessage};
use crate::sms_text::sms_text;

/// The label of the booking button.
pub const BOOK_BUTTON: &str = "Записаться";
/// Callback data of the booking button: `book:<offer id>`.
pub const BOOK_PREFIX: &str = "book:";

/// How long a sender holds an offer before another may take over.
pub const SEND_LEASE_SECONDS: i64 = 60;

/// An offer as kept in the outbox and the customer's history (no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub cycle_id: String,
    pub stage: Stage,
    pub reason: Reason,
    pub send_at: DateTime<Utc>,
    pub priced: Option<Offer>,
}

/// What composing did.
#[derive(Debug, Clone, PartialEq)]
pub enum ComposeOutcome {
    /// Sent now, with the messenger's message id, through `channel` ([`Route::channel`]);
    /// `rule` is the offer rule that priced it (`None` for a reminder).
    Sent {
        message_id: String,
        channel: &'static str,
        rule: Option<String>,
    },
    /// This offer was sent before; nothing was sent again.
    AlreadySent,
    /// Too early (quiet hours): hand it back until `send_at`.
    NotYet { send_at: DateTime<Utc> },
    /// No channel this system can send the customer's message through.
    NoChannel,
    /// The customer withdrew consent to this class of message after it was queued.
    NoConsent,
    /// The customer said STOP after the message was queued: nothing is sent.
    OptedOut,
    /// The vehicle moved to another customer after the message was queued: nothing is sent to
    /// the old owner.
    Stale,
    /// The marketer switched the stage off after the message was queued: nothing is sent.
    SwitchedOff,
}

/// Why composing failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The message names data the store does not have: retrying does not help.
    #[error("{0}")]
    Unknown(String),
    /// Another sender holds the offer's lease; retry later.
    #[error("offer {0} is being sent by another sender")]
    Busy(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The messenger of `channel` ([`Route::channel`]) failed; the lease was given back, retry
    /// later.
    #[error("channel {channel}: {error:#}")]
    Channel {
        channel: &'static str,
        error: anyhow::Error,
    },
}

/// What composing needs beyond the store and the policy: the WhatsApp template names and the
/// booking links SMS messages carry (without them SMS is not used).
#[derive(Debug, Clone, Default)]
pub struct ComposeSettings {
    pub templates: WhatsAppTemplates,
    pub links: Option<BookingLinks>,
}

/// Composes and sends the stage's message at `now` as `sender` (the invocation's id) through a
/// Telegram-only `channel` (local runs and tests).
pub async fn compose_and_send<S: Store, C: Channel>(
    repos: &Repos<S>,
    policy: &Policy,
    channel: &C,
    message: &ComposeOffer,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<ComposeOutcome, ComposeError> {
    let settings = ComposeSettings::default();
    compose_and_deliver(
        repos,
        policy,
        &TelegramOnly(channel),
        &settings,
        message,
        sender,
        now,
    )
    .await
}

/// Composes and sends the stage's message at `now` as `sender` through the customer's channel
/// (see [`crate::outreach`]).
pub async fn compose_and_deliver<S: Store, O: Outreach>(
    repos: &Repos<S>,
    policy: &Policy,
    outreach: &O,
    settings: &ComposeSettings,
    message: &ComposeOffer,
    sender: &str,
    now: DateTime<Utc>,
) -> Result<ComposeOutcome, ComposeError> {
    let ComposeOffer::V1 {
        offer_id,
        vin,
        customer_id,
        cycle_id,
        stage,
        reason,
        send_at,
    } = message;
    if *send_at > now {
        return Ok(ComposeOutcome::NotYet { send_at: *send_at });
    }
    let stored_vehicle = repos
        .vehicles
        .get::<Vehicle>(vin)
        .await?
        .ok_or_else(|| ComposeError::Unknown(format!("vehicle {vin} not found")))?;
    if stored_vehicle.customer_id != *customer_id {
        tracing::info!(offer_id = %offer_id, vehicle_id = %vin, customer_id = %customer_id, owner_id = %stored_vehicle.customer_id, "stale: the vehicle has another owner");
        return Ok(ComposeOutcome::Stale);
    }
    // A stage switched off after the night queued it (waiting for the end of the quiet hours)
    // sends nothing: «off» means nothing more goes out.
    if !crate::campaigns::Switches::load(repos)
        .await?
        .stage_on(*stage)
    {
        tracing::info!(offer_id = %offer_id, %stage, "stage switched off since it was queued");
        return Ok(ComposeOutcome::SwitchedOff);
    }
    let Some(stored) = repos.customers.get::<Customer>(customer_id).await? else {
        if repos.erasure.erased_at(customer_id).await?.is_some() {
            tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "personal data erased");
            return Ok(ComposeOutcome::OptedOut);
        }
        return Err(ComposeError::Unknown(format!(
            "customer {customer_id} not found"
        )));
    };
    if stored.opted_out() {
        tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "opted out");
        return Ok(ComposeOutcome::OptedOut);
    }
    if crate::booking::rights::suppressed(repos, &stored.profile).await? {
        tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "suppressed after an erasure");
        return Ok(ComposeOutcome::OptedOut);
    }
    let whatsapp_inbound_at = stored.whatsapp_inbound_at;
    let customer = stored.profile;
    let mut reach = outreach.reach();
    reach.sms &= settings.links.is_some() && has_booking_button(*stage);
    let route = match choose_route(
        &customer,
        stage.class_for(reason),
        whatsapp_inbound_at,
        reach,
        now,
    ) {
        Ok(route) => route,
        Err(Unreachable::NoConsent(_)) => {
            tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "no consent");
            return Ok(ComposeOutcome::NoConsent);
        }
        Err(Unreachable::NoChannel) => {
            tracing::info!(offer_id = %offer_id, customer_id = %customer_id, "no channel");
            return Ok(ComposeOutcome::NoChannel);
        }
    };
    if let Some(why) =
        crate::contact_state::withheld(repos, &stored_vehicle, customer_id, *stage, reason).await?
    {
        tracing::info!(offer_id = %offer_id, vehicle_id = %vin, %stage, why, "withheld by the owner's answer");
        return Ok(ComposeOutcome::NoConsent);
    }
    let vehicle = stored_vehicle.vehicle;
    let priced = if stage.is_offer() {
        price(repos, policy, &vehicle, customer_id, reason, now).await?
    } else {
        None
    };
    let record = OfferRecord {
        cycle_id: cycle_id.clone(),
        stage: *stage,
        reason: reason.clone(),
        send_at: *send_at,
        priced,
    };
    repos
        .offers
        .create(&NewOffer {
            offer_id,
            customer_id,
            vin,
            created_at: now,
            offer: &record,
        })
        .await?;
    let lease = Duration::seconds(SEND_LEASE_SECONDS);
    match repos
        .offers
        .claim::<OfferRecord>(offer_id, sender, now, lease)
        .await?
    {
        Claim::Claimed(_) => {}
        Claim::AlreadySent => return Ok(ComposeOutcome::AlreadySent),
        Claim::Busy => return Err(ComposeError::Busy(offer_id.clone())),
        Claim::Missing => return Err(ComposeError::Unknown(format!("offer {offer_id} vanished"))),
    }
    let car = format!("{} {}", vehicle.make().as_str(), vehicle.model().as_str());
    let text = render_message(&MessageContext {
        first_name: customer.first_name.as_str(),
        car: &car,
        stage: *stage,
        reason,
        offer: record.priced.as_ref(),
        time_zone: policy.time_zone(),
    });
    let delivery = match delivery(
        &route,
        settings,
        *stage,
        offer_id,
        customer.first_name.as_str(),
        text,
        now,
    ) {
        Some(d) => d,
        None => {
            repos.offers.release(offer_id, sender).await?;
            return Err(ComposeError::Unknown(format!(
                "offer {offer_id}: no SMS text fits with the booking link"
            )));
        }
    };
    let channel = route_name(&route);
    match outreach.deliver(&delivery).await {
        Ok(message_id) => {
            repos.offers.mark_sent(offer_id, sender, now).await?;
            crate::kpi::delivery::note_sent(repos, &route, offer_id, customer_id, &message_id, now)
                .await;
            tracing::info!(offer_id = %offer_id, vehicle_id = %vin, %stage, channel, "offer sent");
            Ok(ComposeOutcome::Sent {
                message_id,
                channel: route.channel(),
                rule: record
                    .priced
                    .as_ref()
                    .and_then(|p| p.rule_ids.first().cloned()),
            })
        }
        Err(error) => {
            repos.offers.release(offer_id, sender).await?;
            Err(ComposeError::Channel {
                channel: route.channel(),
                error,
            })
        }
    }
}

fn has_booking_button(stage: Stage) -> bool {
    match stage {
        Stage::SoftReminder
        | Stage::PersonalOffer
        | Stage::CriticalOffer
        | Stage::SeasonalTires
        | Stage::DeclinedWork => true,
        Stage::AskOdometer | Stage::SatisfactionRequest => false,
    }
}

/// The answers under an offer or reminder: «Записаться», «Уже обслужился», «Напомнить позже»,
/// «Не присылать» (in this order, also as a template's quick replies 0 to 3).
pub fn answers(offer_id: &str) -> [(&'static str, String); 4] {
    use crate::booking::answers::{DONE_BUTTON, DONE_PREFIX, LATER_BUTTON, LATER_PREFIX};
    use crate::booking::answers::{MUTE_BUTTON, MUTE_PREFIX};
    [
        (BOOK_BUTTON, format!("{BOOK_PREFIX}{offer_id}")),
        (DONE_BUTTON, format!("{DONE_PREFIX}{offer_id}")),
        (LATER_BUTTON, format!("{LATER_PREFIX}{offer_id}")),
        (MUTE_BUTTON, format!("{MUTE_PREFIX}{offer_id}")),
    ]
}

/// The buttons of a stage's message: the four answers on offers and reminders, in three rows.
pub fn buttons(stage: Stage, offer_id: &str) -> Vec<Vec<Button>> {
    if !has_booking_button(stage) {
        return vec![];
    }
    let [book, done, later, mute] = answers(offer_id).map(|(text, data)| Button::new(text, data));
    vec![vec![book], vec![done, later], vec![mute]]
}

fn route_name(route: &Route) -> &'static str {
    match route {
        Route::Telegram(_) => "telegram",
        Route::WhatsAppSession(_) => "whatsapp",
        Route::WhatsAppTemplate(_) => "whatsapp_template",
        Route::Sms(_) => "sms",
    }
}

/// The message in the route's form; `None` when no SMS text fits.
fn delivery(
    route: &Route,
    settings: &ComposeSettings,
    stage: Stage,
    offer_id: &str,
    first_name: &str,
    text: String,
    now: DateTime<Utc>,
) -> Option<Delivery> {
    Some(match route {
        Route::Telegram(chat) => Delivery::Message(OutgoingMessage {
            to: Address::Telegram(*chat),
            text,
            buttons: buttons(stage, offer_id),
        }),
        Route::WhatsAppSession(id) => Delivery::Message(OutgoingMessage {
            to: Address::WhatsApp(id.clone()),
            text,
            buttons: buttons(stage, offer_id),
        }),
        Route::WhatsAppTemplate(id) => Delivery::Template {
            to: id.clone(),
            template: Template {
                name: settings.templates.name(stage),
                language: TEMPLATE_LANGUAGE.into(),
                body: template_body(first_name, &text),
                quick_replies: if has_booking_button(stage) {
                    answers(offer_id)
                        .into_iter()
                        .map(|(_, data)| data)
                        .collect()
                } else {
                    vec![]
                },
            },
        },
        Route::Sms(phone) => {
            let link = settings.links.as_ref()?.link(offer_id, now)?;
            Delivery::Sms {
                to: phone.clone(),
                text: sms_text(stage, first_name, &link)?,
            }
        }
    })
}

/// The text of offer `offer_id` as its message said it (for the booking page), re-rendered
/// from the stored offer; `None` if the offer, its customer or its vehicle is gone.
pub async fn offer_text<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    offer_id: &str,
) -> Result<Option<String>, StoreError> {
    let Some(offer) = repos.offers.get::<OfferRecord>(offer_id).await? else {
        return Ok(None);
    };
    let Some(customer) = repos.customers.get::<Customer>(&offer.customer_id).await? else {
        return Ok(None);
    };
    let Some(vehicle) = repos.vehicles.get::<Vehicle>(&offer.vin).await? else {
        return Ok(None);
    };
    let vehicle = vehicle.vehicle;
    let car = format!("{} {}", vehicle.make().as_str(), vehicle.model().as_str());
    let record = offer.offer;
    Ok(Some(render_message(&MessageContext {
        first_name: customer.profile.first_name.as_str(),
        car: &car,
        stage: record.stage,
        reason: &record.reason,
        offer: record.priced.as_ref(),
        time_zone: policy.time_zone(),
    })))
}

async fn price<S: Store>(
    repos: &Repos<S>,
    policy: &Policy,
    vehicle: &Vehicle,
    customer_id: &str,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<Option<Offer>, ComposeError> {
    let today = now.with_timezone(&policy.time_zone()).date_naive();
    let visits = repos.visits.for_customer::<Visit>(customer_id).await?;
    let days: Vec<_> = visits
        .iter()
        .map(|v| v.closed_on)
        .filter(|d| *d <= today)
        .collect();
    // Relative to this car's forecast (as of the last night), so a customer who comes on
    // schedule is not sleeping before every due date.
    let due = repos.forecasts.get(vehicle.vin().as_str()).await?;
    let status = status_for_car(
        policy,
        vehicle,
        due.map(|d| d.due_date),
        &days,
        false,
        today,
    );
    let band = age_band(vehicle.first_registration(), today, policy.age_bands());
    let last_maintenance = visits
        .iter()
        .rev()
        .filter(|v| v.vin == vehicle.vin().as_str())
        .find(|v| v.visit.kind().is_scheduled_maintenance());
    let input = OfferInput {
        status,
        age_band: band,
        make: vehicle.make().as_str(),
        model: vehicle.model().as_str(),
        last_maintenance: last_maintenance.map_or(&[][..], |v| v.visit.lines()),
        at: now,
    };
    let priced = match reason {
        Reason::DeclinedWork { visit, codes, .. } => {
            let tz = policy.time_zone();
            let recommending = visits.iter().rev().find(|v| {
                v.vin == vehicle.vin().as_str()
                    && v.visit.closed_on(tz) == *visit
                    && !v.visit.recommendations().is_empty()
            });
            let lines = recommending.map_or_else(Vec::new, |v| {
                let named: Vec<_> = v
                    .visit
                    .recommendations()
                    .iter()
                    .filter(|r| codes.contains(&r.code))
                    .collect();
                declined_work_lines(&named, v.visit.lines())
            });
            price_declined_work(policy, &input, &lines)
        }
        _ => price_offer(policy, &input),
    };
    match priced {
        Ok(mut offer) => {
            crate::incentives::place_bonus(repos, policy, &mut offer, now).await?;
            Ok(Some(offer))
        }
        Err(e) => {
            tracing::warn!(vehicle_id = %vehicle.vin().as_str(), error = %e, "offer not priced");
            Ok(None)
        }
    }
}
