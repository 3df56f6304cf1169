//! The SMS booking page in a real browser: `autodrive serve` (booking-webhook's `handle_request`
//! behind `/b/{token}`, offer-composer's `handle` on the compose queue) sends a customer without
//! a messenger an SMS through a fake gateway; headless Chromium, driven over chromedriver's W3C
//! WebDriver API, opens its link, finds no console errors, taps a slot and takes a screenshot;
//! the hold is in the store and the advisor confirms in Telegram as usual. Forged and expired
//! links get a Russian page with a 4xx and change nothing. Needs Debian's `chromium` and
//! `chromium-driver` (`scripts/test` installs them); without them the test fails, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use app::booking_link::BookingLinks;
use channels::fake_sms::FakeSms;
use channels::fake_telegram::FakeTelegram;
use common::{ADMIN_TOKEN, ADVISOR_CHAT, BOT_TOKEN, CRM_SECRET, TELEGRAM_SECRET};
use serde_json::{json, Value};
use store::repo::{BookingState, Repos};
use store::RedbStore;

mod common;

use common::browser::{free_port, Browser, Killed};

const SMS_KEY: &str = "sms-key-of-the-local-server";
const LINK_KEY: &str = "booking-link-key-of-the-local-server";
const CLOCK: &str = "2027-11-01T09:00:00+03:00";

fn clock() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(CLOCK)
        .unwrap()
        .to_utc()
}

struct Server {
    child: Killed,
    base: String,
}

impl Server {
    fn start(dir: &Path, port: u16, telegram: &FakeTelegram, sms: &FakeSms) -> Server {
        let addr = format!("127.0.0.1:{port}");
        let (child, base) = common::start_serve(
            &addr,
            dir,
            CLOCK,
            telegram.base_url(),
            &[
                ("SMS_API_BASE", sms.base_url().to_owned()),
                ("SMS_API_KEY", SMS_KEY.to_owned()),
                ("SMS_SENDER", "AutoDrive".to_owned()),
                ("BOOKING_LINK_KEY", LINK_KEY.to_owned()),
                ("AUTODRIVE_PUBLIC_URL", format!("http://{addr}")),
            ],
        );
        Server {
            child: Killed(child),
            base,
        }
    }

    fn stop(mut self) {
        let pid = self.child.0.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve did not stop within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn post_visit(server: &Server, visit: &Value) {
    let body = serde_json::to_vec(visit).unwrap();
    let signature = ingest_visit::Secret::parse(CRM_SECRET)
        .unwrap()
        .sign(clock().timestamp(), &body);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/visits", server.base))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

async fn page(url: &str, form: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let request = match form {
        Some(slot) => client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("slot={slot}")),
        None => client.get(url),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn bookings(dir: &Path) -> Vec<store::repo::Booking<Value>> {
    let repos = Repos::new(RedbStore::open(dir.join("store.redb")).unwrap());
    repos
        .capacity
        .bookings_of_customer::<Value>("C-1001")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_booking_webhook_page_opened_from_the_sms_holds_a_slot_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let sms = FakeSms::start(SMS_KEY).unwrap();
    let port = free_port();
    let server = Server::start(dir.path(), port, &telegram, &sms);

    // A customer without Telegram and never seen on WhatsApp: the reminder goes by SMS.
    let mut visit = app::fixtures::example_visit();
    visit["customer"]["telegram_chat_id"] = Value::Null;
    post_visit(&server, &visit).await;
    let night = reqwest::Client::new()
        .post(format!(
            "{}/v1/admin/nightly?date=2027-11-01&drain=true",
            server.base
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(night.status().as_u16(), 200);
    assert!(sms.rejected().is_empty(), "{:?}", sms.rejected());
    let sent = sms.messages();
    assert!(sent.iter().all(|m| m["to"] == "+79161234567"), "{sent:?}");
    let text = sent
        .iter()
        .filter_map(|m| m["text"].as_str())
        .find(|t| t.contains("плановое ТО"))
        .unwrap_or_else(|| panic!("the reminder by SMS: {sent:?}"))
        .to_owned();
    assert!(app::sms_text::segments(&text) <= 2, "{text}");
    let link = text.split_whitespace().last().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/b/", server.base)), "{text}");

    // Forged and expired links: a Russian page, a 4xx, nothing held.
    let mut forged = link.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, html) = page(&forged, None).await;
    assert_eq!(status, 404);
    assert!(html.contains("Ссылка недействительна"), "{html}");
    let (status, _) = page(&forged, Some("s%3Ax%3A2027-11-02%3A10%3A00")).await;
    assert_eq!(status, 404);
    let links = BookingLinks::new(LINK_KEY.as_bytes(), &server.base).unwrap();
    let token = link.rsplit('/').next().unwrap();
    let offer_id = links.verify(token, clock()).expect("the SMS link verifies");
    let old = links
        .link(&offer_id, clock() - chrono::Duration::days(15))
        .unwrap();
    let (status, html) = page(&old, None).await;
    assert_eq!(status, 410);
    assert!(html.contains("Срок действия ссылки истёк"), "{html}");
    assert!(telegram.calls().is_empty(), "no advisor message yet");

    // The browser: the page loads without console errors, one tap holds a slot.
    let browser = Browser::start().await;
    browser.open(&link).await;
    let slots = browser.elements("button.slot").await;
    if slots.is_empty() {
        let source = browser.call(reqwest::Method::GET, "/source", None).await;
        panic!("no free slots on the page: {source}");
    }
    let label = browser.text(&slots[0]).await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors on load: {errors:?}");
    browser
        .call(
            reqwest::Method::POST,
            &format!("/element/{}/click", slots[0]),
            Some(json!({})),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let booking = loop {
        if let Some(found) = browser.elements("#booking").await.first() {
            break browser.text(found).await;
        }
        assert!(Instant::now() < deadline, "no booking shown after the tap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        booking.contains(&label) && booking.contains("ждёт подтверждения"),
        "{booking} / {label}"
    );
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors after the tap: {errors:?}"
    );
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("booking-page.png");
    browser.screenshot(&shot).await;
    println!("screenshot: {}", shot.display());
    browser.quit().await;

    // The advisor got the request with the usual confirm button.
    let request = telegram
        .calls()
        .into_iter()
        .find(|c| c.method == "sendMessage" && c.body["chat_id"] == ADVISOR_CHAT)
        .expect("the advisor's request");
    let confirm = request.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    server.stop();

    let held = bookings(dir.path()).await;
    assert_eq!(held.len(), 1, "one hold");
    assert_eq!(held[0].state, BookingState::Held);
    assert_eq!(
        format!("{} {}", held[0].date.format("%d.%m"), held[0].start),
        label
    );

    // The advisor confirms in Telegram; the customer is told by SMS.
    let server = Server::start(dir.path(), port, &telegram, &sms);
    let update = lambda_support::test_events::telegram_callback(9001, ADVISOR_CHAT, &confirm);
    let pressed = reqwest::Client::new()
        .post(format!("{}/v1/telegram/webhook", server.base))
        .header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        .header("content-type", "application/json")
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status().as_u16(), 200);
    let told = sms.messages();
    let confirmed: Vec<&str> = told
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.contains("подтверждена"))
        .collect();
    assert_eq!(confirmed.len(), 1, "{told:?}");
    server.stop();
    assert_eq!(bookings(dir.path()).await[0].state, BookingState::Confirmed);
}
