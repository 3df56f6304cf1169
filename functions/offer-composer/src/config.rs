//! The function's settings from the environment, checked at cold start (secrets come from SSM
//! separately, by the parameter names in `*_PARAM`).

use app::outreach::WhatsAppTemplates;
use lambda_support::{ConfigError, OutboundConfig};

/// Everything but the policy and the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub outbound: OutboundConfig,
    pub templates: WhatsAppTemplates,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `get(name)`: `TABLE_NAME` and the outbound endpoints ([`OutboundConfig`]) are
    /// required; `WHATSAPP_TEMPLATES` (`stage=name,...`) renames the templates.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let templates = WhatsAppTemplates::parse(&get("WHATSAPP_TEMPLATES").unwrap_or_default())
            .map_err(|reason| ConfigError::Invalid {
                name: "WHATSAPP_TEMPLATES",
                reason,
            })?;
        Ok(Config {
            table: get("TABLE_NAME")
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing("TABLE_NAME"))?,
            outbound: OutboundConfig::from_lookup(&get)?,
            templates,
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
        assert_eq!(c.outbound.whatsapp_api_version, "v21.0");
        assert_eq!(
            c.templates.name(Stage::SoftReminder),
            "autodrive_soft_reminder"
        );
        assert_eq!(c.outbound.sms_sender, "AutoDrive");
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
