//! WhatsApp's delivery statuses through the Lambda entry (`booking_webhook::handle_request`):
//! the soft reminder goes out as a template through the fake Graph API, then Meta's status
//! notifications move it on (delivered, read; a late one changes nothing) for the KPIs' funnel.

mod common;

use app::ports::WhatsAppId;
use app::{ComposeSettings, EvaluateVehicle};
use booking_webhook::{handle_request, Deps, WhatsApp};
use channels::fake_telegram::FakeTelegram;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{Channels, TelegramBot, WhatsAppCloud};
use chrono::NaiveDate;
use common::{at, test_store};
use domain::policy::Policy;
use domain::triggers::Reaction;
use hmac::{Hmac, KeyInit, Mac};
use lambda_support::test_events::http_api_event as event;
use serde_json::{json, Value};
use sha2::Sha256;
use store::repo::{DeliveryStatus, Repos};

const VIN: &str = "XW7BE40K70S025476";
const CUSTOMER_WA: &str = "79161234567";
const NUMBER: &str = "106540352242922";
const ACCESS_TOKEN: &str = "EAAG-access-token";
const APP_SECRET: &str = "meta-app-secret";
const BOT: &str = "7:BOT";

fn statuses(number: &str, items: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "74950000000", "phone_number_id": number},
            "statuses": items
        }}]}]
    }))
    .unwrap()
}

fn status(id: &str, status: &str, unix: i64) -> Value {
    json!({"id": id, "status": status, "timestamp": unix.to_string(), "recipient_id": CUSTOMER_WA})
}

fn signed(body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn whatsapp_statuses_move_the_sent_reminder_on_and_never_back() {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(test_store(dir.path()));
    let policy = Policy::default();
    let mut visit = app::fixtures::example_visit();
    visit["customer"]["telegram_chat_id"] = Value::Null;
    let body = serde_json::to_vec(&visit).unwrap();
    app::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let vehicle = repos
        .vehicles
        .get::<domain::Vehicle>(VIN)
        .await
        .unwrap()
        .unwrap();
    let night = NaiveDate::from_ymd_opt(2027, 11, 1).unwrap();
    app::forecast_vehicle(&repos, &policy, &vehicle.vehicle, night)
        .await
        .unwrap();
    let customer = WhatsAppId::parse(CUSTOMER_WA).unwrap();
    app::outreach::note_whatsapp_inbound(&repos, &customer, at("2027-10-31T10:05:00+03:00"))
        .await
        .unwrap();
    let now = at("2027-11-01T10:05:00+03:00");
    let message = EvaluateVehicle::V1 {
        run_date: night,
        vin: VIN.into(),
    };
    let evaluation = app::evaluate_vehicle(&repos, &policy, &message, now)
        .await
        .unwrap();
    app::commit_evaluation(&repos, &evaluation).await.unwrap();

    let whatsapp = FakeWhatsApp::start(NUMBER, ACCESS_TOKEN).unwrap();
    let telegram = FakeTelegram::start(BOT).unwrap();
    let client = WhatsAppCloud::new(whatsapp.base_url(), NUMBER, ACCESS_TOKEN);
    let channels = Channels {
        whatsapp: Some(client.clone()),
        ..Channels::default()
    };
    let outcome = app::compose_and_deliver(
        &repos,
        &policy,
        &channels,
        &ComposeSettings::default(),
        &evaluation.compose[0],
        "test",
        now,
    )
    .await
    .unwrap();
    let app::ComposeOutcome::Sent { message_id, .. } = outcome else {
        panic!("{outcome:?}");
    };
    let app::ComposeOffer::V1 { offer_id, .. } = &evaluation.compose[0];
    let noted = repos
        .deliveries
        .get("whatsapp", &message_id)
        .await
        .unwrap()
        .expect("the send is noted under WhatsApp's message id");
    assert_eq!(
        (&noted.offer_id, noted.status),
        (offer_id, Some(DeliveryStatus::Sent))
    );

    let deps = Deps {
        repos: repos.clone(),
        policy: policy.clone(),
        bot: TelegramBot::new(telegram.base_url(), BOT),
        whatsapp: WhatsApp {
            client,
            app_secret: APP_SECRET.into(),
            verify_token: "verify".into(),
        },
        settings: app::BookingSettings {
            advisor_chat_id: -100,
            max_slots_shown: 6,
        },
        webhook_secret: "telegram-secret".into(),
        sms: None,
        links: None,
        events: app::Events::none(),
    };
    let post = |body: Vec<u8>| {
        let signature = signed(&body);
        let request = event(
            "POST",
            "/v1/whatsapp/webhook",
            "",
            &[("x-hub-signature-256", &signature)],
            &body,
        );
        handle_request(&deps, request, at("2027-11-01T20:00:00+03:00"))
    };
    let sent_at = now.timestamp();
    let response = post(statuses(
        NUMBER,
        json!([
            status(&message_id, "sent", sent_at + 1),
            status(&message_id, "delivered", sent_at + 5)
        ]),
    ))
    .await;
    assert_eq!(response.status().as_u16(), 200);
    let delivered = repos
        .deliveries
        .get("whatsapp", &message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, Some(DeliveryStatus::Delivered));

    let response = post(statuses(
        NUMBER,
        json!([status(&message_id, "read", sent_at + 3_600)]),
    ))
    .await;
    assert_eq!(response.status().as_u16(), 200);
    // Delivered again late, and another number's "failed": nothing moves back.
    post(statuses(
        NUMBER,
        json!([status(&message_id, "delivered", sent_at + 3_700)]),
    ))
    .await;
    post(statuses(
        "999",
        json!([status(&message_id, "failed", sent_at + 3_800)]),
    ))
    .await;
    let read = repos
        .deliveries
        .get("whatsapp", &message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, Some(DeliveryStatus::Read));
    assert_eq!(read.failed_at, None);
    let offer = repos
        .offers
        .get::<app::compose::OfferRecord>(offer_id)
        .await
        .unwrap()
        .unwrap();
    let reactions = repos
        .cycles
        .reactions::<app::evaluate::ReactionMark>(VIN, &offer.offer.cycle_id)
        .await
        .unwrap();
    assert!(
        reactions.iter().any(
            |(_, _, m)| m.reaction == Reaction::Read && m.at == at("2027-11-01T11:05:00+03:00")
        ),
        "{reactions:?}"
    );
    assert_eq!(whatsapp.messages().len(), 1, "statuses send nothing");
    assert!(telegram.calls().is_empty());

    let empty_id = post(statuses(NUMBER, json!([status("", "read", sent_at)]))).await;
    assert_eq!(empty_id.status().as_u16(), 422);
}
