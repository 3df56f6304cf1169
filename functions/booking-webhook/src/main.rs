//! Lambda binary: reads the config and the secrets, builds the store, the messenger and SMS
//! clients once, serves the webhooks and the booking page. Missing or invalid settings stop the
//! cold start.

use app::booking_link::BookingLinks;
use booking_webhook::config::Config;
use booking_webhook::{handle_request, Deps, WhatsApp};
use channels::{SmsGateway, TelegramBot, WhatsAppCloud};
use lambda_http::{service_fn, Error, Request};
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, secrets_from_ssm,
};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let policy = policy_from_env()?;
    let aws = load_aws_config().await;
    let [token, webhook_secret, access_token, app_secret, verify_token, sms_key, link_key] =
        secrets_from_ssm(
            &aws,
            [
                "TELEGRAM_BOT_TOKEN_PARAM",
                "TELEGRAM_WEBHOOK_SECRET_PARAM",
                "WHATSAPP_ACCESS_TOKEN_PARAM",
                "WHATSAPP_APP_SECRET_PARAM",
                "WHATSAPP_VERIFY_TOKEN_PARAM",
                "SMS_API_KEY_PARAM",
                "BOOKING_LINK_KEY_PARAM",
            ],
        )
        .await?;
    let links = BookingLinks::new(link_key.trim().as_bytes(), &config.outbound.public_url)
        .map_err(|e| anyhow::anyhow!("BOOKING_LINK_KEY_PARAM / PUBLIC_URL: {e}"))?;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, config.table)),
        policy,
        bot: TelegramBot::new(config.outbound.telegram_api_url, token),
        whatsapp: WhatsApp {
            client: WhatsAppCloud::new(
                config.outbound.whatsapp_api_url,
                config.outbound.whatsapp_phone_number_id,
                access_token,
            )
            .with_api_version(config.outbound.whatsapp_api_version),
            app_secret,
            verify_token,
        },
        settings: config.settings,
        webhook_secret,
        sms: Some(SmsGateway::new(
            config.outbound.sms_api_base,
            sms_key,
            config.outbound.sms_sender,
        )),
        links: Some(links),
        events: app::Events::new(lambda_support::EventBus::from_env(&aws)?),
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle_request(deps, request, chrono::Utc::now()).await)
    }))
    .await
}
