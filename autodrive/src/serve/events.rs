//! The business events of `autodrive serve`: one JSON line per event appended to
//! `<data dir>/events.jsonl` (EventBridge's envelope: `id`, `detail-type`, `source`, `time`,
//! `detail`) and, when `AUTODRIVE_EVENTS_URL` is set, each batch POSTed there as a JSON array in
//! the background (retried, failures logged), so the request path never waits on it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use app::events::{BoxFuture, BusinessEvent, EventSink};

/// The file under the data directory.
pub const EVENTS_FILE: &str = "events.jsonl";
/// Tries per POST.
const POST_TRIES: u32 = 4;

pub struct LocalEvents {
    path: PathBuf,
    file: Mutex<()>,
    post: Option<(reqwest::Client, String)>,
}

impl LocalEvents {
    pub fn new(data_dir: &Path, url: Option<String>) -> Self {
        LocalEvents {
            path: data_dir.join(EVENTS_FILE),
            file: Mutex::new(()),
            post: url.map(|url| {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default();
                (client, url)
            }),
        }
    }

    fn append(&self, events: &[BusinessEvent]) -> anyhow::Result<()> {
        let mut lines = Vec::new();
        for event in events {
            serde_json::to_writer(&mut lines, &event.envelope())?;
            lines.push(b'\n');
        }
        let _one_writer = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        file.write_all(&lines)
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

async fn post(client: reqwest::Client, url: String, body: serde_json::Value, ids: Vec<String>) {
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=POST_TRIES {
        let sent = client.post(&url).json(&body).send().await;
        match sent.and_then(|r| r.error_for_status()) {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(attempt, error = %e, "posting business events");
                if attempt < POST_TRIES {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    }
    tracing::error!(event_ids = ?ids, "business events not posted to AUTODRIVE_EVENTS_URL");
}

impl LocalEvents {
    /// Appends the events; the POST of them to the URL, when one is set, for the caller to await
    /// or spawn.
    fn append_then_post(
        &self,
        events: &[BusinessEvent],
    ) -> anyhow::Result<Option<impl std::future::Future<Output = ()> + Send + 'static>> {
        self.append(events)?;
        Ok(self.post.as_ref().map(|(client, url)| {
            let body = serde_json::Value::Array(events.iter().map(|e| e.envelope()).collect());
            let ids = events.iter().map(|e| e.event_id.clone()).collect();
            post(client.clone(), url.clone(), body, ids)
        }))
    }

    /// Appends the events and, when a URL is set, POSTs them before returning: for a command
    /// that exits right after (`autodrive import`), where a background POST would be cut off.
    pub async fn publish_and_wait(&self, events: &[BusinessEvent]) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if let Some(posting) = self.append_then_post(events)? {
            posting.await;
        }
        Ok(())
    }
}

impl EventSink for LocalEvents {
    fn publish<'a>(&'a self, events: &'a [BusinessEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if let Some(posting) = self.append_then_post(events)? {
                tokio::spawn(posting);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_event_is_one_line_in_eventbridge_s_envelope() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LocalEvents::new(dir.path(), None);
        let samples = app::events::samples();
        sink.publish(&samples).await.unwrap();
        sink.publish(&samples[..1]).await.unwrap();
        let text = std::fs::read_to_string(dir.path().join(EVENTS_FILE)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), samples.len() + 1);
        assert_eq!(lines[0]["detail-type"], "VisitRecorded");
        assert_eq!(lines[0]["source"], "autodrive");
        assert_eq!(lines[0]["id"], lines[samples.len()]["id"]);
        assert_eq!(lines[0]["detail"]["event_id"], lines[0]["id"]);
    }
}
