use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use domain::contact::in_control_group;
use domain::policy::Policy;
use domain::CustomerId;
use store::repo::Repos;
use store::{RedbStore, TtlClock};

use super::*;
use crate::outreach::TelegramOnly;
use crate::ports::{Channel, OutgoingMessage};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[derive(Default)]
struct Recording(Mutex<Vec<OutgoingMessage>>);

impl Channel for Recording {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        let mut sent = self.0.lock().unwrap();
        sent.push(message.clone());
        Ok(sent.len().to_string())
    }
}

fn charts(html: &str) -> Vec<(String, usize)> {
    html.split("data-chart=\"")
        .skip(1)
        .map(|rest| {
            let kind = rest.split('"').next().unwrap().to_owned();
            let n = rest.split("data-points=\"").nth(1).unwrap();
            (kind, n.split('"').next().unwrap().parse().unwrap())
        })
        .collect()
}

const KINDS: [&str; 6] = [
    "funnel",
    "conversion",
    "retention",
    "uplift",
    "load",
    "accuracy",
];

async fn store() -> (tempfile::TempDir, Repos<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("store.redb"))
        .unwrap()
        .with_ttl_clock(at("2026-11-01T00:00:00+03:00"));
    (dir, Repos::new(store))
}

/// Михаил gets the soft reminder on 1 November 2027 and comes on the 10th; three more
/// customers with cars due in November, one of them in the control group.
async fn november(repos: &Repos<RedbStore>, policy: &Policy) {
    let share = policy.contact().control_group;
    let ids: Vec<String> = (2..200).map(|n| format!("C-{n}")).collect();
    let control = ids
        .iter()
        .find(|id| in_control_group(&CustomerId::parse(id).unwrap(), share))
        .unwrap();
    let treated = ids
        .iter()
        .filter(|id| !in_control_group(&CustomerId::parse(id).unwrap(), share))
        .take(2);
    for (n, id) in std::iter::once(control).chain(treated).enumerate() {
        let vin = format!("XTA2170000000000{n}");
        let mut body =
            crate::fixtures::visit(&format!("W-{n}"), &vin, "2026-11-10T12:00:00+03:00", 40_000);
        body["customer"]["id"] = id.as_str().into();
        body["customer"]["phone"] = format!("+7916000000{n}").into();
        body["customer"]["telegram_chat_id"] = (5_560_000 + n as i64).into();
        body["vehicle"]["first_registration"] =
            if n == 0 { "2023-06-01" } else { "2019-03-01" }.into();
        body["vehicle"]["warranty_until"] = serde_json::Value::Null;
        let bytes = serde_json::to_vec(&body).unwrap();
        crate::record_visit(repos, policy, &bytes, at("2026-11-10T13:00:00+03:00"))
            .await
            .unwrap();
    }
    let evaluation =
        crate::fixtures::example_visit_evaluated(repos, policy, at("2027-11-01T01:00:05+03:00"))
            .await
            .unwrap();
    crate::commit_evaluation(repos, &evaluation).await.unwrap();
    let channel = Recording::default();
    for message in &evaluation.compose {
        crate::compose_and_deliver(
            repos,
            policy,
            &TelegramOnly(&channel),
            &crate::ComposeSettings::default(),
            message,
            "t",
            at("2027-11-01T09:00:30+03:00"),
        )
        .await
        .unwrap();
    }
    assert!(
        !channel.0.lock().unwrap().is_empty(),
        "the reminder went out"
    );
    let body = crate::fixtures::visit(
        "WO-2",
        "XW7BE40K70S025476",
        "2027-11-10T12:00:00+03:00",
        105_000,
    );
    let bytes = serde_json::to_vec(&body).unwrap();
    crate::record_visit(repos, policy, &bytes, at("2027-11-10T13:00:00+03:00"))
        .await
        .unwrap();
}

fn november_request(base_path: &str) -> DashboardRequest {
    DashboardRequest {
        at: day("2027-11-20"),
        from: Some(day("2027-11-01")),
        to: Some(day("2027-11-20")),
        base_path: base_path.into(),
    }
}

#[tokio::test]
async fn the_dashboard_of_a_month_with_messages_and_visits_has_data_in_every_chart() {
    let (_dir, repos) = store().await;
    let policy = Policy::default();
    november(&repos, &policy).await;
    let html = page(&repos, &policy, &november_request("")).await.unwrap();
    let found = charts(&html);
    for kind in KINDS {
        let points = found
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("no {kind} chart in {found:?}"))
            .1;
        assert!(points > 0, "{kind} has no data: {found:?}");
    }
    assert_eq!(found.len(), KINDS.len(), "{found:?}");
    assert!(!html.contains(svg::NO_DATA));
    assert_eq!(
        found.iter().find(|(k, _)| k == "load").unwrap().1,
        load::LOAD_DAYS as usize
    );
    assert!(html.contains("Панель маркетолога") && html.contains("lang=\"ru\""));
    assert!(
        html.contains("мягкое напоминание"),
        "the stage in the conversion"
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script"), "no script");
    assert!(html.contains("action=\"/dashboard/campaigns/soft_reminder/off\""));
    assert!(
        html.contains("value=\"01.11.2027\""),
        "the period in the form"
    );
}

#[tokio::test]
async fn an_empty_store_says_there_is_no_data_but_the_lifts_are_still_drawn() {
    let (_dir, repos) = store().await;
    let policy = Policy::default();
    let html = page(&repos, &policy, &november_request("")).await.unwrap();
    for (kind, points) in charts(&html) {
        if kind == "load" {
            assert_eq!(points, load::LOAD_DAYS as usize);
        } else {
            assert_eq!(points, 0, "{kind}");
        }
    }
    assert_eq!(html.matches(svg::NO_DATA).count(), KINDS.len() - 1);
}

#[tokio::test]
async fn a_switched_off_stage_shows_who_turned_it_and_a_form_to_turn_it_on_under_the_base_path() {
    let (_dir, repos) = store().await;
    let policy = Policy::default();
    crate::campaigns::switch(
        &repos,
        &policy,
        "soft_reminder",
        false,
        "<марина>",
        at("2027-11-05T10:00:00+03:00"),
    )
    .await
    .unwrap();
    let html = page(&repos, &policy, &november_request("/prod"))
        .await
        .unwrap();
    assert!(html.contains("action=\"/prod/dashboard/campaigns/soft_reminder/on\""));
    assert!(
        html.contains("&lt;марина&gt;, 05.11.2027 10:00"),
        "escaped, Moscow time"
    );
    assert!(!html.contains("<марина>"));
    assert!(html.contains("href=\"/prod/dashboard/preview\""));
    assert!(html.contains("action=\"/prod/dashboard/campaigns/critical_offer/off\""));
}

#[tokio::test]
async fn the_send_preview_lists_each_message_with_why_it_goes_out() {
    let (_dir, repos) = store().await;
    let policy = Policy::default();
    let body = serde_json::to_vec(&crate::fixtures::example_visit()).unwrap();
    crate::record_visit(&repos, &policy, &body, at("2026-11-12T16:00:00+03:00"))
        .await
        .unwrap();
    let request = DashboardRequest {
        at: day("2027-10-30"),
        from: None,
        to: None,
        base_path: String::new(),
    };
    let html = preview_page(&repos, &policy, &request).await.unwrap();
    assert!(html.contains("Что уйдёт за 7 дней с 30.10.2027"), "{html}");
    assert!(html.contains("XW7BE40K70S025476"), "{html}");
    assert!(html.contains("мягкое напоминание"), "{html}");
    assert!(html.contains("<td>Telegram</td>"), "{html}");
}

#[test]
fn dates_are_read_in_both_forms_and_a_bad_one_is_a_russian_message() {
    let today = day("2026-12-01");
    let request = DashboardRequest::from_query(
        [("from", "01.11.2026"), ("to", "2026-11-30"), ("x", "y")],
        today,
        "",
    )
    .unwrap();
    assert_eq!(request.from, Some(day("2026-11-01")));
    assert_eq!(request.to, Some(day("2026-11-30")));
    assert_eq!(request.at, today);
    let error = DashboardRequest::from_query([("at", "31.02.2026")], today, "").unwrap_err();
    assert!(error.contains("не дата"), "{error}");
    let error =
        DashboardRequest::from_query([("from", "02.12.2026"), ("to", "01.12.2026")], today, "")
            .unwrap_err();
    assert!(error.contains("позже"), "{error}");
    let default = DashboardRequest::from_query([("from", "")], today, "").unwrap();
    assert_eq!(default.query().from, day("2026-11-02"));
    assert_eq!(default.query().to, today);
}

#[test]
fn the_session_value_depends_on_the_token_and_is_not_the_token() {
    let a = session_value("token-a");
    assert_eq!(a.len(), 64);
    assert_ne!(a, session_value("token-b"));
    assert_eq!(a, session_value("token-a"));
    assert!(!a.contains("token"));
    assert!(same_secret(&a, &session_value("token-a")));
    assert!(!same_secret(&a, &session_value("token-b")));
    assert!(!same_secret("ab", "abc"));
}

#[test]
fn the_login_page_posts_the_token_under_the_base_path_and_escapes_its_message() {
    let html = login_page("/prod", Some("<неверный токен>"));
    assert!(html.contains("action=\"/prod/dashboard/login\""));
    assert!(html.contains("name=\"token\""));
    assert!(html.contains("&lt;неверный токен&gt;"));
}
