//! `offer_composer::handle` choosing the customer's channel: a customer without Telegram gets a
//! WhatsApp template outside the 24-hour window, an interactive message inside it, and an SMS
//! with a signed booking link when they have never written on WhatsApp; fake Cloud API and SMS
//! gateway servers check the documented request shapes.

use app::booking_link::BookingLinks;
use app::messages::ComposeOffer;
use app::outreach::WhatsAppTemplates;
use app::ComposeSettings;
use channels::fake_sms::FakeSms;
use channels::fake_whatsapp::FakeWhatsApp;
use channels::{Channels, SmsGateway, WhatsAppCloud};
use chrono::{DateTime, Duration, Utc};
use domain::policy::Policy;
use domain::Customer;
use lambda_support::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use offer_composer::{handle, Deps, Postpone};
use serde_json::Value;
use store::repo::{CustomerRecord, Repos};
use store::RedbStore;

const NUMBER: &str = "106540352242922";
const WA_TOKEN: &str = "wa-token";
const SMS_KEY: &str = "sms-key";
const LINK_KEY: &[u8] = b"link-key-of-the-tests-0123456789";
const CUSTOMER: &str = "C-1001";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn morning() -> DateTime<Utc> {
    at("2027-11-01T09:00:30+03:00")
}

struct NoPostpone;

impl Postpone for NoPostpone {
    async fn postpone(&self, _: &SqsMessage, _: i32) -> anyhow::Result<()> {
        anyhow::bail!("nothing is postponed in the morning")
    }
}

fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m{i}"), "receiptHandle": format!("rh-{i}"), "body": body,
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:autodrive-dev-compose",
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// The example visit decided on 1 November 2027, its customer without a Telegram chat and with
/// the given consent to service messages.
async fn decided_without_telegram(repos: &Repos<RedbStore>, service_consent: bool) -> Vec<String> {
    let policy = Policy::default();
    let evaluation =
        app::fixtures::example_visit_evaluated(repos, &policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    app::commit_evaluation(repos, &evaluation).await.unwrap();
    let mut customer = repos
        .customers
        .get::<Customer>(CUSTOMER)
        .await
        .unwrap()
        .unwrap()
        .profile;
    customer.telegram_chat_id = None;
    customer.consents.service_messages = service_consent;
    repos
        .customers
        .put(&CustomerRecord {
            customer_id: CUSTOMER,
            telegram_chat_id: None,
            phone: Some(customer.phone.as_str()),
            profile: &customer,
        })
        .await
        .unwrap();
    evaluation
        .compose
        .iter()
        .map(ComposeOffer::to_json)
        .collect()
}

struct Rig {
    deps: Deps<RedbStore, Channels, NoPostpone>,
    whatsapp: FakeWhatsApp,
    sms: FakeSms,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let whatsapp = FakeWhatsApp::start(NUMBER, WA_TOKEN).unwrap();
    let sms = FakeSms::start(SMS_KEY).unwrap();
    let deps = Deps {
        repos,
        policy: Policy::default(),
        channel: Channels {
            telegram: None,
            whatsapp: Some(WhatsAppCloud::new(whatsapp.base_url(), NUMBER, WA_TOKEN)),
            sms: Some(SmsGateway::new(sms.base_url(), SMS_KEY, "AutoDrive")),
        },
        compose: ComposeSettings {
            templates: WhatsAppTemplates::parse("soft_reminder=to_reminder_v2").unwrap(),
            links: Some(BookingLinks::new(LINK_KEY, "https://dealer.example").unwrap()),
        },
        postpone: NoPostpone,
        events: app::Events::none(),
    };
    Rig {
        deps,
        whatsapp,
        sms,
        _dir: dir,
    }
}

fn offer_id_of(bodies: &[String]) -> String {
    let ComposeOffer::V1 { offer_id, .. } = ComposeOffer::from_json(&bodies[0]).unwrap();
    offer_id
}

#[tokio::test]
async fn offer_composer_handle_sends_a_whatsapp_template_outside_the_service_window() {
    let rig = rig();
    let bodies = decided_without_telegram(&rig.deps.repos, true).await;
    let offer_id = offer_id_of(&bodies);
    rig.deps
        .repos
        .customers
        .note_whatsapp_inbound(CUSTOMER, morning() - Duration::days(3))
        .await
        .unwrap();

    let response = handle(&rig.deps, sqs_event(&bodies[..1]), "req-1", morning()).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        rig.whatsapp.rejected().is_empty(),
        "{:?}",
        rig.whatsapp.rejected()
    );
    let sent = rig.whatsapp.messages();
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(message["to"], "79161234567");
    assert_eq!(message["type"], "template");
    let template = &message["template"];
    assert_eq!(template["name"], "to_reminder_v2");
    assert_eq!(template["language"]["code"], "ru");
    let body = &template["components"][0];
    assert_eq!(body["type"], "body");
    assert_eq!(
        body["parameters"][0],
        serde_json::json!({"type": "text", "text": "Михаил"})
    );
    let details = body["parameters"][1]["text"].as_str().unwrap();
    assert!(
        details.contains("ТО") && !details.contains('\n'),
        "{details}"
    );
    let button = &template["components"][1];
    assert_eq!(
        (&button["type"], &button["sub_type"], &button["index"]),
        (&"button".into(), &"quick_reply".into(), &"0".into())
    );
    assert_eq!(
        button["parameters"][0]["payload"],
        format!("book:{offer_id}")
    );
    assert!(rig.sms.messages().is_empty());
}

#[tokio::test]
async fn offer_composer_handle_sends_an_interactive_whatsapp_message_inside_the_service_window() {
    let rig = rig();
    let bodies = decided_without_telegram(&rig.deps.repos, true).await;
    rig.deps
        .repos
        .customers
        .note_whatsapp_inbound(CUSTOMER, morning() - Duration::hours(2))
        .await
        .unwrap();

    let response = handle(&rig.deps, sqs_event(&bodies[..1]), "req-1", morning()).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        rig.whatsapp.rejected().is_empty(),
        "{:?}",
        rig.whatsapp.rejected()
    );
    let sent = rig.whatsapp.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "interactive");
    // Four answers: more than WhatsApp's three reply buttons, so a list.
    let interactive = &sent[0]["interactive"];
    assert_eq!(interactive["type"], "list");
    let titles: Vec<&str> = interactive["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Записаться",
            "Уже обслужился",
            "Напомнить позже",
            "Не присылать"
        ]
    );
}

#[tokio::test]
async fn offer_composer_handle_sends_an_sms_of_two_segments_at_most_with_a_signed_booking_link() {
    let rig = rig();
    let bodies = decided_without_telegram(&rig.deps.repos, true).await;
    let offer_id = offer_id_of(&bodies);

    let response = handle(&rig.deps, sqs_event(&bodies[..1]), "req-1", morning()).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(rig.sms.rejected().is_empty(), "{:?}", rig.sms.rejected());
    assert!(rig.whatsapp.messages().is_empty());
    let sent = rig.sms.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "+79161234567");
    assert_eq!(sent[0]["from"], "AutoDrive");
    let text = sent[0]["text"].as_str().unwrap();
    assert!(text.starts_with("Михаил, "), "{text}");
    assert!(app::sms_text::segments(text) <= 2, "{text}");
    let link = text.split_whitespace().last().unwrap();
    let token = link.strip_prefix("https://dealer.example/b/").unwrap();
    let links = BookingLinks::new(LINK_KEY, "https://dealer.example").unwrap();
    assert_eq!(links.verify(token, morning()), Ok(offer_id));

    let again = handle(&rig.deps, sqs_event(&bodies[..1]), "req-2", morning()).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(rig.sms.messages().len(), 1, "sent once");
}

#[tokio::test]
async fn offer_composer_handle_sends_nothing_once_the_customer_withdrew_consent() {
    let rig = rig();
    let bodies = decided_without_telegram(&rig.deps.repos, false).await;
    let response = handle(&rig.deps, sqs_event(&bodies[..1]), "req-1", morning()).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(rig.sms.messages().is_empty() && rig.whatsapp.messages().is_empty());
}
