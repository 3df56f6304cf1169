//! Generated bad input: malformed or mutated bodies and signature headers. Every case gets a
//! 4xx, stores nothing and does not panic.

mod common;

use std::sync::OnceLock;

use common::*;
use lambda_http::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::{json, Value};
use store::RedbStore;

struct Fixture {
    deps: ingest_visit::Deps<RedbStore>,
    store: RedbStore,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (deps, store) = deps(&dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Fixture {
            deps,
            store,
            runtime,
            _dir: dir,
        }
    })
}

/// Runs the handler and checks: a 4xx, and the store still empty.
fn assert_refused(headers: &HeaderMap, body: &[u8]) -> Result<u16, TestCaseError> {
    let f = fixture();
    let (reply, items) = f.runtime.block_on(async {
        let reply = ingest_visit::handle(&f.deps, headers, body, now()).await;
        (reply, item_count(&f.store).await)
    });
    prop_assert!(
        (400..500).contains(&reply.status),
        "status {} for body {}",
        reply.status,
        String::from_utf8_lossy(body)
    );
    prop_assert_eq!(items, 0, "something was stored");
    Ok(reply.status)
}

/// A field path and a value that is never valid there.
fn invalid_field() -> impl Strategy<Value = (&'static str, Value)> {
    let table: Vec<(&'static str, Value)> = vec![
        ("work_order_id", json!("")),
        ("work_order_id", json!(123)),
        ("work_order_id", Value::Null),
        ("work_order_id", json!("X".repeat(300))),
        ("closed_at", json!("yesterday")),
        ("closed_at", json!("2026-13-01T00:00:00+03:00")),
        ("closed_at", json!(5)),
        ("closed_at", Value::Null),
        ("kind", json!("oil")),
        ("kind", json!("")),
        ("kind", Value::Null),
        ("odometer_km", json!(-1)),
        ("odometer_km", json!("90000")),
        ("odometer_km", json!(1.5)),
        ("odometer_km", Value::Null),
        ("odometer_km", json!(10_000_000_000_i64)),
        ("customer", Value::Null),
        ("customer", json!("C-1001")),
        ("customer.id", json!("")),
        ("customer.id", Value::Null),
        ("customer.phone", json!("8 916")),
        ("customer.phone", json!(79161234567_i64)),
        ("customer.phone", Value::Null),
        ("customer.consents", Value::Null),
        ("customer.consents", json!("yes")),
        ("customer.telegram_chat_id", json!(0)),
        ("customer.telegram_chat_id", json!("abc")),
        ("customer.first_name", json!("  ")),
        ("vehicle", Value::Null),
        ("vehicle.vin", json!("SHORT")),
        ("vehicle.vin", json!("XW7BE40K70S02547I")),
        ("vehicle.vin", Value::Null),
        ("vehicle.make", json!("")),
        ("vehicle.first_registration", json!("2027-01-01")),
        ("vehicle.first_registration", json!("20-05-2019")),
        ("lines", json!([])),
        ("lines", Value::Null),
        ("lines", json!("x")),
        ("lines.0.price", json!(6500.0)),
        ("lines.0.price", json!("abc")),
        ("lines.0.price", json!("-1.00")),
        ("lines.0.qty", json!("0")),
        ("lines.1.kind", json!("gift")),
        ("lines.1.cost", Value::Null),
        ("unexpected", json!(1)),
        ("customer.unexpected", json!(1)),
    ];
    proptest::sample::select(table)
}

/// Sets the value at a dotted path (array indexes as numbers); a path that no longer exists
/// after an earlier mutation is left alone (that mutation already made the body invalid).
fn set_path(root: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut node = root;
    for part in &parts[..parts.len() - 1] {
        let next = match part.parse::<usize>() {
            Ok(i) => node.get_mut(i),
            Err(_) => node.get_mut(*part),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    let last = parts[parts.len() - 1];
    match node {
        Value::Object(map) => {
            map.insert(last.to_owned(), value);
        }
        Value::Array(items) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

fn signed(body: &[u8]) -> HeaderMap {
    signed_headers(body, now().timestamp())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_signed_body_with_invalid_fields_gets_422(
        mutations in proptest::collection::vec(invalid_field(), 1..4),
        drop_field in proptest::option::of(proptest::sample::select(vec![
            "work_order_id", "closed_at", "kind", "odometer_km", "customer", "vehicle", "lines",
        ])),
    ) {
        let mut visit = app::fixtures::example_visit();
        for (path, value) in mutations {
            set_path(&mut visit, path, value);
        }
        if let Some(field) = drop_field {
            visit.as_object_mut().unwrap().remove(field);
        }
        let body = serde_json::to_vec(&visit).unwrap();
        prop_assert_eq!(assert_refused(&signed(&body), &body)?, 422);
    }

    #[test]
    fn a_signed_truncated_or_garbled_body_gets_422(
        cut in 0usize..1_000,
        noise in proptest::collection::vec(any::<u8>(), 0..64),
        garble in any::<bool>(),
    ) {
        let full = example_body();
        let mut body = full[..cut.min(full.len() - 1)].to_vec();
        if garble {
            body = noise;
            body.insert(0, b'#');
        }
        prop_assert_eq!(assert_refused(&signed(&body), &body)?, 422);
    }

    #[test]
    fn a_bad_signature_header_gets_401(
        header in prop_oneof![
            "[ -~]{0,80}",
            (any::<i64>(), "[0-9a-f]{64}").prop_map(|(t, h)| format!("t={t},v1={h}")),
            (-100_000i64..100_000).prop_map(|offset| {
                let body = example_body();
                let t = now().timestamp() + if offset.abs() <= 300 { offset.signum() * 301 + offset } else { offset };
                ingest_visit::Secret::parse(SECRET).unwrap().sign(t, &body)
            }),
        ],
        flip in 0usize..2_000,
    ) {
        let mut body = example_body();
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&header) {
            headers.insert("x-signature", value);
        }
        if flip < body.len() {
            // The signature of the original body on a changed body.
            let good = signed(&body);
            body[flip] ^= 0x20;
            if header.is_empty() {
                headers = good;
            }
        }
        prop_assert_eq!(assert_refused(&headers, &body)?, 401);
    }
}
