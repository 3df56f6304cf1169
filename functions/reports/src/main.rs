//! Lambda binary: reads the config, builds the store once and serves the reports and the
//! dashboard behind the HttpApi's admin authorizer.

use lambda_http::{service_fn, Error, Request};
use lambda_support::{
    dynamo_store, init_tracing, load_aws_config, policy_from_env, required, secret_from_ssm,
};
use reports::{handle_request, Deps};
use store::repo::Repos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = load_aws_config().await;
    let config = async {
        let table = required("TABLE_NAME")?;
        let policy = policy_from_env()?;
        let token = secret_from_ssm(&aws, "ADMIN_TOKEN_PARAM").await?;
        anyhow::Ok((table, policy, token))
    }
    .await
    .map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "configuration");
        e
    })?;
    let (table, policy, token) = config;
    let deps = Deps {
        repos: Repos::new(dynamo_store(&aws, table)),
        policy,
        admin_token: Some(token),
        secure_cookie: true,
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(handle_request(deps, request, chrono::Utc::now()).await)
    }))
    .await
}
