//! `ingest-visit`: the CRM's visits webhook (`POST /v1/visits`). Verifies the signature over the
//! raw body, records the visit once per work order and re-forecasts the vehicle at once.
//! Answers 201 stored, 200 repeated work order, 401 bad or stale signature, 422 field errors.
//! A visit stored for the first time counts `VisitsRecorded`, a credited message `Conversions`
//! (by stage and offer rule; `lambda_support::metrics`).

pub mod signature;

use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_http::{http, Body, Request, Response};
use lambda_support::metrics::{self, Dimension, Dims, Metric};
use lambda_support::{ApiError, Reply};
use serde_json::json;
use store::repo::Repos;
use store::Store;

pub use signature::{Secret, SignatureError};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-signature";

/// What the handler needs, built once per cold start.
pub struct Deps<S> {
    pub repos: Repos<S>,
    pub policy: Policy,
    pub secret: Secret,
    /// Where VisitRecorded goes (the stack's event bus).
    pub events: app::Events,
}

/// Handles one request given its raw body and headers at `now`.
pub async fn handle<S: Store>(
    deps: &Deps<S>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Reply {
    metrics::invocation(async {
        match ingest(deps, headers, body, now).await {
            Ok(reply) => reply,
            Err(e) => e.reply(),
        }
    })
    .await
}

async fn ingest<S: Store>(
    deps: &Deps<S>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Reply, ApiError> {
    let header = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    signature::verify(&deps.secret, header, body, now)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let recorded = app::record_visit(&deps.repos, &deps.policy, body, now)
        .await
        .map_err(|e| match e {
            app::RecordVisitError::Invalid(errors) => ApiError::Unprocessable(errors.0),
            app::RecordVisitError::Store(e) => ApiError::Internal(e.into()),
        })?;
    count_visit(&recorded);
    // Published on every delivery (the same event id): a CRM retry after a failure repairs it.
    deps.events
        .publish(&recorded.events)
        .await
        .map_err(ApiError::Internal)?;
    let status = if recorded.newly_stored { 201 } else { 200 };
    Ok(Reply::new(
        status,
        json!({
            "work_order_id": recorded.work_order_id,
            "vin": recorded.vin,
            "status": if recorded.newly_stored { "stored" } else { "already_stored" },
            "due_date": recorded.due.as_ref().map(|d| d.due_date),
        }),
    ))
}

/// Counts a visit stored now and the message it converted.
fn count_visit(recorded: &app::RecordedVisit) {
    if recorded.newly_stored {
        metrics::count(Metric::VisitsRecorded, Dims::new(), 1);
    }
    if let Some(conversion) = &recorded.converted {
        let dims = Dims::new()
            .with(Dimension::Stage, conversion.stage.as_str())
            .with_opt(Dimension::Rule, conversion.rule.as_deref());
        metrics::count(Metric::Conversions, dims, 1);
    }
}

/// The Lambda entry: routes `POST .../v1/visits` to `handle`, anything else to 404/405.
pub async fn handle_request<S: Store>(
    deps: &Deps<S>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let reply = if !request.uri().path().ends_with("/v1/visits") {
        ApiError::NotFound.reply()
    } else if request.method() != http::Method::POST {
        ApiError::MethodNotAllowed.reply()
    } else {
        handle(deps, request.headers(), request.body().as_ref(), now).await
    };
    to_response(&reply)
}

/// The reply as an HTTP response with a JSON body.
pub fn to_response(reply: &Reply) -> Response<Body> {
    let mut response = Response::new(Body::Text(reply.body.to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
