//! Lambda binary: reads the config, builds the store, bot and SQS clients once, consumes batches.

use anyhow::Context;
use channels::TelegramBot;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use lambda_support::aws_lambda_events::sqs::SqsEvent;
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, required, secret_from_ssm,
};
use offer_composer::{handle, Deps, SqsPostpone};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required("TABLE_NAME")?;
    let policy = policy_from_env()?;
    let api = std::env::var("TELEGRAM_API_URL")
        .unwrap_or_else(|_| channels::telegram::DEFAULT_BASE_URL.into());
    let aws = load_aws_config().await;
    let token = secret_from_ssm(&aws, "TELEGRAM_BOT_TOKEN_PARAM")
        .await
        .context("the Telegram bot token")?;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, table)),
        policy,
        channel: TelegramBot::new(api, token),
        postpone: SqsPostpone {
            client: lambda_support::aws_sdk_sqs::Client::new(&aws),
        },
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let sender = event.context.request_id.clone();
        Ok::<_, Error>(handle(deps, event.payload, &sender, chrono::Utc::now()).await)
    }))
    .await
}
