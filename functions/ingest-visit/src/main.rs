//! Lambda binary: reads the config, builds the store once and serves the webhook.

use anyhow::Context;
use ingest_visit::{handle_request, Deps, Secret};
use lambda_http::{service_fn, Error, Request};
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, required, secret_from_ssm,
    SdkConfig,
};
use store::repo::Repos;

/// Settings from the environment; any problem stops the cold start with its name.
struct Config {
    table: String,
    secret: Secret,
    policy: domain::policy::Policy,
}

impl Config {
    async fn load(aws: &SdkConfig) -> anyhow::Result<Self> {
        let table = required("TABLE_NAME")?;
        let policy = policy_from_env()?;
        let secret = secret_from_ssm(aws, "CRM_WEBHOOK_SECRET_PARAM").await?;
        let secret = Secret::parse(&secret).context("CRM_WEBHOOK_SECRET_PARAM")?;
        Ok(Config {
            table,
            secret,
            policy,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = load_aws_config().await;
    let config = Config::load(&aws).await.map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "configuration");
        e
    })?;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, config.table)),
        policy: config.policy,
        secret: config.secret,
        events: app::Events::new(lambda_support::EventBus::from_env(&aws)?),
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle_request(deps, request, chrono::Utc::now()).await)
    }))
    .await
}
