//! The WhatsApp webhook through the Lambda entry (`booking_webhook::handle_request`) with API
//! Gateway v2 events, against the fake Graph API and the fake Bot API (the advisor stays in
//! Telegram); the reminder sent by the composer's use case as a template; STOP on both.

mod common;

use app::booking::{BookingRecord, STOP_REPLY};
use app::{BookingSettings, ComposeSettings, EvaluateVehicle};
use booking_webhook::{handle_request, Deps, WhatsApp};
use channels::fake_telegram::FakeTelegram;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{Channels, TelegramBot, WhatsAppCloud};
use chrono::{DateTime, NaiveDate, Utc};
use common::{at, test_store};
use domain::policy::Policy;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::{Body, Response};
use lambda_support::test_events::http_api_event as event;
use serde_json::{json, Value};
use sha2::Sha256;
use store::repo::{BookingState, Repos};
use store::RedbStore;

const VIN: &str = "XW7BE40K70S025476";
const CUSTOMER_WA: &str = "79161234567";
const CUSTOMER_CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;
const NUMBER: &str = "106540352242922";
const ACCESS_TOKEN: &str = "EAAG-access-token";
const APP_SECRET: &str = "meta-app-secret";
const VERIFY_TOKEN: &str = "meta-verify-token";
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
const BOT: &str = "7:BOT";

fn now() -> DateTime<Utc> {
    at("2027-11-01T10:05:00+03:00")
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn status(response: &Response<Body>) -> u16 {
    response.status().as_u16()
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).unwrap()
}

/// A notification with one message from the customer, `message` holding its type and content.
fn notification(id: &str, message: Value) -> Vec<u8> {
    let mut message = message;
    message["from"] = CUSTOMER_WA.into();
    message["id"] = id.into();
    message["timestamp"] = "1824966300".into();
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "74950000000", "phone_number_id": NUMBER},
                    "contacts": [{"profile": {"name": "Михаил"}, "wa_id": CUSTOMER_WA}],
                    "messages": [message]
                }
            }]
        }]
    }))
    .unwrap()
}

fn button_reply(id: &str, choice: &str) -> Vec<u8> {
    notification(
        id,
        json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": choice, "title": "Записаться"}}}),
    )
}

fn list_reply(id: &str, choice: &str) -> Vec<u8> {
    notification(
        id,
        json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": choice, "title": "02.11 10:00"}}}),
    )
}

fn customer_text(id: &str, body: &str) -> Vec<u8> {
    notification(id, json!({"type": "text", "text": {"body": body}}))
}

struct World {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
    deps: Deps<RedbStore>,
    whatsapp: FakeWhatsApp,
    telegram: FakeTelegram,
}

impl World {
    /// The example customer, on WhatsApp only unless `telegram` (then also in chat 5550001),
    /// with the visit recorded and the vehicle forecast on the night of 1 November 2027.
    async fn new(telegram: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(test_store(dir.path()));
        let policy = Policy::default();
        let mut visit = app::fixtures::example_visit();
        if !telegram {
            visit["customer"]["telegram_chat_id"] = Value::Null;
        }
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
        app::forecast_vehicle(&repos, &policy, &vehicle.vehicle, night())
            .await
            .unwrap();
        let whatsapp = FakeWhatsApp::start(NUMBER, ACCESS_TOKEN).unwrap();
        let telegram = FakeTelegram::start(BOT).unwrap();
        let deps = Deps {
            repos: repos.clone(),
            policy,
            bot: TelegramBot::new(telegram.base_url(), BOT),
            whatsapp: WhatsApp {
                client: WhatsAppCloud::new(whatsapp.base_url(), NUMBER, ACCESS_TOKEN),
                app_secret: APP_SECRET.into(),
                verify_token: VERIFY_TOKEN.into(),
            },
            settings: BookingSettings {
                advisor_chat_id: ADVISOR_CHAT,
                max_slots_shown: 6,
            },
            webhook_secret: TELEGRAM_SECRET.into(),
            sms: None,
            links: None,
            events: app::Events::none(),
        };
        World {
            _dir: dir,
            repos,
            deps,
            whatsapp,
            telegram,
        }
    }

    async fn post_whatsapp(&self, body: &[u8]) -> Response<Body> {
        let signature = signature(APP_SECRET, body);
        self.post_whatsapp_with(&[("x-hub-signature-256", &signature)], body)
            .await
    }

    async fn post_whatsapp_with(&self, headers: &[(&str, &str)], body: &[u8]) -> Response<Body> {
        let request = event("POST", "/v1/whatsapp/webhook", "", headers, body);
        handle_request(&self.deps, request, now()).await
    }

    async fn verify(&self, query: &str) -> Response<Body> {
        let request = event("GET", "/v1/whatsapp/webhook", query, &[], b"");
        handle_request(&self.deps, request, now()).await
    }

    async fn post_telegram(&self, update: Value) -> Response<Body> {
        let body = serde_json::to_vec(&update).unwrap();
        let request = event(
            "POST",
            "/v1/telegram/webhook",
            "",
            &[("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)],
            &body,
        );
        handle_request(&self.deps, request, now()).await
    }

    async fn evaluate(&self) -> app::Evaluation {
        let message = EvaluateVehicle::V1 {
            run_date: night(),
            vin: VIN.into(),
        };
        app::evaluate_vehicle(&self.repos, &Policy::default(), &message, now())
            .await
            .unwrap()
    }

    async fn opted_out_at(&self) -> Option<DateTime<Utc>> {
        self.repos
            .customers
            .get::<domain::Customer>("C-1001")
            .await
            .unwrap()
            .unwrap()
            .opted_out_at
    }

    fn sent_total(&self) -> usize {
        self.whatsapp.messages().len() + self.telegram.calls().len()
    }
}

fn night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 11, 1).unwrap()
}

/// The customer writes on WhatsApp a day before (the webhook records when: the message's own
/// timestamp), then the composer sends the soft reminder: outside the 24-hour window, the
/// approved template with «Записаться» as its quick reply; returns the quick reply's payload.
async fn reminded_on_whatsapp(world: &World) -> String {
    let hello = customer_text("wamid.HELLO", "Здравствуйте");
    let response = world.post_whatsapp(&hello).await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    let inbound = world
        .repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap()
        .whatsapp_inbound_at;
    assert_eq!(inbound, Some(at("2027-10-31T10:05:00+03:00")));
    let evaluation = world.evaluate().await;
    app::commit_evaluation(&world.repos, &evaluation)
        .await
        .unwrap();
    let channels = Channels {
        whatsapp: Some(world.deps.whatsapp.client.clone()),
        ..Channels::default()
    };
    let outcome = app::compose_and_deliver(
        &world.repos,
        &Policy::default(),
        &channels,
        &ComposeSettings::default(),
        &evaluation.compose[0],
        "test",
        now(),
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, app::ComposeOutcome::Sent { .. }),
        "{outcome:?}"
    );
    assert!(
        world.whatsapp.rejected().is_empty(),
        "{:?}",
        world.whatsapp.rejected()
    );
    let reminder = world.whatsapp.messages().last().cloned().unwrap();
    assert_eq!(reminder["type"], "template");
    assert_eq!(reminder["template"]["name"], "autodrive_soft_reminder");
    assert_eq!(reminder["template"]["language"]["code"], "ru");
    let button = &reminder["template"]["components"][1];
    assert_eq!(button["sub_type"], "quick_reply");
    button["parameters"][0]["payload"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_verification_handshake_answers_the_challenge_as_plain_text() {
    let world = World::new(false).await;
    let response = world
        .verify(&format!(
            "hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .await;
    assert_eq!(status(&response), 200);
    assert_eq!(text(&response), "1158201444");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[tokio::test]
async fn a_wrong_verify_token_or_mode_is_refused_with_403() {
    let world = World::new(false).await;
    for query in [
        "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444",
        &format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}x&hub.challenge=1"),
        &format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
    ] {
        let response = world.verify(query).await;
        assert_eq!(status(&response), 403, "{query}");
        assert!(!text(&response).contains("1158201444"));
    }
}

#[tokio::test]
async fn a_verification_without_its_parameters_is_refused_with_403() {
    let world = World::new(false).await;
    for query in [
        "",
        "hub.challenge=1158201444",
        &format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
        "hub.mode=subscribe&hub.challenge=1158201444",
    ] {
        assert_eq!(status(&world.verify(query).await), 403, "{query:?}");
    }
}

#[tokio::test]
async fn a_notification_without_a_valid_signature_gets_401_and_changes_nothing() {
    let world = World::new(false).await;
    let body = customer_text("wamid.STOP-SIG", "STOP");
    let tampered = customer_text("wamid.STOP-SIG", "STOP!");
    let good = signature(APP_SECRET, &body);
    let wrong_secret = signature("another-secret", &body);
    let uppercase = good.to_uppercase();
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-hub-signature-256", "sha256=not-hex")],
        &[("x-hub-signature-256", good.trim_start_matches("sha256="))],
        &[("x-hub-signature-256", &wrong_secret)],
        &[("x-hub-signature-256", &uppercase)],
    ];
    for headers in cases {
        let response = world.post_whatsapp_with(headers, &body).await;
        assert_eq!(status(&response), 401, "{headers:?}");
    }
    let response = world
        .post_whatsapp_with(&[("x-hub-signature-256", &good)], &tampered)
        .await;
    assert_eq!(status(&response), 401, "a body changed after signing");
    assert_eq!(world.opted_out_at().await, None);
    assert_eq!(world.sent_total(), 0);

    let response = world
        .post_whatsapp_with(&[("x-hub-signature-256", &good)], &body)
        .await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    assert_eq!(world.opted_out_at().await, Some(now()));
}

#[tokio::test]
async fn delivery_statuses_are_acknowledged_and_send_nothing() {
    let world = World::new(false).await;
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "74950000000", "phone_number_id": NUMBER},
            "statuses": [{"id": "wamid.OUT1", "status": "delivered", "timestamp": "1824966300", "recipient_id": CUSTOMER_WA}]
        }}]}]
    }))
    .unwrap();
    let response = world.post_whatsapp(&body).await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    assert_eq!(world.sent_total(), 0);
}

#[tokio::test]
async fn an_unreadable_notification_gets_422_and_another_numbers_messages_are_ignored() {
    let world = World::new(false).await;
    assert_eq!(status(&world.post_whatsapp(b"{").await), 422);
    let mut bad_sender =
        serde_json::from_slice::<Value>(&customer_text("wamid.B", "STOP")).unwrap();
    bad_sender["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "+7 916".into();
    let response = world
        .post_whatsapp(&serde_json::to_vec(&bad_sender).unwrap())
        .await;
    assert_eq!(status(&response), 422);
    assert!(text(&response).contains("messages[0].from"));

    let mut other = serde_json::from_slice::<Value>(&customer_text("wamid.O", "STOP")).unwrap();
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999".into();
    let response = world
        .post_whatsapp(&serde_json::to_vec(&other).unwrap())
        .await;
    assert_eq!(status(&response), 200);
    assert_eq!(world.opted_out_at().await, None);
    assert_eq!(world.sent_total(), 0);
}

#[tokio::test]
async fn a_whatsapp_customer_books_from_a_list_of_slots_and_gets_the_advisors_confirmation_on_whatsapp(
) {
    let world = World::new(false).await;
    let book = reminded_on_whatsapp(&world).await;
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    for start in ["09:00", "10:00", "11:00", "12:00"] {
        world
            .repos
            .capacity
            .define_slot(tomorrow, start, 1)
            .await
            .unwrap();
    }

    let response = world.post_whatsapp(&button_reply("wamid.A1", &book)).await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    let picker = world.whatsapp.messages().last().cloned().unwrap();
    assert_eq!(picker["to"], CUSTOMER_WA);
    assert_eq!(picker["interactive"]["type"], "list");
    assert_eq!(
        picker["interactive"]["body"]["text"],
        "Выберите удобное время:"
    );
    let rows = picker["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .clone();
    let titles: Vec<&str> = rows.iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles[..4],
        ["02.11 09:00", "02.11 10:00", "02.11 11:00", "02.11 12:00"]
    );
    let slot = rows[1]["id"].as_str().unwrap().to_owned();

    let response = world.post_whatsapp(&list_reply("wamid.A2", &slot)).await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    let held = world.whatsapp.messages().last().cloned().unwrap();
    assert_eq!(held["type"], "text");
    assert!(held["text"]["body"]
        .as_str()
        .unwrap()
        .contains("02.11 10:00"));
    let advisor = world.telegram.calls().last().cloned().unwrap();
    assert_eq!(advisor.method, "sendMessage");
    assert_eq!(advisor.body["chat_id"], ADVISOR_CHAT);
    let confirm = advisor.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();

    let sent = world.sent_total();
    for replay in [
        button_reply("wamid.A1", &book),
        list_reply("wamid.A2", &slot),
    ] {
        let response = world.post_whatsapp(&replay).await;
        assert_eq!(status(&response), 200);
    }
    assert_eq!(
        world.sent_total(),
        sent,
        "a repeated delivery sends nothing"
    );
    let slots = world.repos.capacity.slots_on(tomorrow).await.unwrap();
    assert_eq!(
        slots[..4].iter().map(|s| s.remaining).collect::<Vec<_>>(),
        [1, 0, 1, 1]
    );

    let by_customer = world
        .post_whatsapp(&button_reply("wamid.A3", &confirm))
        .await;
    // Refused, and answered on WhatsApp with why.
    assert_eq!(status(&by_customer), 200);
    let refusal = world.whatsapp.messages().last().cloned().unwrap();
    assert!(refusal["text"]["body"]
        .as_str()
        .unwrap()
        .contains("не для вас"));
    let response = world
        .post_telegram(json!({
            "update_id": 900,
            "callback_query": {
                "id": "cb900",
                "from": {"id": ADVISOR_CHAT, "is_bot": false, "first_name": "Мастер"},
                "chat_instance": "ci",
                "data": confirm,
                "message": {"message_id": 1, "date": 0, "chat": {"id": ADVISOR_CHAT, "type": "group"}}
            }
        }))
        .await;
    assert_eq!(status(&response), 200, "{}", text(&response));
    let confirmation = world.whatsapp.messages().last().cloned().unwrap();
    assert_eq!(confirmation["to"], CUSTOMER_WA);
    assert_eq!(
        confirmation["interactive"]["body"]["text"],
        "Михаил, ваша запись на 02.11 10:00 подтверждена. Ждём вас в «Автодрайв» по адресу: \
         Москва, Дмитровское шоссе, 163."
    );
    let answers: Vec<&str> = confirmation["interactive"]["action"]["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reply"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(answers, ["Перенести", "Отменить"]);
    assert!(world
        .telegram
        .calls()
        .iter()
        .any(|c| c.body["chat_id"] == ADVISOR_CHAT
            && c.body["text"] == "Запись на 02.11 10:00 подтверждена."));
    let bookings = world
        .repos
        .capacity
        .bookings_of_customer::<BookingRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0].state, BookingState::Confirmed);
    assert!(world.whatsapp.rejected().is_empty());
    assert!(world.telegram.rejected().is_empty());
}

#[tokio::test]
async fn stop_on_whatsapp_is_answered_once_and_the_evaluator_queues_nothing_afterwards() {
    let world = World::new(false).await;
    assert!(
        !world.evaluate().await.compose.is_empty(),
        "due before STOP"
    );
    let stop = customer_text("wamid.S1", "  Стоп ");
    assert_eq!(status(&world.post_whatsapp(&stop).await), 200);
    assert_eq!(status(&world.post_whatsapp(&stop).await), 200);
    assert_eq!(
        world.whatsapp.messages(),
        [json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER_WA,
            "type": "text",
            "text": {"preview_url": false, "body": STOP_REPLY}
        })]
    );
    assert_eq!(world.opted_out_at().await, Some(now()));
    let evaluation = world.evaluate().await;
    assert!(evaluation.compose.is_empty());
    assert!(evaluation.vetoed.iter().all(|(_, v)| v == "opted_out"));
}

#[tokio::test]
async fn stop_in_telegram_is_answered_once_and_the_evaluator_queues_nothing_afterwards() {
    let world = World::new(true).await;
    assert!(
        !world.evaluate().await.compose.is_empty(),
        "due before STOP"
    );
    let stop = json!({
        "update_id": 700,
        "message": {
            "message_id": 5, "date": 0, "text": "/stop",
            "from": {"id": CUSTOMER_CHAT, "is_bot": false, "first_name": "Михаил"},
            "chat": {"id": CUSTOMER_CHAT, "type": "private"}
        }
    });
    assert_eq!(status(&world.post_telegram(stop.clone()).await), 200);
    assert_eq!(status(&world.post_telegram(stop).await), 200);
    let calls = world.telegram.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["chat_id"], CUSTOMER_CHAT);
    assert_eq!(calls[0].body["text"], STOP_REPLY);
    assert_eq!(world.opted_out_at().await, Some(now()));
    let evaluation = world.evaluate().await;
    assert!(evaluation.compose.is_empty());
    assert!(evaluation.vetoed.iter().all(|(_, v)| v == "opted_out"));
}

#[tokio::test]
async fn unknown_routes_get_404_and_other_methods_405() {
    let world = World::new(false).await;
    let request = event("POST", "/v1/telegram", "", &[], b"{}");
    assert_eq!(
        status(&handle_request(&world.deps, request, now()).await),
        404
    );
    let request = event("PUT", "/v1/whatsapp/webhook", "", &[], b"{}");
    assert_eq!(
        status(&handle_request(&world.deps, request, now()).await),
        405
    );
    let request = event("GET", "/v1/telegram/webhook", "", &[], b"");
    assert_eq!(
        status(&handle_request(&world.deps, request, now()).await),
        405
    );
}
