//! WhatsApp's delivery statuses (`entry[].changes[].value.statuses[]`: sent, delivered, read,
//! failed) for the messages the business number sent: each moves its message on in the store
//! (`app::kpi::delivery`, ids only; never back, a repeat changes nothing), for the KPIs'
//! funnel. Statuses of other numbers' messages and of unknown kinds are ignored.

use anyhow::Context;
use app::kpi::delivery::{record_status, ReportedStatus};
use app::ports::Messenger;
use chrono::{DateTime, Utc};
use lambda_support::ApiError;
use serde::Deserialize;
use store::repo::Repos;
use store::Store;

use crate::{Metadata, Notification};

/// One status the notification reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// WhatsApp's message id (`wamid...`), as the send returned it.
    pub message_id: String,
    pub status: ReportedStatus,
    /// When it happened, if the notification says.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Value {
    metadata: Option<Metadata>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
struct Status {
    id: String,
    status: String,
    /// Unix seconds, as a string.
    timestamp: Option<String>,
}

/// The statuses of a notification to the business number `phone_number_id`.
pub fn parse_statuses(body: &[u8], phone_number_id: &str) -> Result<Vec<DeliveryReport>, ApiError> {
    let notification: Notification<Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::Unprocessable(vec![domain::FieldError::new("$", e)]))?;
    let mut reports = Vec::new();
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
                continue;
            }
            for (s, status) in change.value.statuses.into_iter().enumerate() {
                if status.id.is_empty() {
                    let field = format!("entry[{e}].changes[{c}].value.statuses[{s}].id");
                    return Err(ApiError::Unprocessable(vec![domain::FieldError::new(
                        field,
                        "must not be empty",
                    )]));
                }
                let Some(kind) = ReportedStatus::parse(&status.status) else {
                    continue;
                };
                reports.push(DeliveryReport {
                    message_id: status.id,
                    status: kind,
                    at: status
                        .timestamp
                        .as_deref()
                        .and_then(|t| t.parse::<i64>().ok())
                        .and_then(|t| DateTime::from_timestamp(t, 0)),
                });
            }
        }
    }
    Ok(reports)
}

/// Records every status at its own time (never later than `now`).
pub async fn record<S: Store>(
    repos: &Repos<S>,
    reports: &[DeliveryReport],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for report in reports {
        let at = report.at.map_or(now, |t| t.min(now));
        record_status(
            repos,
            Messenger::WhatsApp,
            &report.message_id,
            report.status,
            at,
        )
        .await
        .context("recording a delivery status")?;
    }
    Ok(())
}
