//! A webhook whose secret is not configured (an empty environment value, as `serve` and the
//! Lambda read an unset one) refuses every request through the handlers the routes call: an
//! empty secret header, a signature under the empty key, an empty verify token.

mod common;

use booking_webhook::{handle, handle_whatsapp, verify_whatsapp, SECRET_HEADER};
use channels::fake_telegram::FakeTelegram;
use channels::TelegramBot;
use common::{at, deps, test_store, CUSTOMER_CHAT};
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::HeaderMap;
use serde_json::json;
use sha2::Sha256;
use store::repo::Repos;

#[tokio::test]
async fn without_configured_secrets_every_webhook_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start("7:BOT").unwrap();
    let repos = Repos::new(test_store(dir.path()));
    let mut deps = deps(
        &repos,
        TelegramBot::new(telegram.base_url(), "7:BOT"),
        app::Events::none(),
    );
    deps.webhook_secret = String::new();
    deps.whatsapp.app_secret = String::new();
    deps.whatsapp.verify_token = String::new();
    let now = at("2027-11-01T10:05:00+03:00");

    // Telegram: an empty secret header (and none) is not the unset secret.
    let stop = serde_json::to_vec(&json!({"update_id": 1, "message": {
        "message_id": 1, "date": 1_824_966_300, "text": "СТОП",
        "chat": {"id": CUSTOMER_CHAT, "type": "private"}}}))
    .unwrap();
    let mut empty = HeaderMap::new();
    empty.insert(SECRET_HEADER, "".parse().unwrap());
    for headers in [empty, HeaderMap::new()] {
        assert_eq!(handle(&deps, &headers, &stop, now).await.status, 401);
    }

    // WhatsApp: a signature under the empty key signs nothing.
    let body =
        serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": []})).unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"").unwrap();
    mac.update(&body);
    let mut signed = HeaderMap::new();
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    signed.insert(
        booking_webhook::SIGNATURE_HEADER,
        signature.parse().unwrap(),
    );
    assert_eq!(
        handle_whatsapp(&deps, &signed, &body, now).await.status,
        401
    );

    // Meta's handshake with an empty verify token.
    assert!(verify_whatsapp(&deps, Some("subscribe"), Some(""), Some("42")).is_err());
    assert!(telegram.calls().is_empty(), "nothing was handled");
}
