//! The `reports` Lambda's `handle_request` with API Gateway's payload 2.0 events, as the
//! HttpApi hands them over behind the admin authorizer (and as `autodrive serve` routes the
//! same paths): the admin token or the login's session cookie, the reports as CSV, text and
//! XLSX read back, the dashboard, the campaign switch, and refusals that change nothing.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_http::{Body, Response};
use lambda_support::test_events::http_api_event;
use reports::{handle_request, Deps};
use store::repo::Repos;
use store::RedbStore;

const TOKEN: &str = "admin-token-of-the-test";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn now() -> DateTime<Utc> {
    at("2026-12-01T10:00:00+03:00")
}

async fn deps(token: Option<&str>) -> (tempfile::TempDir, Deps<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let policy = Policy::default();
    app::fixtures::example_visit_evaluated(&repos, &policy, at("2026-11-13T04:00:00+03:00"))
        .await
        .unwrap();
    let deps = Deps {
        repos,
        policy,
        admin_token: token.map(str::to_owned),
        secure_cookie: true,
    };
    (dir, deps)
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => panic!("unexpected body"),
    }
}

fn header<'r>(response: &'r Response<Body>, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn get(
    deps: &Deps<RedbStore>,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Response<Body> {
    handle_request(
        deps,
        http_api_event("GET", path, query, headers, b""),
        now(),
    )
    .await
}

#[tokio::test]
async fn reports_come_as_csv_text_and_xlsx_with_the_token_and_not_without() {
    let (_dir, deps) = deps(Some(TOKEN)).await;
    let auth = bearer();
    let csv = get(
        &deps,
        "/v1/reports/mileage",
        "",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(csv.status(), 200, "{}", text(&csv));
    assert!(header(&csv, "content-type").starts_with("text/csv"));
    assert_eq!(
        header(&csv, "content-disposition"),
        "attachment; filename=\"mileage-2026-12-01.csv\""
    );
    assert!(text(&csv).contains("XW7BE40K70S025476"), "{}", text(&csv));

    let table = get(
        &deps,
        "/v1/reports/mileage",
        "format=table",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(table.status(), 200);
    assert!(text(&table).contains("XW7BE40K70S025476"));

    let xlsx = get(
        &deps,
        "/v1/reports/mileage",
        "format=xlsx",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(xlsx.status(), 200);
    let Body::Binary(bytes) = xlsx.body() else {
        panic!("an XLSX goes out as binary (base64 on the wire)");
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let cells: Vec<String> = range.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "XW7BE40K70S025476"), "{cells:?}");

    for headers in [vec![], vec![("authorization", "Bearer wrong")]] {
        let refused = get(&deps, "/v1/reports/mileage", "", &headers).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(text(&refused), r#"{"error":"unauthorized"}"#);
    }
    let bad = get(
        &deps,
        "/v1/reports/mileage",
        "format=pdf",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(text(&bad).contains("format is table, csv or xlsx"));
    let unknown = get(
        &deps,
        "/v1/reports/weather",
        "",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_login_form_sets_the_session_cookie_that_opens_the_dashboard() {
    let (_dir, deps) = deps(Some(TOKEN)).await;
    let anonymous = get(&deps, "/dashboard", "", &[]).await;
    assert_eq!(anonymous.status(), 401);
    assert!(text(&anonymous).contains("Токен администратора"));

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let wrong = handle_request(
        &deps,
        http_api_event("POST", "/dashboard/login", "", &form, b"token=guess"),
        now(),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(header(&wrong, "set-cookie").is_empty());
    assert!(text(&wrong).contains("Неверный токен"));

    let body = format!("token={TOKEN}");
    let login = handle_request(
        &deps,
        http_api_event("POST", "/dashboard/login", "", &form, body.as_bytes()),
        now(),
    )
    .await;
    assert_eq!(login.status(), 303);
    assert_eq!(header(&login, "location"), "/dashboard");
    let cookie = header(&login, "set-cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    let session = cookie.split(';').next().unwrap();

    let page = get(&deps, "/dashboard", "", &[("cookie", session)]).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    assert!(header(&page, "content-type").starts_with("text/html"));
    let html = text(&page);
    for chart in ["funnel", "retention", "uplift", "load", "accuracy"] {
        assert!(html.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let preview = get(&deps, "/dashboard/preview", "", &[("cookie", session)]).await;
    assert_eq!(preview.status(), 200);
    let bad = get(
        &deps,
        "/dashboard",
        "from=yesterday",
        &[("cookie", session)],
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert!(text(&bad).contains("не дата"));
}

#[tokio::test]
async fn a_campaign_is_switched_from_the_dashboard_only_with_the_session() {
    let (_dir, deps) = deps(Some(TOKEN)).await;
    let stage = app::campaigns::list(&deps.repos, &deps.policy)
        .await
        .unwrap()[0]
        .name
        .clone();
    let path = format!("/dashboard/campaigns/{stage}/off");
    let anonymous = handle_request(&deps, http_api_event("POST", &path, "", &[], b""), now()).await;
    assert_eq!(anonymous.status(), 401);
    assert!(
        app::campaigns::list(&deps.repos, &deps.policy)
            .await
            .unwrap()[0]
            .on
    );

    let auth = bearer();
    let switched = handle_request(
        &deps,
        http_api_event("POST", &path, "", &[("authorization", &auth)], b""),
        now(),
    )
    .await;
    assert_eq!(switched.status(), 303);
    let state = &app::campaigns::list(&deps.repos, &deps.policy)
        .await
        .unwrap()[0];
    assert!(!state.on);
    assert_eq!(state.last_change.as_ref().unwrap().by, "dashboard");

    let unknown = handle_request(
        &deps,
        http_api_event(
            "POST",
            "/dashboard/campaigns/nonsense/off",
            "",
            &[("authorization", &auth)],
            b"",
        ),
        now(),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    let bad_action = handle_request(
        &deps,
        http_api_event(
            "POST",
            &format!("/dashboard/campaigns/{stage}/maybe"),
            "",
            &[("authorization", &auth)],
            b"",
        ),
        now(),
    )
    .await;
    assert_eq!(bad_action.status(), 404);
}

#[tokio::test]
async fn without_an_admin_token_configured_everything_is_refused() {
    let (_dir, deps) = deps(None).await;
    let report = get(
        &deps,
        "/v1/reports/mileage",
        "",
        &[("authorization", "Bearer ")],
    )
    .await;
    assert_eq!(report.status(), 403);
    let page = get(&deps, "/dashboard", "", &[]).await;
    assert_eq!(page.status(), 403);
    assert!(text(&page).contains("Не задан токен администратора"));
}
