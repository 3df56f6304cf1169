//! What every Lambda function shares: typed config from the environment, JSON tracing (ids
//! only), the SQS queue client, and the mapping of handler errors to SQS batch item failures.

use anyhow::{anyhow, bail, Context};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

#[cfg(feature = "test-events")]
pub mod test_events;

pub use aws_config::SdkConfig;
pub use aws_lambda_events;
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
        Ok(path) if !path.trim().is_empty() => {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                name: "POLICY_FILE",
                reason: format!("{path}: {e}"),
            })?;
            domain::policy::Policy::from_toml(&text).map_err(|e| ConfigError::Invalid {
                name: "POLICY_FILE",
                reason: e.to_string(),
            })
        }
        _ => Ok(domain::policy::Policy::default()),
    }
}

/// JSON logs on stdout for CloudWatch; level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
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

/// The AWS configuration of the Lambda environment.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

impl app::ports::Outbound for SqsQueue {
    async fn send(&self, bodies: Vec<String>) -> anyhow::Result<()> {
        self.send_all(&bodies).await
    }
}
