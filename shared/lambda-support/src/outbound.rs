//! The messenger and SMS endpoints a function sends through, from the environment: the same keys
//! and checks for every function that talks to customers.

use crate::ConfigError;

/// Where Telegram, WhatsApp and SMS go, and where the booking page's links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundConfig {
    pub telegram_api_url: String,
    pub whatsapp_api_url: String,
    pub whatsapp_api_version: String,
    /// The business number's id on the Cloud API (digits).
    pub whatsapp_phone_number_id: String,
    pub sms_api_base: String,
    pub sms_sender: String,
    /// Where the booking page is served (the HTTP API's URL): SMS links point there.
    pub public_url: String,
}

impl OutboundConfig {
    /// From `get(name)`: `WHATSAPP_PHONE_NUMBER_ID`, `SMS_API_BASE`, `SMS_SENDER` and
    /// `PUBLIC_URL` are required; `TELEGRAM_API_URL`, `WHATSAPP_API_URL` and
    /// `WHATSAPP_API_VERSION` have defaults.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| value(name).ok_or(ConfigError::Missing(name));
        let invalid = |name: &'static str, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };
        let url = |name: &'static str, default: Option<&str>| {
            let v = match (value(name), default) {
                (Some(v), _) => v,
                (None, Some(d)) => d.to_owned(),
                (None, None) => return Err(ConfigError::Missing(name)),
            };
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(v)
            } else {
                Err(invalid(name, "must be an http(s) URL"))
            }
        };
        let phone_number_id = required("WHATSAPP_PHONE_NUMBER_ID")?.trim().to_owned();
        if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "WHATSAPP_PHONE_NUMBER_ID",
                "must be the number's id (digits) from the WhatsApp Manager, not the phone",
            ));
        }
        let version = value("WHATSAPP_API_VERSION")
            .unwrap_or_else(|| channels::whatsapp::DEFAULT_API_VERSION.to_owned());
        if !channels::whatsapp::is_api_version(&version) {
            return Err(invalid("WHATSAPP_API_VERSION", "must look like v21.0"));
        }
        let sms_sender = required("SMS_SENDER")?;
        if !channels::sms::is_sender_name(&sms_sender) {
            return Err(invalid(
                "SMS_SENDER",
                "must be 1 to 11 Latin letters, digits, spaces, '-', '.' or '_'",
            ));
        }
        Ok(OutboundConfig {
            telegram_api_url: url(
                "TELEGRAM_API_URL",
                Some(channels::telegram::DEFAULT_BASE_URL),
            )?,
            whatsapp_api_url: url(
                "WHATSAPP_API_URL",
                Some(channels::whatsapp::DEFAULT_BASE_URL),
            )?,
            whatsapp_api_version: version,
            whatsapp_phone_number_id: phone_number_id,
            sms_api_base: url("SMS_API_BASE", None)?,
            sms_sender,
            public_url: url("PUBLIC_URL", None)?,
        })
    }
}
