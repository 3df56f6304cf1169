//! The function's settings from the environment, checked at cold start (secrets come from SSM
//! separately, by the parameter names in `*_PARAM`).

use app::BookingSettings;
use domain::TelegramChatId;
use lambda_support::{ConfigError, OutboundConfig};

/// Everything but the policy and the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub settings: BookingSettings,
    pub outbound: OutboundConfig,
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `get(name)`: `TABLE_NAME`, `ADVISOR_CHAT_ID` (the advisors' Telegram chat, not 0),
    /// `WHATSAPP_PHONE_NUMBER_ID`, `SMS_API_BASE`, `SMS_SENDER` and `PUBLIC_URL` are required;
    /// `BOOKING_SLOTS_SHOWN` (6), `TELEGRAM_API_URL`, `WHATSAPP_API_URL` and
    /// `WHATSAPP_API_VERSION` have defaults. How far ahead slots are offered and how long a hold
    /// lasts are the policy's (`[workshop]`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| value(name).ok_or(ConfigError::Missing(name));
        let invalid = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let number = |name: &'static str, default: i64, min: i64, max: i64| match value(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    name,
                    format!("must be a whole number {min} to {max}"),
                )),
            },
        };
        let advisor = required("ADVISOR_CHAT_ID")?;
        let advisor_chat_id = advisor
            .trim()
            .parse::<i64>()
            .map_err(|e| invalid("ADVISOR_CHAT_ID", e.to_string()))
            .and_then(|id| {
                TelegramChatId::new(id).map_err(|e| invalid("ADVISOR_CHAT_ID", e.to_string()))
            })?
            .get();
        let count = |name, default, max| {
            number(name, default, 1, max).map(|n| usize::try_from(n).unwrap_or(1))
        };
        Ok(Config {
            table: required("TABLE_NAME")?,
            settings: BookingSettings {
                advisor_chat_id,
                max_slots_shown: count("BOOKING_SLOTS_SHOWN", 6, 100)?,
            },
            outbound: OutboundConfig::from_lookup(&get)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    const REQUIRED: [(&str, &str); 6] = [
        ("TABLE_NAME", "autodrive-prod"),
        ("ADVISOR_CHAT_ID", "-1001234567890"),
        ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
        ("SMS_API_BASE", "https://sms.example"),
        ("SMS_SENDER", "AutoDrive"),
        ("PUBLIC_URL", "https://api.example"),
    ];

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        REQUIRED.into_iter().filter(|(n, _)| *n != name).collect()
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut vars = without(name);
        vars.push((name, value));
        vars
    }

    #[test]
    fn the_required_settings_alone_give_the_defaults() {
        let c = config(&REQUIRED).unwrap();
        assert_eq!(c.table, "autodrive-prod");
        assert_eq!(
            c.settings,
            BookingSettings {
                advisor_chat_id: -1_001_234_567_890,
                max_slots_shown: 6,
            }
        );
        assert_eq!(c.outbound.telegram_api_url, "https://api.telegram.org");
        assert_eq!(c.outbound.whatsapp_api_url, "https://graph.facebook.com");
        assert_eq!(c.outbound.whatsapp_api_version, "v21.0");
        assert_eq!(c.outbound.whatsapp_phone_number_id, "106540352242922");
    }

    #[test]
    fn a_missing_advisor_chat_stops_the_cold_start() {
        assert!(matches!(
            config(&without("ADVISOR_CHAT_ID")),
            Err(ConfigError::Missing("ADVISOR_CHAT_ID"))
        ));
        assert!(matches!(
            config(&with("ADVISOR_CHAT_ID", "  ")),
            Err(ConfigError::Missing("ADVISOR_CHAT_ID"))
        ));
    }

    #[test]
    fn an_advisor_chat_of_zero_or_not_a_number_stops_the_cold_start() {
        for bad in ["0", "advisors", "12.5"] {
            let err = config(&with("ADVISOR_CHAT_ID", bad)).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "ADVISOR_CHAT_ID",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_missing_or_non_numeric_whatsapp_number_id_stops_the_cold_start() {
        assert!(matches!(
            config(&without("WHATSAPP_PHONE_NUMBER_ID")),
            Err(ConfigError::Missing("WHATSAPP_PHONE_NUMBER_ID"))
        ));
        assert!(matches!(
            config(&with("WHATSAPP_PHONE_NUMBER_ID", "+79161234567")),
            Err(ConfigError::Invalid {
                name: "WHATSAPP_PHONE_NUMBER_ID",
                ..
            })
        ));
        assert!(matches!(
            config(&without("TABLE_NAME")),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
    }

    #[test]
    fn optional_settings_are_taken_when_valid_and_refused_when_not() {
        let mut vars = REQUIRED.to_vec();
        vars.extend([
            ("WHATSAPP_API_URL", "http://127.0.0.1:8080"),
            ("WHATSAPP_API_VERSION", "v22.0"),
            ("BOOKING_SLOTS_SHOWN", "10"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(c.outbound.whatsapp_api_url, "http://127.0.0.1:8080");
        assert_eq!(c.outbound.whatsapp_api_version, "v22.0");
        assert_eq!(c.settings.max_slots_shown, 10);
        for (name, bad) in [
            ("WHATSAPP_API_URL", "graph.facebook.com"),
            ("WHATSAPP_API_VERSION", "21"),
            ("BOOKING_SLOTS_SHOWN", "0"),
            ("SMS_SENDER", "Автодрайв"),
            ("PUBLIC_URL", "api.example"),
        ] {
            let err = config(&with(name, bad)).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}={bad}: {err}"
            );
        }
    }
}
