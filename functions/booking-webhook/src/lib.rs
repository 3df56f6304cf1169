//! `booking-webhook`: the messengers' webhooks. `POST /v1/telegram/webhook` checks Telegram's
//! secret-token header; `GET /v1/whatsapp/webhook` answers Meta's verification handshake;
//! `POST /v1/whatsapp/webhook` checks `X-Hub-Signature-256`. Every update (a Telegram update, a
//! WhatsApp message) runs through the booking use case, idempotent per update or message id, and
//! each reply goes out through the messenger it is addressed to (the advisor is in Telegram).
//! WhatsApp's delivery statuses move the sent messages on for the KPIs (see [`statuses`]).
//! `GET`/`POST /b/{token}` is the mobile booking page SMS links open (see [`page`]).
//! 200 handled, 401 bad secret or signature, 403 wrong verify token or not this sender's to do,
//! 404 unknown route, offer or booking, 409 the same update in progress, 422 unreadable update,
//! opaque 500. Bookings held, confirmed, cancelled and marked no-shows are counted by the
//! messenger the customer booked through (`lambda_support::metrics`).

pub mod config;
pub mod page;
pub mod statuses;

use anyhow::Context;
use app::booking_link::BookingLinks;
use app::ports::{Address, Channel, Messenger, OutgoingMessage, WhatsAppId};
use app::{BookingSettings, MessengerUpdate, UpdateError, UpdateKind};
use channels::{ConsoleChannel, SmsGateway, TelegramBot, WhatsAppCloud};
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::{http, Body, Request, RequestExt, Response};
use lambda_support::metrics::{self, Dimension, Dims, Metric};
use lambda_support::{ApiError, Reply};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use store::repo::Repos;
use store::Store;

/// The header Telegram sends with the secret given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The header Meta signs WhatsApp notifications in: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// Telegram's webhook route.
pub const TELEGRAM_PATH: &str = "/v1/telegram/webhook";
/// WhatsApp's webhook route (GET verification, POST notifications).
pub const WHATSAPP_PATH: &str = "/v1/whatsapp/webhook";

/// Sends the replies addressed to Telegram chats and answers button presses (the Bot API in
/// Lambda; `autodrive serve` may print them instead).
pub trait TelegramOut: Send + Sync + 'static {
    fn send_message(
        &self,
        message: &OutgoingMessage,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
    fn answer_callback_query(
        &self,
        callback_query_id: &str,
        text: Option<&str>,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

/// Sends the replies addressed to WhatsApp users from the business number.
pub trait WhatsAppOut: Send + Sync + 'static {
    /// The business number's id: notifications for other numbers are not ours.
    fn phone_number_id(&self) -> &str;
    fn send_message(
        &self,
        message: &OutgoingMessage,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

impl TelegramOut for TelegramBot {
    async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<()> {
        TelegramBot::send_message(self, message).await.map(drop)
    }

    async fn answer_callback_query(&self, id: &str, text: Option<&str>) -> anyhow::Result<()> {
        TelegramBot::answer_callback_query(self, id, text).await
    }
}

impl WhatsAppOut for WhatsAppCloud {
    fn phone_number_id(&self) -> &str {
        WhatsAppCloud::phone_number_id(self)
    }

    async fn send_message(&self, message: &OutgoingMessage) -> anyhow::Result<()> {
        Ok(WhatsAppCloud::send_message(self, message).await.map(drop)?)
    }
}

/// The WhatsApp side: the Cloud API client of the business number and the webhook's secrets.
pub struct WhatsApp<W = WhatsAppCloud> {
    pub client: W,
    /// Meta's app secret, the key of `X-Hub-Signature-256`.
    pub app_secret: String,
    /// The token Meta echoes in `hub.verify_token` when the webhook is registered.
    pub verify_token: String,
}

/// What the handler needs, built once per cold start.
pub struct Deps<S, T = TelegramBot, W = WhatsAppCloud> {
    pub repos: Repos<S>,
    pub policy: Policy,
    pub bot: T,
    pub whatsapp: WhatsApp<W>,
    pub settings: BookingSettings,
    /// Telegram's webhook secret token.
    pub webhook_secret: String,
    /// Where replies to SMS customers go (the confirmation of a booking made on the page);
    /// `None` prints them (local runs only: texts carry personal data).
    pub sms: Option<SmsGateway>,
    /// Checks the booking page's links; without it the page answers 404.
    pub links: Option<BookingLinks>,
    /// Where the booking events go (the stack's event bus).
    pub events: app::Events,
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
    /// Who pressed: their private chat with the bot has their user id.
    from: Option<Chat>,
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

fn unprocessable(field: impl Into<String>, e: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(vec![domain::FieldError::new(field, e)])
}

/// Parses a Telegram update into the use case's terms.
pub fn parse_update(body: &[u8]) -> Result<Option<MessengerUpdate>, ApiError> {
    let update: Update = serde_json::from_slice(body).map_err(|e| unprocessable("$", e))?;
    let update_id = update.update_id.to_string();
    if let Some(query) = update.callback_query {
        // Every press is answered, or the customer's client spins: one without data is refused
        // as unreadable, one without its message (too old, or inline) is answered to the
        // presser's private chat.
        let Some(chat) = query.message.map(|m| m.chat).or(query.from) else {
            return Ok(None);
        };
        let data = query.data.unwrap_or_default();
        return Ok(Some(MessengerUpdate {
            update_id,
            from: Address::Telegram(chat.id),
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

/// A WhatsApp notification's envelope (`entry[].changes[]`), with the change's value as the
/// reader needs it: the messages here, the delivery statuses in [`statuses`].
#[derive(Debug, Deserialize)]
pub(crate) struct Notification<V> {
    #[serde(default = "Vec::new")]
    pub(crate) entry: Vec<Entry<V>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Entry<V> {
    #[serde(default = "Vec::new")]
    pub(crate) changes: Vec<Change<V>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Change<V> {
    pub(crate) field: Option<String>,
    pub(crate) value: V,
}

#[derive(Debug, Deserialize)]
struct ChangeValue {
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<WaMessage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    pub(crate) phone_number_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WaMessage {
    from: String,
    id: String,
    /// Unix seconds, as a string.
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    text: Option<WaText>,
    interactive: Option<WaInteractive>,
    button: Option<WaButton>,
}

#[derive(Debug, Deserialize)]
struct WaText {
    body: String,
}

#[derive(Debug, Deserialize)]
struct WaInteractive {
    button_reply: Option<WaReply>,
    list_reply: Option<WaReply>,
}

#[derive(Debug, Deserialize)]
struct WaReply {
    id: String,
}

/// A quick-reply button of a message template.
#[derive(Debug, Deserialize)]
struct WaButton {
    payload: Option<String>,
}

/// Parses a WhatsApp notification into the use case's terms: one update per customer message
/// (texts, reply buttons, list rows, template quick replies) to the business number
/// `phone_number_id`. Delivery statuses are read by [`statuses`]; other message types carry
/// nothing to handle.
pub fn parse_whatsapp(
    body: &[u8],
    phone_number_id: &str,
) -> Result<Vec<MessengerUpdate>, ApiError> {
    parse_whatsapp_with_senders(body, phone_number_id).map(|(updates, _)| updates)
}

/// Who wrote and when (any message type), for the service window.
type Senders = Vec<(WhatsAppId, Option<DateTime<Utc>>)>;

fn parse_whatsapp_with_senders(
    body: &[u8],
    phone_number_id: &str,
) -> Result<(Vec<MessengerUpdate>, Senders), ApiError> {
    let notification: Notification<ChangeValue> =
        serde_json::from_slice(body).map_err(|e| unprocessable("$", e))?;
    let mut updates = Vec::new();
    let mut senders = Vec::new();
    for (e, entry) in notification.entry.into_iter().enumerate() {
        for (c, change) in entry.changes.into_iter().enumerate() {
            if change.field.as_deref().is_some_and(|f| f != "messages") {
                continue;
            }
            let to = change
                .value
                .metadata
                .as_ref()
                .and_then(|m| m.phone_number_id.as_deref());
            if to.is_some_and(|id| id != phone_number_id) {
                tracing::warn!(phone_number_id = ?to, "notification for another number ignored");
                continue;
            }
            for (m, message) in change.value.messages.into_iter().enumerate() {
                let at = format!("entry[{e}].changes[{c}].value.messages[{m}]");
                let from = WhatsAppId::parse(&message.from)
                    .map_err(|err| unprocessable(format!("{at}.from"), err))?;
                if message.id.is_empty() {
                    return Err(unprocessable(format!("{at}.id"), "must not be empty"));
                }
                let sent_at = message
                    .timestamp
                    .as_deref()
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(|t| DateTime::from_timestamp(t, 0));
                senders.push((from.clone(), sent_at));
                let kind =
                    match message.kind.as_str() {
                        "text" => message.text.map(|t| UpdateKind::Text(t.body)),
                        "interactive" => message
                            .interactive
                            .and_then(|i| i.button_reply.or(i.list_reply))
                            .map(|reply| UpdateKind::Callback {
                                callback_id: None,
                                data: reply.id,
                            }),
                        "button" => message.button.and_then(|b| b.payload).map(|data| {
                            UpdateKind::Callback {
                                callback_id: None,
                                data,
                            }
                        }),
                        _ => None,
                    };
                if let Some(kind) = kind {
                    updates.push(MessengerUpdate {
                        update_id: message.id,
                        from: Address::WhatsApp(from),
                        kind,
                    });
                }
            }
        }
    }
    Ok((updates, senders))
}

/// Whether `given` is the configured secret `expected`. A secret left unset (empty) matches
/// nothing: a webhook whose secret is not configured refuses every request.
fn same_secret(expected: &str, given: &[u8]) -> bool {
    if expected.is_empty() {
        return false;
    }
    // Constant-time: compare MACs of both under a fixed key.
    let tag = |bytes: &[u8]| {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"booking-webhook-secret-compare")
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(bytes);
        mac
    };
    let expected_tag = tag(expected.as_bytes()).finalize().into_bytes();
    tag(given).verify_slice(&expected_tag).is_ok()
}

/// Whether `header` is `sha256=<hex HMAC-SHA256 of body under app_secret>` (constant time).
/// Without an app secret (unset, empty) nothing is signed: anyone can compute a MAC under the
/// empty key.
pub fn signed_by(app_secret: &str, header: Option<&[u8]>, body: &[u8]) -> bool {
    if app_secret.is_empty() {
        return false;
    }
    let Some(given) = header
        .and_then(|h| h.strip_prefix(b"sha256="))
        .and_then(|hex| hex::decode(hex).ok())
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Handles one Telegram update given its raw body and headers at `now`.
pub async fn handle<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Reply {
    match run_telegram(deps, headers, body, now).await {
        Ok(()) => Reply::new(200, json!({"ok": true})),
        Err(e) => e.reply(),
    }
}

async fn run_telegram<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    if !given.is_some_and(|g| same_secret(&deps.webhook_secret, g)) {
        return Err(ApiError::Unauthorized("bad secret token".into()));
    }
    match parse_update(body)? {
        Some(update) => run_update(deps, &update, now).await,
        None => Ok(()),
    }
}

/// Handles one WhatsApp notification given its raw body and headers at `now`. Every message in
/// it is handled; the first failure decides the answer (Meta delivers it again, and the messages
/// handled before are not handled twice).
pub async fn handle_whatsapp<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Reply {
    match run_whatsapp(deps, headers, body, now).await {
        Ok(()) => Reply::new(200, json!({"ok": true})),
        Err(e) => e.reply(),
    }
}

async fn run_whatsapp<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let signature = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if !signed_by(&deps.whatsapp.app_secret, signature, body) {
        return Err(ApiError::Unauthorized("bad or missing signature".into()));
    }
    let (updates, senders) =
        parse_whatsapp_with_senders(body, deps.whatsapp.client.phone_number_id())?;
    let delivered = statuses::parse_statuses(body, deps.whatsapp.client.phone_number_id())?;
    statuses::record(&deps.repos, &delivered, now).await?;
    for (from, sent_at) in &senders {
        let at = sent_at.map_or(now, |t| t.min(now));
        app::outreach::note_whatsapp_inbound(&deps.repos, from, at)
            .await
            .context("recording the service window")?;
    }
    let mut first_error = None;
    for update in &updates {
        if let Err(e) = run_update(deps, update, now).await {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Meta's verification handshake: the challenge when `hub.mode` is `subscribe` and
/// `hub.verify_token` is ours.
pub fn verify_whatsapp<S, T, W>(
    deps: &Deps<S, T, W>,
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, ApiError> {
    let token_ok =
        verify_token.is_some_and(|t| same_secret(&deps.whatsapp.verify_token, t.as_bytes()));
    match (mode, challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => Ok(challenge.to_owned()),
        _ => Err(ApiError::Forbidden("verification refused".into())),
    }
}

async fn run_update<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    update: &MessengerUpdate,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let replies = app::handle_update(&deps.repos, &deps.policy, &deps.settings, update, now)
        .await
        .map_err(|e| api_error(e, update.from.messenger()))?;
    // What the update changed is told first: a reply that fails to go out fails the update,
    // and handled again it would change (and publish) nothing.
    count_bookings(&replies.events);
    publish(deps, &replies.events).await;
    for message in &replies.messages {
        deliver(deps, message).await.context("sending a reply")?;
    }
    if let Some((id, text)) = &replies.callback_answer {
        deps.bot
            .answer_callback_query(id, Some(text))
            .await
            .context("answering the callback")?;
    }
    app::finish_update(&deps.repos, update, now)
        .await
        .context("recording the update")?;
    Ok(())
}

/// Publishes the update's business events. The sink retried already; the update's own effects
/// happened, so a failure is logged (with the event ids) rather than failing the update:
/// handled again, it would be refused and publish nothing.
pub(crate) async fn publish<S, T, W>(deps: &Deps<S, T, W>, events: &[app::BusinessEvent]) {
    if let Err(e) = deps.events.publish(events).await {
        for event in events {
            tracing::error!(event_id = %event.event_id, detail_type = event.name(), error = %format!("{e:#}"), "business event not published");
        }
    }
}

/// Counts the bookings held, confirmed, cancelled and marked no-shows among `events`, by the
/// messenger the customer booked through. The use case returns an event when the store changed,
/// and a confirmation again when an advisor presses «Подтвердить» on a confirmed booking (for
/// the event bus, marked a repeat), which is not counted again.
pub(crate) fn count_bookings(events: &[app::BusinessEvent]) {
    use app::events::EventKind;
    for event in events.iter().filter(|e| !e.repeat) {
        let (metric, booking) = match &event.kind {
            EventKind::BookingHeld(ids) => (Metric::BookingsHeld, ids),
            EventKind::BookingConfirmed(ids) => (Metric::BookingsConfirmed, ids),
            EventKind::BookingCancelled { booking, .. } => (Metric::BookingsCancelled, booking),
            EventKind::NoShow(ids) => (Metric::NoShows, ids),
            _ => continue,
        };
        let dims = Dims::new().with(Dimension::Channel, booking.channel.as_str());
        metrics::count(metric, dims, 1);
    }
}

/// Sends a reply through the messenger it is addressed to.
pub(crate) async fn deliver<S, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    message: &OutgoingMessage,
) -> anyhow::Result<()> {
    match &message.to {
        Address::Telegram(_) => deps.bot.send_message(message).await,
        Address::WhatsApp(_) => deps.whatsapp.client.send_message(message).await,
        Address::Sms(phone) => match &deps.sms {
            Some(gateway) => gateway
                .send_sms(phone, &app::sms_text::fit_sms(&message.text))
                .await
                .map(drop),
            None => ConsoleChannel::default().send(message).await.map(drop),
        },
    }
}

/// The one place update errors become HTTP errors.
pub(crate) fn api_error(e: UpdateError, messenger: Messenger) -> ApiError {
    match e {
        UpdateError::Forbidden(_) | UpdateError::Refused(_) => ApiError::Forbidden(e.to_string()),
        UpdateError::NotFound(_) => ApiError::NotFound,
        UpdateError::InProgress(_) => ApiError::Conflict(e.to_string()),
        UpdateError::Malformed => {
            let field = match messenger {
                Messenger::Telegram => "callback_query.data",
                Messenger::WhatsApp => "messages[].interactive",
                Messenger::Sms => "slot",
            };
            unprocessable(field, e)
        }
        UpdateError::Store(e) => ApiError::Internal(e.into()),
    }
}

pub(crate) fn response(status: u16, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

fn json_response(reply: Reply) -> Response<Body> {
    response(reply.status, "application/json", reply.body.to_string())
}

/// The Lambda entry: routes `POST .../v1/telegram/webhook`, `GET`/`POST
/// .../v1/whatsapp/webhook` and `GET`/`POST /b/{token}`; writes the request's metrics.
pub async fn handle_request<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    metrics::invocation(route_request(deps, request, now)).await
}

async fn route_request<S: Store, T: TelegramOut, W: WhatsAppOut>(
    deps: &Deps<S, T, W>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let path = request.uri().path();
    let method = request.method();
    let body = request.body().as_ref();
    if let Some(token) = page::token_of(path) {
        return page::handle_page(deps, method, token, body, now).await;
    }
    if path.ends_with(TELEGRAM_PATH) {
        if method != http::Method::POST {
            return json_response(ApiError::MethodNotAllowed.reply());
        }
        return json_response(handle(deps, request.headers(), body, now).await);
    }
    if !path.ends_with(WHATSAPP_PATH) {
        return json_response(ApiError::NotFound.reply());
    }
    match *method {
        http::Method::GET => {
            let query = request.query_string_parameters();
            match verify_whatsapp(
                deps,
                query.first("hub.mode"),
                query.first("hub.verify_token"),
                query.first("hub.challenge"),
            ) {
                Ok(challenge) => response(200, "text/plain; charset=utf-8", challenge),
                Err(e) => json_response(e.reply()),
            }
        }
        http::Method::POST => {
            json_response(handle_whatsapp(deps, request.headers(), body, now).await)
        }
        _ => json_response(ApiError::MethodNotAllowed.reply()),
    }
}
