//! The deployed stack on moto_server for the end-to-end tests: a fresh table, the evaluate and
//! compose queues with their dead-letter queues as `infra/template.yaml` defines them, the five
//! functions' dependencies built on one policy, fake Telegram, WhatsApp and SMS servers, and every
//! event as the AWS service delivers it (API Gateway HTTP API requests, the EventBridge Scheduler
//! event, SQS batches of ten settled like the event source mapping with partial batch failures).
#![allow(dead_code, reason = "each test binary uses a part of the shared setup")]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::booking_link::BookingLinks;
use app::messages::{ComposeOffer, EvaluateVehicle, RemindBooking};
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use channels::fake_sms::FakeSms;
use channels::fake_telegram::FakeTelegram;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{Channels, SmsGateway, TelegramBot, WhatsAppCloud};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use domain::policy::Policy;
use hmac::{Hmac, KeyInit, Mac};
use lambda_support::aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_support::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_support::SqsQueue;
use serde_json::{json, Value};
use serde_norway::Value as Yaml;
use store::repo::Repos;
use store::testing::Moto;
use store::{DynamoStore, TtlClock};

pub const CRM_SECRET: &str = "the-dealer-shared-secret";
pub const BOT_TOKEN: &str = "42:E2E";
pub const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
pub const ADVISOR_CHAT: i64 = -100777;
pub const WHATSAPP_NUMBER: &str = "106540352242922";
pub const WHATSAPP_TOKEN: &str = "EAAG-e2e";
pub const WHATSAPP_APP_SECRET: &str = "meta-app-secret";
pub const SMS_KEY: &str = "sms-gateway-key";
pub const LINK_KEY: &[u8] = b"booking-link-key-of-the-e2e-stack";
pub const PUBLIC_URL: &str = "https://api.dealer.example";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// `hh:mm:ss` on `day` in the policy's time zone.
pub fn local(policy: &Policy, day: NaiveDate, time: &str) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap();
    policy
        .time_zone()
        .from_local_datetime(&day.and_time(time))
        .single()
        .unwrap()
        .to_utc()
}

/// A queue of the stack and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
    pub max_receive_count: u64,
}

/// The properties of a template resource, `${Stage}` substituted in `!Sub` strings.
fn scalar(value: &Yaml, stage: &str) -> String {
    match value {
        Yaml::Tagged(t) if t.tag == "Sub" => t
            .value
            .as_str()
            .expect("a !Sub string")
            .replace("${Stage}", stage),
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("unexpected template value {other:?}"),
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// Creates the template's queue `id` and its dead-letter queue with their properties as
/// attributes (the queue name with `stage`).
async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    stack: &infra::Stack,
    id: &str,
    stage: &str,
) -> Queue {
    let attributes = |resource: &infra::Resource<'_>| -> Vec<(String, String)> {
        resource
            .properties
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v))
            .filter(|(k, _)| k != "QueueName" && k != "RedrivePolicy")
            .map(|(k, v)| (k, scalar(v, stage)))
            .collect()
    };
    let create = |name: String, attributes: Vec<(String, String)>| {
        let mut request = sqs.create_queue().queue_name(name);
        for (k, v) in attributes {
            request = request.attributes(QueueAttributeName::from(k.as_str()), v);
        }
        request.send()
    };
    let queue = stack
        .resource(id)
        .unwrap_or_else(|| panic!("{id} in the template"));
    let redrive = &queue.properties["RedrivePolicy"];
    let dlq_id = infra::referenced_id(&redrive["deadLetterTargetArn"]).expect("a DLQ reference");
    let dlq = stack.resource(dlq_id).expect("the DLQ resource");
    let dlq_name = scalar(&dlq.properties["QueueName"], stage);
    let dlq_url = create(dlq_name, attributes(&dlq))
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let max_receive_count = redrive["maxReceiveCount"]
        .as_u64()
        .expect("maxReceiveCount");
    let policy = json!({
        "deadLetterTargetArn": queue_arn(sqs, &dlq_url).await,
        "maxReceiveCount": max_receive_count,
    });
    let mut own = attributes(&queue);
    own.push(("RedrivePolicy".into(), policy.to_string()));
    let name = scalar(&queue.properties["QueueName"], stage);
    let url = create(name.clone(), own)
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    Queue {
        arn: queue_arn(sqs, &url).await,
        name,
        url,
        dlq_url,
        max_receive_count,
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

/// The stack of one test.
pub struct Stack {
    pub policy: Policy,
    pub repos: Repos<DynamoStore>,
    pub sqs: aws_sdk_sqs::Client,
    pub evaluate: Queue,
    pub compose: Queue,
    pub ingest: ingest_visit::Deps<DynamoStore>,
    pub nightly: Arc<nightly_forecast::Deps<DynamoStore, SqsQueue>>,
    pub evaluator: trigger_evaluator::Deps<DynamoStore, SqsQueue>,
    pub composer: offer_composer::Deps<DynamoStore, Channels, offer_composer::SqsPostpone>,
    pub booking: booking_webhook::Deps<DynamoStore>,
    pub telegram: FakeTelegram,
    pub whatsapp: FakeWhatsApp,
    pub sms: FakeSms,
    pub links: BookingLinks,
    next_update: AtomicI64,
}

/// One delivery of a queue's messages to its function, batch by batch.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Every message body delivered.
    pub bodies: Vec<String>,
    /// The records the function reported as failed (left on the queue).
    pub failed: Vec<SqsEvent>,
    pub batches: usize,
}

impl Delivered {
    /// The offers composed (not the booking reminders the same queue carries).
    pub fn compose_messages(&self) -> Vec<ComposeOffer> {
        self.bodies
            .iter()
            .filter(|b| RemindBooking::from_json(b).is_err())
            .map(|b| ComposeOffer::from_json(b).unwrap())
            .collect()
    }

    /// The booking reminders delivered.
    pub fn reminders(&self) -> Vec<RemindBooking> {
        self.bodies
            .iter()
            .filter_map(|b| RemindBooking::from_json(b).ok())
            .collect()
    }

    pub fn evaluate_messages(&self) -> Vec<EvaluateVehicle> {
        self.bodies
            .iter()
            .map(|b| EvaluateVehicle::from_json(b).unwrap())
            .collect()
    }

    pub fn failures(&self) -> usize {
        self.failed.iter().map(|e| e.records.len()).sum()
    }
}

/// The process's moto_server, started with `common/moto/sitecustomize.py` on its `PYTHONPATH`:
/// each TransactWriteItems copies the table once instead of once per operation (identical
/// copies), which keeps a table of thousands of items usable.
pub fn moto() -> &'static Moto {
    static PATCHED: std::sync::Once = std::sync::Once::new();
    PATCHED.call_once(|| {
        let patch = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/moto");
        let path = match std::env::var("PYTHONPATH") {
            Ok(before) if !before.is_empty() => format!("{patch}:{before}"),
            _ => patch.to_owned(),
        };
        std::env::set_var("PYTHONPATH", path);
    });
    Moto::shared()
}

impl Stack {
    /// A fresh stack named `stage` on the shared moto_server, every function on `policy`; TTLs
    /// follow `ttl_clock` (set before the scenario's first instant).
    pub async fn deploy(stage: &str, policy: Policy, ttl_clock: DateTime<Utc>) -> Stack {
        let moto = moto();
        let store = moto
            .fresh_store(stage)
            .await
            .unwrap()
            .with_ttl_clock(ttl_clock);
        let sqs = sqs_client(moto);
        let template = infra::Stack::parse(infra::TEMPLATE).expect("infra/template.yaml");
        let evaluate = create_queue(&sqs, &template, "EvaluateQueue", stage).await;
        let compose = create_queue(&sqs, &template, "ComposeQueue", stage).await;
        let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
        let whatsapp = FakeWhatsApp::start(WHATSAPP_NUMBER, WHATSAPP_TOKEN).unwrap();
        let sms = FakeSms::start(SMS_KEY).unwrap();
        let links = BookingLinks::new(LINK_KEY, PUBLIC_URL).unwrap();
        let repos = Repos::new(store);
        let whatsapp_client =
            || WhatsAppCloud::new(whatsapp.base_url(), WHATSAPP_NUMBER, WHATSAPP_TOKEN);
        let sms_gateway = || SmsGateway::new(sms.base_url(), SMS_KEY, "AutoDrive");
        Stack {
            ingest: ingest_visit::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                secret: ingest_visit::Secret::parse(CRM_SECRET).unwrap(),
                events: app::Events::none(),
            },
            nightly: Arc::new(nightly_forecast::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                evaluate: SqsQueue::new(sqs.clone(), evaluate.url.clone()),
                compose: SqsQueue::new(sqs.clone(), compose.url.clone()),
                segments: 4,
                page_size: 100,
            }),
            evaluator: trigger_evaluator::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                compose: SqsQueue::new(sqs.clone(), compose.url.clone()),
                events: app::Events::none(),
            },
            composer: offer_composer::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                channel: Channels {
                    telegram: Some(TelegramBot::new(telegram.base_url(), BOT_TOKEN)),
                    whatsapp: Some(whatsapp_client()),
                    sms: Some(sms_gateway()),
                },
                compose: app::ComposeSettings {
                    templates: Default::default(),
                    links: Some(links.clone()),
                },
                postpone: offer_composer::SqsPostpone {
                    client: sqs.clone(),
                },
                events: app::Events::none(),
            },
            booking: booking_webhook::Deps {
                repos: repos.clone(),
                policy: policy.clone(),
                bot: TelegramBot::new(telegram.base_url(), BOT_TOKEN),
                whatsapp: booking_webhook::WhatsApp {
                    client: whatsapp_client(),
                    app_secret: WHATSAPP_APP_SECRET.into(),
                    verify_token: "meta-verify-token".into(),
                },
                settings: app::BookingSettings {
                    advisor_chat_id: ADVISOR_CHAT,
                    max_slots_shown: 6,
                },
                webhook_secret: TELEGRAM_SECRET.into(),
                sms: Some(sms_gateway()),
                links: Some(links.clone()),
                events: app::Events::none(),
            },
            policy,
            repos,
            sqs,
            evaluate,
            compose,
            telegram,
            whatsapp,
            sms,
            links,
            next_update: AtomicI64::new(1000),
        }
    }

    /// `time` (`hh:mm:ss`) on `day`, dealer time.
    pub fn local(&self, day: NaiveDate, time: &str) -> DateTime<Utc> {
        local(&self.policy, day, time)
    }

    /// Posts a visit to `POST /v1/visits` as the CRM does (signed at `posted_at`): the status
    /// and the JSON answer.
    pub async fn post_visit(&self, visit: &Value, posted_at: DateTime<Utc>) -> (u16, Value) {
        let body = serde_json::to_vec(visit).unwrap();
        let signature = self.ingest.secret.sign(posted_at.timestamp(), &body);
        let request = lambda_support::test_events::http_api_event(
            "POST",
            "/v1/visits",
            "",
            &[(ingest_visit::SIGNATURE_HEADER, &signature)],
            &body,
        );
        // Boxed: a handler's future is large, and a test's stack is 2 MB.
        let response = Box::pin(ingest_visit::handle_request(
            &self.ingest,
            request,
            posted_at,
        ))
        .await;
        let status = response.status().as_u16();
        let answer = match response.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, answer)
    }

    /// The nightly schedule fires at 01:00 dealer time on `day`.
    pub async fn nightly(&self, day: NaiveDate) -> nightly_forecast::NightSummary {
        let time = self.local(day, "01:00:00");
        let event: EventBridgeEvent<Value> = serde_json::from_value(json!({
            "version": "0",
            "id": format!("schedule-{day}"),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": "123456789012",
            "time": time.to_rfc3339(),
            "region": "eu-central-1",
            "resources": ["arn:aws:scheduler:eu-central-1:123456789012:schedule/default/autodrive-nightly-forecast"],
            "detail": "{}"
        }))
        .unwrap();
        Box::pin(nightly_forecast::handle(
            self.nightly.clone(),
            event,
            Instant::now() + Duration::from_secs(900),
        ))
        .await
        .unwrap()
    }

    /// Up to ten messages of `queue`, received as the event source mapping receives them.
    pub async fn receive(&self, queue: &Queue) -> Option<SqsEvent> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let records: Vec<Value> = out
            .messages()
            .iter()
            .map(|m| {
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue.arn,
                    "awsRegion": "eu-central-1"
                })
            })
            .collect();
        if records.is_empty() {
            return None;
        }
        Some(serde_json::from_value(json!({ "Records": records })).unwrap())
    }

    /// Settles a batch as the event source mapping does: deletes every record not reported as
    /// failed; returns the failed ones (left on the queue).
    pub async fn settle(
        &self,
        queue: &Queue,
        event: &SqsEvent,
        response: &SqsBatchResponse,
    ) -> SqsEvent {
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let mut kept = SqsEvent::default();
        for record in &event.records {
            let id = record.message_id.as_deref().unwrap_or_default();
            if failed.contains(&id) {
                kept.records.push(record.clone());
                continue;
            }
            self.sqs
                .delete_message()
                .queue_url(&queue.url)
                .receipt_handle(record.receipt_handle.as_deref().unwrap())
                .send()
                .await
                .unwrap();
        }
        kept
    }

    /// Makes received messages of `queue` visible again at once (as if their visibility
    /// timeout had run out).
    pub async fn make_visible(&self, queue: &Queue, event: &SqsEvent) {
        for record in &event.records {
            self.sqs
                .change_message_visibility()
                .queue_url(&queue.url)
                .receipt_handle(record.receipt_handle.as_deref().unwrap())
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
    }

    /// Delivers the evaluate queue to trigger-evaluator at `now` until it is empty.
    pub async fn evaluate_all(&self, now: DateTime<Utc>) -> Delivered {
        let mut delivered = Delivered::default();
        while let Some(event) = self.receive(&self.evaluate).await {
            delivered.batches += 1;
            delivered
                .bodies
                .extend(event.records.iter().filter_map(|r| r.body.clone()));
            let response = Box::pin(trigger_evaluator::handle(
                &self.evaluator,
                event.clone(),
                now,
            ))
            .await;
            let failed = self.settle(&self.evaluate, &event, &response).await;
            if !failed.records.is_empty() {
                delivered.failed.push(failed);
            }
        }
        delivered
    }

    /// Delivers the compose queue to offer-composer at `now` until no message is visible.
    pub async fn compose_all(&self, now: DateTime<Utc>) -> Delivered {
        let mut delivered = Delivered::default();
        while let Some(event) = self.receive(&self.compose).await {
            delivered.batches += 1;
            delivered
                .bodies
                .extend(event.records.iter().filter_map(|r| r.body.clone()));
            let response = Box::pin(offer_composer::handle(
                &self.composer,
                event.clone(),
                "e2e",
                now,
            ))
            .await;
            let failed = self.settle(&self.compose, &event, &response).await;
            if !failed.records.is_empty() {
                delivered.failed.push(failed);
            }
        }
        delivered
    }

    /// Messages in `queue`'s dead-letter queue.
    pub async fn dead_letters(&self, queue: &Queue) -> usize {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue.dlq_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        out.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
            .parse()
            .unwrap()
    }

    /// A request to booking-webhook through API Gateway at `now`: the status and the body.
    pub async fn webhook(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: DateTime<Utc>,
    ) -> (u16, String) {
        let request = lambda_support::test_events::http_api_event(method, path, "", headers, body);
        let response = Box::pin(booking_webhook::handle_request(&self.booking, request, now)).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        (status, body)
    }

    /// A Telegram update posted to the webhook with the secret token.
    pub async fn telegram_update(&self, update: &[u8], now: DateTime<Utc>) -> u16 {
        self.webhook(
            "POST",
            booking_webhook::TELEGRAM_PATH,
            &[(booking_webhook::SECRET_HEADER, TELEGRAM_SECRET)],
            update,
            now,
        )
        .await
        .0
    }

    fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::Relaxed)
    }

    /// `chat` presses an inline button carrying `data`.
    pub async fn press(&self, chat: i64, data: &str, now: DateTime<Utc>) -> u16 {
        let update = lambda_support::test_events::telegram_callback(self.update_id(), chat, data);
        self.telegram_update(&update, now).await
    }

    /// `chat` writes `text` to the bot.
    pub async fn telegram_text(&self, chat: i64, text: &str, now: DateTime<Utc>) -> u16 {
        let update = serde_json::to_vec(&json!({
            "update_id": self.update_id(),
            "message": {
                "message_id": 7, "date": now.timestamp(),
                "from": {"id": chat, "is_bot": false, "first_name": "X"},
                "chat": {"id": chat, "type": "private"},
                "text": text
            }
        }))
        .unwrap();
        self.telegram_update(&update, now).await
    }

    /// One message from WhatsApp user `wa_id` (digits) sent at `sent_at`, as Meta posts it
    /// (signed) at `now`; `message` holds its type and content (`{"type": "text", "text": …}`).
    pub async fn whatsapp_message(
        &self,
        wa_id: &str,
        mut message: Value,
        sent_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> u16 {
        message["from"] = wa_id.into();
        message["id"] = format!("wamid.E2E{}", self.update_id()).into();
        message["timestamp"] = sent_at.timestamp().to_string().into();
        let body = serde_json::to_vec(&json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "74950000000", "phone_number_id": WHATSAPP_NUMBER},
                "contacts": [{"profile": {"name": "Клиент"}, "wa_id": wa_id}],
                "messages": [message]
            }}]}]
        }))
        .unwrap();
        let mut mac =
            <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(WHATSAPP_APP_SECRET.as_bytes())
                .unwrap();
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.webhook(
            "POST",
            booking_webhook::WHATSAPP_PATH,
            &[(booking_webhook::SIGNATURE_HEADER, &signature)],
            &body,
            now,
        )
        .await
        .0
    }

    /// The booking page of an SMS link: `GET`, or `POST` of the form field `slot`.
    pub async fn page(&self, link: &str, slot: Option<&str>, now: DateTime<Utc>) -> (u16, String) {
        let path = link.strip_prefix(PUBLIC_URL).expect("a link of the stack");
        match slot {
            None => self.webhook("GET", path, &[], b"", now).await,
            Some(slot) => {
                let form = format!("slot={}", percent_encode(slot));
                self.webhook(
                    "POST",
                    path,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    form.as_bytes(),
                    now,
                )
                .await
            }
        }
    }
}

/// `application/x-www-form-urlencoded` escaping of a value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The values of the `<button … name="slot" value="…">` elements of a booking page.
pub fn page_slots(html: &str) -> Vec<String> {
    html.split("name=\"slot\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|v| {
            v.replace("&amp;", "&")
                .replace("&#39;", "'")
                .replace("&quot;", "\"")
        })
        .collect()
}

/// What the fake servers received, as (channel, recipient, text) per message: Telegram
/// `sendMessage`, WhatsApp text/interactive bodies and template parameters, SMS texts.
pub fn received(stack: &Stack) -> Vec<Received> {
    let mut out = Vec::new();
    for call in stack.telegram.calls() {
        if call.method == "sendMessage" {
            out.push(Received {
                channel: "telegram",
                to: call.body["chat_id"].to_string(),
                text: call.body["text"].as_str().unwrap_or_default().to_owned(),
                body: call.body.clone(),
            });
        }
    }
    for message in stack.whatsapp.messages() {
        let text = match message["type"].as_str() {
            Some("text") => message["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Some("interactive") => message["interactive"]["body"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Some("template") => message["template"]["components"][0]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        out.push(Received {
            channel: "whatsapp",
            to: message["to"].as_str().unwrap_or_default().to_owned(),
            text,
            body: message,
        });
    }
    for message in stack.sms.messages() {
        out.push(Received {
            channel: "sms",
            to: message["to"].as_str().unwrap_or_default().to_owned(),
            text: message["text"].as_str().unwrap_or_default().to_owned(),
            body: message,
        });
    }
    out
}

/// One message a fake server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub channel: &'static str,
    pub to: String,
    pub text: String,
    pub body: Value,
}
