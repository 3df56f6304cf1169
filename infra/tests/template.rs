//! The stack's rules, checked on `infra/template.yaml`: functions, routes, queues, dead-letter
//! queues and their alarms, the nightly schedule, least privilege and secrets.

use infra::{referenced_attribute, referenced_id, Resource, Stack, TEMPLATE};
use serde_norway::Value;

const FUNCTIONS: [&str; 7] = [
    "admin-authorizer",
    "booking-webhook",
    "ingest-visit",
    "nightly-forecast",
    "offer-composer",
    "reports",
    "trigger-evaluator",
];

/// API Gateway HTTP APIs give up on an integration after 30 seconds.
const HTTP_INTEGRATION_LIMIT_SECONDS: u64 = 30;

fn stack() -> Stack {
    Stack::parse(TEMPLATE).expect("infra/template.yaml parses")
}

fn functions(stack: &Stack) -> Vec<Resource<'_>> {
    stack.of_kind("AWS::Serverless::Function").collect()
}

fn events<'a>(function: &Resource<'a>, kind: &str) -> Vec<&'a Value> {
    function.properties["Events"]
        .as_mapping()
        .map(|events| {
            events
                .values()
                .filter(|e| e["Type"].as_str() == Some(kind))
                .map(|e| &e["Properties"])
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().unwrap_or_default(),
        _ => "",
    }
}

fn binary<'a>(function: &Resource<'a>) -> &'a str {
    function.metadata["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_default()
}

/// Every dead-letter queue: redrive targets, the schedule's and the async-invoke failure target.
fn dead_letter_queues(stack: &Stack) -> Vec<String> {
    let mut dlqs: Vec<String> = stack
        .of_kind("AWS::SQS::Queue")
        .filter_map(|q| referenced_id(&q.properties["RedrivePolicy"]["deadLetterTargetArn"]))
        .map(str::to_owned)
        .collect();
    for f in functions(stack) {
        for s in events(&f, "ScheduleV2") {
            dlqs.extend(referenced_id(&s["DeadLetterConfig"]["Arn"]).map(str::to_owned));
        }
        let on_failure = &f.properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        dlqs.extend(referenced_id(&on_failure["Destination"]).map(str::to_owned));
    }
    dlqs.sort();
    dlqs.dedup();
    dlqs
}

#[test]
fn every_function_is_the_binary_of_its_own_crate_built_by_cargo_lambda_for_al2023_x86() {
    let stack = stack();
    let functions = functions(&stack);
    let mut binaries: Vec<&str> = functions.iter().map(binary).collect();
    binaries.sort_unstable();
    assert_eq!(binaries, FUNCTIONS);
    for f in &functions {
        let code_uri = stack.function_property(f, "CodeUri").as_str();
        assert_eq!(
            code_uri,
            Some(format!("../functions/{}", binary(f)).as_str()),
            "{}",
            f.id
        );
        assert_eq!(
            f.metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{}",
            f.id
        );
        let runtime = stack.function_property(f, "Runtime");
        assert_eq!(runtime.as_str(), Some("provided.al2023"), "{}", f.id);
        let handler = stack.function_property(f, "Handler");
        assert_eq!(handler.as_str(), Some("bootstrap"), "{}", f.id);
        let architectures = stack.function_property(f, "Architectures");
        assert_eq!(
            architectures,
            &Value::Sequence(vec!["x86_64".into()]),
            "{}",
            f.id
        );
    }
}

#[test]
fn the_http_api_serves_exactly_the_webhook_and_reports_routes() {
    let stack = stack();
    let mut routes = Vec::new();
    for f in functions(&stack) {
        for route in events(&f, "HttpApi") {
            assert_eq!(referenced_id(&route["ApiId"]), Some("Api"), "{}", f.id);
            routes.push((
                route["Method"].as_str().unwrap_or_default().to_owned(),
                route["Path"].as_str().unwrap_or_default().to_owned(),
                binary(&f).to_owned(),
            ));
            assert!(
                stack.function_timeout(&f) < HTTP_INTEGRATION_LIMIT_SECONDS,
                "{} answers HTTP and must finish before the API gives up",
                f.id
            );
        }
    }
    routes.sort();
    let expected = [
        ("GET", "/b/{token}", "booking-webhook"),
        ("GET", "/dashboard", "reports"),
        ("GET", "/dashboard/login", "reports"),
        ("GET", "/dashboard/preview", "reports"),
        ("GET", "/v1/reports/{name}", "reports"),
        ("GET", "/v1/whatsapp/webhook", "booking-webhook"),
        ("POST", "/b/{token}", "booking-webhook"),
        ("POST", "/dashboard/campaigns/{name}/{action}", "reports"),
        ("POST", "/dashboard/login", "reports"),
        ("POST", "/v1/telegram/webhook", "booking-webhook"),
        ("POST", "/v1/visits", "ingest-visit"),
        ("POST", "/v1/whatsapp/webhook", "booking-webhook"),
    ]
    .map(|(m, p, b)| (m.to_owned(), p.to_owned(), b.to_owned()));
    assert_eq!(routes, expected);
}

/// No anonymous access to the marketer's side: every reports route but the login form goes
/// through the admin authorizer, a Lambda authorizer (payload 2.0, simple responses, not
/// cached) that reads the admin token; the webhooks check their own signatures instead.
#[test]
fn the_reports_and_the_dashboard_are_behind_the_admin_authorizer() {
    let stack = stack();
    let api = stack.resource("Api").expect("Api");
    let authorizer = &api.properties["Auth"]["Authorizers"]["AdminAuthorizer"];
    assert!(
        matches!(&authorizer["FunctionArn"], Value::Tagged(t)
            if t.tag == "GetAtt" && t.value.as_str() == Some("AdminAuthorizerFunction.Arn")),
        "{:?}",
        authorizer["FunctionArn"]
    );
    assert_eq!(
        authorizer["AuthorizerPayloadFormatVersion"].as_str(),
        Some("2.0")
    );
    assert_eq!(authorizer["EnableSimpleResponses"].as_bool(), Some(true));
    assert_eq!(authorizer["Identity"]["ReauthorizeEvery"].as_u64(), Some(0));
    assert!(
        api.properties["Auth"]["DefaultAuthorizer"].is_null(),
        "the webhooks are not behind it"
    );
    for f in functions(&stack) {
        for route in events(&f, "HttpApi") {
            let path = route["Path"].as_str().unwrap_or_default();
            let auth = route["Auth"]["Authorizer"].as_str();
            let guarded = path.starts_with("/v1/reports") || path.starts_with("/dashboard");
            // The login form has no authorizer at all: SAM refuses `NONE` on an API without a
            // default authorizer (scripts/stack-check runs its transform).
            let expected = match (guarded, path == "/dashboard/login") {
                (true, false) => Some("AdminAuthorizer"),
                (true, true) | (false, _) => None,
            };
            assert_eq!(auth, expected, "{} {path}", f.id);
        }
    }
    let authorizer = stack
        .resource("AdminAuthorizerFunction")
        .expect("AdminAuthorizerFunction");
    assert!(events(&authorizer, "HttpApi").is_empty());
    assert_eq!(
        secrets_read_by("admin-authorizer"),
        ["ADMIN_TOKEN_PARAM"],
        "the authorizer reads the admin token and nothing else"
    );
}

#[test]
fn every_consumed_queue_moves_a_message_to_its_dead_letter_queue_after_five_receives() {
    let stack = stack();
    let mut consumed = 0;
    for f in functions(&stack) {
        for source in events(&f, "SQS") {
            let id = referenced_id(&source["Queue"]).expect("an SQS event names its queue");
            let queue = stack.resource(id).expect("the consumed queue is declared");
            let redrive = &queue.properties["RedrivePolicy"];
            assert_eq!(redrive["maxReceiveCount"].as_u64(), Some(5), "{id}");
            let dlq = referenced_id(&redrive["deadLetterTargetArn"]).expect("a dead-letter queue");
            assert_eq!(
                stack.resource(dlq).map(|r| r.kind),
                Some("AWS::SQS::Queue"),
                "{dlq}"
            );
            consumed += 1;
        }
    }
    assert_eq!(consumed, 2, "the evaluate and compose queues");
}

#[test]
fn a_queue_hides_a_message_for_at_least_six_times_its_consumers_timeout() {
    let stack = stack();
    for f in functions(&stack) {
        for source in events(&f, "SQS") {
            let id = referenced_id(&source["Queue"]).unwrap_or_default();
            let queue = stack.resource(id).expect("the consumed queue is declared");
            let visibility = queue.properties["VisibilityTimeout"].as_u64().unwrap_or(30);
            let timeout = stack.function_timeout(&f);
            assert!(
                visibility >= 6 * timeout,
                "{id}: visibility {visibility} s < 6 x {} timeout {timeout} s",
                f.id
            );
            assert_eq!(
                source["FunctionResponseTypes"],
                Value::Sequence(vec!["ReportBatchItemFailures".into()]),
                "{} reports partial batch failures",
                f.id
            );
        }
    }
}

#[test]
fn every_dead_letter_queue_has_an_alarm_on_its_visible_messages() {
    let stack = stack();
    let dlqs = dead_letter_queues(&stack);
    assert_eq!(
        dlqs,
        [
            "ComposeDeadLetterQueue",
            "EvaluateDeadLetterQueue",
            "NightlyDeadLetterQueue"
        ]
    );
    for dlq in &dlqs {
        let alarms: Vec<_> = stack
            .of_kind("AWS::CloudWatch::Alarm")
            .filter(|a| {
                let dimensions = a.properties["Dimensions"].as_sequence();
                dimensions.into_iter().flatten().any(|d| {
                    d["Name"].as_str() == Some("QueueName")
                        && referenced_id(&d["Value"]) == Some(dlq.as_str())
                        && referenced_attribute(&d["Value"]) == Some("QueueName")
                })
            })
            .collect();
        assert_eq!(alarms.len(), 1, "{dlq}");
        let p = alarms[0].properties;
        assert_eq!(p["Namespace"].as_str(), Some("AWS/SQS"));
        assert_eq!(
            p["MetricName"].as_str(),
            Some("ApproximateNumberOfMessagesVisible")
        );
        assert_eq!(
            p["ComparisonOperator"].as_str(),
            Some("GreaterThanThreshold")
        );
        assert_eq!(p["Threshold"].as_u64(), Some(0));
        assert_eq!(
            p["AlarmActions"]
                .as_sequence()
                .and_then(|a| a.first())
                .and_then(referenced_id),
            Some("AlarmTopic")
        );
    }
}

#[test]
fn the_nightly_forecast_runs_at_one_in_the_morning_moscow_time_with_retries_and_a_dead_letter_queue(
) {
    let stack = stack();
    let nightly = functions(&stack)
        .into_iter()
        .find(|f| binary(f) == "nightly-forecast")
        .expect("the nightly function");
    let schedules = events(&nightly, "ScheduleV2");
    assert_eq!(schedules.len(), 1);
    let s = schedules[0];
    assert_eq!(s["ScheduleExpression"].as_str(), Some("cron(0 1 * * ? *)"));
    assert_eq!(
        s["ScheduleExpressionTimezone"].as_str(),
        Some("Europe/Moscow")
    );
    assert!(s["RetryPolicy"]["MaximumRetryAttempts"].as_u64() >= Some(1));
    assert_eq!(
        referenced_id(&s["DeadLetterConfig"]["Arn"]),
        Some("NightlyDeadLetterQueue")
    );
    let others: usize = functions(&stack)
        .iter()
        .map(|f| events(f, "ScheduleV2").len() + events(f, "Schedule").len())
        .sum();
    assert_eq!(others, 1, "only the nightly forecast is scheduled");
}

/// Every IAM statement in the template, wherever it is.
fn statements(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Mapping(m) => {
            if m.contains_key("Effect") && m.contains_key("Action") {
                out.push(value.clone());
            }
            m.values().for_each(|v| statements(v, out));
        }
        Value::Sequence(s) => s.iter().for_each(|v| statements(v, out)),
        Value::Tagged(t) => statements(&t.value, out),
        _ => {}
    }
}

fn is_wildcard(value: &Value) -> bool {
    match value {
        Value::String(s) => s == "*",
        Value::Sequence(items) => items.iter().any(is_wildcard),
        _ => false,
    }
}

#[test]
fn functions_get_only_scoped_policy_templates_and_no_statement_allows_everything() {
    let stack = stack();
    let allowed = [
        "DynamoDBCrudPolicy",
        "SQSPollerPolicy",
        "SQSSendMessagePolicy",
        "SSMParameterReadPolicy",
        "EventBridgePutEventsPolicy",
    ];
    for f in functions(&stack) {
        let policies = f.properties["Policies"].as_sequence().expect("Policies");
        for policy in policies {
            let (name, argument) = policy
                .as_mapping()
                .and_then(|m| m.iter().next())
                .expect("a policy template with its argument");
            let name = name.as_str().unwrap_or_default();
            assert!(allowed.contains(&name), "{}: {name}", f.id);
            let scoped = argument
                .as_mapping()
                .and_then(|m| m.values().next())
                .expect("the template names its resource");
            assert!(
                !matches!(scoped, Value::String(s) if s.contains('*')),
                "{}: {name} on {scoped:?}",
                f.id
            );
        }
    }
    let mut found = Vec::new();
    for r in stack.resources() {
        statements(r.properties, &mut found);
    }
    for statement in found {
        assert!(
            !(is_wildcard(&statement["Action"]) && is_wildcard(&statement["Resource"])),
            "{statement:?}"
        );
    }
}

#[test]
fn secrets_reach_functions_as_parameter_names_they_alone_may_read() {
    let stack = stack();
    let mut secrets = 0;
    for f in functions(&stack) {
        let env = f.properties["Environment"]["Variables"].as_mapping();
        let mut names: Vec<String> = Vec::new();
        for (key, value) in env.into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            let looks_secret = ["SECRET", "TOKEN", "KEY", "PASSWORD"]
                .iter()
                .any(|w| key.contains(w));
            if !looks_secret {
                continue;
            }
            assert!(
                key.ends_with("_PARAM"),
                "{}: {key} must name a parameter",
                f.id
            );
            let name = text(value);
            assert!(
                name.starts_with("/autodrive/${Stage}/"),
                "{}: {key} = {name}",
                f.id
            );
            names.push(name.trim_start_matches('/').to_owned());
            secrets += 1;
        }
        let mut readable: Vec<String> = f.properties["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("SSMParameterReadPolicy"))
            .map(|p| text(&p["ParameterName"]).to_owned())
            .collect();
        names.sort();
        readable.sort();
        assert_eq!(names, readable, "{}", f.id);
    }
    assert!(secrets >= 5, "the CRM secret and the messenger tokens");
    assert!(
        !TEMPLATE.contains("{{resolve:"),
        "no values resolved into the template"
    );
}

#[test]
fn the_table_is_encrypted_recoverable_and_expires_items() {
    let stack = stack();
    let table = stack.resource("Table").expect("the table");
    let p = table.properties;
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn the_stack_outputs_the_api_url_and_the_queue_urls() {
    let stack = stack();
    let api_url = stack.output("ApiUrl").map(text).unwrap_or_default();
    assert!(
        api_url.starts_with("https://${Api}.execute-api."),
        "{api_url}"
    );
    for (output, queue) in [
        ("EvaluateQueueUrl", "EvaluateQueue"),
        ("ComposeQueueUrl", "ComposeQueue"),
    ] {
        assert_eq!(
            stack.output(output).and_then(referenced_id),
            Some(queue),
            "{output}"
        );
    }
}

#[test]
fn the_booking_webhook_gets_the_advisor_chat_and_the_whatsapp_number_from_ssm_backed_stack_parameters(
) {
    let stack = stack();
    let doc: Value = serde_norway::from_str(TEMPLATE).expect("infra/template.yaml parses");
    let function = stack
        .resource("BookingWebhookFunction")
        .expect("the booking webhook");
    let env = &function.properties["Environment"]["Variables"];
    let composer = stack
        .resource("OfferComposerFunction")
        .expect("the offer composer");
    let composer_env = &composer.properties["Environment"]["Variables"];
    for (env, variable, parameter) in [
        (env, "ADVISOR_CHAT_ID", "AdvisorChatId"),
        (env, "WHATSAPP_PHONE_NUMBER_ID", "WhatsAppPhoneNumberId"),
        (env, "SMS_API_BASE", "SmsApiBase"),
        (env, "SMS_SENDER", "SmsSender"),
        (env, "PUBLIC_URL", "PublicUrl"),
        (
            composer_env,
            "WHATSAPP_PHONE_NUMBER_ID",
            "WhatsAppPhoneNumberId",
        ),
        (composer_env, "SMS_API_BASE", "SmsApiBase"),
        (composer_env, "SMS_SENDER", "SmsSender"),
        (composer_env, "PUBLIC_URL", "PublicUrl"),
    ] {
        assert_eq!(referenced_id(&env[variable]), Some(parameter), "{variable}");
        let declared = &doc["Parameters"][parameter];
        assert!(declared.is_mapping(), "parameter {parameter} is declared");
        assert_eq!(
            declared["Type"].as_str(),
            Some("AWS::SSM::Parameter::Value<String>"),
            "{parameter} is resolved from SSM at deploy, so `sam deploy` needs no flags"
        );
        let name = declared["Default"].as_str().unwrap_or_default();
        assert!(
            name.starts_with("/autodrive/prod/"),
            "{parameter} defaults to the prod stage's SSM name, got {name:?}"
        );
    }
}

/// The `*_PARAM` names a function's `main.rs` reads (`secret_from_ssm`, `secrets_from_ssm`).
fn secrets_read_by(binary: &str) -> Vec<String> {
    let path = format!(
        "{}/../functions/{binary}/src/main.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut names: Vec<String> = source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with("_PARAM") && !s.contains(char::is_whitespace))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_function_reads_exactly_the_secrets_the_template_grants_it() {
    let stack = stack();
    for f in functions(&stack) {
        let mut granted: Vec<String> = f.properties["Environment"]["Variables"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str())
            .filter(|k| k.ends_with("_PARAM"))
            .map(str::to_owned)
            .collect();
        granted.sort();
        assert_eq!(secrets_read_by(binary(&f)), granted, "{}", f.id);
    }
    let composer = secrets_read_by("offer-composer");
    for secret in [
        "TELEGRAM_BOT_TOKEN_PARAM",
        "WHATSAPP_ACCESS_TOKEN_PARAM",
        "SMS_API_KEY_PARAM",
        "BOOKING_LINK_KEY_PARAM",
    ] {
        assert!(
            composer.iter().any(|s| s == secret),
            "offer-composer reads {secret}"
        );
    }
}

#[test]
fn the_send_failure_rate_alarm_divides_the_total_failures_by_the_attempts_of_15_minutes() {
    let stack = stack();
    let alarm = stack
        .resource("SendFailureRateAlarm")
        .expect("the send failure rate alarm");
    assert_eq!(alarm.kind, "AWS::CloudWatch::Alarm");
    let p = alarm.properties;
    let queries = p["Metrics"].as_sequence().expect("metric math");
    let metric_of = |id: &str| {
        let q = queries
            .iter()
            .find(|q| q["Id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("query {id}"));
        let stat = &q["MetricStat"];
        assert_eq!(
            text(&stat["Metric"]["Namespace"]),
            "Autodrive/${Stage}",
            "the stage's own namespace"
        );
        assert!(
            stat["Metric"]["Dimensions"].is_null(),
            "the undimensioned total"
        );
        assert_eq!(stat["Period"].as_u64(), Some(900));
        assert_eq!(stat["Stat"].as_str(), Some("Sum"));
        stat["Metric"]["MetricName"].as_str().unwrap_or_default()
    };
    let template: serde_norway::Value = serde_norway::from_str(TEMPLATE).expect("YAML");
    assert_eq!(
        text(&template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]),
        "Autodrive/${Stage}",
        "every function writes its lines where the alarm reads"
    );
    assert_eq!(metric_of("sent"), "MessagesSent");
    assert_eq!(metric_of("failed"), "SendFailures");
    let rate: Vec<_> = queries
        .iter()
        .filter(|q| q["ReturnData"].as_bool() == Some(true))
        .collect();
    assert_eq!(rate.len(), 1);
    let expression = rate[0]["Expression"].as_str().unwrap_or_default();
    assert!(expression.contains(">= 10"), "{expression}");
    assert!(
        expression.contains("FILL(failed, 0) / (FILL(sent, 0) + FILL(failed, 0))"),
        "{expression}"
    );
    assert_eq!(
        p["ComparisonOperator"].as_str(),
        Some("GreaterThanThreshold")
    );
    assert_eq!(p["Threshold"].as_f64(), Some(0.2));
    assert_eq!(p["TreatMissingData"].as_str(), Some("notBreaching"));
    assert_eq!(
        p["AlarmActions"]
            .as_sequence()
            .and_then(|a| a.first())
            .and_then(referenced_id),
        Some("AlarmTopic")
    );
}
