//! Lambda binary: reads the config and the secrets, builds the store, the channels (Telegram,
//! WhatsApp, SMS) and the SQS client once, consumes batches.

use app::booking_link::BookingLinks;
use app::ComposeSettings;
use channels::{Channels, SmsGateway, TelegramBot, WhatsAppCloud};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use lambda_support::aws_lambda_events::sqs::SqsEvent;
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, secrets_from_ssm,
};
use offer_composer::config::Config;
use offer_composer::{handle, Deps, SqsPostpone};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let policy = policy_from_env()?;
    let aws = load_aws_config().await;
    let [token, access_token, sms_key, link_key] = secrets_from_ssm(
        &aws,
        [
            "TELEGRAM_BOT_TOKEN_PARAM",
            "WHATSAPP_ACCESS_TOKEN_PARAM",
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
        channel: Channels {
            telegram: Some(TelegramBot::new(config.outbound.telegram_api_url, token)),
            whatsapp: Some(
                WhatsAppCloud::new(
                    config.outbound.whatsapp_api_url,
                    config.outbound.whatsapp_phone_number_id,
                    access_token,
                )
                .with_api_version(config.outbound.whatsapp_api_version),
            ),
            sms: Some(SmsGateway::new(
                config.outbound.sms_api_base,
                sms_key,
                config.outbound.sms_sender,
            )),
        },
        compose: ComposeSettings {
            templates: config.templates,
            links: Some(links),
        },
        postpone: SqsPostpone {
            client: lambda_support::aws_sdk_sqs::Client::new(&aws),
        },
        events: app::Events::new(lambda_support::EventBus::from_env(&aws)?),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let sender = event.context.request_id.clone();
        Ok::<_, Error>(handle(deps, event.payload, &sender, chrono::Utc::now()).await)
    }))
    .await
}
