//! Lambda binary: reads the config, builds the store and queue clients once, runs the night.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use lambda_support::aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, parsed_or, policy_from_env, required, SqsQueue,
};
use nightly_forecast::{deadline_of, handle, Deps};
use store::repo::Repos;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required("TABLE_NAME")?;
    let evaluate_url = required("EVALUATE_QUEUE_URL")?;
    let compose_url = required("COMPOSE_QUEUE_URL")?;
    let segments = parsed_or("NIGHTLY_SEGMENTS", 64u32)?;
    let page_size = parsed_or("NIGHTLY_PAGE_SIZE", 100u32)?;
    let policy = policy_from_env()?;
    let aws = load_aws_config().await;
    let sqs = lambda_support::aws_sdk_sqs::Client::new(&aws);
    let deps = Arc::new(Deps {
        repos: Repos::new(dynamo_store(&aws, table)),
        policy,
        evaluate: SqsQueue::new(sqs.clone(), evaluate_url),
        compose: SqsQueue::new(sqs, compose_url),
        segments,
        page_size,
    });
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let deps = deps.clone();
            async move {
                let deadline = deadline_of(event.context.deadline);
                handle(deps, event.payload, deadline).await.map_err(|e| {
                    tracing::error!(error = %format!("{e:#}"), "nightly run incomplete");
                    Error::from(format!("{e:#}"))
                })
            }
        },
    ))
    .await
}
