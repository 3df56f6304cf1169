//! `trigger-evaluator`: consumes evaluate messages, decides per vehicle (each stage once per
//! vehicle and cycle), queues compose messages and publishes the trade-in leads the evaluation
//! raised (`app::trade_in`, once per vehicle and quarter). Reports partial batch failures: a record that
//! can never succeed is dropped with a log line, an infrastructure failure is retried.

use app::campaigns::Switches;
use app::messages::EvaluateVehicle;
use app::ports::Outbound;
use app::EvaluateError;
use chrono::{DateTime, Utc};
use domain::policy::Policy;
use lambda_support::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_support::{batch_response, RecordError};
use store::repo::Repos;
use store::Store;

/// What the handler needs, built once per cold start.
pub struct Deps<S, Q> {
    pub repos: Repos<S>,
    pub policy: Policy,
    /// The compose queue.
    pub compose: Q,
    /// Where TradeInLead goes (the stack's event bus).
    pub events: app::Events,
}

/// Handles a batch at `now` under the campaign switches as stored now (read once per batch);
/// the response lists the records to retry.
pub async fn handle<S: Store, Q: Outbound>(
    deps: &Deps<S, Q>,
    event: SqsEvent,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    let mut outcomes = Vec::with_capacity(event.records.len());
    match Switches::load(&deps.repos).await {
        Ok(switches) => {
            for record in &event.records {
                outcomes.push(handle_record(deps, &switches, record, now).await);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "campaign switches unreadable: the batch is retried");
            for _ in &event.records {
                outcomes.push(Err(RecordError::Retry(anyhow::anyhow!(
                    "campaign switches: {e}"
                ))));
            }
        }
    }
    batch_response(&event, outcomes)
}

async fn handle_record<S: Store, Q: Outbound>(
    deps: &Deps<S, Q>,
    switches: &Switches,
    record: &SqsMessage,
    now: DateTime<Utc>,
) -> Result<(), RecordError> {
    let body = record.body.as_deref().unwrap_or_default();
    let message =
        EvaluateVehicle::from_json(body).map_err(|e| RecordError::Rejected(e.to_string()))?;
    let evaluation = app::evaluate_vehicle_with(&deps.repos, &deps.policy, switches, &message, now)
        .await
        .map_err(record_error)?;
    let bodies: Vec<String> = evaluation.compose.iter().map(|m| m.to_json()).collect();
    if !bodies.is_empty() {
        deps.compose.send(bodies).await?;
    }
    // Before the commit marks the lead: a failed publish retries the record, and the repeated
    // lead carries the same event id.
    deps.events
        .publish(&evaluation.events)
        .await
        .map_err(RecordError::Retry)?;
    app::commit_evaluation(&deps.repos, &evaluation)
        .await
        .map_err(|e| RecordError::Retry(e.into()))?;
    Ok(())
}

/// The one place evaluation errors become record outcomes.
fn record_error(e: EvaluateError) -> RecordError {
    match e {
        EvaluateError::UnknownVehicle(_) | EvaluateError::UnknownCustomer { .. } => {
            RecordError::Rejected(e.to_string())
        }
        EvaluateError::Store(e) => RecordError::Retry(e.into()),
    }
}
