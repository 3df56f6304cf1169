//! Cold start of every function as `sam build` produced it, the way Lambda starts it: each
//! `bootstrap` runs against a local fake of the Lambda Runtime API with the environment the
//! template gives it (stack references resolved to moto_server's DynamoDB, SQS and SSM, the policy
//! from the built PolicyLayer), and the time from exec to its first `GET …/invocation/next` and to
//! the answer of its first invocation is printed as one JSON line per function.
//!
//! ```sh
//! sam build && cargo run -p e2e-tests --bin cold-start -- [--build-dir .aws-sam/build] [--runs 5]
//! ```
//!
//! Exits non-zero when a bootstrap fails its cold start or does not answer its first invocation
//! (timings are printed, not judged: they depend on the machine).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use infra::{referenced_id, Resource, Stack, TEMPLATE};
use serde_norway::Value;
use store::testing::Moto;

const STAGE: &str = "bench";
const REGION: &str = "eu-central-1";
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the fake Runtime API saw of one process.
#[derive(Default)]
struct Seen {
    first_next: Option<Instant>,
    /// The function's timeout: the invocation's deadline is this far from its start.
    timeout_ms: i64,
    answered: Option<(Instant, String)>,
    init_error: Option<String>,
    event: String,
}

type Shared = Arc<Mutex<Seen>>;

async fn next(State(seen): State<Shared>) -> (HeaderMap, String) {
    let (first, timeout_ms) = {
        let mut s = seen.lock().expect("lock");
        let first = if s.first_next.is_some() {
            None
        } else {
            s.first_next = Some(Instant::now());
            Some(s.event.clone())
        };
        (first, s.timeout_ms)
    };
    // One invocation per process: the second poll waits until the process is killed.
    let Some(event) = first else {
        return std::future::pending().await;
    };
    let deadline = chrono::Utc::now().timestamp_millis() + timeout_ms;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header"));
    };
    put("lambda-runtime-aws-request-id", REQUEST_ID.into());
    put("lambda-runtime-deadline-ms", deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-central-1:123456789012:function:cold-start".into(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".into(),
    );
    (headers, event)
}

async fn response(
    State(seen): State<Shared>,
    UrlPath(_id): UrlPath<String>,
    body: String,
) -> StatusCode {
    seen.lock().expect("lock").answered = Some((Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(seen): State<Shared>,
    UrlPath(_id): UrlPath<String>,
    body: String,
) -> StatusCode {
    seen.lock().expect("lock").answered = Some((Instant::now(), format!("error: {body}")));
    StatusCode::ACCEPTED
}

async fn init_error(State(seen): State<Shared>, body: String) -> StatusCode {
    seen.lock().expect("lock").init_error = Some(body);
    StatusCode::ACCEPTED
}

/// A fake Runtime API on a free port; returns its `host:port`.
async fn runtime_api(seen: Shared) -> anyhow::Result<String> {
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// A value for each SSM parameter the template names, shaped as the functions expect it.
fn parameter_value(name: &str) -> String {
    if name.ends_with("telegram-bot-token") {
        "123456:cold-start-bot-token".into()
    } else if name.ends_with("advisor-chat-id") {
        "-100777".into()
    } else if name.ends_with("whatsapp-phone-number-id") {
        "106540352242922".into()
    } else if name.ends_with("sms-api-base") {
        "http://127.0.0.1:9/sms".into()
    } else if name.ends_with("public-url") {
        "https://autodrive.example".into()
    } else if name.ends_with("sms-sender") {
        "AUTODRIVE".into()
    } else {
        format!("cold-start-secret-{}", name.len() * 7919)
    }
}

/// The stack as moto holds it: the table, the queues by logical id, the SSM parameters.
struct Deployed {
    table: String,
    queues: BTreeMap<String, String>,
    endpoint: String,
    layer_dir: PathBuf,
}

impl Deployed {
    /// A template value as CloudFormation would resolve it.
    fn resolve(&self, stack: &Stack, value: &Value) -> anyhow::Result<String> {
        // Tags first: `as_str` sees through them (`!Ref Table` would read as "Table").
        if let Value::Tagged(t) = value {
            if t.tag == "Sub" {
                let text = t.value.as_str().context("!Sub of a string")?;
                return Ok(text.replace("${Stage}", STAGE));
            }
        } else if let Value::String(s) = value {
            return Ok(s.replace("/opt/", &format!("{}/", self.layer_dir.display())));
        }
        let id = referenced_id(value).with_context(|| format!("cannot resolve {value:?}"))?;
        if id == "Table" {
            return Ok(self.table.clone());
        }
        if id == "EventBus" {
            return Ok(format!("autodrive-{STAGE}"));
        }
        if let Some(url) = self.queues.get(id) {
            return Ok(url.clone());
        }
        if let Some(param) = stack.parameter_default(id) {
            return Ok(parameter_value(param));
        }
        bail!("cannot resolve a reference to {id}")
    }
}

async fn deploy(moto: &Moto, stack: &Stack, build_dir: &Path) -> anyhow::Result<Deployed> {
    let store = moto.fresh_store("cold-start").await?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut queues = BTreeMap::new();
    for q in stack.of_kind("AWS::SQS::Queue") {
        let url = sqs
            .create_queue()
            .queue_name(format!("cold-start-{}", q.id))
            .send()
            .await?
            .queue_url()
            .context("queue url")?
            .to_owned();
        queues.insert(q.id.to_owned(), url);
    }
    let deployed = Deployed {
        table: store.table_name().to_owned(),
        queues,
        endpoint: moto.endpoint().to_owned(),
        layer_dir: build_dir.join("PolicyLayer"),
    };
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for f in stack.of_kind("AWS::Serverless::Function") {
        for (name, value) in stack.function_environment(&f) {
            if name.ends_with("_PARAM") {
                let param = deployed.resolve(stack, value)?;
                ssm.put_parameter()
                    .name(&param)
                    .value(parameter_value(&param))
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .overwrite(true)
                    .send()
                    .await
                    .with_context(|| format!("putting {param}"))?;
            }
        }
    }
    Ok(deployed)
}

/// The first invocation each function gets: a cheap, realistic event of its kind.
fn first_event(binary: &str) -> String {
    let http = |method: &str, path: &str, query: &str| {
        serde_json::json!({
            "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path,
            "rawQueryString": query, "headers": {"content-type": "application/json"},
            "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.example",
                "domainPrefix": "api", "requestId": "cold-start", "routeKey": format!("{method} {path}"),
                "stage": "$default", "time": "01/Dec/2026:10:00:00 +0000", "timeEpoch": 1796119200000u64,
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                         "userAgent": "cold-start"}},
            "body": "{}", "isBase64Encoded": false
        })
    };
    let event = match binary {
        "ingest-visit" => http("POST", "/v1/visits", ""),
        "booking-webhook" => http(
            "GET",
            "/v1/whatsapp/webhook",
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong",
        ),
        "reports" => http("GET", "/dashboard/login", ""),
        "admin-authorizer" => serde_json::json!({
            "version": "2.0", "type": "REQUEST", "routeKey": "GET /dashboard",
            "routeArn": "arn:aws:execute-api:eu-central-1:123456789012:api/$default/GET/dashboard",
            "identitySource": [], "rawPath": "/dashboard", "rawQueryString": "",
            "headers": {"authorization": "Bearer wrong"},
            "requestContext": {"http": {"method": "GET", "path": "/dashboard"}}
        }),
        "nightly-forecast" => serde_json::json!({
            "version": "0", "id": "cold-start", "detail-type": "Scheduled Event",
            "source": "aws.scheduler", "account": "123456789012", "time": "2026-11-30T22:00:00Z",
            "region": REGION, "resources": [], "detail": "{}"
        }),
        _ => serde_json::json!({ "Records": [] }),
    };
    event.to_string()
}

struct Timing {
    to_next: Duration,
    to_answer: Duration,
    answer: String,
}

async fn start_once(
    bootstrap: &Path,
    binary: &str,
    timeout_ms: i64,
    env: &[(String, String)],
    deployed: &Deployed,
) -> anyhow::Result<Timing> {
    let seen: Shared = Arc::new(Mutex::new(Seen {
        event: first_event(binary),
        timeout_ms,
        ..Seen::default()
    }));
    let api = runtime_api(seen.clone()).await?;
    let log_path = std::env::temp_dir().join(format!("cold-start-{binary}.log"));
    let log = std::fs::File::create(&log_path)?;
    let started = Instant::now();
    let mut child = Command::new(bootstrap)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            format!("autodrive-{STAGE}-{binary}"),
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/12/01/[$LATEST]cold-start",
        )
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &deployed.endpoint)
        .env("_HANDLER", "bootstrap")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bootstrap.display()))?;
    let deadline = started + Duration::from_secs(20);
    let outcome = loop {
        {
            let s = seen.lock().expect("lock");
            if let Some(e) = &s.init_error {
                break Err(anyhow::anyhow!("init error: {e}"));
            }
            if let (Some(next), Some((answered, body))) = (s.first_next, &s.answered) {
                break Ok(Timing {
                    to_next: next - started,
                    to_answer: *answered - started,
                    answer: body.clone(),
                });
            }
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!("exited with {status}"));
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("no answer within 20 s"));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    outcome.with_context(|| {
        format!(
            "{binary}: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        )
    })
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn binary_of<'a>(f: &Resource<'a>) -> &'a str {
    f.metadata["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut build_dir = PathBuf::from(".aws-sam/build");
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--build-dir" => build_dir = args.next().context("--build-dir DIR")?.into(),
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            other => {
                bail!("unknown argument {other}; usage: cold-start [--build-dir DIR] [--runs N]")
            }
        }
    }
    let runs = runs.max(1);
    let stack = Stack::parse(TEMPLATE)?;
    let moto = Moto::start().map_err(|e| anyhow::anyhow!("{e}"))?;
    let deployed = deploy(&moto, &stack, &build_dir).await?;
    let mut failed = false;
    for f in stack.of_kind("AWS::Serverless::Function") {
        let binary = binary_of(&f);
        let bootstrap = build_dir.join(f.id).join("bootstrap");
        let bytes = std::fs::metadata(&bootstrap)
            .with_context(|| format!("{}: run `sam build` first", bootstrap.display()))?
            .len();
        let env = stack
            .function_environment(&f)
            .into_iter()
            .map(|(k, v)| Ok((k.to_owned(), deployed.resolve(&stack, v)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let timeout_ms = i64::try_from(stack.function_timeout(&f) * 1000).unwrap_or(i64::MAX);
        let mut to_next = Vec::new();
        let mut to_answer = Vec::new();
        let mut answer = String::new();
        for _ in 0..runs {
            match start_once(&bootstrap, binary, timeout_ms, &env, &deployed).await {
                Ok(t) => {
                    to_next.push(t.to_next);
                    to_answer.push(t.to_answer);
                    answer = t.answer;
                }
                Err(e) => {
                    eprintln!("FAIL {e:#}");
                    failed = true;
                    break;
                }
            }
        }
        if to_next.len() < runs {
            continue;
        }
        if answer.starts_with("error:") {
            eprintln!("FAIL {binary}: its first invocation failed: {answer}");
            failed = true;
        }
        let first_answer: String = answer.chars().take(120).collect();
        println!(
            "{}",
            serde_json::json!({
                "function": binary,
                "bootstrap_mb": (bytes as f64 / 1_048_576.0 * 10.0).round() / 10.0,
                "runs": runs,
                "exec_to_first_next_ms_median": millis(median(to_next.clone())),
                "exec_to_first_next_ms_max": millis(*to_next.iter().max().expect("runs")),
                "exec_to_first_answer_ms_median": millis(median(to_answer)),
                "first_answer": first_answer,
            })
        );
    }
    if failed {
        bail!("a function failed its cold start");
    }
    Ok(())
}
