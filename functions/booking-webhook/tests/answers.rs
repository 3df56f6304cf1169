//! The answers under a reminder («Уже обслужился», «Напомнить позже», «Не присылать»), refused
//! presses and data erasure, scripted through the Lambda entry (`handle_request`) against the
//! fake Bot API and the fake Graph API, which check the documented shapes (inline keyboards,
//! interactive lists and reply buttons, templates with quick replies). Every update is
//! delivered twice: the second time sends nothing; every Telegram press is answered.

mod common;

use app::booking::answers::{ClosedBecause, CycleClosure};
use app::{BookingSettings, ComposeOffer, ComposeSettings};
use booking_webhook::{handle_request, Deps, WhatsApp};
use channels::fake_telegram::FakeTelegram;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{Channels, TelegramBot, WhatsAppCloud};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{at, test_store};
use domain::policy::Policy;
use domain::triggers::Stage;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::{Body, Response};
use lambda_support::test_events::http_api_event as event;
use serde_json::{json, Value};
use sha2::Sha256;
use store::repo::{ContactHandle, Repos};
use store::RedbStore;

const VIN: &str = "XW7BE40K70S025476";
const CHAT: i64 = 5550001;
const STRANGER: i64 = 5559999;
const ADVISORS: i64 = -100777;
const CUSTOMER_WA: &str = "79161234567";
const NUMBER: &str = "106540352242922";
const ACCESS_TOKEN: &str = "EAAG-access-token";
const APP_SECRET: &str = "meta-app-secret";
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
const BOT: &str = "7:BOT";

fn now() -> DateTime<Utc> {
    at("2027-11-01T10:05:00+03:00")
}

fn status(response: &Response<Body>) -> u16 {
    response.status().as_u16()
}

fn body_text(response: &Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    repos: Repos<RedbStore>,
    deps: Deps<RedbStore>,
    whatsapp: FakeWhatsApp,
    telegram: FakeTelegram,
    next: std::cell::Cell<i64>,
}

impl World {
    /// The example customer (in chat 5550001 when `telegram`, else on WhatsApp only), the
    /// visit recorded and the vehicle forecast on the night of 1 November 2027.
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
        let whatsapp = FakeWhatsApp::start(NUMBER, ACCESS_TOKEN).unwrap();
        let telegram = FakeTelegram::start(BOT).unwrap();
        let deps = Deps {
            repos: repos.clone(),
            policy,
            bot: TelegramBot::new(telegram.base_url(), BOT),
            whatsapp: WhatsApp {
                client: WhatsAppCloud::new(whatsapp.base_url(), NUMBER, ACCESS_TOKEN),
                app_secret: APP_SECRET.into(),
                verify_token: "verify".into(),
            },
            settings: BookingSettings {
                advisor_chat_id: ADVISORS,
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
            next: std::cell::Cell::new(100),
        }
    }

    /// The soft reminder of 1 November 2027, sent through the deployment's channels.
    async fn remind(&self, night: NaiveDate) -> ComposeOffer {
        let policy = Policy::default();
        let vehicle = self
            .repos
            .vehicles
            .get::<domain::Vehicle>(VIN)
            .await
            .unwrap()
            .unwrap();
        app::forecast_vehicle(&self.repos, &policy, &vehicle.vehicle, night)
            .await
            .unwrap();
        let message = app::EvaluateVehicle::V1 {
            run_date: night,
            vin: VIN.into(),
        };
        let evaluation = app::evaluate_vehicle(&self.repos, &policy, &message, now())
            .await
            .unwrap();
        app::commit_evaluation(&self.repos, &evaluation)
            .await
            .unwrap();
        let reminder = evaluation
            .compose
            .into_iter()
            .find(|m| {
                matches!(
                    m,
                    ComposeOffer::V1 {
                        stage: Stage::SoftReminder,
                        ..
                    }
                )
            })
            .unwrap();
        let outcome = self.compose(&reminder).await;
        assert!(
            matches!(outcome, app::ComposeOutcome::Sent { .. }),
            "{outcome:?}"
        );
        reminder
    }

    async fn compose(&self, message: &ComposeOffer) -> app::ComposeOutcome {
        let channels = Channels {
            telegram: Some(self.deps.bot.clone()),
            whatsapp: Some(self.deps.whatsapp.client.clone()),
            ..Channels::default()
        };
        app::compose_and_deliver(
            &self.repos,
            &Policy::default(),
            &channels,
            &ComposeSettings::default(),
            message,
            "test",
            now(),
        )
        .await
        .unwrap()
    }

    fn update_id(&self) -> i64 {
        let id = self.next.get();
        self.next.set(id + 1);
        id
    }

    fn sent_total(&self) -> usize {
        self.whatsapp.messages().len() + self.telegram.calls().len()
    }

    /// Posts the request twice: both 200, the second sends nothing; nothing sent was refused
    /// by the fakes.
    async fn twice(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let before = self.sent_total();
        let response =
            handle_request(&self.deps, event("POST", path, "", headers, body), now()).await;
        assert_eq!(status(&response), 200, "{}", body_text(&response));
        let sent = self.sent_total();
        assert!(sent > before, "an answer goes out");
        let again = handle_request(&self.deps, event("POST", path, "", headers, body), now()).await;
        assert_eq!(status(&again), 200, "{}", body_text(&again));
        assert_eq!(self.sent_total(), sent, "delivered twice");
        assert!(
            self.telegram.rejected().is_empty(),
            "{:?}",
            self.telegram.rejected()
        );
        assert!(
            self.whatsapp.rejected().is_empty(),
            "{:?}",
            self.whatsapp.rejected()
        );
    }

    /// `chat` presses a button; returns the message sent back and the press's answer.
    async fn press(&self, chat: i64, data: &str) -> (Value, String) {
        let before = self.telegram.calls().len();
        let body = lambda_support::test_events::telegram_callback(self.update_id(), chat, data);
        self.twice(
            "/v1/telegram/webhook",
            &[("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)],
            &body,
        )
        .await;
        let calls = self.telegram.calls()[before..].to_vec();
        let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
        assert_eq!(methods, ["sendMessage", "answerCallbackQuery"], "{calls:?}");
        assert_eq!(calls[0].body["chat_id"], chat);
        let answer = calls[1].body["text"].as_str().unwrap().to_owned();
        (calls[0].body.clone(), answer)
    }

    /// `chat` writes `text`; returns the message sent back.
    async fn say(&self, chat: i64, text: &str) -> Value {
        let before = self.telegram.calls().len();
        let body = serde_json::to_vec(&json!({
            "update_id": self.update_id(),
            "message": {
                "message_id": 7, "date": 0, "text": text,
                "from": {"id": chat, "is_bot": false, "first_name": "X"},
                "chat": {"id": chat, "type": "private"}
            }
        }))
        .unwrap();
        self.twice(
            "/v1/telegram/webhook",
            &[("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)],
            &body,
        )
        .await;
        let calls = self.telegram.calls()[before..].to_vec();
        assert_eq!(calls.len(), 1, "{calls:?}");
        calls[0].body.clone()
    }

    /// The customer sends `message` (its type and content) on WhatsApp; returns what came back.
    async fn whatsapp_says(&self, message: Value) -> Value {
        let mut message = message;
        message["from"] = CUSTOMER_WA.into();
        message["id"] = format!("wamid.{}", self.update_id()).into();
        message["timestamp"] = now().timestamp().to_string().into();
        let body = serde_json::to_vec(&json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "74950000000", "phone_number_id": NUMBER},
                "contacts": [{"profile": {"name": "Михаил"}, "wa_id": CUSTOMER_WA}],
                "messages": [message]
            }}]}]
        }))
        .unwrap();
        let before = self.whatsapp.messages().len();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.twice(
            "/v1/whatsapp/webhook",
            &[("x-hub-signature-256", &signature)],
            &body,
        )
        .await;
        let sent = self.whatsapp.messages()[before..].to_vec();
        assert_eq!(sent.len(), 1, "{sent:?}");
        sent[0].clone()
    }

    async fn closure(&self, cycle_id: &str) -> Option<CycleClosure> {
        self.repos.cycles.closure(VIN, cycle_id).await.unwrap()
    }
}

/// The buttons of a Telegram message as (label, data), row by row.
fn keyboard(message: &Value) -> Vec<Vec<(String, String)>> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["text"].as_str().unwrap().to_owned(),
                        b["callback_data"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

fn data_of(message: &Value, label: &str) -> String {
    keyboard(message)
        .into_iter()
        .flatten()
        .find(|(text, _)| text == label)
        .unwrap_or_else(|| panic!("no {label:?} in {message}"))
        .1
}

/// The options of a WhatsApp interactive message as (title, id): list rows or reply buttons.
fn options(message: &Value) -> Vec<(String, String)> {
    let interactive = &message["interactive"];
    let pairs: Vec<&Value> = match interactive["type"].as_str() {
        Some("list") => interactive["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .collect(),
        Some("button") => interactive["action"]["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["reply"])
            .collect(),
        other => panic!("not interactive: {other:?} {message}"),
    };
    pairs
        .into_iter()
        .map(|p| {
            (
                p["title"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn option(message: &Value, title: &str) -> String {
    options(message)
        .into_iter()
        .find(|(t, _)| t == title)
        .unwrap_or_else(|| panic!("no {title:?} in {message}"))
        .1
}

fn night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 11, 1).unwrap()
}

#[tokio::test]
async fn on_telegram_serviced_elsewhere_asks_the_odometer_and_a_stranger_is_refused() {
    let world = World::new(true).await;
    world.remind(night()).await;
    let reminder = world.telegram.calls()[0].body.clone();
    let labels: Vec<Vec<String>> = keyboard(&reminder)
        .into_iter()
        .map(|row| row.into_iter().map(|(t, _)| t).collect())
        .collect();
    assert_eq!(
        labels,
        [
            vec!["Записаться"],
            vec!["Уже обслужился", "Напомнить позже"],
            vec!["Не присылать"]
        ]
    );
    let done = data_of(&reminder, "Уже обслужился");

    let (refusal, toast) = world.press(STRANGER, &done).await;
    assert!(refusal["text"].as_str().unwrap().contains("не для вас"));
    assert_eq!(refusal["text"].as_str().unwrap(), toast);

    let (question, toast) = world.press(CHAT, &done).await;
    assert_eq!(toast, "Готово");
    assert_eq!(keyboard(&question).len(), 3);
    let (ask, _) = world
        .press(CHAT, &data_of(&question, "В другом сервисе"))
        .await;
    assert!(ask["text"].as_str().unwrap().contains("одометре"));
    let thanks = world.say(CHAT, "104 000").await;
    assert!(
        thanks["text"].as_str().unwrap().contains("следующее ТО"),
        "{thanks}"
    );
    let closure = world.closure("A3C0001116").await.unwrap();
    assert_eq!(closure.reason, ClosedBecause::ServicedElsewhere);
    let due = world.repos.forecasts.get(VIN).await.unwrap().unwrap();
    assert_eq!(due.service.km, 104_000);

    // The old buttons are refused now, and still answered.
    let (old, toast) = world.press(CHAT, &data_of(&reminder, "Записаться")).await;
    assert!(
        old["text"].as_str().unwrap().contains("уже ответили"),
        "{old}"
    );
    assert_eq!(old["text"].as_str().unwrap(), toast);
}

#[tokio::test]
async fn on_telegram_remind_later_and_do_not_send_are_answered_and_undone() {
    let world = World::new(true).await;
    world.remind(night()).await;
    let reminder = world.telegram.calls()[0].body.clone();
    let (when, _) = world
        .press(CHAT, &data_of(&reminder, "Напомнить позже"))
        .await;
    let (snoozed, _) = world.press(CHAT, &data_of(&when, "Через неделю")).await;
    assert_eq!(snoozed["text"], "Хорошо, напомним 08.11.2027.");
    let (muted, _) = world.press(CHAT, &data_of(&reminder, "Не присылать")).await;
    assert!(muted["text"].as_str().unwrap().contains("Снова присылать"));
    assert!(
        app::contact_state::marketing_muted(&world.repos, VIN, "C-1001")
            .await
            .unwrap()
    );
    let (undone, _) = world.press(CHAT, &data_of(&muted, "Снова присылать")).await;
    assert!(undone["text"].as_str().unwrap().starts_with("Готово"));
    assert!(
        !app::contact_state::marketing_muted(&world.repos, VIN, "C-1001")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn on_telegram_an_erasure_is_confirmed_then_done_and_nothing_more_is_sent() {
    let world = World::new(true).await;
    let reminder = world.remind(night()).await;
    let asked = world.say(CHAT, "/delete").await;
    let yes = data_of(&asked, "Да, удалить");
    let (done, _) = world.press(CHAT, &yes).await;
    assert!(done["text"].as_str().unwrap().starts_with("Готово"));
    let repos = &world.repos;
    assert!(repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .is_none());
    assert!(repos
        .erasure
        .handle_erased_since(ContactHandle::Telegram(CHAT))
        .await
        .unwrap()
        .is_some());
    // A reminder queued before is not sent; the chat gets nothing more.
    let before = world.sent_total();
    let again = app::compose_and_deliver(
        repos,
        &Policy::default(),
        &Channels {
            telegram: Some(world.deps.bot.clone()),
            ..Channels::default()
        },
        &ComposeSettings::default(),
        &reminder,
        "test-2",
        now() + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(again, app::ComposeOutcome::OptedOut);
    assert_eq!(world.sent_total(), before);
}

#[tokio::test]
async fn on_whatsapp_the_four_answers_come_as_a_list_and_the_answers_as_reply_buttons() {
    let world = World::new(false).await;
    // The customer wrote two hours before: inside the 24-hour window, interactive messages.
    world
        .repos
        .customers
        .note_whatsapp_inbound("C-1001", now() - Duration::hours(2))
        .await
        .unwrap();
    world.remind(night()).await;
    let reminder = world.whatsapp.messages()[0].clone();
    assert_eq!(reminder["interactive"]["type"], "list");
    let titles: Vec<String> = options(&reminder).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        titles,
        [
            "Записаться",
            "Уже обслужился",
            "Напомнить позже",
            "Не присылать"
        ]
    );

    let list_reply = |id: String, title: &str| json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": id, "title": title}}});
    let button_reply = |id: String, title: &str| json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": title}}});
    let when = world
        .whatsapp_says(list_reply(
            option(&reminder, "Напомнить позже"),
            "Напомнить позже",
        ))
        .await;
    assert_eq!(when["interactive"]["type"], "button");
    let snoozed = world
        .whatsapp_says(button_reply(
            option(&when, "Через 2 недели"),
            "Через 2 недели",
        ))
        .await;
    assert_eq!(snoozed["text"]["body"], "Хорошо, напомним 15.11.2027.");

    let question = world
        .whatsapp_says(list_reply(
            option(&reminder, "Уже обслужился"),
            "Уже обслужился",
        ))
        .await;
    let sold = world
        .whatsapp_says(button_reply(
            option(&question, "Продал автомобиль"),
            "Продал автомобиль",
        ))
        .await;
    assert!(sold["text"]["body"]
        .as_str()
        .unwrap()
        .contains("Toyota Camry"));
    let closure = world.closure("A3C0001116").await.unwrap();
    assert_eq!(closure.reason, ClosedBecause::Sold);
    let refused = world
        .whatsapp_says(list_reply(option(&reminder, "Записаться"), "Записаться"))
        .await;
    assert!(refused["text"]["body"]
        .as_str()
        .unwrap()
        .contains("продали"));
}

#[tokio::test]
async fn on_whatsapp_a_template_carries_the_four_answers_and_an_erasure_is_confirmed() {
    let world = World::new(false).await;
    world
        .repos
        .customers
        .note_whatsapp_inbound("C-1001", now() - Duration::days(3))
        .await
        .unwrap();
    world.remind(night()).await;
    let reminder = world.whatsapp.messages()[0].clone();
    assert_eq!(reminder["type"], "template");
    let components = reminder["template"]["components"].as_array().unwrap();
    let payloads: Vec<(&str, &str)> = components[1..]
        .iter()
        .map(|c| {
            (
                c["index"].as_str().unwrap(),
                c["parameters"][0]["payload"].as_str().unwrap(),
            )
        })
        .collect();
    let prefixes: Vec<(&str, &str)> = payloads
        .iter()
        .map(|(i, p)| (*i, p.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        prefixes,
        [("0", "book"), ("1", "done"), ("2", "later"), ("3", "mute")]
    );
    let quick_reply =
        |payload: &str| json!({"type": "button", "button": {"payload": payload, "text": "…"}});
    let question = world.whatsapp_says(quick_reply(payloads[1].1)).await;
    let titles: Vec<String> = options(&question).into_iter().map(|(t, _)| t).collect();
    assert_eq!(titles, ["У нас", "В другом сервисе", "Продал автомобиль"]);

    let asked = world
        .whatsapp_says(json!({"type": "text", "text": {"body": "Удалите мои данные"}}))
        .await;
    let yes = option(&asked, "Да, удалить");
    let done = world
        .whatsapp_says(json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": yes, "title": "Да, удалить"}}}))
        .await;
    assert!(done["text"]["body"].as_str().unwrap().starts_with("Готово"));
    assert_eq!(
        world
            .repos
            .customers
            .by_phone("+79161234567")
            .await
            .unwrap(),
        None
    );
    assert!(world
        .repos
        .erasure
        .handle_erased_since(ContactHandle::Phone("+79161234567"))
        .await
        .unwrap()
        .is_some());
}

/// The booking page's form posts `field=value` to the link's page.
async fn post_page(world: &World, token: &str, field: &str, value: &str) -> (u16, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair(field, value)
        .finish();
    let request = event(
        "POST",
        &format!("/b/{token}"),
        "",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    let response = handle_request(&world.deps, request, now()).await;
    (status(&response), body_text(&response))
}

#[tokio::test]
async fn the_booking_page_offers_the_same_answers_and_takes_the_odometer() {
    let mut world = World::new(true).await;
    let links =
        app::booking_link::BookingLinks::new(b"0123456789abcdef0123", "https://dealer.example")
            .unwrap();
    let reminder = world.remind(night()).await;
    let ComposeOffer::V1 { offer_id, .. } = &reminder;
    let link = links.link(offer_id, now()).unwrap();
    let token = link.rsplit('/').next().unwrap().to_owned();
    world.deps.links = Some(links);

    let request = event("GET", &format!("/b/{token}"), "", &[], b"");
    let page = handle_request(&world.deps, request, now()).await;
    assert_eq!(status(&page), 200);
    let html = body_text(&page);
    for (label, data) in [
        ("Уже обслужился", format!("done:{offer_id}")),
        ("Напомнить позже", format!("later:{offer_id}")),
        ("Не присылать", format!("mute:{offer_id}")),
    ] {
        assert!(
            html.contains(&format!("name=\"answer\" value=\"{data}\">{label}<")),
            "{label}: {html}"
        );
    }
    assert!(html.contains("name=\"slot\""));

    let (code, html) = post_page(&world, &token, "answer", &format!("done:{offer_id}")).await;
    assert_eq!(code, 200, "{html}");
    assert!(
        html.contains(&format!("value=\"dw:e:{offer_id}\">В другом сервисе<")),
        "{html}"
    );
    let (code, html) = post_page(&world, &token, "answer", &format!("dw:e:{offer_id}")).await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("name=\"km\""), "{html}");
    let (code, html) = post_page(&world, &token, "km", "104 000").await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("следующее ТО"), "{html}");
    assert_eq!(
        world.closure("A3C0001116").await.unwrap().reason,
        ClosedBecause::ServicedElsewhere
    );

    let (code, html) = post_page(&world, &token, "answer", &format!("later:{offer_id}")).await;
    assert_eq!(code, 410, "{html}");
    assert!(html.contains("уже ответили"), "{html}");
    let (code, _) = post_page(&world, &token, "answer", "later:o0000000000000000").await;
    assert_eq!(code, 422);
    assert_eq!(world.telegram.rejected(), Vec::<String>::new());
}
