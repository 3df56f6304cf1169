//! A fake SMS gateway on 127.0.0.1 for tests: checks the bearer key and the documented shape of
//! `POST /messages` (sender name, E.164 recipient, a text of at most two segments), records the
//! accepted messages and answers with an id.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::fake_http::{serve, Request};

#[derive(Debug, Default)]
struct State {
    messages: Vec<Value>,
    rejected: Vec<String>,
}

/// The server; it stops when the test process ends.
#[derive(Debug, Clone)]
pub struct FakeSms {
    base_url: String,
    state: Arc<Mutex<State>>,
}

impl FakeSms {
    /// Starts a gateway that accepts `api_key`.
    pub fn start(api_key: &str) -> std::io::Result<FakeSms> {
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let key = api_key.to_owned();
        let base_url = serve(move |request| {
            let Ok(mut state) = shared.lock() else {
                return (500, json!({"error": "poisoned"}));
            };
            match check(&key, &request) {
                Ok(body) => {
                    state.messages.push(body);
                    let id = format!("sms-{:06}", state.messages.len());
                    (200, json!({"id": id}))
                }
                Err((status, why)) => {
                    state.rejected.push(why.clone());
                    (status, json!({"error": why}))
                }
            }
        })?;
        Ok(FakeSms { base_url, state })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every accepted request body so far, in order.
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
}

fn check(key: &str, request: &Request) -> Result<Value, (u16, String)> {
    if request.header("authorization") != Some(format!("Bearer {key}").as_str()) {
        return Err((401, "bad API key".into()));
    }
    if request.verb != "POST" || request.path != "/messages" {
        return Err((404, format!("no route {} {}", request.verb, request.path)));
    }
    let body: Value =
        serde_json::from_slice(&request.body).map_err(|e| (400, format!("not JSON: {e}")))?;
    let from = body["from"].as_str().unwrap_or_default();
    if !crate::sms::is_sender_name(from) {
        return Err((400, format!("bad sender name {from:?}")));
    }
    let to = body["to"].as_str().unwrap_or_default();
    if domain::PhoneE164::parse(to).is_err() {
        return Err((400, "to must be an E.164 number".into()));
    }
    let text = body["text"].as_str().unwrap_or_default();
    if text.is_empty() {
        return Err((400, "empty text".into()));
    }
    let parts = app::sms_text::segments(text);
    if parts > 2 {
        return Err((400, format!("text of {parts} segments, at most 2")));
    }
    Ok(body)
}
