//! Which channel a customer's message goes through and in what form: Telegram when the customer
//! has a chat with the bot; else WhatsApp when they have written to the business number (inside
//! the 24-hour service window an interactive message, outside it an approved template); else SMS
//! with a signed link to the booking page. A channel counts only if this deployment can send
//! through it, and nothing goes out without the customer's consent to the message's class.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use domain::triggers::Stage;
use domain::{ContactClass, Customer, PhoneE164};
use store::repo::Repos;
use store::{Store, StoreError};

use crate::ports::{Channel, OutgoingMessage, WhatsAppId};

/// How long after the customer's last WhatsApp message free-form messages may be sent.
pub const SERVICE_WINDOW_HOURS: i64 = 24;

/// The language of every template message.
pub const TEMPLATE_LANGUAGE: &str = "ru";

/// The channels this deployment can send through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    pub telegram: bool,
    pub whatsapp: bool,
    pub sms: bool,
}

/// Where and how one message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Telegram(i64),
    /// Inside the service window: text or interactive.
    WhatsAppSession(WhatsAppId),
    /// Outside the service window: an approved template.
    WhatsAppTemplate(WhatsAppId),
    Sms(PhoneE164),
}

impl Route {
    /// The messenger: `telegram`, `whatsapp` (session or template) or `sms`.
    pub fn channel(&self) -> &'static str {
        match self {
            Route::Telegram(_) => "telegram",
            Route::WhatsAppSession(_) | Route::WhatsAppTemplate(_) => "whatsapp",
            Route::Sms(_) => "sms",
        }
    }
}

/// Why a message has no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// The customer has not consented to messages of this class.
    NoConsent(ContactClass),
    /// None of the customer's channels is one this deployment sends through.
    NoChannel,
}

/// The route of a message of `class` to `customer` at `now`: Telegram, else WhatsApp (known from
/// `whatsapp_inbound_at`, the customer's last WhatsApp message), else SMS.
pub fn choose_route(
    customer: &Customer,
    class: ContactClass,
    whatsapp_inbound_at: Option<DateTime<Utc>>,
    reach: Reach,
    now: DateTime<Utc>,
) -> Result<Route, Unreachable> {
    if !customer.consents.allows(class) {
        return Err(Unreachable::NoConsent(class));
    }
    if let (true, Some(chat)) = (reach.telegram, customer.telegram_chat_id) {
        return Ok(Route::Telegram(chat.get()));
    }
    if let (true, Some(last)) = (reach.whatsapp, whatsapp_inbound_at) {
        let id = WhatsAppId::of_phone(&customer.phone);
        return Ok(if in_service_window(last, now) {
            Route::WhatsAppSession(id)
        } else {
            Route::WhatsAppTemplate(id)
        });
    }
    if reach.sms {
        return Ok(Route::Sms(customer.phone.clone()));
    }
    Err(Unreachable::NoChannel)
}

/// Whether free-form WhatsApp messages may still be sent after the customer wrote at `last`.
pub fn in_service_window(last: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    last <= now && now - last < Duration::hours(SERVICE_WINDOW_HOURS)
}

/// An approved WhatsApp template: name, language, the body's text parameters in order and the
/// payloads of its quick-reply buttons (indices 0, 1, ...), if it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub body: Vec<String>,
    pub quick_replies: Vec<String>,
}

/// What goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A Telegram message, or a WhatsApp message inside the service window.
    Message(OutgoingMessage),
    Template {
        to: WhatsAppId,
        template: Template,
    },
    Sms {
        to: PhoneE164,
        text: String,
    },
}

/// Sends deliveries through the channels of this deployment.
pub trait Outreach: Send + Sync {
    fn reach(&self) -> Reach;
    /// Sends; returns the channel's message id. An error means it was not sent (as far as the
    /// sender can tell) and may be retried.
    fn deliver(&self, delivery: &Delivery) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// A Telegram-only outreach over a [`Channel`] (local runs and tests).
pub struct TelegramOnly<'a, C>(pub &'a C);

impl<C: Channel> Outreach for TelegramOnly<'_, C> {
    fn reach(&self) -> Reach {
        Reach {
            telegram: true,
            ..Reach::default()
        }
    }

    async fn deliver(&self, delivery: &Delivery) -> anyhow::Result<String> {
        match delivery {
            Delivery::Message(message) => self.0.send(message).await,
            _ => anyhow::bail!("only Telegram messages go through this channel"),
        }
    }
}

/// The template name of each stage: `autodrive_<stage>` unless configured otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhatsAppTemplates {
    names: BTreeMap<Stage, String>,
}

impl WhatsAppTemplates {
    /// From `stage=name,stage=name` (e.g. `soft_reminder=to_reminder_v2`); stages not named keep
    /// their default. Names are Meta's: lower-case letters, digits and `_`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut names = BTreeMap::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (stage, name) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not stage=template"))?;
            let stage = Stage::parse(stage.trim())
                .ok_or_else(|| format!("{:?} is not a stage", stage.trim()))?;
            let name = name.trim();
            let valid = !name.is_empty()
                && name.len() <= 512
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(format!(
                    "{name:?}: a template name is lower-case letters, digits and _"
                ));
            }
            names.insert(stage, name.to_owned());
        }
        Ok(WhatsAppTemplates { names })
    }

    pub fn name(&self, stage: Stage) -> String {
        self.names
            .get(&stage)
            .cloned()
            .unwrap_or_else(|| format!("autodrive_{}", stage.as_str()))
    }
}

/// The body parameters of a stage's template: {{1}} the first name, {{2}} the message without
/// the leading «Имя, », on one line (templates take no line breaks, tabs or runs of spaces).
pub fn template_body(first_name: &str, text: &str) -> Vec<String> {
    let rest = text
        .strip_prefix(first_name)
        .and_then(|r| r.strip_prefix(", "))
        .unwrap_or(text);
    let mut chars = rest.chars();
    let rest = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    let flat = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    vec![first_name.to_owned(), flat.chars().take(1000).collect()]
}

/// Records that the customer on WhatsApp `from` wrote at `at` (opens the service window).
/// Senders the store does not know are skipped.
pub async fn note_whatsapp_inbound<S: Store>(
    repos: &Repos<S>,
    from: &WhatsAppId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(customer_id) = repos.customers.by_phone(&from.e164()).await? {
        repos
            .customers
            .note_whatsapp_inbound(&customer_id, at)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(telegram: Option<i64>, service: bool, marketing: bool) -> Customer {
        serde_json::from_value(serde_json::json!({
            "id": "C-1", "first_name": "Анна", "phone": "+79161234567",
            "telegram_chat_id": telegram,
            "consents": {"service_messages": service, "marketing": marketing}
        }))
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const ALL: Reach = Reach {
        telegram: true,
        whatsapp: true,
        sms: true,
    };

    #[test]
    fn telegram_comes_first_then_whatsapp_then_sms() {
        let now = at("2027-11-01T10:00:00Z");
        let recent = Some(at("2027-11-01T08:00:00Z"));
        let id = WhatsAppId::parse("79161234567").unwrap();
        let c = customer(Some(42), true, true);
        assert_eq!(
            choose_route(&c, ContactClass::Service, recent, ALL, now),
            Ok(Route::Telegram(42))
        );
        let c = customer(None, true, true);
        assert_eq!(
            choose_route(&c, ContactClass::Service, recent, ALL, now),
            Ok(Route::WhatsAppSession(id))
        );
        assert_eq!(
            choose_route(&c, ContactClass::Marketing, None, ALL, now),
            Ok(Route::Sms(c.phone.clone()))
        );
    }

    #[test]
    fn whatsapp_outside_the_service_window_takes_a_template() {
        let c = customer(None, true, true);
        let now = at("2027-11-02T10:00:00Z");
        let route = choose_route(
            &c,
            ContactClass::Service,
            Some(at("2027-11-01T10:00:00Z")),
            ALL,
            now,
        );
        assert!(matches!(route, Ok(Route::WhatsAppTemplate(_))), "{route:?}");
        assert!(in_service_window(at("2027-11-01T10:00:01Z"), now));
    }

    #[test]
    fn a_channel_the_deployment_lacks_is_skipped_and_none_left_is_no_channel() {
        let c = customer(Some(42), true, true);
        let sms_only = Reach {
            sms: true,
            ..Reach::default()
        };
        let now = at("2027-11-01T10:00:00Z");
        assert_eq!(
            choose_route(&c, ContactClass::Service, Some(now), sms_only, now),
            Ok(Route::Sms(c.phone.clone()))
        );
        assert_eq!(
            choose_route(&c, ContactClass::Service, None, Reach::default(), now),
            Err(Unreachable::NoChannel)
        );
    }

    #[test]
    fn without_consent_to_the_class_no_channel_is_chosen() {
        let now = at("2027-11-01T10:00:00Z");
        let c = customer(Some(42), true, false);
        assert_eq!(
            choose_route(&c, ContactClass::Marketing, Some(now), ALL, now),
            Err(Unreachable::NoConsent(ContactClass::Marketing))
        );
        assert!(choose_route(&c, ContactClass::Service, None, ALL, now).is_ok());
    }

    #[test]
    fn template_names_default_per_stage_and_can_be_renamed() {
        let t = WhatsAppTemplates::parse("soft_reminder = to_soon_v2").unwrap();
        assert_eq!(t.name(Stage::SoftReminder), "to_soon_v2");
        assert_eq!(t.name(Stage::PersonalOffer), "autodrive_personal_offer");
        assert!(WhatsAppTemplates::parse("soft_reminder=Bad Name").is_err());
        assert!(WhatsAppTemplates::parse("nonsense=x").is_err());
    }

    #[test]
    fn template_parameters_are_one_line_without_the_name() {
        let body = template_body("Анна", "Анна, вашему авто\nпора на ТО.     Ждём.");
        assert_eq!(body, vec!["Анна", "Вашему авто пора на ТО. Ждём."]);
    }
}
