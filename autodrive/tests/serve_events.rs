//! `autodrive serve`'s business events: a visit posted over HTTP is written to
//! `<data dir>/events.jsonl` in EventBridge's envelope with a detail its JSON Schema accepts,
//! the same event (same id) again for a repeated delivery, and each batch is POSTed to
//! `AUTODRIVE_EVENTS_URL`, retried when the receiver fails.

use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use channels::fake_telegram::FakeTelegram;
use serde_json::Value;

const CRM_SECRET: &str = "crm-secret-of-the-local-server";
const BOT_TOKEN: &str = "42:SERVE";
const CLOCK: &str = "2027-11-01T09:00:00+03:00";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A receiver that fails its first request and keeps the bodies of the others.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post({
            let kept = kept.clone();
            move |axum::Json(body): axum::Json<Value>| async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                kept.lock().unwrap().push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, kept)
}

/// `autodrive serve` with its log in `<dir>/serve.log` (kept for a failure's message).
fn start_serve(dir: &std::path::Path, telegram_base: &str, events_url: &str) -> (Killed, String) {
    let log = dir.join("serve.log");
    let child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_autodrive"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("AUTODRIVE_CRM_SECRET", CRM_SECRET)
            .env("AUTODRIVE_CLOCK", CLOCK)
            .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
            .env("TELEGRAM_API_BASE", telegram_base)
            .env("ADVISOR_CHAT_ID", "-100777")
            .env("AUTODRIVE_EVENTS_URL", events_url)
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(base) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
            return (child, base.trim().to_owned());
        }
        assert!(Instant::now() < deadline, "serve did not start: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_posted_to_serve_is_a_valid_visit_recorded_event_in_the_file_and_at_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let (url, posted) = receiver().await;
    let (_server, base) = start_serve(dir.path(), telegram.base_url(), &url);

    let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(CLOCK)
        .unwrap()
        .timestamp();
    let signature = ingest_visit::Secret::parse(CRM_SECRET)
        .unwrap()
        .sign(now, &body);
    let log = || std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    for expected in [201, 200] {
        let status = reqwest::Client::new()
            .post(format!("{base}/v1/visits"))
            .header("content-type", "application/json")
            .header("x-signature", &signature)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}; serve's log: {}", log()))
            .status()
            .as_u16();
        assert_eq!(status, expected, "{}", log());
    }

    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        assert_eq!(line["detail-type"], "VisitRecorded");
        assert_eq!(line["source"], "autodrive");
        let errors: Vec<String> = app::event_schemas::validator("VisitRecorded")
            .iter_errors(&line["detail"])
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{line}");
        assert_eq!(line["id"], line["detail"]["event_id"]);
    }
    assert_eq!(
        lines[0]["id"], lines[1]["id"],
        "a repeated delivery, the same id"
    );
    assert_eq!(lines[0]["detail"]["newly_stored"], true);
    assert_eq!(lines[1]["detail"]["newly_stored"], false);
    assert!(!text.contains("first_name") && !text.contains("phone"));

    let deadline = Instant::now() + Duration::from_secs(15);
    while posted.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posted = posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 2, "both batches, the failed one retried");
    for batch in &posted {
        assert_eq!(batch[0]["id"], lines[0]["id"]);
    }
}
