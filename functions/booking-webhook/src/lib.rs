//! `booking-webhook`: the Telegram bot's webhook (`POST /v1/telegram`). Checks Telegram's secret
//! token header, parses the update, runs it through the booking use case (idempotent per update
//! id) and sends the replies. 200 handled, 401 bad secret, 403 not this chat's to do, 404 unknown
//! offer or booking, 409 the same update in progress, 422 unreadable update, opaque 500.

use anyhow::Context;
use app::ports::Address;
use app::{BookingSettings, MessengerUpdate, UpdateError, UpdateKind};
use channels::TelegramBot;
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::{http, Body, Request, Response};
use lambda_support::{ApiError, Reply};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use store::repo::Repos;
use store::Store;

/// The header Telegram sends with the secret given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the handler needs, built once per cold start.
pub struct Deps<S> {
    pub repos: Repos<S>,
    pub policy: Policy,
    pub bot: TelegramBot,
    pub settings: BookingSettings,
    pub webhook_secret: String,
}

#[derive(Debug, Deserialize)]
struct Update {
    update_id: i64,
    callback_query: Option<CallbackQuery>,
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    data: Option<String>,
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    chat: Chat,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}

/// Parses a Telegram update into the use case's terms.
pub fn parse_update(body: &[u8]) -> Result<Option<MessengerUpdate>, ApiError> {
    let update: Update = serde_json::from_slice(body)
        .map_err(|e| ApiError::Unprocessable(vec![domain::FieldError::new("$", e)]))?;
    let update_id = update.update_id.to_string();
    if let Some(query) = update.callback_query {
        let (Some(data), Some(message)) = (query.data, query.message) else {
            return Ok(None);
        };
        return Ok(Some(MessengerUpdate {
            update_id,
            from: Address::Telegram(message.chat.id),
            kind: UpdateKind::Callback {
                callback_id: Some(query.id),
                data,
            },
        }));
    }
    Ok(update.message.and_then(|m| {
        Some(MessengerUpdate {
            update_id,
            from: Address::Telegram(m.chat.id),
            kind: UpdateKind::Text(m.text?),
        })
    }))
}

fn same_secret(expected: &str, given: &[u8]) -> bool {
    // Constant-time: compare MACs of both under a fixed key.
    let tag = |bytes: &[u8]| {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"telegram-secret-compare")
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(bytes);
        mac
    };
    let expected_tag = tag(expected.as_bytes()).finalize().into_bytes();
    tag(given).verify_slice(&expected_tag).is_ok()
}

/// Handles one update given its raw body and headers at `now`.
pub async fn handle<S: Store>(
    deps: &Deps<S>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Reply {
    match run(deps, headers, body, now).await {
        Ok(()) => Reply::new(200, json!({"ok": true})),
        Err(e) => e.reply(),
    }
}

async fn run<S: Store>(
    deps: &Deps<S>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    if !given.is_some_and(|g| same_secret(&deps.webhook_secret, g)) {
        return Err(ApiError::Unauthorized("bad secret token".into()));
    }
    let Some(update) = parse_update(body)? else {
        return Ok(());
    };
    let replies = app::handle_update(&deps.repos, &deps.policy, &deps.settings, &update, now)
        .await
        .map_err(api_error)?;
    for message in &replies.messages {
        deps.bot
            .send_message(message)
            .await
            .context("sending a reply")?;
    }
    if let Some((id, text)) = &replies.callback_answer {
        deps.bot
            .answer_callback_query(id, Some(text))
            .await
            .context("answering the callback")?;
    }
    app::finish_update(&deps.repos, &update, now)
        .await
        .context("recording the update")?;
    Ok(())
}

/// The one place update errors become HTTP errors.
fn api_error(e: UpdateError) -> ApiError {
    match e {
        UpdateError::Forbidden(_) => ApiError::Forbidden(e.to_string()),
        UpdateError::NotFound(_) => ApiError::NotFound,
        UpdateError::InProgress(_) => ApiError::Conflict(e.to_string()),
        UpdateError::Malformed => {
            ApiError::Unprocessable(vec![domain::FieldError::new("callback_query.data", e)])
        }
        UpdateError::Store(e) => ApiError::Internal(e.into()),
    }
}

/// The Lambda entry: routes `POST .../v1/telegram` to `handle`.
pub async fn handle_request<S: Store>(
    deps: &Deps<S>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let reply = if !request.uri().path().ends_with("/v1/telegram") {
        ApiError::NotFound.reply()
    } else if request.method() != http::Method::POST {
        ApiError::MethodNotAllowed.reply()
    } else {
        handle(deps, request.headers(), request.body().as_ref(), now).await
    };
    let mut response = Response::new(Body::Text(reply.body.to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
