//! Small ports the use cases' callers hand messages to.

use std::fmt;
use std::future::Future;
use std::sync::Mutex;

use domain::PhoneE164;

/// Where versioned messages go next (an SQS queue in Lambda, a vector in process).
pub trait Outbound: Send + Sync + 'static {
    /// Sends every body or fails (the caller retries; consumers are idempotent).
    fn send(&self, bodies: Vec<String>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Collects messages in memory (local runs and tests).
#[derive(Debug, Default)]
pub struct Collected(Mutex<Vec<String>>);

impl Collected {
    /// Every message sent so far, removed.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Outbound for Collected {
    async fn send(&self, bodies: Vec<String>) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(bodies);
        Ok(())
    }
}

/// A button under a message; `callback_data` comes back when the customer presses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub text: String,
    pub callback_data: String,
}

/// Most bytes of a button's callback data (Telegram's limit; WhatsApp allows more).
pub const MAX_CALLBACK_DATA: usize = 64;

impl Button {
    /// A button; panics when `callback_data` is empty or longer than [`MAX_CALLBACK_DATA`]
    /// bytes (a bug: the messenger would refuse the whole message).
    pub fn new(text: impl Into<String>, callback_data: impl Into<String>) -> Self {
        let button = Button {
            text: text.into(),
            callback_data: callback_data.into(),
        };
        button.assert_fits();
        button
    }

    /// Panics when the callback data does not fit a button.
    pub fn assert_fits(&self) {
        let len = self.callback_data.len();
        assert!(
            (1..=MAX_CALLBACK_DATA).contains(&len),
            "callback data of {len} bytes: 1 to {MAX_CALLBACK_DATA} fit a button"
        );
    }
}

/// The messengers customers write from and are answered through.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Messenger {
    #[default]
    Telegram,
    WhatsApp,
    /// SMS out, with a signed link to the booking page; the page acts for the customer.
    Sms,
}

impl Messenger {
    pub fn as_str(self) -> &'static str {
        match self {
            Messenger::Telegram => "telegram",
            Messenger::WhatsApp => "whatsapp",
            Messenger::Sms => "sms",
        }
    }
}

impl fmt::Display for Messenger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a WhatsApp user id was rejected. Messages never repeat the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhatsAppIdError {
    #[error("a WhatsApp id is the phone's digits only, without '+', spaces or punctuation")]
    NotDigits,
    #[error("a WhatsApp id has 8 to 15 digits, got {0}")]
    WrongLength(usize),
    #[error("a WhatsApp id does not start with 0")]
    LeadingZero,
}

/// A WhatsApp user id: the phone number's 8–15 digits in international form, without `+` (what
/// the Cloud API puts in `from` and takes in `to`). `Debug` and `Display` hide all but the last
/// two digits; [`WhatsAppId::as_str`] gives the id for sending.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WhatsAppId(String);

impl WhatsAppId {
    pub fn parse(text: &str) -> Result<Self, WhatsAppIdError> {
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WhatsAppIdError::NotDigits);
        }
        if !(8..=15).contains(&text.len()) {
            return Err(WhatsAppIdError::WrongLength(text.len()));
        }
        if text.starts_with('0') {
            return Err(WhatsAppIdError::LeadingZero);
        }
        Ok(WhatsAppId(text.to_owned()))
    }

    /// The id of the WhatsApp account on an E.164 phone number.
    pub fn of_phone(phone: &PhoneE164) -> Self {
        WhatsAppId(phone.as_str().trim_start_matches('+').to_owned())
    }

    /// The phone number in E.164 form (`+` and the digits), as customer profiles hold it.
    pub fn e164(&self) -> String {
        format!("+{}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn masked(&self) -> String {
        let hidden = self.0.len() - 2;
        format!("{}{}", "*".repeat(hidden), &self.0[hidden..])
    }
}

impl fmt::Debug for WhatsAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WhatsAppId").field(&self.masked()).finish()
    }
}

impl fmt::Display for WhatsAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Where a message comes from or goes to: a messenger and the id it knows the person by.
/// `Display` names the messenger and hides phone numbers, so it may go into logs and errors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A Telegram chat id (a private chat or the advisors' group).
    Telegram(i64),
    WhatsApp(WhatsAppId),
    /// A phone reached by SMS (and the booking page its link opens).
    Sms(PhoneE164),
}

impl Address {
    pub fn messenger(&self) -> Messenger {
        match self {
            Address::Telegram(_) => Messenger::Telegram,
            Address::WhatsApp(_) => Messenger::WhatsApp,
            Address::Sms(_) => Messenger::Sms,
        }
    }

    /// How many buttons a message to this address may carry: WhatsApp lists hold 10 rows.
    pub fn max_buttons(&self) -> usize {
        match self {
            Address::Telegram(_) => 100,
            Address::WhatsApp(_) | Address::Sms(_) => 10,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Telegram(chat) => write!(f, "telegram chat {chat}"),
            Address::WhatsApp(id) => write!(f, "whatsapp user {id}"),
            Address::Sms(phone) => write!(f, "sms {}", phone.masked()),
        }
    }
}

/// A message to one address, with rows of buttons (each channel renders them its own way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub to: Address,
    pub text: String,
    pub buttons: Vec<Vec<Button>>,
}

impl OutgoingMessage {
    /// A plain text without buttons.
    pub fn text(to: Address, text: impl Into<String>) -> Self {
        OutgoingMessage {
            to,
            text: text.into(),
            buttons: vec![],
        }
    }
}

/// A messenger the customer is reached through.
pub trait Channel: Send + Sync + 'static {
    /// Sends the message; returns the messenger's message id. An error means it was not sent
    /// (as far as the sender can tell) and may be retried.
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = anyhow::Result<String>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whatsapp_id_is_the_phones_digits_and_hides_them_in_logs() {
        let phone = PhoneE164::parse("+79161234567").unwrap();
        let id = WhatsAppId::of_phone(&phone);
        assert_eq!(id, WhatsAppId::parse("79161234567").unwrap());
        assert_eq!(id.as_str(), "79161234567");
        assert_eq!(id.e164(), "+79161234567");
        assert_eq!(format!("{id:?}"), "WhatsAppId(\"*********67\")");
        let address = Address::WhatsApp(id);
        assert_eq!(address.to_string(), "whatsapp user *********67");
        assert!(!format!("{address:?}").contains("916123"));
    }

    #[test]
    fn a_whatsapp_id_with_a_plus_a_wrong_length_or_a_leading_zero_is_rejected() {
        assert_eq!(
            WhatsAppId::parse("+79161234567"),
            Err(WhatsAppIdError::NotDigits)
        );
        assert_eq!(
            WhatsAppId::parse("7916 123"),
            Err(WhatsAppIdError::NotDigits)
        );
        assert_eq!(
            WhatsAppId::parse("7916123"),
            Err(WhatsAppIdError::WrongLength(7))
        );
        assert_eq!(
            WhatsAppId::parse("7916123456789012"),
            Err(WhatsAppIdError::WrongLength(16))
        );
        assert_eq!(
            WhatsAppId::parse("09161234567"),
            Err(WhatsAppIdError::LeadingZero)
        );
    }

    #[test]
    fn a_whatsapp_message_holds_at_most_ten_buttons() {
        let id = WhatsAppId::parse("79161234567").unwrap();
        assert_eq!(Address::WhatsApp(id).max_buttons(), 10);
        assert!(Address::Telegram(1).max_buttons() > 10);
    }
}
