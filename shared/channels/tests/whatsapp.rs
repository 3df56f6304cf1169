//! The Cloud API client against the fake Graph server, and the fake's own checks.

use app::ports::{Address, Button, Channel, OutgoingMessage, WhatsAppId};
use channels::fake_whatsapp::FakeWhatsApp;
use channels::whatsapp::{Content, ContentError};
use channels::{WhatsAppCloud, WhatsAppError};
use serde_json::{json, Value};

const NUMBER: &str = "106540352242922";
const TOKEN: &str = "EAAG-test-token";

fn customer() -> WhatsAppId {
    WhatsAppId::parse("79161234567").unwrap()
}

fn message(text: &str, labels: &[&str]) -> OutgoingMessage {
    OutgoingMessage {
        to: Address::WhatsApp(customer()),
        text: text.into(),
        buttons: labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                vec![Button {
                    text: (*label).into(),
                    callback_data: format!("choice:{i}"),
                }]
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_text_message_goes_to_the_numbers_messages_edge_with_the_bearer_token() {
    let server = FakeWhatsApp::start(NUMBER, TOKEN).unwrap();
    let client = WhatsAppCloud::new(server.base_url(), NUMBER, TOKEN);
    let id = client
        .send(&message("Ваша запись подтверждена.", &[]))
        .await
        .unwrap();
    assert_eq!(id, "wamid.FAKE000001");
    assert_eq!(
        server.messages(),
        [json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "79161234567",
            "type": "text",
            "text": {"preview_url": false, "body": "Ваша запись подтверждена."}
        })]
    );
    assert!(server.rejected().is_empty());
}

#[tokio::test]
async fn up_to_three_short_labels_become_reply_buttons_and_more_become_a_list() {
    let server = FakeWhatsApp::start(NUMBER, TOKEN).unwrap();
    let client = WhatsAppCloud::new(server.base_url(), NUMBER, TOKEN).with_api_version("v22.0");
    client
        .send(&message("Михаил, пора на ТО.", &["Записаться"]))
        .await
        .unwrap();
    let slots: Vec<String> = (0..10).map(|i| format!("0{i}.11 10:00")).collect();
    let labels: Vec<&str> = slots.iter().map(String::as_str).collect();
    client
        .send(&message("Выберите удобное время:", &labels))
        .await
        .unwrap();
    let sent = server.messages();
    assert_eq!(sent.len(), 2);
    let buttons = &sent[0]["interactive"];
    assert_eq!(sent[0]["type"], "interactive");
    assert_eq!(buttons["type"], "button");
    assert_eq!(buttons["body"]["text"], "Михаил, пора на ТО.");
    assert_eq!(
        buttons["action"]["buttons"],
        json!([{"type": "reply", "reply": {"id": "choice:0", "title": "Записаться"}}])
    );
    let list = &sent[1]["interactive"];
    assert_eq!(list["type"], "list");
    assert_eq!(list["action"]["button"], "Выбрать");
    let rows = list["action"]["sections"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[9], json!({"id": "choice:9", "title": "09.11 10:00"}));
    assert!(server.rejected().is_empty());
}

#[tokio::test]
async fn a_message_that_breaks_the_limits_is_refused_before_anything_is_sent() {
    let server = FakeWhatsApp::start(NUMBER, TOKEN).unwrap();
    let client = WhatsAppCloud::new(server.base_url(), NUMBER, TOKEN);
    let eleven: Vec<String> = (0..11).map(|i| format!("слот {i}")).collect();
    let labels: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let too_many = client.send_message(&message("Время:", &labels)).await;
    assert!(matches!(
        too_many,
        Err(WhatsAppError::Content(ContentError::TooMany {
            max: 10,
            count: 11,
            ..
        }))
    ));
    let long = client
        .send_message(&message("Время:", &["Четверг, 12 ноября, 10:00 утра"]))
        .await;
    assert!(matches!(
        long,
        Err(WhatsAppError::Content(ContentError::Length { max: 24, .. }))
    ));
    let empty = client.send_message(&message("", &[])).await;
    assert!(matches!(
        empty,
        Err(WhatsAppError::Content(ContentError::Length { len: 0, .. }))
    ));
    let telegram = OutgoingMessage {
        to: Address::Telegram(5550001),
        text: "x".into(),
        buttons: vec![],
    };
    assert!(matches!(
        client.send_message(&telegram).await,
        Err(WhatsAppError::NotWhatsApp(Address::Telegram(5550001)))
    ));
    assert!(server.messages().is_empty());
    assert!(server.rejected().is_empty());
}

#[test]
fn reply_buttons_and_list_rows_are_checked_on_construction() {
    assert!(Content::buttons("Тело", &[("a", "Да"), ("b", "Нет"), ("c", "Позже")]).is_ok());
    assert_eq!(
        Content::buttons("Тело", &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]),
        Err(ContentError::TooMany {
            what: "reply buttons",
            max: 3,
            count: 4
        })
    );
    assert_eq!(
        Content::buttons("Тело", &[("a", "Двадцать один символ!")]),
        Err(ContentError::Length {
            field: "title",
            max: 20,
            len: 21
        })
    );
    assert_eq!(
        Content::buttons("Тело", &[("a", "Да"), ("a", "Нет")]),
        Err(ContentError::Duplicate { what: "ids" })
    );
    assert_eq!(
        Content::list("Тело", "Выбрать", "Время", &[]),
        Err(ContentError::Empty { what: "list rows" })
    );
    assert_eq!(
        Content::list("Тело", "Кнопка длиннее двадцати", "Время", &[("a", "1")]),
        Err(ContentError::Length {
            field: "list button",
            max: 20,
            len: 23
        })
    );
    let long_id = "x".repeat(201);
    assert!(matches!(
        Content::list("Тело", "Выбрать", "Время", &[(&long_id, "1")]),
        Err(ContentError::Length {
            field: "id",
            max: 200,
            ..
        })
    ));
    assert!(matches!(
        Content::text(&"я".repeat(4097)),
        Err(ContentError::Length { max: 4096, .. })
    ));
    assert!(matches!(
        Content::buttons(&"я".repeat(1025), &[("a", "Да")]),
        Err(ContentError::Length { max: 1024, .. })
    ));
}

/// Posts `body` to the fake as a client that skips the checks would.
async fn raw(server: &FakeWhatsApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn interactive(kind: &str, action: Value) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "79161234567",
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": "Выберите:"}, "action": action}
    })
}

fn reply(id: &str, title: &str) -> Value {
    json!({"type": "reply", "reply": {"id": id, "title": title}})
}

fn rows(n: usize, title: &str) -> Value {
    let rows: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("r{i}"), "title": format!("{title}{i}")}))
        .collect();
    Value::Array(rows)
}

#[tokio::test]
async fn the_fake_refuses_what_the_graph_api_documents_as_invalid_with_a_graph_error() {
    let server = FakeWhatsApp::start(NUMBER, TOKEN).unwrap();
    let path = format!("/v21.0/{NUMBER}/messages");
    let ok = interactive("button", json!({"buttons": [reply("a", "Да")]}));
    assert_eq!(raw(&server, TOKEN, &path, &ok).await.0, 200);

    let mut no_product = ok.clone();
    no_product
        .as_object_mut()
        .unwrap()
        .remove("messaging_product");
    let four = interactive(
        "button",
        json!({"buttons": [reply("a", "1"), reply("b", "2"), reply("c", "3"), reply("d", "4")]}),
    );
    let long_title = interactive(
        "button",
        json!({"buttons": [reply("a", "Двадцать один символ!")]}),
    );
    let long_row = interactive(
        "list",
        json!({"button": "Выбрать", "sections": [{"title": "Время", "rows": rows(1, "Двадцать пять символов!!")}]}),
    );
    let eleven_rows = interactive(
        "list",
        json!({"button": "Выбрать", "sections": [{"title": "Время", "rows": rows(11, "слот ")}]}),
    );
    let no_list_button = interactive(
        "list",
        json!({"sections": [{"title": "Время", "rows": rows(2, "слот ")}]}),
    );
    for body in [
        &no_product,
        &four,
        &long_title,
        &long_row,
        &eleven_rows,
        &no_list_button,
    ] {
        let (status, reply) = raw(&server, TOKEN, &path, body).await;
        assert_eq!(status, 400, "{body}");
        assert!(reply["error"]["code"].is_i64(), "{reply}");
        assert!(reply["error"]["message"].is_string(), "{reply}");
        assert!(reply["error"]["fbtrace_id"].is_string(), "{reply}");
    }

    let (status, reply) = raw(&server, "wrong-token", &path, &ok).await;
    assert_eq!(status, 401);
    assert_eq!(reply["error"]["code"], 190);
    assert_eq!(reply["error"]["type"], "OAuthException");
    let (status, _) = raw(&server, TOKEN, "/v21.0/999/messages", &ok).await;
    assert_eq!(status, 400);

    assert_eq!(server.rejected().len(), 8);
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn graph_errors_become_typed_errors_that_say_whether_a_retry_helps() {
    let server = FakeWhatsApp::start(NUMBER, TOKEN).unwrap();
    let text = message("Напоминание", &[]);

    let wrong = WhatsAppCloud::new(server.base_url(), NUMBER, "expired");
    let err = wrong.send_message(&text).await.unwrap_err();
    let WhatsAppError::Unauthorized(graph) = &err else {
        panic!("expected Unauthorized, got {err}");
    };
    assert_eq!((graph.status, graph.code), (401, Some(190)));
    assert!(!err.is_retryable());

    let client = WhatsAppCloud::new(server.base_url(), NUMBER, TOKEN);
    server.fail_next(429, 130429);
    let err = client.send_message(&text).await.unwrap_err();
    assert!(matches!(err, WhatsAppError::RateLimited(_)), "{err}");
    assert!(err.is_retryable());

    server.fail_next(400, 131047);
    let err = client.send_message(&text).await.unwrap_err();
    assert!(matches!(err, WhatsAppError::Rejected(_)), "{err}");
    assert!(!err.is_retryable());

    server.fail_next(500, 131000);
    let err = client.send_message(&text).await.unwrap_err();
    assert!(matches!(err, WhatsAppError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());

    let unreachable = WhatsAppCloud::new("http://127.0.0.1:9", NUMBER, TOKEN);
    let err = unreachable.send_message(&text).await.unwrap_err();
    assert!(matches!(err, WhatsAppError::Transport(_)), "{err}");
    assert!(err.is_retryable());

    assert!(server.messages().is_empty());
    assert_eq!(format!("{client:?}").matches(TOKEN).count(), 0);
}
