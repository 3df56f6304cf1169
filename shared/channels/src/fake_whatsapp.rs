//! A fake WhatsApp Cloud API on 127.0.0.1 for tests: checks the bearer token and the documented
//! shapes of text, reply-button, list and template messages on `/{version}/{phone number id}/messages`,
//! records the accepted ones and answers like the Graph API (errors in its `{"error": ...}` form).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::fake_http::{serve, Request};

/// Why the fake refused a request: HTTP status, Graph error code and message.
type Refusal = (u16, i64, String);

#[derive(Debug, Default)]
struct State {
    messages: Vec<Value>,
    rejected: Vec<String>,
    failures: VecDeque<(u16, i64)>,
}

/// The server; it stops when the test process ends.
#[derive(Debug, Clone)]
pub struct FakeWhatsApp {
    base_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeWhatsApp {
    /// Starts a server for the business number `phone_number_id` that accepts `access_token`.
    pub fn start(phone_number_id: &str, access_token: &str) -> std::io::Result<FakeWhatsApp> {
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let phone_number_id = phone_number_id.to_owned();
        let token = access_token.to_owned();
        let base_url = serve(move |request| {
            let Ok(mut state) = shared.lock() else {
                return graph_error(500, 1, "the fake's state is poisoned");
            };
            answer(&mut state, &phone_number_id, &token, &request)
        })?;
        Ok(FakeWhatsApp { base_url, state })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every accepted message body so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        self.state
            .lock()
            .map(|s| s.messages.clone())
            .unwrap_or_default()
    }

    /// Requests refused, with why.
    pub fn rejected(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.rejected.clone())
            .unwrap_or_default()
    }

    /// Makes the next well-formed request fail with HTTP `status` and Graph error `code`.
    pub fn fail_next(&self, status: u16, code: i64) {
        if let Ok(mut state) = self.state.lock() {
            state.failures.push_back((status, code));
        }
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": "AFakeTraceId"
        }}),
    )
}

fn answer(
    state: &mut State,
    phone_number_id: &str,
    token: &str,
    request: &Request,
) -> (u16, Value) {
    match check(phone_number_id, token, request) {
        Ok(body) => {
            if let Some((status, code)) = state.failures.pop_front() {
                return graph_error(status, code, "failure injected by the test");
            }
            let to = body["to"].clone();
            state.messages.push(body);
            let id = format!("wamid.FAKE{:06}", state.messages.len());
            (
                200,
                json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": id}]
                }),
            )
        }
        Err((status, code, why)) => {
            state.rejected.push(why.clone());
            graph_error(status, code, &why)
        }
    }
}

fn invalid(why: impl Into<String>) -> Refusal {
    (
        400,
        131009,
        format!("Parameter value is not valid: {}", why.into()),
    )
}

fn check(phone_number_id: &str, token: &str, request: &Request) -> Result<Value, Refusal> {
    let expected = format!("Bearer {token}");
    if request.header("authorization") != Some(expected.as_str()) {
        return Err((
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token".into(),
        ));
    }
    let segments: Vec<&str> = request.path.split('/').collect();
    let ["", version, number, "messages"] = segments.as_slice() else {
        return Err((
            400,
            100,
            format!("Unknown path components: {}", request.path),
        ));
    };
    if !crate::whatsapp::is_api_version(version) {
        return Err((400, 2500, format!("Unknown API version {version}")));
    }
    if *number != phone_number_id {
        return Err((
            400,
            100,
            format!("Unsupported post request. Object with ID '{number}' does not exist"),
        ));
    }
    if request.verb != "POST" {
        return Err((400, 100, format!("Unsupported {} request", request.verb)));
    }
    let body: Value = serde_json::from_slice(&request.body)
        .map_err(|e| (400, 100, format!("the body is not JSON: {e}")))?;
    check_message(&body)?;
    Ok(body)
}

fn chars(value: &Value) -> Option<usize> {
    value.as_str().map(|s| s.chars().count())
}

fn text_within(value: &Value, field: &str, max: usize) -> Result<(), Refusal> {
    match chars(value) {
        Some(n) if (1..=max).contains(&n) => Ok(()),
        Some(n) => Err(invalid(format!(
            "{field} must be 1 to {max} characters, got {n}"
        ))),
        None => Err((400, 100, format!("The parameter {field} is required."))),
    }
}

fn check_message(body: &Value) -> Result<(), Refusal> {
    if body["messaging_product"] != "whatsapp" {
        return Err((
            400,
            100,
            "The parameter messaging_product is required.".into(),
        ));
    }
    if let Some(kind) = body.get("recipient_type") {
        if kind != "individual" {
            return Err(invalid("recipient_type must be individual"));
        }
    }
    match body["to"].as_str() {
        Some(to)
            if (8..=15).contains(&to.len())
                && to.bytes().all(|b| b.is_ascii_digit())
                && !to.starts_with('0') => {}
        Some(_) => return Err(invalid("to must be a phone number in international form")),
        None => return Err((400, 100, "The parameter to is required.".into())),
    }
    match body["type"].as_str() {
        Some("text") => text_within(&body["text"]["body"], "text.body", 4096),
        Some("interactive") => check_interactive(&body["interactive"]),
        Some("template") => check_template(&body["template"]),
        Some(other) => Err(invalid(format!(
            "message type {other} is not supported here"
        ))),
        None => Err((400, 100, "The parameter type is required.".into())),
    }
}

/// A template message: `name`, `language.code`, and components: one `body` of text parameters
/// (no line breaks, tabs or more than four spaces in a row) and `button` quick replies with a
/// payload each.
fn check_template(template: &Value) -> Result<(), Refusal> {
    let name = template["name"].as_str().ok_or((
        400,
        100,
        "The parameter template.name is required.".to_owned(),
    ))?;
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_name {
        return Err((404, 132001, format!("Template name does not exist: {name}")));
    }
    text_within(&template["language"]["code"], "template.language.code", 15)?;
    let components = template["components"]
        .as_array()
        .ok_or_else(|| invalid("template.components must be an array"))?;
    let mut bodies = 0;
    for component in components {
        let parameters = component["parameters"]
            .as_array()
            .ok_or_else(|| invalid("component.parameters must be an array"))?;
        match component["type"].as_str() {
            Some("body") => {
                bodies += 1;
                for p in parameters {
                    if p["type"] != "text" {
                        return Err(invalid("a body parameter's type must be text"));
                    }
                    text_within(&p["text"], "body.parameters.text", 1024)?;
                    let text = p["text"].as_str().unwrap_or_default();
                    if text.contains(['\n', '\t']) || text.contains("     ") {
                        return Err((
                            400,
                            132018,
                            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces".into(),
                        ));
                    }
                }
            }
            Some("button") => {
                if component["sub_type"] != "quick_reply" {
                    return Err(invalid("a button component's sub_type must be quick_reply"));
                }
                let index_ok = component["index"]
                    .as_str()
                    .is_some_and(|i| i.len() == 1 && i.as_bytes()[0].is_ascii_digit());
                if !index_ok {
                    return Err(invalid("a button component's index is a digit string"));
                }
                for p in parameters {
                    if p["type"] != "payload" {
                        return Err(invalid("a quick reply parameter's type must be payload"));
                    }
                    text_within(&p["payload"], "button.parameters.payload", 256)?;
                }
            }
            _ => return Err(invalid("component.type must be body or button")),
        }
    }
    if bodies != 1 {
        return Err(invalid("a template message has one body component"));
    }
    Ok(())
}

fn check_interactive(interactive: &Value) -> Result<(), Refusal> {
    if let Some(header) = interactive.get("header") {
        if header["type"] == "text" {
            text_within(&header["text"], "interactive.header.text", 60)?;
        }
    }
    if let Some(footer) = interactive.get("footer") {
        text_within(&footer["text"], "interactive.footer.text", 60)?;
    }
    let action = &interactive["action"];
    match interactive["type"].as_str() {
        Some("button") => {
            text_within(&interactive["body"]["text"], "interactive.body.text", 1024)?;
            let buttons = action["buttons"]
                .as_array()
                .ok_or_else(|| invalid("interactive.action.buttons must be an array"))?;
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(invalid(format!(
                    "a message has 1 to 3 reply buttons, got {}",
                    buttons.len()
                )));
            }
            let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
            for button in buttons {
                if button["type"] != "reply" {
                    return Err(invalid("a button's type must be reply"));
                }
                let reply = &button["reply"];
                text_within(&reply["id"], "button.reply.id", 256)?;
                text_within(&reply["title"], "button.reply.title", 20)?;
                if !ids.insert(reply["id"].to_string()) {
                    return Err(invalid("button ids must be unique"));
                }
                if !titles.insert(reply["title"].to_string()) {
                    return Err(invalid("button titles must be unique"));
                }
            }
            Ok(())
        }
        Some("list") => {
            text_within(&interactive["body"]["text"], "interactive.body.text", 4096)?;
            text_within(&action["button"], "interactive.action.button", 20)?;
            let sections = action["sections"]
                .as_array()
                .ok_or_else(|| invalid("interactive.action.sections must be an array"))?;
            if sections.is_empty() || sections.len() > 10 {
                return Err(invalid(format!(
                    "a list has 1 to 10 sections, got {}",
                    sections.len()
                )));
            }
            let mut ids = HashSet::new();
            for section in sections {
                if sections.len() > 1 || section.get("title").is_some() {
                    text_within(&section["title"], "section.title", 24)?;
                }
                let rows = section["rows"]
                    .as_array()
                    .ok_or_else(|| invalid("section.rows must be an array"))?;
                if rows.is_empty() {
                    return Err(invalid("a section needs at least one row"));
                }
                for row in rows {
                    text_within(&row["id"], "row.id", 200)?;
                    text_within(&row["title"], "row.title", 24)?;
                    if let Some(description) = row.get("description") {
                        text_within(description, "row.description", 72)?;
                    }
                    if !ids.insert(row["id"].to_string()) {
                        return Err(invalid("row ids must be unique"));
                    }
                }
            }
            if ids.len() > 10 {
                return Err(invalid(format!(
                    "a list has at most 10 rows, got {}",
                    ids.len()
                )));
            }
            Ok(())
        }
        Some(other) => Err(invalid(format!(
            "interactive type {other} is not supported here"
        ))),
        None => Err((
            400,
            100,
            "The parameter interactive.type is required.".into(),
        )),
    }
}
