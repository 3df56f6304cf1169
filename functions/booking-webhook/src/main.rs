//! Lambda binary: reads the config and the secrets, builds the store and the messenger clients
//! once, serves the webhooks. Missing or invalid settings stop the cold start.

use anyhow::Context;
use booking_webhook::config::Config;
use booking_webhook::{handle_request, Deps, WhatsApp};
use channels::{TelegramBot, WhatsAppCloud};
use lambda_http::{service_fn, Error, Request};
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, secret_from_ssm,
};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let policy = policy_from_env()?;
    let aws = load_aws_config().await;
    let token = secret_from_ssm(&aws, "TELEGRAM_BOT_TOKEN_PARAM")
        .await
        .context("the Telegram bot token")?;
    let webhook_secret = secret_from_ssm(&aws, "TELEGRAM_WEBHOOK_SECRET_PARAM")
        .await
        .context("the Telegram webhook secret")?;
    let access_token = secret_from_ssm(&aws, "WHATSAPP_ACCESS_TOKEN_PARAM")
        .await
        .context("the WhatsApp access token")?;
    let app_secret = secret_from_ssm(&aws, "WHATSAPP_APP_SECRET_PARAM")
        .await
        .context("the WhatsApp app secret")?;
    let verify_token = secret_from_ssm(&aws, "WHATSAPP_VERIFY_TOKEN_PARAM")
        .await
        .context("the WhatsApp verify token")?;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, config.table)),
        policy,
        bot: TelegramBot::new(config.telegram_api_url, token),
        whatsapp: WhatsApp {
            client: WhatsAppCloud::new(
                config.whatsapp_api_url,
                config.whatsapp_phone_number_id,
                access_token,
            )
            .with_api_version(config.whatsapp_api_version),
            app_secret,
            verify_token,
        },
        settings: config.settings,
        webhook_secret,
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle_request(deps, request, chrono::Utc::now()).await)
    }))
    .await
}
