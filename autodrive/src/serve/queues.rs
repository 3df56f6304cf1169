//! In-process queues for `serve`: the evaluate and compose queues carry the same message bodies
//! as SQS and hand them to the same batch handlers as one-record SQS events. A failed record is
//! retried with backoff, and after `MAX_ATTEMPTS` it goes to a dead-letter list that `/healthz`
//! counts; a record the composer postponed (quiet hours) comes back at its time. Work still
//! waiting when the server stops is written to the data directory and queued again at start.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use lambda_support::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

/// Deliveries of one message before it is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 5;

/// One message on its way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub body: String,
    pub attempts: u32,
}

/// A message given up on, kept for the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    pub queue: String,
    pub id: String,
    pub body: String,
    pub attempts: u32,
    pub at: DateTime<Utc>,
}

/// A message waiting for its time (postponed or backing off), as saved at shutdown.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Delayed {
    envelope: Envelope,
    due: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    /// Messages queued or being handled now.
    busy: AtomicUsize,
    /// Messages waiting for a time, by id.
    delayed: Mutex<HashMap<String, Delayed>>,
    /// Ids the handler asked to see again later (the composer's postpone), until when.
    postponed: Mutex<HashMap<String, DateTime<Utc>>>,
    dead: Mutex<Vec<DeadLetter>>,
    idle: Notify,
    next_id: AtomicU64,
}

/// A queue: clone it to send; `run` consumes it.
#[derive(Clone)]
pub struct Queue {
    name: &'static str,
    tx: mpsc::UnboundedSender<Envelope>,
    state: Arc<State>,
    clock: super::Clock,
}

/// The receiving end, for `run`.
pub struct Receiver(mpsc::UnboundedReceiver<Envelope>);

impl Queue {
    pub fn new(name: &'static str, clock: super::Clock) -> (Queue, Receiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Queue {
                name,
                tx,
                state: Arc::default(),
                clock,
            },
            Receiver(rx),
        )
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn push(&self, envelope: Envelope) {
        self.state.busy.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(envelope).is_err() {
            self.done_one();
        }
    }

    fn done_one(&self) {
        if self.state.busy.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.state.idle.notify_waiters();
        }
    }

    /// Queues `bodies` now.
    pub fn send_bodies(&self, bodies: Vec<String>) {
        for body in bodies {
            let n = self.state.next_id.fetch_add(1, Ordering::Relaxed);
            let id = format!("{}-{}-{n}", self.name, self.clock.now().timestamp_millis());
            self.push(Envelope {
                id,
                body,
                attempts: 0,
            });
        }
    }

    /// Messages queued or being handled.
    pub fn busy(&self) -> usize {
        self.state.busy.load(Ordering::SeqCst)
    }

    /// Messages waiting for a later time.
    pub fn delayed(&self) -> usize {
        self.state.delayed.lock().map(|d| d.len()).unwrap_or(0)
    }

    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.state
            .dead
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// Remembers that the handler postponed message `id` until `until`.
    pub fn postpone(&self, id: &str, until: DateTime<Utc>) {
        if let Ok(mut p) = self.state.postponed.lock() {
            p.insert(id.to_owned(), until);
        }
    }

    /// Waits until nothing is queued or being handled (delayed messages may remain).
    pub async fn drained(&self) {
        loop {
            let idle = self.state.idle.notified();
            if self.busy() == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Brings `envelope` back at `due` (clock time), keeping it in the delayed list till then.
    fn later(&self, envelope: Envelope, due: DateTime<Utc>) {
        let id = envelope.id.clone();
        if let Ok(mut d) = self.state.delayed.lock() {
            d.insert(id.clone(), Delayed { envelope, due });
        }
        let queue = self.clone();
        let wait = (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let taken = queue
                .state
                .delayed
                .lock()
                .ok()
                .and_then(|mut d| d.remove(&id));
            if let Some(delayed) = taken {
                queue.push(delayed.envelope);
            }
        });
    }

    fn file(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("queue-{name}.json"))
    }

    /// Writes the delayed messages to `dir` (at shutdown).
    pub fn save(&self, dir: &Path) -> Result<usize> {
        let delayed: Vec<Delayed> = self
            .state
            .delayed
            .lock()
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default();
        let dead = self.dead_letters();
        let path = Self::file(dir, self.name);
        let saved = Saved { delayed, dead };
        std::fs::write(&path, serde_json::to_vec(&saved)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(saved.delayed.len())
    }

    /// Queues again what a previous run saved in `dir`.
    pub fn restore(&self, dir: &Path) -> Result<usize> {
        let path = Self::file(dir, self.name);
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(0);
        };
        let saved: Saved = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        if let Ok(mut d) = self.state.dead.lock() {
            d.extend(saved.dead);
        }
        let count = saved.delayed.len();
        for delayed in saved.delayed {
            self.later(delayed.envelope, delayed.due);
        }
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        Ok(count)
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    delayed: Vec<Delayed>,
    dead: Vec<DeadLetter>,
}

impl app::ports::Outbound for Queue {
    async fn send(&self, bodies: Vec<String>) -> anyhow::Result<()> {
        self.send_bodies(bodies);
        Ok(())
    }
}

/// The record as SQS would deliver it to the Lambda.
fn record(queue: &str, envelope: &Envelope) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(envelope.id.clone());
    message.receipt_handle = Some(envelope.id.clone());
    message.body = Some(envelope.body.clone());
    message.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{queue}"));
    message.event_source = Some("aws:sqs".into());
    message
}

/// Consumes the queue until every sender is gone: each message as a one-record event to
/// `handler`; a reported failure is retried (or brought back at its postponed time), the
/// `MAX_ATTEMPTS`th failure is dead-lettered.
pub async fn run<F, Fut>(queue: Queue, mut rx: Receiver, handler: F)
where
    F: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    while let Some(mut envelope) = rx.0.recv().await {
        let mut event = SqsEvent::default();
        event.records = vec![record(queue.name, &envelope)];
        let response = handler(event).await;
        let failed = response
            .batch_item_failures
            .iter()
            .any(|f| f.item_identifier == envelope.id);
        if failed {
            let postponed = queue
                .state
                .postponed
                .lock()
                .ok()
                .and_then(|mut p| p.remove(&envelope.id));
            if let Some(until) = postponed {
                queue.later(envelope, until);
            } else {
                envelope.attempts += 1;
                if envelope.attempts >= MAX_ATTEMPTS {
                    tracing::error!(queue = queue.name, message_id = %envelope.id, "dead-lettered");
                    if let Ok(mut d) = queue.state.dead.lock() {
                        d.push(DeadLetter {
                            queue: queue.name.to_owned(),
                            id: envelope.id.clone(),
                            body: envelope.body.clone(),
                            attempts: envelope.attempts,
                            at: queue.clock.now(),
                        });
                    }
                } else {
                    let backoff = chrono::Duration::milliseconds(
                        200 * i64::from(envelope.attempts * envelope.attempts),
                    );
                    queue.later(envelope, queue.clock.now() + backoff);
                }
            }
        }
        queue.done_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::aws_lambda_events::sqs::BatchItemFailure;

    fn fail(event: &SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for r in &event.records {
            let mut f = BatchItemFailure::default();
            f.item_identifier = r.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(f);
        }
        response
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_that_keeps_failing_is_retried_then_dead_lettered() {
        let (queue, rx) = Queue::new("evaluate", super::super::Clock::system());
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let worker = tokio::spawn(run(queue.clone(), rx, move |event: SqsEvent| {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = fail(&event);
            async move { response }
        }));
        queue.send_bodies(vec!["{}".into()]);
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(seen.load(Ordering::SeqCst), MAX_ATTEMPTS as usize);
        assert_eq!(queue.dead_letters().len(), 1);
        assert_eq!(queue.busy(), 0);
        worker.abort();
    }

    #[tokio::test]
    async fn a_postponed_message_comes_back_and_is_saved_if_still_waiting_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let clock = super::super::Clock::system();
        let (queue, rx) = Queue::new("compose", clock.clone());
        let later = queue.clone();
        let worker = tokio::spawn(run(queue.clone(), rx, move |event: SqsEvent| {
            let id = event.records[0].message_id.clone().unwrap();
            later.postpone(&id, later.clock.now() + chrono::Duration::hours(3));
            let response = fail(&event);
            async move { response }
        }));
        queue.send_bodies(vec!["{\"v\":1}".into()]);
        queue.drained().await;
        assert_eq!((queue.busy(), queue.delayed()), (0, 1));
        assert_eq!(queue.save(dir.path()).unwrap(), 1);
        worker.abort();

        let (again, _rx) = Queue::new("compose", clock);
        assert_eq!(again.restore(dir.path()).unwrap(), 1);
        assert_eq!(again.delayed(), 1);
        assert!(queue.dead_letters().is_empty());
    }
}
