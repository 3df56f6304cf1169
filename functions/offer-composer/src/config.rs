//! The function's settings from the environment, checked at cold start (secrets come from SSM
//! separately, by the parameter names in `*_PARAM`).

use app::outreach::WhatsAppTemplates;
use lambda_support::ConfigError;

/// Everything but the policy and the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub telegram_api_url: String,
    pub whatsapp_api_url: String,
    pub whatsapp_api_version: String,
    pub whatsapp_phone_number_id: String,
    pub templates: WhatsAppTemplates,
    pub sms_api_base: String,
    pub sms_sender: String,
    /// Where the booking page is served (the HTTP API's URL): SMS links point there.
    pub public_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `get(name)`: `TABLE_NAME`, `WHATSAPP_PHONE_NUMBER_ID`, `SMS_API_BASE`, `SMS_SENDER`
    /// and `PUBLIC_URL` are required; `TELEGRAM_API_URL`, `WHATSAPP_API_URL`,
    /// `WHATSAPP_API_VERSION` and `WHATSAPP_TEMPLATES` (`stage=name,...`) have defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| value(name).ok_or(ConfigError::Missing(name));
        let invalid = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let url = |name: &'static str, default: Option<&str>| {
            let v = match (value(name), default) {
                (Some(v), _) => v,
                (None, Some(d)) => d.to_owned(),
                (None, None) => return Err(ConfigError::Missing(name)),
            };
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(v)
            } else {
                Err(invalid(name, "must be an http(s) URL".into()))
            }
        };
        let phone_number_id = required("WHATSAPP_PHONE_NUMBER_ID")?.trim().to_owned();
        if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "WHATSAPP_PHONE_NUMBER_ID",
                "must be the number's id (digits)".into(),
            ));
        }
        let version = value("WHATSAPP_API_VERSION")
            .unwrap_or_else(|| channels::whatsapp::DEFAULT_API_VERSION.to_owned());
        if !channels::whatsapp::is_api_version(&version) {
            return Err(invalid(
                "WHATSAPP_API_VERSION",
                "must look like v21.0".into(),
            ));
        }
        let templates = WhatsAppTemplates::parse(&value("WHATSAPP_TEMPLATES").unwrap_or_default())
            .map_err(|e| invalid("WHATSAPP_TEMPLATES", e))?;
        let sms_sender = required("SMS_SENDER")?;
        if !channels::sms::is_sender_name(&sms_sender) {
            return Err(invalid(
                "SMS_SENDER",
                "must be 1 to 11 Latin letters, digits, spaces, '-', '.' or '_'".into(),
            ));
        }
        Ok(Config {
            table: required("TABLE_NAME")?,
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
            templates,
            sms_api_base: url("SMS_API_BASE", None)?,
            sms_sender,
            public_url: url("PUBLIC_URL", None)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::triggers::Stage;
    use std::collections::HashMap;

    const REQUIRED: [(&str, &str); 5] = [
        ("TABLE_NAME", "autodrive-prod"),
        ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
        ("SMS_API_BASE", "https://sms.example"),
        ("SMS_SENDER", "AutoDrive"),
        ("PUBLIC_URL", "https://api.example"),
    ];

    fn config(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<&str, &str> = REQUIRED.into_iter().collect();
        for (k, v) in extra {
            vars.insert(k, v);
        }
        Config::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned()))
    }

    #[test]
    fn the_required_settings_alone_give_the_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.whatsapp_api_version, "v21.0");
        assert_eq!(
            c.templates.name(Stage::SoftReminder),
            "autodrive_soft_reminder"
        );
        assert_eq!(c.sms_sender, "AutoDrive");
    }

    #[test]
    fn a_bad_or_missing_setting_stops_the_cold_start_and_is_named() {
        for (name, bad) in [
            ("SMS_SENDER", "Автодрайв"),
            ("SMS_SENDER", "a sender name too long"),
            ("SMS_API_BASE", "sms.example"),
            ("PUBLIC_URL", ""),
            ("WHATSAPP_TEMPLATES", "soft_reminder=Not Valid"),
        ] {
            let err = config(&[(name, bad)]).unwrap_err();
            let named = match &err {
                ConfigError::Missing(n) => *n == name,
                ConfigError::Invalid { name: n, .. } => *n == name,
            };
            assert!(named, "{name}={bad}: {err}");
        }
    }
}
