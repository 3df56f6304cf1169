//! Lambda binary: reads the config, builds the store and bot clients once, serves the webhook.

use anyhow::Context;
use app::BookingSettings;
use booking_webhook::{handle_request, Deps};
use channels::TelegramBot;
use lambda_http::{service_fn, Error, Request};
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, parsed_or, policy_from_env, required,
    secret_from_ssm,
};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required("TABLE_NAME")?;
    let policy = policy_from_env()?;
    let settings = BookingSettings {
        advisor_chat_id: parsed_or("ADVISOR_CHAT_ID", 0i64)?,
        days_ahead: parsed_or("BOOKING_DAYS_AHEAD", 7u32)?,
        hold_minutes: parsed_or("BOOKING_HOLD_MINUTES", 30i64)?,
        max_slots_shown: parsed_or("BOOKING_SLOTS_SHOWN", 6usize)?,
    };
    let api = std::env::var("TELEGRAM_API_URL")
        .unwrap_or_else(|_| channels::telegram::DEFAULT_BASE_URL.into());
    let aws = load_aws_config().await;
    let token = secret_from_ssm(&aws, "TELEGRAM_BOT_TOKEN_PARAM")
        .await
        .context("the Telegram bot token")?;
    let webhook_secret = secret_from_ssm(&aws, "TELEGRAM_WEBHOOK_SECRET_PARAM")
        .await
        .context("the Telegram webhook secret")?;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, table)),
        policy,
        bot: TelegramBot::new(api, token),
        settings,
        webhook_secret,
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle_request(deps, request, chrono::Utc::now()).await)
    }))
    .await
}
