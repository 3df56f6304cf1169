//! Lambda binary: reads the admin token from SSM once and answers the HttpApi's authorizer
//! requests for the reports and the dashboard.

use admin_authorizer::answer;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use lambda_support::{init_tracing, load_aws_config, secret_from_ssm};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let aws = load_aws_config().await;
    let token = secret_from_ssm(&aws, "ADMIN_TOKEN_PARAM")
        .await
        .map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "configuration");
            e
        })?;
    let token = &token;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(answer(&event.payload, token))
    }))
    .await
}
