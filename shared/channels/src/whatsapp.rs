//! The WhatsApp Cloud API (Graph API `/{phone number id}/messages`): text messages, interactive
//! reply buttons and lists, and approved template messages (outside the 24-hour service window),
//! checked against Meta's limits before sending; Graph errors typed.

use app::outreach::Template;
use app::ports::{Address, Channel, OutgoingMessage, WhatsAppId};
use serde::Deserialize;
use serde_json::{json, Value};

/// The Graph API host.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version the client calls unless told otherwise.
pub const DEFAULT_API_VERSION: &str = "v21.0";

/// Whether `version` is a Graph API version as it appears in a path: `v<major>.<minor>`.
pub fn is_api_version(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major
                    .bytes()
                    .chain(minor.bytes())
                    .all(|b| b.is_ascii_digit())
        })
}

/// The label of the button that opens a list.
pub const LIST_BUTTON: &str = "Выбрать";
/// The title of a list's one section.
pub const LIST_SECTION: &str = "Варианты";

/// Most characters of a text message's body.
pub const MAX_TEXT_BODY: usize = 4096;
/// Most characters of an interactive message's body.
pub const MAX_INTERACTIVE_BODY: usize = 1024;
/// Most reply buttons under a message.
pub const MAX_REPLY_BUTTONS: usize = 3;
/// Most characters of a reply button's title, of a list's button label.
pub const MAX_BUTTON_TITLE: usize = 20;
/// Most characters of a reply button's id.
pub const MAX_BUTTON_ID: usize = 256;
/// Most rows of a list, over all sections.
pub const MAX_LIST_ROWS: usize = 10;
/// Most characters of a list row's title, of a section title.
pub const MAX_ROW_TITLE: usize = 24;
/// Most characters of a list row's id.
pub const MAX_ROW_ID: usize = 200;
/// Most quick-reply buttons of a template (Meta allows 10 buttons; the index is one digit).
pub const MAX_TEMPLATE_BUTTONS: usize = 10;
/// Most characters of a template's text parameter as this client sends it.
pub const MAX_TEMPLATE_PARAMETER: usize = 1024;

/// Why a message does not fit the Cloud API's limits. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("{field} must be 1 to {max} characters, got {len}")]
    Length {
        field: &'static str,
        max: usize,
        len: usize,
    },
    #[error("{what}: at most {max}, got {count}")]
    TooMany {
        what: &'static str,
        max: usize,
        count: usize,
    },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} must be unique")]
    Duplicate { what: &'static str },
    /// Template parameters take no line breaks, tabs or more than four spaces in a row.
    #[error("template parameter {index} has a line break, a tab or a run of spaces")]
    TemplateParameter { index: usize },
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, ContentError> {
    let len = text.chars().count();
    if len == 0 || len > max {
        return Err(ContentError::Length { field, max, len });
    }
    Ok(text.to_owned())
}

/// One option: the id that comes back in the webhook when chosen, and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    id: String,
    title: String,
}

impl Choice {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }
}

fn choices(
    what: &'static str,
    options: &[(&str, &str)],
    max: usize,
    id_max: usize,
    title_max: usize,
) -> Result<Vec<Choice>, ContentError> {
    if options.is_empty() {
        return Err(ContentError::Empty { what });
    }
    if options.len() > max {
        return Err(ContentError::TooMany {
            what,
            max,
            count: options.len(),
        });
    }
    let mut out: Vec<Choice> = Vec::with_capacity(options.len());
    for (id, title) in options {
        let choice = Choice {
            id: bounded("id", id, id_max)?,
            title: bounded("title", title, title_max)?,
        };
        if out.iter().any(|c| c.id == choice.id) {
            return Err(ContentError::Duplicate { what: "ids" });
        }
        if out.iter().any(|c| c.title == choice.title) {
            return Err(ContentError::Duplicate { what: "titles" });
        }
        out.push(choice);
    }
    Ok(out)
}

/// What a message shows, within the Cloud API's limits by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text {
        body: String,
    },
    /// Up to 3 reply buttons.
    Buttons {
        body: String,
        buttons: Vec<Choice>,
    },
    /// A button that opens up to 10 rows in one section.
    List {
        body: String,
        button: String,
        section: String,
        rows: Vec<Choice>,
    },
    /// An approved template: body text parameters and quick-reply payloads (buttons 0, 1, ...).
    Template {
        name: String,
        language: String,
        body: Vec<String>,
        quick_replies: Vec<String>,
    },
}

impl Content {
    pub fn text(body: &str) -> Result<Self, ContentError> {
        Ok(Content::Text {
            body: bounded("body", body, MAX_TEXT_BODY)?,
        })
    }

    /// Reply buttons from `(id, title)` pairs.
    pub fn buttons(body: &str, buttons: &[(&str, &str)]) -> Result<Self, ContentError> {
        Ok(Content::Buttons {
            body: bounded("body", body, MAX_INTERACTIVE_BODY)?,
            buttons: choices(
                "reply buttons",
                buttons,
                MAX_REPLY_BUTTONS,
                MAX_BUTTON_ID,
                MAX_BUTTON_TITLE,
            )?,
        })
    }

    /// A list of `(id, title)` rows behind a button labelled `button`.
    pub fn list(
        body: &str,
        button: &str,
        section: &str,
        rows: &[(&str, &str)],
    ) -> Result<Self, ContentError> {
        Ok(Content::List {
            body: bounded("body", body, MAX_INTERACTIVE_BODY)?,
            button: bounded("list button", button, MAX_BUTTON_TITLE)?,
            section: bounded("section title", section, MAX_ROW_TITLE)?,
            rows: choices("list rows", rows, MAX_LIST_ROWS, MAX_ROW_ID, MAX_ROW_TITLE)?,
        })
    }

    /// A template message, its parameters checked.
    pub fn template(template: &Template) -> Result<Self, ContentError> {
        bounded("template name", &template.name, 512)?;
        bounded("template language", &template.language, 15)?;
        for (i, text) in template.body.iter().enumerate() {
            bounded("template parameter", text, MAX_TEMPLATE_PARAMETER)?;
            if text.contains(['\n', '\t']) || text.contains("     ") {
                return Err(ContentError::TemplateParameter { index: i + 1 });
            }
        }
        if template.quick_replies.len() > MAX_TEMPLATE_BUTTONS {
            return Err(ContentError::TooMany {
                what: "quick-reply buttons",
                max: MAX_TEMPLATE_BUTTONS,
                count: template.quick_replies.len(),
            });
        }
        for payload in &template.quick_replies {
            bounded("quick reply payload", payload, MAX_BUTTON_ID)?;
        }
        Ok(Content::Template {
            name: template.name.clone(),
            language: template.language.clone(),
            body: template.body.clone(),
            quick_replies: template.quick_replies.clone(),
        })
    }

    /// How a channel-neutral message looks on WhatsApp: without buttons a text; up to 3
    /// buttons with short labels as reply buttons; otherwise a list (up to 10 rows).
    pub fn of_message(message: &OutgoingMessage) -> Result<Self, ContentError> {
        let options: Vec<(&str, &str)> = message
            .buttons
            .iter()
            .flatten()
            .map(|b| (b.callback_data.as_str(), b.text.as_str()))
            .collect();
        if options.is_empty() {
            return Content::text(&message.text);
        }
        let short = options
            .iter()
            .all(|(_, title)| title.chars().count() <= MAX_BUTTON_TITLE);
        if options.len() <= MAX_REPLY_BUTTONS && short {
            Content::buttons(&message.text, &options)
        } else {
            Content::list(&message.text, LIST_BUTTON, LIST_SECTION, &options)
        }
    }

    /// The request body to `to`.
    pub fn request(&self, to: &WhatsAppId) -> Value {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.as_str(),
        });
        match self {
            Content::Text { body: text } => {
                body["type"] = "text".into();
                body["text"] = json!({"preview_url": false, "body": text});
            }
            Content::Buttons {
                body: text,
                buttons,
            } => {
                let buttons: Vec<Value> = buttons
                    .iter()
                    .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                    .collect();
                body["type"] = "interactive".into();
                body["interactive"] = json!({
                    "type": "button",
                    "body": {"text": text},
                    "action": {"buttons": buttons},
                });
            }
            Content::List {
                body: text,
                button,
                section,
                rows,
            } => {
                let rows: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"id": r.id, "title": r.title}))
                    .collect();
                body["type"] = "interactive".into();
                body["interactive"] = json!({
                    "type": "list",
                    "body": {"text": text},
                    "action": {"button": button, "sections": [{"title": section, "rows": rows}]},
                });
            }
            Content::Template {
                name,
                language,
                body: parameters,
                quick_replies,
            } => {
                let parameters: Vec<Value> = parameters
                    .iter()
                    .map(|text| json!({"type": "text", "text": text}))
                    .collect();
                let mut components = vec![json!({"type": "body", "parameters": parameters})];
                for (index, payload) in quick_replies.iter().enumerate() {
                    components.push(json!({
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": index.to_string(),
                        "parameters": [{"type": "payload", "payload": payload}],
                    }));
                }
                body["type"] = "template".into();
                body["template"] = json!({
                    "name": name,
                    "language": {"code": language},
                    "components": components,
                });
            }
        }
        body
    }
}

/// A Graph API error as the API reports it (`{"error": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    pub fbtrace_id: Option<String>,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(subcode) = self.subcode {
            write!(f, "/{subcode}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " (fbtrace_id {trace})")?;
        }
        Ok(())
    }
}

/// Why a WhatsApp message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum WhatsAppError {
    /// The message is addressed to another messenger.
    #[error("{0} is not a WhatsApp user")]
    NotWhatsApp(Address),
    #[error("the message does not fit WhatsApp: {0}")]
    Content(#[from] ContentError),
    /// The request did not reach the API or its answer was cut off; it may or may not have
    /// been sent.
    #[error("WhatsApp request failed")]
    Transport(#[source] reqwest::Error),
    /// The access token is invalid, expired or lacks the permission (codes 190, 10, 200–299).
    #[error("WhatsApp refused the access token: {0}")]
    Unauthorized(GraphError),
    /// Too many messages (HTTP 429, codes 4, 80007, 130429, 131048, 131056); retry later.
    #[error("WhatsApp rate limit: {0}")]
    RateLimited(GraphError),
    /// The message was refused (bad parameters, outside the 24-hour window, ...); retrying the
    /// same request does not help.
    #[error("WhatsApp refused the message: {0}")]
    Rejected(GraphError),
    /// The API failed (HTTP 5xx, codes 1, 2, 131000); retry later.
    #[error("WhatsApp is unavailable: {0}")]
    Unavailable(GraphError),
    #[error("unreadable WhatsApp reply (HTTP {status})")]
    Unreadable { status: u16 },
}

impl WhatsAppError {
    /// Whether sending the same message again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            WhatsAppError::Transport(_)
                | WhatsAppError::RateLimited(_)
                | WhatsAppError::Unavailable(_)
        )
    }

    fn of_graph(error: GraphError) -> Self {
        match (error.status, error.code) {
            (_, Some(4 | 80007 | 130429 | 131048 | 131056)) | (429, _) => {
                WhatsAppError::RateLimited(error)
            }
            (_, Some(10 | 190 | 200..=299)) | (401 | 403, _) => WhatsAppError::Unauthorized(error),
            (_, Some(1 | 2 | 131000)) | (500..=599, _) => WhatsAppError::Unavailable(error),
            _ => WhatsAppError::Rejected(error),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ErrorReply {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
    fbtrace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SentReply {
    messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
}

/// A business phone number on the Cloud API. `Debug` hides the access token.
#[derive(Clone)]
pub struct WhatsAppCloud {
    http: reqwest::Client,
    base_url: String,
    api_version: String,
    phone_number_id: String,
    access_token: String,
}

impl std::fmt::Debug for WhatsAppCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppCloud")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("phone_number_id", &self.phone_number_id)
            .finish_non_exhaustive()
    }
}

impl WhatsAppCloud {
    /// The number `phone_number_id` at `base_url` (the Graph API or a test server), calling
    /// [`DEFAULT_API_VERSION`].
    pub fn new(
        base_url: impl Into<String>,
        phone_number_id: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Self {
        WhatsAppCloud {
            http: reqwest::Client::new(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            phone_number_id: phone_number_id.into(),
            access_token: access_token.into(),
        }
    }

    /// Calls Graph API version `api_version` (`v21.0`, ...) instead.
    pub fn with_api_version(mut self, api_version: impl Into<String>) -> Self {
        self.api_version = api_version.into();
        self
    }

    /// The business phone number's id messages are sent from.
    pub fn phone_number_id(&self) -> &str {
        &self.phone_number_id
    }

    /// Sends `content` to `to`; returns WhatsApp's message id (`wamid...`).
    pub async fn send_content(
        &self,
        to: &WhatsAppId,
        content: &Content,
    ) -> Result<String, WhatsAppError> {
        let url = format!(
            "{}/{}/{}/messages",
            self.base_url, self.api_version, self.phone_number_id
        );
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.access_token)
            .json(&content.request(to))
            .send()
            .await
            .map_err(WhatsAppError::Transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(WhatsAppError::Transport)?;
        if (200..300).contains(&status) {
            let sent: SentReply =
                serde_json::from_slice(&bytes).map_err(|_| WhatsAppError::Unreadable { status })?;
            return sent
                .messages
                .into_iter()
                .next()
                .map(|m| m.id)
                .ok_or(WhatsAppError::Unreadable { status });
        }
        let error = match serde_json::from_slice::<ErrorReply>(&bytes) {
            Ok(ErrorReply { error }) => GraphError {
                status,
                code: error.code,
                subcode: error.error_subcode,
                message: error.message,
                fbtrace_id: error.fbtrace_id,
            },
            Err(_) => GraphError {
                status,
                code: None,
                subcode: None,
                message: "no Graph error in the reply".into(),
                fbtrace_id: None,
            },
        };
        Err(WhatsAppError::of_graph(error))
    }

    /// Sends a channel-neutral message (see [`Content::of_message`]) to its WhatsApp address.
    pub async fn send_message(&self, message: &OutgoingMessage) -> Result<String, WhatsAppError> {
        let Address::WhatsApp(to) = &message.to else {
            return Err(WhatsAppError::NotWhatsApp(message.to.clone()));
        };
        let content = Content::of_message(message)?;
        self.send_content(to, &content).await
    }
}

impl WhatsAppCloud {
    /// Sends an approved template to `to` (outside the service window).
    pub async fn send_template(
        &self,
        to: &WhatsAppId,
        template: &Template,
    ) -> Result<String, WhatsAppError> {
        let content = Content::template(template)?;
        self.send_content(to, &content).await
    }
}

impl Channel for WhatsAppCloud {
    async fn send(&self, message: &OutgoingMessage) -> anyhow::Result<String> {
        Ok(self.send_message(message).await?)
    }
}
