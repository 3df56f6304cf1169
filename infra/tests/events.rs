//! The business events in the stack: the bus and its archive, the functions that put events on
//! it (and only those), and BookingConfirmed to the DMS's API destination only when its URL is set.

use infra::{referenced_id, Stack, TEMPLATE};
use serde_norway::Value;

fn stack() -> Stack {
    Stack::parse(TEMPLATE).expect("infra/template.yaml parses")
}

#[test]
fn the_functions_that_produce_events_name_the_bus_and_may_put_only_on_it() {
    let stack = stack();
    assert!(stack
        .resource("EventBus")
        .is_some_and(|r| r.kind == "AWS::Events::EventBus"));
    let mut producers = Vec::new();
    for f in stack.of_kind("AWS::Serverless::Function") {
        let env = &f.properties["Environment"]["Variables"]["EVENT_BUS_NAME"];
        let puts: Vec<&Value> = f.properties["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("EventBridgePutEventsPolicy"))
            .collect();
        if env.is_null() {
            assert!(
                puts.is_empty(),
                "{} may put events without producing any",
                f.id
            );
            continue;
        }
        assert_eq!(referenced_id(env), Some("EventBus"), "{}", f.id);
        assert_eq!(puts.len(), 1, "{}", f.id);
        assert_eq!(
            referenced_id(&puts[0]["EventBusName"]),
            Some("EventBus"),
            "{}",
            f.id
        );
        producers.push(
            f.metadata["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_default(),
        );
    }
    producers.sort_unstable();
    assert_eq!(
        producers,
        [
            "booking-webhook",
            "ingest-visit",
            "offer-composer",
            "trigger-evaluator"
        ]
    );
}

#[test]
fn every_event_is_archived_for_ninety_days() {
    let stack = stack();
    let archive = stack.resource("EventArchive").expect("an archive");
    assert_eq!(archive.kind, "AWS::Events::Archive");
    assert_eq!(
        referenced_id(&archive.properties["SourceArn"]),
        Some("EventBus")
    );
    assert_eq!(archive.properties["RetentionDays"].as_u64(), Some(90));
}

#[test]
fn booking_confirmed_goes_to_the_dms_only_when_its_url_is_set_with_retries_and_a_dead_letter_queue()
{
    let stack = stack();
    assert_eq!(stack.parameter_default("DmsAppointmentsUrl"), Some(""));
    let doc: Value = serde_norway::from_str(TEMPLATE).unwrap();
    for id in [
        "DmsConnection",
        "DmsAppointmentsDestination",
        "DmsInvokeRole",
        "BookingConfirmedToDmsRule",
        "EventsDeadLetterQueuePolicy",
    ] {
        assert_eq!(
            doc["Resources"][id]["Condition"].as_str(),
            Some("HasDmsAppointments"),
            "{id}"
        );
    }
    let rule = stack.resource("BookingConfirmedToDmsRule").unwrap();
    let p = rule.properties;
    assert_eq!(referenced_id(&p["EventBusName"]), Some("EventBus"));
    assert_eq!(
        p["EventPattern"]["detail-type"],
        Value::Sequence(vec!["BookingConfirmed".into()])
    );
    let target = &p["Targets"][0];
    assert_eq!(
        referenced_id(&target["Arn"]),
        Some("DmsAppointmentsDestination")
    );
    assert_eq!(referenced_id(&target["RoleArn"]), Some("DmsInvokeRole"));
    assert!(target["RetryPolicy"]["MaximumRetryAttempts"].as_u64() > Some(0));
    assert_eq!(
        referenced_id(&target["DeadLetterConfig"]["Arn"]),
        Some("EventsDeadLetterQueue")
    );
    assert!(
        !TEMPLATE.contains("ApiKeyValue: \""),
        "the DMS's key is a parameter, never a literal"
    );
}
