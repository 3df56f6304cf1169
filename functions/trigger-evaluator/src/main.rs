//! Lambda binary: reads the config, builds the store and queue clients once, consumes batches.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use lambda_support::aws_lambda_events::sqs::SqsEvent;
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, required, SqsQueue,
};
use store::repo::Repos;
use trigger_evaluator::{handle, Deps};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required("TABLE_NAME")?;
    let compose_url = required("COMPOSE_QUEUE_URL")?;
    let policy = policy_from_env()?;
    let aws = load_aws_config().await;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, table)),
        policy,
        compose: SqsQueue::new(lambda_support::aws_sdk_sqs::Client::new(&aws), compose_url),
        events: app::Events::new(lambda_support::EventBus::from_env(&aws)?),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle(deps, event.payload, chrono::Utc::now()).await)
    }))
    .await
}
