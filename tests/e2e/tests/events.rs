//! The EventBridge adapter against moto_server: more than ten events go out in batches of ten
//! to the stack's bus, a rule on the bus delivers them to an SQS queue, and every one comes back
//! once, in EventBridge's envelope, with a detail its JSON Schema accepts. A request the bus
//! refuses (moto: no such bus) is retried a bounded number of times, then reported; an entry
//! it refuses (a fake endpoint, moto refuses none of ours) is put again alone.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use app::events::{samples, BusinessEvent};
use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use lambda_support::EventBus;
use serde_json::Value;
use store::testing::{Moto, REGION};

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "moto")
}

fn eventbridge(moto: &Moto) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(credentials())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

fn sqs(moto: &Moto) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(credentials())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// The sample of every kind and fifteen more visits: 25 events, three requests.
fn events() -> Vec<BusinessEvent> {
    let mut events = samples();
    let at = events[0].occurred_at;
    for i in 0..15 {
        events.push(BusinessEvent::visit_recorded(
            &format!("WO-{i:04}"),
            "XTA210990Y2765432",
            "C-000123",
            i % 2 == 0,
            None,
            at,
        ));
    }
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_ten_events_reach_a_queue_through_the_bus_each_once_and_valid() {
    let moto = Moto::shared();
    let (bridge, sqs) = (eventbridge(moto), sqs(moto));
    let bus = "autodrive-events-test";
    bridge.create_event_bus().name(bus).send().await.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name("autodrive-events-test")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    bridge
        .put_rule()
        .name("all-business-events")
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["autodrive"]}"#)
        .send()
        .await
        .unwrap();
    bridge
        .put_targets()
        .rule("all-business-events")
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let events = events();
    assert!(events.len() > 10);
    EventBus::new(bridge.clone(), bus)
        .put_all(&events)
        .await
        .unwrap();

    let mut received: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.len() < events.len() && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in out.messages() {
            received.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(received.len(), events.len(), "every event, once");
    let mut ids = HashSet::new();
    for envelope in &received {
        assert_eq!(envelope["source"], "autodrive");
        let name = envelope["detail-type"].as_str().unwrap();
        let detail = &envelope["detail"];
        let errors: Vec<String> = app::event_schemas::validator(name)
            .iter_errors(detail)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{name}: {detail}");
        ids.insert(detail["event_id"].as_str().unwrap().to_owned());
    }
    let sent: HashSet<String> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids, sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_to_a_bus_that_does_not_exist_fails_after_bounded_retries() {
    let moto = Moto::shared();
    let bus =
        EventBus::new(eventbridge(moto), "no-such-bus").with_backoff(Duration::from_millis(1));
    let started = Instant::now();
    let result = bus.put_all(&samples()).await;
    let error = format!("{:#}", result.expect_err("the bus does not exist"));
    assert!(
        error.contains("not accepted") || error.contains("PutEvents"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// An EventBridge endpoint that refuses the first entry of its first request and keeps the
/// entries of every request.
async fn flaky_bus() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<Value>>>>) {
    use std::sync::{Arc, Mutex};
    let requests: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
    let router = axum::Router::new().route(
        "/",
        axum::routing::post({
            let requests = requests.clone();
            move |body: axum::body::Bytes| async move {
                let body: Value = serde_json::from_slice(&body).unwrap();
                let entries = body["Entries"].as_array().cloned().unwrap_or_default();
                let first_call = {
                    let mut requests = requests.lock().unwrap();
                    requests.push(entries.clone());
                    requests.len() == 1
                };
                let results: Vec<Value> = (0..entries.len())
                    .map(|i| {
                        if first_call && i == 0 {
                            serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                        } else {
                            serde_json::json!({"EventId": format!("id-{i}")})
                        }
                    })
                    .collect();
                let failed = usize::from(first_call);
                (
                    [("content-type", "application/x-amz-json-1.1")],
                    serde_json::json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, requests)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_the_bus_refuses_is_put_again_alone_and_the_rest_once() {
    let (url, requests) = flaky_bus().await;
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(url)
        .credentials_provider(credentials())
        .build();
    let bus = EventBus::new(aws_sdk_eventbridge::Client::from_conf(config), "bus")
        .with_backoff(Duration::from_millis(1));
    let events = events();
    bus.put_all(&events).await.unwrap();

    let requests = requests.lock().unwrap().clone();
    let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [10, 1, 10, 5],
        "batches of ten, the refused entry again alone"
    );
    let detail = |entry: &Value| -> Value {
        serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap()
    };
    assert_eq!(detail(&requests[1][0]), detail(&requests[0][0]));
    for entry in requests.iter().flatten() {
        assert_eq!(entry["Source"], "autodrive");
        assert_eq!(entry["EventBusName"], "bus");
    }
    let put: HashSet<String> = requests
        .iter()
        .flatten()
        .map(|e| detail(e)["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(put.len(), events.len());
}
