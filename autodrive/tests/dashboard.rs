//! The marketer's dashboard on `autodrive serve`: a small dealership put in over the HTTP API
//! (signed visits, the nightly run sending the reminders through a fake Telegram, a
//! maintenance visit after the forecast), then headless Chromium logs in through the form,
//! loads `/dashboard` with no console errors, finds data in every chart, takes a screenshot
//! and switches a campaign off through its form; and the guard: 401 with a Russian login page
//! without credentials, the session cookie's attributes, a 400 for a bad date.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use channels::fake_telegram::FakeTelegram;
use common::browser::{free_port, Browser, Killed};
use common::{ADMIN_TOKEN, BOT_TOKEN, CRM_SECRET};
use domain::contact::in_control_group;
use domain::policy::Policy;
use domain::CustomerId;
use serde_json::Value;

mod common;

const CLOCK: &str = "2027-11-01T09:00:00+03:00";
const CHARTS: [&str; 5] = ["funnel", "retention", "uplift", "load", "accuracy"];
const EXAMPLE_VIN: &str = "XW7BE40K70S025476";

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
    fn start(dir: &Path, telegram: &FakeTelegram) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let (child, base) = common::start_serve(&addr, dir, CLOCK, telegram.base_url(), &[]);
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

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
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
    assert_eq!(response.status().as_u16(), 201, "{visit}");
}

/// The example customer and three more with cars due early in November 2027 (one of them in
/// the control group), the nightly run of 1 November sending the reminders, and the example
/// car's maintenance that morning, after its forecast.
async fn dealership(server: &Server) {
    post_visit(server, &app::fixtures::example_visit()).await;
    let share = Policy::default().contact().control_group;
    let ids: Vec<String> = (2..300).map(|n| format!("C-{n}")).collect();
    let in_control = |id: &&String| in_control_group(&CustomerId::parse(id).unwrap(), share);
    let control = ids.iter().find(in_control).unwrap();
    let treated = ids.iter().filter(|id| !in_control(id)).take(2);
    for (n, id) in std::iter::once(control).chain(treated).enumerate() {
        let vin = format!("XTA2170000000000{n}");
        let mut visit = app::fixtures::visit(
            &format!("W-{n}"),
            &vin,
            "2026-11-05T12:00:00+03:00",
            40_000 + 1_000 * n as u32,
        );
        visit["customer"]["id"] = id.as_str().into();
        visit["customer"]["phone"] = format!("+7916000000{n}").into();
        visit["customer"]["telegram_chat_id"] = (5_560_000 + n as i64).into();
        visit["advisor_id"] = if n % 2 == 0 { "adv-7" } else { "adv-9" }.into();
        visit["vehicle"]["first_registration"] =
            if n == 0 { "2023-06-01" } else { "2020-03-01" }.into();
        visit["vehicle"]["warranty_until"] = Value::Null;
        post_visit(server, &visit).await;
    }
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
    let mut maintenance =
        app::fixtures::visit("WO-2", EXAMPLE_VIN, "2027-11-01T08:00:00+03:00", 104_000);
    maintenance["advisor_id"] = "adv-9".into();
    post_visit(server, &maintenance).await;
}

async fn campaign_state(server: &Server, name: &str) -> Value {
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/v1/admin/campaigns", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listed}"))
        .clone()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && &png[12..16] == b"IHDR",
        "a PNG with its IHDR first"
    );
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium_has_data_in_every_chart_and_switches_a_campaign_off() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let server = Server::start(dir.path(), &telegram);
    dealership(&server).await;
    assert!(
        telegram.calls().iter().any(|c| c.method == "sendMessage"),
        "the night sent reminders: {:?}",
        telegram.calls()
    );

    let browser = Browser::start_sized(1280, 3600).await;
    browser
        .open(&format!("{}/dashboard/login", server.base))
        .await;
    let token = browser.wait_for("input[name=token]").await;
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors on the login page: {errors:?}"
    );
    browser.type_into(&token, ADMIN_TOKEN).await;
    let submit = browser.wait_for("button[type=submit]").await;
    browser.click(&submit).await;
    browser.wait_for("svg[data-chart]").await;
    assert_eq!(browser.url().await, format!("{}/dashboard", server.base));
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors on the dashboard: {errors:?}"
    );

    let mut charts = Vec::new();
    for svg in browser.elements("svg[data-chart]").await {
        let kind = browser.attribute(&svg, "data-chart").await.unwrap();
        let points: usize = browser
            .attribute(&svg, "data-points")
            .await
            .unwrap()
            .parse()
            .unwrap();
        charts.push((kind, points));
    }
    for kind in CHARTS {
        assert!(
            charts.iter().any(|(k, _)| k == kind),
            "no {kind} chart: {charts:?}"
        );
    }
    assert!(
        charts.iter().all(|(_, points)| *points > 0),
        "a chart without data: {charts:?}"
    );

    let png = browser.screenshot_png().await;
    let (width, height) = png_size(&png);
    assert!(
        width >= 1000 && height >= 800,
        "screenshot {width}×{height}"
    );
    assert!(png.len() > 30 * 1024, "screenshot of {} bytes", png.len());
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&shot, &png).unwrap();
    println!(
        "screenshot: {} ({width}×{height}, {} bytes)",
        shot.display(),
        png.len()
    );

    assert_eq!(campaign_state(&server, "soft_reminder").await["on"], true);
    let off = browser
        .wait_for("button[data-campaign=soft_reminder]")
        .await;
    browser.click(&off).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let state = loop {
        let state = campaign_state(&server, "soft_reminder").await;
        if state["on"] == false {
            break state;
        }
        assert!(
            Instant::now() < deadline,
            "the switch did not turn: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["last_change"]["by"], "dashboard", "{state}");
    let on_again = browser
        .wait_for("button[data-campaign=soft_reminder]")
        .await;
    assert_eq!(browser.text(&on_again).await, "Включить");
    assert_eq!(browser.url().await, format!("{}/dashboard", server.base));
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors after the switch: {errors:?}"
    );
    browser.quit().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_without_credentials_is_401_with_a_russian_login_form_and_the_cookie_lets_in() {
    let dir = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start(BOT_TOKEN).unwrap();
    let server = Server::start(dir.path(), &telegram);
    let http = no_redirects();
    let url = |path: &str| format!("{}{path}", server.base);

    let denied = http.get(url("/dashboard")).send().await.unwrap();
    assert_eq!(denied.status().as_u16(), 401);
    assert!(denied.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = denied.text().await.unwrap();
    assert!(page.contains("Токен администратора") && page.contains("action=\"/dashboard/login\""));
    for path in ["/dashboard/preview", "/dashboard?from=01.10.2027"] {
        let status = http.get(url(path)).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 401, "{path}");
    }
    let forged = http
        .get(url("/dashboard"))
        .header("cookie", format!("autodrive_dashboard={ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401, "the token is not the cookie");
    let switched = http
        .post(url("/dashboard/campaigns/soft_reminder/off"))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 401);
    assert_eq!(campaign_state(&server, "soft_reminder").await["on"], true);

    let wrong = http
        .post(url("/dashboard/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().await.unwrap().contains("Неверный токен"));

    let login = http
        .post(url("/dashboard/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    assert_eq!(login.headers()["location"], "/dashboard");
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains(ADMIN_TOKEN), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let page = http
        .get(url("/dashboard"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Панель маркетолога"));
    let bearer = http
        .get(url("/dashboard/preview?at=01.11.2027"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status().as_u16(), 200);
    assert!(bearer
        .text()
        .await
        .unwrap()
        .contains("Что уйдёт за 7 дней с 01.11.2027"));
    let bad = http
        .get(url("/dashboard?from=31.02.2027"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("не дата"));

    let switched = http
        .post(url("/dashboard/campaigns/soft_reminder/off"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    assert_eq!(switched.headers()["location"], "/dashboard");
    let state = campaign_state(&server, "soft_reminder").await;
    assert_eq!(
        (state["on"].clone(), state["last_change"]["by"].clone()),
        (false.into(), "dashboard".into())
    );
    let unknown = http
        .post(url("/dashboard/campaigns/no_such_campaign/off"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    server.stop();
}
