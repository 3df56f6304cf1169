//! `autodrive serve`'s settings from the environment, with the Lambdas' names where they
//! overlap; every problem is reported with the variable's name before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use app::outreach::WhatsAppTemplates;
use app::BookingSettings;
use domain::policy::Policy;

/// Everything `serve` needs to start.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub policy: Policy,
    /// `AUTODRIVE_CRM_SECRET`: the CRM's HMAC key of `POST /v1/visits` (hex or text).
    pub crm_secret: String,
    /// `AUTODRIVE_ADMIN_TOKEN`: Bearer token of `/v1/admin/*` and `/v1/reports/*`; those
    /// routes answer 403 when it is not set.
    pub admin_token: Option<String>,
    pub telegram: Option<TelegramConfig>,
    /// `TELEGRAM_SECRET_TOKEN`: the secret Telegram echoes in its webhook header.
    pub telegram_secret: String,
    pub whatsapp: Option<WhatsAppConfig>,
    pub whatsapp_app_secret: String,
    pub whatsapp_verify_token: String,
    pub whatsapp_phone_number_id: String,
    /// `WHATSAPP_TEMPLATES`: `stage=name,...` over the default `autodrive_<stage>` names.
    pub templates: WhatsAppTemplates,
    /// The SMS gateway, used when `SMS_API_BASE` is set (else SMS texts are printed).
    pub sms: Option<SmsConfig>,
    /// `AUTODRIVE_PUBLIC_URL`: where SMS links point (default `http://<addr>`).
    pub public_url: String,
    /// `BOOKING_LINK_KEY`: the key booking links are signed with (16+ bytes); without it no SMS
    /// goes out and the booking page answers 404.
    pub link_key: Option<String>,
    pub booking: BookingSettings,
    /// `AUTODRIVE_EVENTS_URL`: where the business events are POSTed besides `events.jsonl`.
    pub events_url: Option<String>,
}

/// The HTTP SMS gateway: `SMS_API_BASE`, `SMS_API_KEY`, `SMS_SENDER`.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub api_base: String,
    pub api_key: String,
    pub sender: String,
}

/// The real Bot API, used when `TELEGRAM_BOT_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: String,
    pub api_base: String,
}

/// The real Cloud API, used when `WHATSAPP_ACCESS_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct WhatsAppConfig {
    pub access_token: String,
    pub api_base: String,
}

impl ServeConfig {
    /// From the process environment; `addr` and `data_dir` from the command line win.
    pub fn from_env(addr: Option<SocketAddr>, data_dir: Option<PathBuf>) -> Result<Self> {
        Self::from_lookup(addr, data_dir, |name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        addr: Option<SocketAddr>,
        data_dir: Option<PathBuf>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let data_dir = data_dir
            .or_else(|| value("AUTODRIVE_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("autodrive-data"));
        let Some(crm_secret) = value("AUTODRIVE_CRM_SECRET") else {
            bail!("environment variable AUTODRIVE_CRM_SECRET is not set (the CRM's signing key of POST /v1/visits)");
        };
        let policy = match value("POLICY_FILE") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("POLICY_FILE: reading {path}"))?;
                Policy::from_toml(&text).with_context(|| format!("POLICY_FILE: {path}"))?
            }
            None => Policy::default(),
        };
        let advisor_chat_id = match value("ADVISOR_CHAT_ID") {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|id| *id != 0)
                .with_context(|| format!("ADVISOR_CHAT_ID: {v:?} is not a Telegram chat id"))?,
            None => -1,
        };
        let phone_number_id = value("WHATSAPP_PHONE_NUMBER_ID").unwrap_or_else(|| "0".into());
        if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("WHATSAPP_PHONE_NUMBER_ID must be the number's id (digits)");
        }
        let url = |name: &str, default: &str| -> Result<String> {
            match value(name) {
                None => Ok(default.to_owned()),
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => Ok(v),
                Some(v) => bail!("{name}: {v:?} is not an http(s) URL"),
            }
        };
        let telegram_base = url("TELEGRAM_API_BASE", channels::telegram::DEFAULT_BASE_URL)?;
        let whatsapp_base = url("WHATSAPP_API_BASE", channels::whatsapp::DEFAULT_BASE_URL)?;
        let addr = match addr {
            Some(a) => a,
            None => value("AUTODRIVE_ADDR")
                .map(|a| a.parse().with_context(|| format!("AUTODRIVE_ADDR: {a:?}")))
                .transpose()?
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let templates = WhatsAppTemplates::parse(&value("WHATSAPP_TEMPLATES").unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("WHATSAPP_TEMPLATES: {e}"))?;
        let sms = match value("SMS_API_BASE") {
            None => None,
            Some(_) => {
                let api_base = url("SMS_API_BASE", "")?;
                let Some(api_key) = value("SMS_API_KEY") else {
                    bail!("SMS_API_KEY is not set (the SMS gateway's API key)");
                };
                let sender = value("SMS_SENDER").unwrap_or_default();
                if !channels::sms::is_sender_name(&sender) {
                    bail!("SMS_SENDER: {sender:?} is not a sender name (1 to 11 Latin letters, digits, spaces, '-', '.' or '_')");
                }
                Some(SmsConfig {
                    api_base,
                    api_key,
                    sender,
                })
            }
        };
        let public_url = url("AUTODRIVE_PUBLIC_URL", &format!("http://{addr}"))?;
        let link_key = value("BOOKING_LINK_KEY");
        let events_url = events_url(value("AUTODRIVE_EVENTS_URL"))?;
        if let Some(key) = &link_key {
            app::booking_link::BookingLinks::new(key.as_bytes(), &public_url)
                .map_err(|e| anyhow::anyhow!("BOOKING_LINK_KEY: {e}"))?;
        }
        Ok(ServeConfig {
            addr,
            data_dir,
            policy,
            crm_secret,
            admin_token: value("AUTODRIVE_ADMIN_TOKEN"),
            telegram: value("TELEGRAM_BOT_TOKEN").map(|token| TelegramConfig {
                token,
                api_base: telegram_base,
            }),
            telegram_secret: value("TELEGRAM_SECRET_TOKEN").unwrap_or_default(),
            whatsapp: value("WHATSAPP_ACCESS_TOKEN").map(|access_token| WhatsAppConfig {
                access_token,
                api_base: whatsapp_base,
            }),
            whatsapp_app_secret: value("WHATSAPP_APP_SECRET").unwrap_or_default(),
            whatsapp_verify_token: value("WHATSAPP_VERIFY_TOKEN").unwrap_or_default(),
            whatsapp_phone_number_id: phone_number_id,
            templates,
            sms,
            public_url,
            link_key,
            booking: BookingSettings {
                advisor_chat_id,
                max_slots_shown: 6,
            },
            events_url,
        })
    }
}

/// `AUTODRIVE_EVENTS_URL` (the value as set, blank as unset): where business events are POSTed
/// besides `events.jsonl`; an http(s) URL or nothing.
pub fn events_url(value: Option<String>) -> Result<Option<String>> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) if !(v.starts_with("http://") || v.starts_with("https://")) => {
            bail!("AUTODRIVE_EVENTS_URL: {v:?} is not an http(s) URL")
        }
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<ServeConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ServeConfig::from_lookup(None, None, |name| vars.get(name).cloned())
    }

    #[test]
    fn the_crm_secret_is_required_and_named() {
        let err = config(&[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("AUTODRIVE_CRM_SECRET"),
            "{err:#}"
        );
    }

    #[test]
    fn defaults_are_local_and_console() {
        let c = config(&[("AUTODRIVE_CRM_SECRET", "s")]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("autodrive-data"));
        assert!(c.telegram.is_none() && c.whatsapp.is_none() && c.admin_token.is_none());
    }

    #[test]
    fn a_bad_setting_is_named() {
        for (name, value) in [
            ("ADVISOR_CHAT_ID", "advisors"),
            ("TELEGRAM_API_BASE", "ftp://x"),
            ("WHATSAPP_PHONE_NUMBER_ID", "+7916"),
            ("POLICY_FILE", "/nonexistent/policy.toml"),
            ("AUTODRIVE_ADDR", "localhost"),
            ("SMS_API_BASE", "sms.example"),
            ("BOOKING_LINK_KEY", "short"),
            ("AUTODRIVE_PUBLIC_URL", "example.org"),
        ] {
            let err = config(&[("AUTODRIVE_CRM_SECRET", "s"), (name, value)]).unwrap_err();
            assert!(format!("{err:#}").contains(name), "{name}: {err:#}");
        }
    }

    #[test]
    fn a_bot_token_switches_telegram_to_the_real_api() {
        let c = config(&[
            ("AUTODRIVE_CRM_SECRET", "s"),
            ("TELEGRAM_BOT_TOKEN", "1:T"),
            ("TELEGRAM_API_BASE", "http://127.0.0.1:9"),
        ])
        .unwrap();
        let t = c.telegram.unwrap();
        assert_eq!(
            (t.token.as_str(), t.api_base.as_str()),
            ("1:T", "http://127.0.0.1:9")
        );
    }
}
