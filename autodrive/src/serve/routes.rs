//! `serve`'s HTTP surface. The webhooks, the booking page (`/b/{token}`), the reports
//! (`/v1/reports/*`) and the marketer's dashboard (`/dashboard*`) go to the Lambda handlers as
//! `lambda_http` requests (the same code as in AWS); `/healthz` and `/v1/admin/*` are the local
//! server's own.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lambda_http::RequestExt;
use serde_json::json;

use store::repo::Resize;

use super::App;

/// The largest request body taken (a webhook is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/v1/admin/nightly", post(nightly))
        .route("/v1/admin/slots", post(define_slot))
        .route("/v1/admin/campaigns", get(campaigns))
        .route("/v1/admin/campaigns/preview", get(campaign_preview))
        .route("/v1/admin/campaigns/{name}/{action}", post(switch_campaign))
        .fallback(lambda_route)
        .with_state(app)
}

/// The stack's webhooks, to the same handlers as API Gateway's.
async fn lambda_route(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let request = match to_lambda(request).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let now = app.clock.now();
    let response = if path == "/v1/visits" {
        ingest_visit::handle_request(&app.ingest, request, now).await
    } else if path.starts_with("/v1/reports/")
        || path == "/dashboard"
        || path.starts_with("/dashboard/")
    {
        reports::handle_request(&app.reports, request, now).await
    } else if path == booking_webhook::TELEGRAM_PATH
        || path == booking_webhook::WHATSAPP_PATH
        || path.starts_with(app::booking_link::PAGE_PREFIX)
    {
        booking_webhook::handle_request(&app.booking, request, now).await
    } else {
        return error(StatusCode::NOT_FOUND, "not_found");
    };
    from_lambda(response)
}

/// An axum request as API Gateway would hand it to the Lambda: method, path, headers, body and
/// the query string parameters.
async fn to_lambda(request: Request) -> Result<lambda_http::Request, Response> {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?;
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(q) = parts.uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            query
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
    }
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => lambda_http::Body::Text(text),
            Err(e) => lambda_http::Body::Binary(e.into_bytes()),
        }
    };
    Ok(lambda_http::http::Request::from_parts(parts, body).with_query_string_parameters(query))
}

fn from_lambda(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let body = match body {
        lambda_http::Body::Empty => Body::empty(),
        lambda_http::Body::Text(text) => Body::from(text),
        lambda_http::Body::Binary(bytes) => Body::from(bytes),
        _ => Body::empty(),
    };
    Response::from_parts(parts, body)
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

/// The answer to a request without the admin token (`Authorization: Bearer …`), if it lacks it.
pub fn rejected(app: &App, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = app.admin_token.as_deref() else {
        return Some(
            (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "forbidden", "message": "AUTODRIVE_ADMIN_TOKEN is not set"})),
            )
                .into_response(),
        );
    };
    let same = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| app::dashboard::auth::bearer_is(v, token));
    (!same).then(|| error(StatusCode::UNAUTHORIZED, "unauthorized"))
}

/// Store reachable, the last nightly run, the queues and their dead letters.
async fn health(State(app): State<Arc<App>>) -> Response {
    let today = app::run_date_of(&app.policy, app.clock.now());
    let store = match app.repos.runs.shards(today).await {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            tracing::error!(error = %e, "health: store");
            "unreachable".to_owned()
        }
    };
    let queue = |q: &super::Queue| json!({"busy": q.busy(), "delayed": q.delayed(), "dead_letters": q.dead_letters().len()});
    let dead = app.evaluate.dead_letters().len() + app.compose.dead_letters().len();
    let status = if store != "ok" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": if status == StatusCode::OK { "ok" } else { "degraded" },
        "store": store,
        "now": app.clock.now(),
        "last_nightly": app.last_night(),
        "dead_letters": dead,
        "queues": {"evaluate": queue(&app.evaluate), "compose": queue(&app.compose)},
    });
    (status, Json(body)).into_response()
}

/// How far back `POST /v1/admin/nightly?date=` may re-run a night, days.
const NIGHT_RERUN_DAYS: u64 = 366;

/// A 422 answer with `message`.
fn invalid(message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": "invalid", "message": message})),
    )
        .into_response()
}

/// Runs the nightly forecast now: `?date=YYYY-MM-DD` (default: the dealer's today, at most a
/// year back or one day ahead);
/// `?drain=true` answers only when the evaluations and messages it queued are handled.
async fn nightly(State(app): State<Arc<App>>, method: Method, request: Request) -> Response {
    if let Some(response) = rejected(&app, request.headers()) {
        return response;
    }
    debug_assert_eq!(method, Method::POST);
    let mut date = None;
    let mut drain = false;
    if let Some(q) = request.uri().query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "date" => match v.parse() {
                    Ok(d) => date = Some(d),
                    Err(_) => return invalid(format!("date {v:?} is not YYYY-MM-DD")),
                },
                "drain" => match v.as_ref() {
                    "true" | "1" => drain = true,
                    "false" | "0" => drain = false,
                    _ => return invalid(format!("drain {v:?} is true or false")),
                },
                _ => {}
            }
        }
    }
    let today = app::run_date_of(&app.policy, app.clock.now());
    let run_date = date.unwrap_or(today);
    // A night re-run for a missed date goes back a year at most; a night ahead of tomorrow's
    // would queue messages for days that have not come (and show as the last night run).
    let earliest = today - chrono::Days::new(NIGHT_RERUN_DAYS);
    if run_date < earliest || run_date > today + chrono::Days::new(1) {
        return invalid(format!(
            "date {run_date} is outside {earliest} ..= {}",
            today + chrono::Days::new(1)
        ));
    }
    match app.run_night(run_date).await {
        Ok(summary) => {
            if drain {
                app.drain().await;
            }
            (StatusCode::OK, Json(json!(summary))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "admin nightly run");
            error(StatusCode::INTERNAL_SERVER_ERROR, "nightly_failed")
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotRequest {
    date: chrono::NaiveDate,
    /// `HH:MM`, dealer time.
    time: String,
    /// Cars the workshop takes at that time.
    capacity: u32,
}

/// The most cars one slot takes: a workshop's lifts, not a typo's 100,000.
const MAX_SLOT_CAPACITY: u32 = 100;

/// How far ahead `POST /v1/admin/slots` opens capacity, days.
const SLOT_DAYS_AHEAD: u64 = 366;

/// Opens workshop capacity, or sets it for a slot that exists: `{"date": "2027-11-02",
/// "time": "10:00", "capacity": 2}` (from today to a year ahead; unknown fields refused; 409
/// below the units held or booked).
async fn define_slot(State(app): State<Arc<App>>, request: Request) -> Response {
    if let Some(response) = rejected(&app, request.headers()) {
        return response;
    }
    let bytes = match to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    };
    let slot: SlotRequest = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let valid_time = chrono::NaiveTime::parse_from_str(&slot.time, "%H:%M").is_ok();
    if !valid_time || !(1..=MAX_SLOT_CAPACITY).contains(&slot.capacity) {
        return invalid(format!(
            "time is HH:MM and capacity 1..={MAX_SLOT_CAPACITY}"
        ));
    }
    // Capacity is opened for days to come, within the year customers may book ahead.
    let today = app::run_date_of(&app.policy, app.clock.now());
    let last = today + chrono::Days::new(SLOT_DAYS_AHEAD);
    if slot.date < today || slot.date > last {
        return invalid(format!("date {} is outside {today} ..= {last}", slot.date));
    }
    let resized = app
        .repos
        .capacity
        .resize_slot(slot.date, &slot.time, slot.capacity, app.clock.now())
        .await;
    let ok = |body: serde_json::Value| (StatusCode::OK, Json(body)).into_response();
    match resized {
        Ok(Resize::Created) => ok(json!({"created": true, "capacity": slot.capacity})),
        Ok(Resize::Unchanged) => ok(json!({"created": false, "capacity": slot.capacity})),
        Ok(Resize::Resized { was }) => {
            tracing::info!(date = %slot.date, time = %slot.time, was, capacity = slot.capacity, "slot resized");
            ok(json!({"created": false, "capacity": slot.capacity, "was": was}))
        }
        Ok(Resize::BelowTaken { taken }) => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "capacity_below_taken",
                "detail": format!("{taken} units of the slot are held or booked; cancel or move them first"),
                "taken": taken,
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "defining a slot");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// Every stage and offer rule with its state and last change.
async fn campaigns(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(response) = rejected(&app, &headers) {
        return response;
    }
    match app::campaigns::list(&app.repos, &app.policy).await {
        Ok(states) => (StatusCode::OK, Json(json!({ "campaigns": states }))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing campaigns");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

#[derive(serde::Deserialize)]
struct SwitchRequest {
    /// Who turns the switch.
    by: String,
}

/// Turns a stage or an offer rule `off` or `on`: `{"by": "operator"}`.
async fn switch_campaign(
    State(app): State<Arc<App>>,
    Path((name, action)): Path<(String, String)>,
    request: Request,
) -> Response {
    if let Some(response) = rejected(&app, request.headers()) {
        return response;
    }
    let on = match action.as_str() {
        "on" => true,
        "off" => false,
        _ => return error(StatusCode::NOT_FOUND, "not_found"),
    };
    let bytes = match to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    };
    let by = match serde_json::from_slice::<SwitchRequest>(&bytes) {
        Ok(r) => r.by,
        Err(e) => return invalid(format!("body {{\"by\": \"operator\"}}: {e}")),
    };
    let now = app.clock.now();
    match app::campaigns::switch(&app.repos, &app.policy, &name, on, &by, now).await {
        Ok(state) => (StatusCode::OK, Json(json!(state))).into_response(),
        Err(app::campaigns::SwitchError::Unknown(_)) => error(StatusCode::NOT_FOUND, "not_found"),
        Err(
            e @ (app::campaigns::SwitchError::NoOperator
            | app::campaigns::SwitchError::OperatorTooLong),
        ) => invalid(e.to_string()),
        Err(app::campaigns::SwitchError::Store(e)) => {
            tracing::error!(error = %e, "switching a campaign");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// What the next nights would send: `?days=7&from=YYYY-MM-DD` (default: 7 days from today).
async fn campaign_preview(State(app): State<Arc<App>>, request: Request) -> Response {
    if let Some(response) = rejected(&app, request.headers()) {
        return response;
    }
    let mut days = 7u32;
    let mut from = app::run_date_of(&app.policy, app.clock.now());
    for (k, v) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        let parsed = match k.as_ref() {
            "days" => v
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=31).contains(d))
                .map(|d| days = d)
                .ok_or_else(|| format!("days {v:?} is not 1 to 31")),
            "from" => v
                .parse::<chrono::NaiveDate>()
                .map(|d| from = d)
                .map_err(|_| format!("from {v:?} is not YYYY-MM-DD")),
            other => Err(format!("unknown parameter {other:?}")),
        };
        if let Err(message) = parsed {
            return invalid(message);
        }
    }
    match app::campaigns::preview(&app.repos, &app.policy, from, days).await {
        Ok(rows) => (
            StatusCode::OK,
            Json(json!({"from": from, "days": days, "messages": rows})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "campaign preview");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}
