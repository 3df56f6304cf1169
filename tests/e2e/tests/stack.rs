//! The stack on moto_server: the table and queues as the template defines them, real event
//! payloads through the handlers, then every event delivered a second time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::messages::{ComposeOffer, EvaluateVehicle};
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use channels::fake_telegram::FakeTelegram;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{TelegramBot, WhatsAppCloud};
use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::Policy;
use domain::triggers::Stage;
use domain::Visit;
use hmac::{Hmac, KeyInit, Mac};
use lambda_support::aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_support::aws_lambda_events::sqs::SqsEvent;
use lambda_support::SqsQueue;
use store::repo::Repos;
use store::testing::Moto;
use store::{DynamoStore, TtlClock};

const VIN: &str = "XW7BE40K70S025476";
const CUSTOMER_CHAT: i64 = 5550001;
const ADVISOR_CHAT: i64 = -100777;
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
const WHATSAPP_NUMBER: &str = "106540352242922";
const WHATSAPP_TOKEN: &str = "EAAG-e2e";
const WHATSAPP_APP_SECRET: &str = "meta-app-secret";

/// A Telegram callback update: `chat_id` pressed a button carrying `data`.
fn press(update_id: i64, chat_id: i64, data: &str) -> Vec<u8> {
    lambda_support::test_events::telegram_callback(update_id, chat_id, data)
}

impl Run {
    /// Posts a Telegram update through the booking webhook as API Gateway delivers it.
    async fn telegram_update(&self, body: &[u8]) -> u16 {
        let request = api_gateway_post(
            "/v1/telegram/webhook",
            body,
            (booking_webhook::SECRET_HEADER, TELEGRAM_SECRET),
        );
        booking_webhook::handle_request(&self.booking, request, at("2027-11-01T09:05:00+03:00"))
            .await
            .status()
            .as_u16()
    }

    /// The callback data of the first button of the latest message to `chat_id`.
    fn last_button(&self, chat_id: i64) -> String {
        self.telegram
            .calls()
            .iter()
            .rev()
            .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat_id)
            .and_then(|c| c.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str())
            .expect("a message with a button")
            .to_owned()
    }
}

fn sqs_client(moto: &Moto) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A queue with its dead-letter queue, attributes as in `infra/template.yaml`.
async fn queue_with_dlq(client: &aws_sdk_sqs::Client, name: &str) -> String {
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .unwrap();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(dlq.queue_url().unwrap())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5});
    client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "360")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "345600")
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Receives and deletes every message of the queue, returned as the SQS event Lambda delivers.
async fn drain(client: &aws_sdk_sqs::Client, url: &str) -> SqsEvent {
    let mut records = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            records.push(serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-e2e-evaluate",
                "awsRegion": "eu-central-1"
            }));
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

fn api_gateway_request(body: &[u8], signature: &str) -> lambda_http::Request {
    api_gateway_post("/v1/visits", body, ("x-signature", signature))
}

/// An API Gateway HTTP API (payload 2.0) POST with one extra header.
fn api_gateway_post(path: &str, body: &[u8], header: (&str, &str)) -> lambda_http::Request {
    lambda_support::test_events::http_api_event("POST", path, "", &[header], body)
}

fn schedule_event(time: &str) -> EventBridgeEvent<serde_json::Value> {
    serde_json::from_value(serde_json::json!({
        "version": "0",
        "id": "0d9c3c4e-aaaa-bbbb-cccc-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": time,
        "region": "eu-central-1",
        "resources": ["arn:aws:scheduler:eu-central-1:123456789012:schedule/default/autodrive-e2e-nightly-forecast"],
        "detail": "{}"
    }))
    .unwrap()
}

fn booking_settings() -> app::BookingSettings {
    app::BookingSettings {
        advisor_chat_id: ADVISOR_CHAT,
        max_slots_shown: 6,
    }
}

fn whatsapp_side(server: &FakeWhatsApp) -> booking_webhook::WhatsApp {
    booking_webhook::WhatsApp {
        client: WhatsAppCloud::new(server.base_url(), WHATSAPP_NUMBER, WHATSAPP_TOKEN),
        app_secret: WHATSAPP_APP_SECRET.into(),
        verify_token: "meta-verify-token".into(),
    }
}

/// A WhatsApp notification of one text from the example customer, signed as Meta signs it.
fn whatsapp_text(message_id: &str, text: &str) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "74950000000", "phone_number_id": WHATSAPP_NUMBER},
            "contacts": [{"profile": {"name": "Михаил"}, "wa_id": "79161234567"}],
            "messages": [{"from": "79161234567", "id": message_id, "timestamp": "1824966300",
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap();
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(WHATSAPP_APP_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Run {
    ingest: ingest_visit::Deps<DynamoStore>,
    nightly: Arc<nightly_forecast::Deps<DynamoStore, SqsQueue>>,
    evaluator: trigger_evaluator::Deps<DynamoStore, SqsQueue>,
    composer: offer_composer::Deps<DynamoStore, channels::Channels, offer_composer::SqsPostpone>,
    telegram: FakeTelegram,
    booking: booking_webhook::Deps<DynamoStore>,
    repos: Repos<DynamoStore>,
    sqs: aws_sdk_sqs::Client,
    evaluate_url: String,
    compose_url: String,
}

/// What one delivery of every event produced.
struct Delivery {
    ingest_status: u16,
    night: nightly_forecast::NightSummary,
    evaluate: SqsEvent,
    compose: SqsEvent,
}

impl Run {
    async fn deliver_everything(&self, earlier: Option<&Delivery>) -> Delivery {
        let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
        let posted_at = at("2026-11-12T16:00:00+03:00");
        let signature = self.ingest.secret.sign(posted_at.timestamp(), &body);
        let response = ingest_visit::handle_request(
            &self.ingest,
            api_gateway_request(&body, &signature),
            posted_at,
        )
        .await;
        // 01:00 Moscow on 1 November 2027: the car is due by 12 November (12 months).
        let night = nightly_forecast::handle(
            self.nightly.clone(),
            schedule_event("2027-10-31T22:00:00Z"),
            Instant::now() + Duration::from_secs(600),
        )
        .await
        .unwrap();
        let mut evaluate = drain(&self.sqs, &self.evaluate_url).await;
        if let Some(earlier) = earlier {
            evaluate.records.extend(earlier.evaluate.records.clone());
        }
        let evaluated = trigger_evaluator::handle(
            &self.evaluator,
            evaluate.clone(),
            at("2027-11-01T01:00:05+03:00"),
        )
        .await;
        assert!(evaluated.batch_item_failures.is_empty());
        let mut compose = drain(&self.sqs, &self.compose_url).await;
        if let Some(earlier) = earlier {
            compose.records.extend(earlier.compose.records.clone());
        }
        // The morning after the night: past the quiet hours.
        let composed = offer_composer::handle(
            &self.composer,
            compose.clone(),
            "e2e-composer",
            at("2027-11-01T09:00:30+03:00"),
        )
        .await;
        assert!(composed.batch_item_failures.is_empty());
        Delivery {
            ingest_status: response.status().as_u16(),
            night,
            evaluate,
            compose,
        }
    }
}

/// The scenarios' instants (November 2026 to 2027) are not today's: TTLs follow a clock set
/// before their first instant, so what they keep for days stays while they run, whatever the date.
fn scenario_clock() -> DateTime<Utc> {
    at("2026-11-01T00:00:00+03:00")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_visit_leads_to_one_reminder_one_confirmed_booking_and_one_confirmation_however_often_events_repeat(
) {
    let moto = Moto::shared();
    let store = moto
        .fresh_store("e2e")
        .await
        .unwrap()
        .with_ttl_clock(scenario_clock());
    let sqs = sqs_client(moto);
    let evaluate_url = queue_with_dlq(&sqs, "autodrive-e2e-evaluate").await;
    let compose_url = queue_with_dlq(&sqs, "autodrive-e2e-compose").await;
    let telegram = FakeTelegram::start("42:E2E").unwrap();
    let repos = Repos::new(store.clone());
    let run = Run {
        ingest: ingest_visit::Deps {
            repos: repos.clone(),
            policy: Policy::default(),
            secret: ingest_visit::Secret::parse("the-dealer-shared-secret").unwrap(),
            events: app::Events::none(),
        },
        nightly: Arc::new(nightly_forecast::Deps {
            repos: repos.clone(),
            policy: Policy::default(),
            evaluate: SqsQueue::new(sqs.clone(), evaluate_url.clone()),
            compose: SqsQueue::new(sqs.clone(), compose_url.clone()),
            segments: 4,
            page_size: 10,
        }),
        evaluator: trigger_evaluator::Deps {
            repos: repos.clone(),
            policy: Policy::default(),
            compose: SqsQueue::new(sqs.clone(), compose_url.clone()),
            events: app::Events::none(),
        },
        composer: offer_composer::Deps {
            repos: repos.clone(),
            policy: Policy::default(),
            channel: channels::Channels {
                telegram: Some(TelegramBot::new(telegram.base_url(), "42:E2E")),
                ..Default::default()
            },
            compose: Default::default(),
            postpone: offer_composer::SqsPostpone {
                client: sqs.clone(),
            },
            events: app::Events::none(),
        },
        booking: booking_webhook::Deps {
            repos: repos.clone(),
            policy: Policy::default(),
            bot: TelegramBot::new(telegram.base_url(), "42:E2E"),
            whatsapp: whatsapp_side(&FakeWhatsApp::start(WHATSAPP_NUMBER, WHATSAPP_TOKEN).unwrap()),
            settings: booking_settings(),
            webhook_secret: TELEGRAM_SECRET.into(),
            sms: None,
            links: None,
            events: app::Events::none(),
        },
        telegram,
        repos,
        sqs,
        evaluate_url,
        compose_url,
    };

    let first = run.deliver_everything(None).await;
    assert_eq!(first.ingest_status, 201);
    let night = &first.night;
    assert_eq!(
        night.run_date,
        Some(NaiveDate::from_ymd_opt(2027, 11, 1).unwrap())
    );
    assert_eq!(
        (night.segments_done, night.forecast, night.queued),
        (4, 1, 1)
    );
    assert_eq!(first.evaluate.records.len(), 1);
    let message =
        EvaluateVehicle::from_json(first.evaluate.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        message,
        EvaluateVehicle::V1 {
            run_date: NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
            vin: VIN.into()
        }
    );
    let due = run.repos.forecasts.get(VIN).await.unwrap().unwrap();
    assert!(due.due_date <= NaiveDate::from_ymd_opt(2027, 11, 12).unwrap());
    let composed: Vec<ComposeOffer> = first
        .compose
        .records
        .iter()
        .map(|r| ComposeOffer::from_json(r.body.as_deref().unwrap()).unwrap())
        .collect();
    assert!(composed
        .iter()
        .any(|ComposeOffer::V1 { stage, send_at, .. }| {
            *stage == Stage::SoftReminder && *send_at == at("2027-11-01T09:00:00+03:00")
        }));

    let calls = run.telegram.calls();
    assert_eq!(calls.len(), composed.len());
    let reminder = calls
        .iter()
        .find(|c| c.body["text"].as_str().unwrap().contains("плановое ТО"))
        .expect("the soft reminder");
    assert_eq!(reminder.method, "sendMessage");
    assert_eq!(reminder.body["chat_id"], 5550001);
    assert_eq!(
        reminder.body["reply_markup"]["inline_keyboard"][0][0]["text"],
        "Записаться"
    );

    // The customer presses «Записаться», picks a slot (derived from the policy's workshop: 4
    // lifts from 09:00); the advisor confirms.
    let tomorrow = NaiveDate::from_ymd_opt(2027, 11, 2).unwrap();
    let book = reminder.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut updates = vec![press(100, CUSTOMER_CHAT, &book)];
    assert_eq!(run.telegram_update(&updates[0]).await, 200);
    updates.push(press(101, CUSTOMER_CHAT, &run.last_button(CUSTOMER_CHAT)));
    assert_eq!(run.telegram_update(&updates[1]).await, 200);
    updates.push(press(102, ADVISOR_CHAT, &run.last_button(ADVISOR_CHAT)));
    assert_eq!(run.telegram_update(&updates[2]).await, 200);
    let bookings = run
        .repos
        .capacity
        .bookings_of_customer::<app::booking::BookingRecord>("C-1001")
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0].state, store::repo::BookingState::Confirmed);
    let confirmation = run
        .telegram
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == CUSTOMER_CHAT)
        .unwrap();
    assert!(confirmation.body["text"]
        .as_str()
        .unwrap()
        .contains("подтверждена"));
    let calls = run.telegram.calls();

    let second = run.deliver_everything(Some(&first)).await;
    for update in &updates {
        assert_eq!(run.telegram_update(update).await, 200);
    }
    assert_eq!(
        run.repos
            .capacity
            .bookings_of_customer::<app::booking::BookingRecord>("C-1001")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run.repos.capacity.slots_on(tomorrow).await.unwrap()[0].remaining,
        3
    );
    assert_eq!(second.ingest_status, 200);
    assert_eq!((second.night.forecast, second.night.queued), (0, 0));
    assert_eq!(
        second.evaluate.records.len(),
        1,
        "the first night's message again"
    );
    // The night again also finds the booking confirmed since for tomorrow: its day-before
    // reminder is the one new message; a third delivery of everything sends nothing more.
    assert_eq!(second.night.reminders, 1);
    assert_eq!(
        second.compose.records.len(),
        composed.len() + 1,
        "the first messages again and the booking's reminder"
    );
    let new: Vec<String> = run.telegram.calls()[calls.len()..]
        .iter()
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(new.len(), 1, "no message sent twice: {new:?}");
    assert!(new[0].contains("напоминаем: завтра, 02.11"), "{}", new[0]);
    let calls = run.telegram.calls();
    let third = run.deliver_everything(Some(&second)).await;
    assert_eq!(third.night.reminders, 0);
    assert_eq!(
        run.telegram.calls().len(),
        calls.len(),
        "no message sent twice"
    );
    assert!(run.telegram.rejected().is_empty());
    assert_eq!(
        run.repos
            .visits
            .for_vehicle::<Visit>(VIN)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(run.repos.readings.for_vehicle(VIN).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_whatsapp_through_api_gateway_silences_the_night_and_outlives_a_new_visit() {
    let moto = Moto::shared();
    let store = moto
        .fresh_store("e2e-stop")
        .await
        .unwrap()
        .with_ttl_clock(scenario_clock());
    let sqs = sqs_client(moto);
    let evaluate_url = queue_with_dlq(&sqs, "autodrive-e2e-stop-evaluate").await;
    let compose_url = queue_with_dlq(&sqs, "autodrive-e2e-stop-compose").await;
    let repos = Repos::new(store);
    let whatsapp = FakeWhatsApp::start(WHATSAPP_NUMBER, WHATSAPP_TOKEN).unwrap();
    let telegram = FakeTelegram::start("42:E2E").unwrap();
    let ingest = ingest_visit::Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        secret: ingest_visit::Secret::parse("the-dealer-shared-secret").unwrap(),
        events: app::Events::none(),
    };
    let post_visit = |visit: serde_json::Value, posted_at: DateTime<Utc>| {
        let body = serde_json::to_vec(&visit).unwrap();
        let signature = ingest.secret.sign(posted_at.timestamp(), &body);
        ingest_visit::handle_request(&ingest, api_gateway_request(&body, &signature), posted_at)
    };
    let nightly = Arc::new(nightly_forecast::Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        evaluate: SqsQueue::new(sqs.clone(), evaluate_url.clone()),
        compose: SqsQueue::new(sqs.clone(), compose_url.clone()),
        segments: 2,
        page_size: 10,
    });
    let evaluator = trigger_evaluator::Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        compose: SqsQueue::new(sqs.clone(), compose_url.clone()),
        events: app::Events::none(),
    };
    let booking = booking_webhook::Deps {
        repos: repos.clone(),
        policy: Policy::default(),
        bot: TelegramBot::new(telegram.base_url(), "42:E2E"),
        whatsapp: whatsapp_side(&whatsapp),
        settings: booking_settings(),
        webhook_secret: TELEGRAM_SECRET.into(),
        sms: None,
        links: None,
        events: app::Events::none(),
    };

    let posted = post_visit(
        app::fixtures::example_visit(),
        at("2026-11-12T16:00:00+03:00"),
    )
    .await;
    assert_eq!(posted.status().as_u16(), 201);
    let night = nightly_forecast::handle(
        nightly.clone(),
        schedule_event("2027-10-31T22:00:00Z"),
        Instant::now() + Duration::from_secs(600),
    )
    .await
    .unwrap();
    assert_eq!(night.queued, 1);
    let evaluate = drain(&sqs, &evaluate_url).await;
    let message = EvaluateVehicle::from_json(evaluate.records[0].body.as_deref().unwrap()).unwrap();
    let before = app::evaluate_vehicle(
        &repos,
        &Policy::default(),
        &message,
        at("2027-11-01T00:29:00+03:00"),
    )
    .await
    .unwrap();
    assert!(!before.compose.is_empty(), "a reminder is due before STOP");

    let (body, signature) = whatsapp_text("wamid.E2E-STOP", "STOP");
    for _ in 0..2 {
        let request = api_gateway_post(
            "/v1/whatsapp/webhook",
            &body,
            ("x-hub-signature-256", &signature),
        );
        let response =
            booking_webhook::handle_request(&booking, request, at("2027-11-01T00:30:00+03:00"))
                .await;
        assert_eq!(response.status().as_u16(), 200);
    }
    let sent = whatsapp.messages();
    assert_eq!(sent.len(), 1, "STOP is answered once");
    assert_eq!(sent[0]["to"], "79161234567");
    assert_eq!(sent[0]["text"]["body"], app::booking::STOP_REPLY);

    let evaluated =
        trigger_evaluator::handle(&evaluator, evaluate, at("2027-11-01T01:00:05+03:00")).await;
    assert!(evaluated.batch_item_failures.is_empty());
    assert!(
        drain(&sqs, &compose_url).await.records.is_empty(),
        "nothing is composed for an opted-out customer"
    );

    let later = app::fixtures::visit("A3C0002222", VIN, "2027-11-05T12:00:00+03:00", 104_000);
    let posted = post_visit(later, at("2027-11-05T12:10:00+03:00")).await;
    assert_eq!(posted.status().as_u16(), 201);
    let customer = repos
        .customers
        .get::<domain::Customer>("C-1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        customer.opted_out_at,
        Some(at("2027-11-01T00:30:00+03:00")),
        "a new visit from the CRM keeps the opt-out"
    );
    assert!(telegram.calls().is_empty());
    assert!(whatsapp.rejected().is_empty());
}
