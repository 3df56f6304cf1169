//! What every Lambda function shares: typed config from the environment, JSON tracing (ids
//! only), the SQS queue client, the mapping of handler errors to SQS batch item failures, and
//! business metrics in CloudWatch's embedded metric format ([`metrics`]).

use anyhow::{anyhow, bail, Context};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

pub mod event_bus;
pub mod metrics;
mod outbound;
#[cfg(feature = "test-events")]
pub mod test_events;

pub use event_bus::EventBus;
pub use outbound::OutboundConfig;

pub use aws_config::SdkConfig;
pub use aws_lambda_events;
pub use aws_sdk_eventbridge;
pub use aws_sdk_sqs;

/// A setting missing from or invalid in the environment; the function fails at cold start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The value of a required environment variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional environment variable parsed with `FromStr`, or `default`.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        }
        _ => Ok(default),
    }
}

/// The dealer's policy: `POLICY_FILE` (TOML) if set, else the built-in defaults.
pub fn policy_from_env() -> Result<domain::policy::Policy, ConfigError> {
    match std::env::var("POLICY_FILE") {
        Ok(path) if !path.trim().is_empty() => policy_from_file(&path),
        _ => Ok(domain::policy::Policy::default()),
    }
}

/// The dealer's policy from the TOML file at `path`, as a cold start reads `POLICY_FILE`;
/// an unreadable or invalid file is a `POLICY_FILE` error.
pub fn policy_from_file(path: &str) -> Result<domain::policy::Policy, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        name: "POLICY_FILE",
        reason: format!("{path}: {e}"),
    })?;
    domain::policy::Policy::from_toml(&text).map_err(|e| ConfigError::Invalid {
        name: "POLICY_FILE",
        reason: e.to_string(),
    })
}

/// JSON logs on stdout for CloudWatch; levels from `RUST_LOG` as `info` or `info,store=debug`
/// (default `info`; per-target levels, no regular expressions, which keeps the bootstrap small).
pub fn init_tracing() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(json)
        .with(filter)
        .try_init();
    log_panics();
}

/// A panic becomes one JSON log line naming the function and where it panicked, before the
/// default hook prints it: release builds carry no line tables, the panic's location survives.
fn log_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%function, panicked_at = %at, "panic");
        default(info);
    }));
}

/// An SQS queue to send versioned messages to.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends every body, ten per request; fails if any entry was not accepted.
    pub async fn send_all(&self, bodies: &[String]) -> anyhow::Result<()> {
        for chunk in bodies.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| anyhow!("message entry: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("SendMessageBatch")?;
            if !out.failed().is_empty() {
                bail!(
                    "{} messages were not accepted by the queue",
                    out.failed().len()
                );
            }
        }
        Ok(())
    }
}

/// Whether retrying a failed SQS record can help.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record can never be handled (unreadable, unknown version): logged and dropped, so it
    /// does not block the queue.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Infrastructure failed: the record is reported as a batch item failure and retried.
    #[error("retry: {0:#}")]
    Retry(#[from] anyhow::Error),
    /// The record waits for its time (quiet hours): reported as a batch item failure so that
    /// it comes back when its visibility ends, but no failure of the message.
    #[error("postponed: {0}")]
    Postponed(String),
}

/// The one place SQS record outcomes become a partial batch response.
pub fn batch_response(
    event: &SqsEvent,
    outcomes: Vec<Result<(), RecordError>>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in event.records.iter().zip(outcomes) {
        let id = record.message_id.clone().unwrap_or_default();
        match outcome {
            Ok(()) => {}
            Err(RecordError::Rejected(reason)) => {
                tracing::error!(message_id = %id, %reason, "message rejected");
            }
            Err(RecordError::Retry(e)) => {
                tracing::error!(message_id = %id, error = %format!("{e:#}"), "message failed");
                response.add_failure(id);
            }
            Err(RecordError::Postponed(until)) => {
                tracing::info!(message_id = %id, %until, "message postponed");
                response.add_failure(id);
            }
        }
    }
    response
}

/// A DynamoDB store on `table`.
pub fn dynamo_store(config: &SdkConfig, table: impl Into<String>) -> store::DynamoStore {
    store::DynamoStore::new(aws_sdk_dynamodb::Client::new(config), table)
}

/// A webhook's answer before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn new(status: u16, body: serde_json::Value) -> Self {
        Reply { status, body }
    }
}

/// Why a webhook request failed; `reply` is the one place these become status codes.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {} field errors", .0.len())]
    Unprocessable(Vec<domain::FieldError>),
    /// Infrastructure failed; the caller sees an opaque 500 and may retry.
    #[error("internal: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The status and JSON body; an internal error is logged and answered opaquely.
    pub fn reply(&self) -> Reply {
        use serde_json::json;
        match self {
            ApiError::Unauthorized(why) => {
                Reply::new(401, json!({"error": "unauthorized", "message": why}))
            }
            ApiError::Forbidden(why) => {
                Reply::new(403, json!({"error": "forbidden", "message": why}))
            }
            ApiError::NotFound => Reply::new(404, json!({"error": "not_found"})),
            ApiError::MethodNotAllowed => Reply::new(405, json!({"error": "method_not_allowed"})),
            ApiError::Conflict(why) => {
                Reply::new(409, json!({"error": "conflict", "message": why}))
            }
            ApiError::Unprocessable(errors) => {
                Reply::new(422, json!({"error": "invalid", "errors": errors}))
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                Reply::new(500, json!({"error": "internal"}))
            }
        }
    }
}

/// The decrypted value of the SSM parameter named by the environment variable `param_env`
/// (secrets live in SSM, never in the template).
pub async fn secret_from_ssm(
    config: &SdkConfig,
    param_env: &'static str,
) -> anyhow::Result<String> {
    let name = required(param_env)?;
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .with_context(|| format!("reading the SSM parameter named by {param_env}"))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the SSM parameter named by {param_env} has no value"))
}

/// The decrypted values of the SSM parameters named by the environment variables `param_envs`,
/// in one `GetParameters` round trip (a cold start waits for it), in the order asked.
pub async fn secrets_from_ssm<const N: usize>(
    config: &SdkConfig,
    param_envs: [&'static str; N],
) -> anyhow::Result<[String; N]> {
    let names = param_envs
        .iter()
        .map(|env| required(env))
        .collect::<Result<Vec<String>, ConfigError>>()?;
    let mut values: Vec<Option<String>> = vec![None; N];
    for chunk in names.chunks(10) {
        let out = aws_sdk_ssm::Client::new(config)
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .with_context(|| format!("reading the SSM parameters named by {param_envs:?}"))?;
        for p in out.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                for (i, wanted) in names.iter().enumerate() {
                    if wanted == name {
                        values[i] = Some(value.to_owned());
                    }
                }
            }
        }
    }
    let mut out = Vec::with_capacity(N);
    for (env, value) in param_envs.iter().zip(values) {
        out.push(value.ok_or_else(|| anyhow!("the SSM parameter named by {env} is missing"))?);
    }
    out.try_into()
        .map_err(|_| anyhow!("SSM parameters: expected {N} values"))
}

/// The AWS configuration of the Lambda environment.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

impl app::ports::Outbound for SqsQueue {
    async fn send(&self, bodies: Vec<String>) -> anyhow::Result<()> {
        self.send_all(&bodies).await
    }
}

#[cfg(test)]
mod panic_tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_is_logged_as_json_with_the_function_and_the_line_that_panicked() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "autodrive-test-offer-composer");
        super::log_panics();
        let line = line!() + 2;
        let outcome = tracing::subscriber::with_default(subscriber, || {
            std::panic::catch_unwind(|| panic!("the handler failed"))
        });
        let _ = std::panic::take_hook();
        assert!(outcome.is_err());
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).unwrap();
        let record: serde_json::Value = serde_json::from_str(text.trim()).expect(&text);
        assert_eq!(
            record["fields"]["function"],
            "autodrive-test-offer-composer"
        );
        assert_eq!(
            record["fields"]["panicked_at"],
            format!("shared/lambda-support/src/lib.rs:{line}")
        );
    }
}

#[cfg(test)]
mod batch_tests {
    use aws_lambda_events::sqs::SqsMessage;

    use super::*;

    /// A postponed record comes back like a failed one (SQS redelivers it when its visibility
    /// ends) and a rejected one does not; only the failure is an error in the logs.
    #[test]
    fn a_postponed_record_is_redelivered_like_a_failed_one_and_a_rejected_one_is_not() {
        let record = |id: &str| {
            let mut message = SqsMessage::default();
            message.message_id = Some(id.into());
            message
        };
        let mut event = SqsEvent::default();
        event.records = ["ok", "later", "bad", "broken"].map(record).to_vec();
        let response = batch_response(
            &event,
            vec![
                Ok(()),
                Err(RecordError::Postponed("not before 09:00".into())),
                Err(RecordError::Rejected("unreadable".into())),
                Err(RecordError::Retry(anyhow!("store down"))),
            ],
        );
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["later", "broken"]);
    }
}
