//! What the webhook's test files share.
#![allow(dead_code, reason = "each test binary uses a part of the shared setup")]

use app::BookingSettings;
use booking_webhook::{Deps, WhatsApp};
use channels::fake_telegram::FakeTelegram;
use channels::{TelegramBot, WhatsAppCloud};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_http::http::HeaderMap;
use store::repo::Repos;
use store::{RedbStore, TtlClock};

/// The example customer's Telegram chat, the advisors' chat, the webhook's secret token.
pub const CUSTOMER_CHAT: i64 = 5550001;
pub const ADVISOR_CHAT: i64 = -100777;
pub const SECRET: &str = "telegram-webhook-secret";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A store whose TTLs follow a clock set before the tests' instants (not today's), so an update
/// is still known when it is delivered again, whatever the date.
pub fn test_store(dir: &std::path::Path) -> RedbStore {
    RedbStore::open(dir.join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"))
}

/// Telegram's secret-token header.
pub fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(booking_webhook::SECRET_HEADER, SECRET.parse().unwrap());
    h
}

/// A fresh store in `dir` where the example customer was reminded through `bot` at 10:00 on
/// 1 November 2027 (the reminder carries «Записаться»).
pub async fn reminded(dir: &std::path::Path, bot: &TelegramBot) -> Repos<RedbStore> {
    let repos = Repos::new(test_store(dir));
    let policy = Policy::default();
    let sent_at = at("2027-11-01T10:00:00+03:00");
    let evaluation = app::fixtures::example_visit_evaluated(&repos, &policy, sent_at)
        .await
        .unwrap();
    app::compose_and_send(&repos, &policy, bot, &evaluation.compose[0], "t", sent_at)
        .await
        .unwrap();
    repos
}

/// The webhook's dependencies on `repos`: the bot `bot`, the advisors' chat, six slots shown,
/// WhatsApp unreachable, no SMS or booking links, events to `events`.
pub fn deps(repos: &Repos<RedbStore>, bot: TelegramBot, events: app::Events) -> Deps<RedbStore> {
    Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        bot,
        settings: BookingSettings {
            advisor_chat_id: ADVISOR_CHAT,
            max_slots_shown: 6,
        },
        whatsapp: WhatsApp {
            client: WhatsAppCloud::new("http://127.0.0.1:9", "106540352242922", "token"),
            app_secret: "app-secret".into(),
            verify_token: "verify".into(),
        },
        webhook_secret: SECRET.into(),
        sms: None,
        links: None,
        events,
    }
}

/// The body of the last `sendMessage` to `chat` the fake Bot API took.
pub fn last_to(telegram: &FakeTelegram, chat: i64) -> serde_json::Value {
    telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat)
        .expect("a message to the chat")
        .body
}
