//! A fake Telegram Bot API on 127.0.0.1 for tests: checks the documented request shapes of
//! `sendMessage` and `answerCallbackQuery`, records them, and answers like the Bot API.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::fake_http::{serve, Request};

/// One accepted call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub body: Value,
}

/// The server; it stops when the test process ends.
#[derive(Debug, Clone)]
pub struct FakeTelegram {
    base_url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    rejected: Arc<Mutex<Vec<String>>>,
}

impl FakeTelegram {
    /// Starts a server for bot `token` on a free port.
    pub fn start(token: &str) -> std::io::Result<FakeTelegram> {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let rejected: Arc<Mutex<Vec<String>>> = Arc::default();
        let state = (calls.clone(), rejected.clone());
        let prefix = format!("/bot{token}/");
        let base_url = serve(move |request| answer(&state.0, &state.1, &prefix, &request))?;
        Ok(FakeTelegram {
            base_url,
            calls,
            rejected,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every accepted call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Requests refused as malformed, with why.
    pub fn rejected(&self) -> Vec<String> {
        self.rejected.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn answer(
    calls: &Mutex<Vec<Call>>,
    rejected: &Mutex<Vec<String>>,
    prefix: &str,
    request: &Request,
) -> (u16, Value) {
    match check(&request.verb, &request.path, prefix, &request.body) {
        Ok(call) => {
            let Ok(mut calls) = calls.lock() else {
                return (500, json!({"ok": false, "error_code": 500}));
            };
            let reply = match call.method.as_str() {
                "sendMessage" => {
                    let id = calls.len() as i64 + 1;
                    json!({"ok": true, "result": {"message_id": id, "chat": {"id": call.body["chat_id"]}, "text": call.body["text"]}})
                }
                _ => json!({"ok": true, "result": true}),
            };
            calls.push(call);
            (200, reply)
        }
        Err(why) => {
            if let Ok(mut rejected) = rejected.lock() {
                rejected.push(why.clone());
            }
            (
                400,
                json!({"ok": false, "error_code": 400, "description": why}),
            )
        }
    }
}

fn check(verb: &str, path: &str, prefix: &str, body: &[u8]) -> Result<Call, String> {
    if verb != "POST" {
        return Err(format!("expected POST, got {verb}"));
    }
    let method = path
        .strip_prefix(prefix)
        .ok_or_else(|| format!("unknown bot or path {path}"))?;
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    match method {
        "sendMessage" => check_send_message(&body)?,
        "answerCallbackQuery" => {
            if !body["callback_query_id"].is_string() {
                return Err("callback_query_id must be a string".into());
            }
        }
        other => return Err(format!("method {other} is not supported")),
    }
    Ok(Call {
        method: method.to_owned(),
        body,
    })
}

fn check_send_message(body: &Value) -> Result<(), String> {
    if !(body["chat_id"].is_i64() || body["chat_id"].is_string()) {
        return Err("chat_id must be an integer or a string".into());
    }
    match body["text"].as_str() {
        Some(text) if !text.is_empty() && text.chars().count() <= 4096 => {}
        _ => return Err("text must be 1-4096 characters".into()),
    }
    if let Some(markup) = body.get("reply_markup") {
        let rows = markup["inline_keyboard"]
            .as_array()
            .ok_or("reply_markup.inline_keyboard must be an array of rows")?;
        for row in rows {
            for button in row.as_array().ok_or("a keyboard row must be an array")? {
                if !button["text"].is_string() {
                    return Err("every button needs a text".into());
                }
                let data = button["callback_data"]
                    .as_str()
                    .ok_or("every button needs callback_data")?;
                if data.is_empty() || data.len() > 64 {
                    return Err("callback_data must be 1-64 bytes".into());
                }
            }
        }
    }
    Ok(())
}
