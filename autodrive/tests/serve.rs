//! `autodrive serve` from the outside: started as a child process on a free port and driven the
//! way the CRM and Telegram drive the stack (signed visits, a Telegram conversation through a
//! local fake Bot API, the nightly run through the admin endpoint), then stopped with SIGTERM
//! and started again on the same data directory.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use channels::fake_telegram::FakeTelegram;
use common::{ADMIN_TOKEN, ADVISOR_CHAT, BOT_TOKEN, CRM_SECRET, TELEGRAM_SECRET};

mod common;
use serde_json::Value;

const CUSTOMER_CHAT: i64 = 5550001;
/// The scenario's morning: the example car (serviced 12 November 2026) is due in November 2027.
const CLOCK: &str = "2027-11-01T09:00:00+03:00";

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path, telegram: &FakeTelegram) -> Server {
        let (child, base) =
            common::start_serve("127.0.0.1:0", data_dir, CLOCK, telegram.base_url(), &[]);
        Server { child, base }
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn clock() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(CLOCK)
        .unwrap()
        .to_utc()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_visit(server: &Server, body: &[u8], signature: &str) -> (u16, Value) {
    let response = client()
        .post(format!("{}/v1/visits", server.base))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn signed(body: &[u8]) -> String {
    ingest_visit::Secret::parse(CRM_SECRET)
        .unwrap()
        .sign(clock().timestamp(), body)
}

async fn admin(server: &Server, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}{path}", server.base))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn press(server: &Server, update_id: i64, chat_id: i64, data: &str) -> u16 {
    let update = lambda_support::test_events::telegram_callback(update_id, chat_id, data);
    client()
        .post(format!("{}/v1/telegram/webhook", server.base))
        .header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        .header("content-type", "application/json")
        .body(update)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The first button of the latest message the fake Bot API got for `chat_id`.
fn last_button(telegram: &FakeTelegram, chat_id: i64) -> String {
    telegram
        .calls()
        .iter()
        .rev()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == chat_id)
        .and_then(|c| c.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str())
        .expect("a message with a button")
        .to_owned()
}

/// Booking confirmations the customer got.
fn confirmations(telegram: &FakeTelegram) -> usize {
    telegram
        .calls()
        .into_iter()
        .filter(|c| {
            c.method == "sendMessage"
                && c.body["chat_id"] == CUSTOMER_CHAT
                && c.body["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("подтверждена")
        })
        .count()
}

async fn health(server: &Server) -> Value {
    client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The cells of an XLSX report's first sheet as text, row by row.
fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::{open_workbook_from_rs, Reader, Xlsx};
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_signed_visits_runs_the_night_books_through_telegram_and_keeps_it_all_across_a_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let server = Server::start(dir.path(), &telegram);

    // The CRM: a signed visit is stored, the same one again is a repeat, a bad signature and a
    // malformed body change nothing.
    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    let (status, reply) = post_visit(&server, &body, &signed(&body)).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["status"], "stored");
    let (status, reply) = post_visit(&server, &body, &signed(&body)).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("already_stored"))
    );
    let forged = format!("t={},v1={}", clock().timestamp(), "0".repeat(64));
    assert_eq!(post_visit(&server, &body, &forged).await.0, 401);
    let malformed = br#"{"work_order_id": 7}"#;
    let (status, reply) = post_visit(&server, malformed, &signed(malformed)).await;
    assert_eq!(status, 422, "{reply}");
    assert!(reply["errors"].as_array().is_some_and(|e| !e.is_empty()));

    // Admin routes need the token.
    let anonymous = client()
        .post(format!("{}/v1/admin/nightly", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Campaigns: the preview lists the night's reminder without sending it; a stage is switched
    // off and back on with who did it.
    let get = |path: &str| {
        client()
            .get(format!("{}{path}", server.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    let preview: Value = get("/v1/admin/campaigns/preview?days=1&from=2027-11-01")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        preview["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["stage"] == "soft_reminder")),
        "{preview}"
    );
    assert!(telegram.calls().is_empty());
    let (status, off) = admin(
        &server,
        "/v1/admin/campaigns/soft_reminder/off",
        Some(serde_json::json!({"by": "anna"})),
    )
    .await;
    assert_eq!((status, &off["on"]), (200, &Value::Bool(false)), "{off}");
    let listed: Value = get("/v1/admin/campaigns")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let soft = listed["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "soft_reminder")
        .unwrap();
    assert_eq!(
        (&soft["on"], &soft["last_change"]["by"]),
        (&Value::Bool(false), &Value::from("anna"))
    );
    let (status, _) = admin(
        &server,
        "/v1/admin/campaigns/soft_reminder/on",
        Some(serde_json::json!({"by": "anna"})),
    )
    .await;
    assert_eq!(status, 200);

    // The night of 1 November 2027: the car is due, the soft reminder goes out in the morning.
    let (status, night) = admin(
        &server,
        "/v1/admin/nightly?date=2027-11-01&drain=true",
        None,
    )
    .await;
    assert_eq!(status, 200, "{night}");
    assert_eq!(
        (night["forecast"].as_u64(), night["queued"].as_u64()),
        (Some(1), Some(1))
    );
    let reminder = telegram
        .calls()
        .into_iter()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == CUSTOMER_CHAT)
        .expect("the reminder through the Bot API");
    assert_eq!(
        reminder.body["reply_markup"]["inline_keyboard"][0][0]["text"],
        "Записаться"
    );
    assert!(telegram.rejected().is_empty(), "{:?}", telegram.rejected());

    // The customer books a slot derived from the policy's workshop alone (nothing defines
    // capacity); the advisor confirms.
    let book = last_button(&telegram, CUSTOMER_CHAT);
    assert_eq!(press(&server, 100, CUSTOMER_CHAT, &book).await, 200);
    let slot = last_button(&telegram, CUSTOMER_CHAT);
    assert_eq!(press(&server, 101, CUSTOMER_CHAT, &slot).await, 200);
    let confirm = last_button(&telegram, ADVISOR_CHAT);
    assert_eq!(press(&server, 102, ADVISOR_CHAT, &confirm).await, 200);
    // Telegram delivers the advisor's press again: nothing changes.
    assert_eq!(press(&server, 102, ADVISOR_CHAT, &confirm).await, 200);
    assert_eq!(confirmations(&telegram), 1);

    // The marketer's report over HTTP: the same rows as `autodrive report`, CSV for Excel.
    let report = client()
        .get(format!("{}/v1/reports/offers?at=2027-11-01", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status().as_u16(), 200);
    assert!(report.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = report.bytes().await.unwrap();
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "CSV for Excel starts with a BOM"
    );
    let text = String::from_utf8_lossy(&csv);
    assert!(
        text.contains(';') && text.contains("XW7BE40K70S025476"),
        "{text}"
    );
    // The KPIs over HTTP: the funnel of the reminder, booked and confirmed, as XLSX.
    let funnel = client()
        .get(format!(
            "{}/v1/reports/funnel?at=2027-11-01&from=2027-11-01&to=2027-11-01&format=xlsx",
            server.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(funnel.status().as_u16(), 200);
    let xlsx = funnel.bytes().await.unwrap().to_vec();
    let rows = xlsx_rows(xlsx);
    let stage = |name: &str| {
        let row = rows
            .iter()
            .find(|r| r[0] == "этап" && r[1] == name)
            .unwrap_or_else(|| panic!("{rows:?}"));
        // sent, delivered, read, failed, «Записаться», held, confirmed
        row[2..9].to_vec()
    };
    // The customer booked from the latest message with a button: the tyre season's.
    assert_eq!(
        stage("сезонная смена шин"),
        ["1", "1", "1", "0", "1", "1", "1"]
    );
    assert_eq!(
        stage("мягкое напоминание"),
        ["1", "1", "0", "0", "0", "0", "0"]
    );
    let uplift = client()
        .get(format!(
            "{}/v1/reports/uplift?at=2027-11-01&from=2027-11-01&grace_days=14",
            server.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(uplift.status().as_u16(), 200);
    let text = uplift.text().await.unwrap();
    assert!(text.contains("С рассылкой: клиентов;"), "{text}");
    let refused = client()
        .get(format!("{}/v1/reports/uplift?grace_days=soon", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let refused = client()
        .get(format!("{}/v1/reports/offers?by=margin", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let anonymous = client()
        .get(format!("{}/v1/reports/mileage", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let healthy = health(&server).await;
    assert_eq!(healthy["status"], "ok", "{healthy}");
    assert_eq!(healthy["last_nightly"]["run_date"], "2027-11-01");
    assert_eq!(healthy["dead_letters"], 0);

    // SIGTERM: exit 0; a restart on the same directory finds everything.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
    let again = Server::start(dir.path(), &telegram);
    let healthy = health(&again).await;
    assert_eq!(
        healthy["last_nightly"]["run_date"], "2027-11-01",
        "{healthy}"
    );
    let (status, reply) = post_visit(&again, &body, &signed(&body)).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("already_stored"))
    );
    // The booking survived: the advisor's old press changes nothing and confirms nothing again.
    assert_eq!(press(&again, 102, ADVISOR_CHAT, &confirm).await, 200);
    assert_eq!(confirmations(&telegram), 1);
    // The same night again forecasts nothing new, but the booking confirmed since is for
    // tomorrow: the day-before reminder goes out through the compose queue, once.
    let sent_before = telegram.calls().len();
    let (status, night) = admin(&again, "/v1/admin/nightly?date=2027-11-01&drain=true", None).await;
    assert_eq!(status, 200, "{night}");
    assert_eq!(night["reminders"].as_u64(), Some(1), "{night}");
    let sent: Vec<String> = telegram.calls()[sent_before..]
        .iter()
        .filter(|c| c.method == "sendMessage")
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("Михаил, напоминаем: завтра, 02.11, в 09:00 ждём вас"),
        "{}",
        sent[0]
    );
    let sent_before = telegram.calls().len();
    let (status, night) = admin(&again, "/v1/admin/nightly?date=2027-11-01&drain=true", None).await;
    assert_eq!(status, 200, "{night}");
    assert_eq!(
        telegram.calls().len(),
        sent_before,
        "the same night again sends nothing new"
    );
    assert!(again.stop().success());
}

/// The admin routes refuse what an operator cannot mean, with 422 and nothing changed: a night
/// a century back or a week ahead, an unreadable `drain`, a slot in the past or with a field
/// the route does not know, a switch by a 65-character «name».
#[tokio::test]
async fn admin_inputs_out_of_range_get_422_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let server = Server::start(dir.path(), &telegram);
    for path in [
        "/v1/admin/nightly?date=1900-01-01",
        "/v1/admin/nightly?date=2027-11-09",
        "/v1/admin/nightly?drain=maybe",
    ] {
        let (status, reply) = admin(&server, path, None).await;
        assert_eq!(status, 422, "{path}: {reply}");
    }
    assert!(health(&server).await["last_nightly"].is_null());
    let (status, _) = admin(&server, "/v1/admin/nightly?date=2027-10-31", None).await;
    assert_eq!(status, 200, "a missed night can be run again");

    for slot in [
        serde_json::json!({"date": "2027-10-30", "time": "10:00", "capacity": 2}),
        serde_json::json!({"date": "2029-01-01", "time": "10:00", "capacity": 2}),
        serde_json::json!({"date": "2027-11-02", "time": "10:00", "capacity": 2, "x": 1}),
        serde_json::json!({"date": "2027-11-02", "time": "10:00", "capacity": 100_000}),
    ] {
        let (status, reply) = admin(&server, "/v1/admin/slots", Some(slot.clone())).await;
        assert_eq!(status, 422, "{slot}: {reply}");
    }
    let ok = serde_json::json!({"date": "2027-11-02", "time": "10:00", "capacity": 2});
    let (status, reply) = admin(&server, "/v1/admin/slots", Some(ok)).await;
    assert_eq!(
        (status, reply["created"].as_bool()),
        (200, Some(true)),
        "{reply}"
    );
    // Posted again with another capacity, the slot takes it (none of its units is taken).
    let more = serde_json::json!({"date": "2027-11-02", "time": "10:00", "capacity": 3});
    let (status, reply) = admin(&server, "/v1/admin/slots", Some(more)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (&reply["created"], &reply["capacity"], &reply["was"]),
        (&Value::Bool(false), &Value::from(3), &Value::from(2))
    );

    // Who turns a switch is a name, not a text.
    let long = serde_json::json!({"by": "x".repeat(65)});
    let path = "/v1/admin/campaigns/soft_reminder/off";
    let (status, reply) = admin(&server, path, Some(long)).await;
    assert_eq!(status, 422, "{reply}");
    // The scheme of the admin token is case-insensitive, as HTTP has it.
    let lower = client()
        .get(format!("{}/v1/admin/campaigns", server.base))
        .header("authorization", format!("bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status().as_u16(), 200);
    let campaigns: Value = lower.json().await.unwrap();
    assert!(
        !campaigns.to_string().contains("xxxxxxxx"),
        "nothing was switched: {campaigns}"
    );
    assert!(server.stop().success());
}
