//! The visits webhook contract, through the handler with raw bodies and headers.

mod common;

use common::*;
use domain::Visit;

#[tokio::test]
async fn a_signed_valid_visit_is_stored_with_201_and_a_repeat_answers_200() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, store) = deps(&dir);
    let body = example_body();
    let headers = signed_headers(&body, now().timestamp());

    let first = ingest_visit::handle(&deps, &headers, &body, now()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["work_order_id"], "A3C0001116");
    assert!(first.body["due_date"].is_string());

    let items = item_count(&store).await;
    let again = ingest_visit::handle(&deps, &headers, &body, now()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(item_count(&store).await, items);
    let visits = deps
        .repos
        .visits
        .for_vehicle::<Visit>("XW7BE40K70S025476")
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
}

#[tokio::test]
async fn a_stale_or_foreign_signature_is_refused_with_401_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, store) = deps(&dir);
    let body = example_body();
    let stale = signed_headers(&body, now().timestamp() - 301);
    let reply = ingest_visit::handle(&deps, &stale, &body, now()).await;
    assert_eq!(reply.status, 401);

    let mut foreign = lambda_http::http::HeaderMap::new();
    let value = ingest_visit::Secret::parse("somebody-elses-secret")
        .unwrap()
        .sign(now().timestamp(), &body);
    foreign.insert("x-signature", value.parse().unwrap());
    let reply = ingest_visit::handle(&deps, &foreign, &body, now()).await;
    assert_eq!(reply.status, 401);

    let unsigned = lambda_http::http::HeaderMap::new();
    let reply = ingest_visit::handle(&deps, &unsigned, &body, now()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn an_invalid_visit_gets_422_with_every_field_error_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, store) = deps(&dir);
    let mut visit = app::fixtures::example_visit();
    visit["odometer_km"] = (-1).into();
    visit["vehicle"]["vin"] = "SHORT".into();
    let body = serde_json::to_vec(&visit).unwrap();
    let reply = ingest_visit::handle(
        &deps,
        &signed_headers(&body, now().timestamp()),
        &body,
        now(),
    )
    .await;
    assert_eq!(reply.status, 422);
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"odometer_km"), "{fields:?}");
    assert!(fields.contains(&"vehicle.vin"), "{fields:?}");
    assert_eq!(item_count(&store).await, 0);
}

#[tokio::test]
async fn a_visit_closed_after_now_gets_422_on_closed_at_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, store) = deps(&dir);
    let send = |closed_at: String| {
        let mut visit = app::fixtures::example_visit();
        visit["closed_at"] = closed_at.into();
        serde_json::to_vec(&visit).unwrap()
    };
    let skew = chrono::Duration::seconds(app::visits::CLOCK_SKEW_SECONDS);
    for closed_at in [
        (now() + skew + chrono::Duration::seconds(1)).to_rfc3339(),
        "2099-06-01T10:00:00+03:00".to_owned(),
    ] {
        let body = send(closed_at.clone());
        let headers = signed_headers(&body, now().timestamp());
        let reply = ingest_visit::handle(&deps, &headers, &body, now()).await;
        assert_eq!(reply.status, 422, "{closed_at}: {}", reply.body);
        assert_eq!(
            reply.body["errors"][0]["field"], "closed_at",
            "{}",
            reply.body
        );
        assert_eq!(item_count(&store).await, 0, "{closed_at}");
    }
    // A CRM clock a little ahead of ours is within the signature's window: stored.
    let body = send((now() + skew).to_rfc3339());
    let headers = signed_headers(&body, now().timestamp());
    let reply = ingest_visit::handle(&deps, &headers, &body, now()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn an_api_gateway_http_event_reaches_the_handler_and_other_routes_get_404() {
    let dir = tempfile::tempdir().unwrap();
    let (deps, _store) = deps(&dir);
    let body = example_body();
    let signature = deps.secret.sign(now().timestamp(), &body);
    let request = api_gateway_request("POST", "/v1/visits", &body, Some(&signature));
    let response = ingest_visit::handle_request(&deps, request, now()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");

    let request = api_gateway_request("POST", "/v1/other", &body, Some(&signature));
    let response = ingest_visit::handle_request(&deps, request, now()).await;
    assert_eq!(response.status(), 404);
}
