//! The dealer's policy reaches every function as deployed: `policy.toml` from the repository root
//! is packaged as a layer by `sam build`, every function gets it and `POLICY_FILE` pointing at it,
//! and the stack's own settings agree with it.

use infra::{referenced_id, Stack, TEMPLATE};

const ROOT_POLICY: &str = include_str!("../../policy.toml");
const LAYER_MAKEFILE: &str = include_str!("../policy-layer/Makefile");

fn stack() -> Stack {
    Stack::parse(TEMPLATE).expect("infra/template.yaml parses")
}

#[test]
fn every_function_reads_the_policy_layer_at_opt_policy_toml() {
    let stack = stack();
    let functions: Vec<_> = stack.of_kind("AWS::Serverless::Function").collect();
    assert_eq!(functions.len(), 7);
    for f in &functions {
        let layers = stack.function_property(f, "Layers");
        let ids: Vec<_> = layers
            .as_sequence()
            .unwrap_or_else(|| panic!("{}: no Layers", f.id))
            .iter()
            .filter_map(referenced_id)
            .collect();
        assert_eq!(ids, ["PolicyLayer"], "{}: layers", f.id);
        let own = &f.properties["Environment"]["Variables"]["POLICY_FILE"];
        assert!(own.is_null(), "{} overrides POLICY_FILE", f.id);
    }
    let template: serde_norway::Value = serde_norway::from_str(TEMPLATE).expect("YAML");
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["POLICY_FILE"].as_str(),
        Some("/opt/policy.toml"),
        "a layer's files are under /opt"
    );
}

#[test]
fn the_layer_is_built_from_the_root_policy_toml() {
    let stack = stack();
    let layer = stack.resource("PolicyLayer").expect("PolicyLayer");
    assert_eq!(layer.kind, "AWS::Serverless::LayerVersion");
    assert_eq!(layer.metadata["BuildMethod"].as_str(), Some("makefile"));
    assert_eq!(
        layer.properties["ContentUri"].as_str(),
        Some("policy-layer")
    );
    assert!(
        LAYER_MAKEFILE.contains("build-PolicyLayer:")
            && LAYER_MAKEFILE
                .contains("cp \"$(root)/policy.toml\" \"$(ARTIFACTS_DIR)/policy.toml\""),
        "the layer's Makefile copies the root policy.toml to the layer's root (/opt)"
    );
}

#[test]
fn the_deployed_policy_is_valid_and_the_nightly_schedule_runs_in_its_time_zone() {
    let policy = domain::policy::Policy::from_toml(ROOT_POLICY).expect("policy.toml is valid");
    let stack = stack();
    let nightly = stack
        .resource("NightlyForecastFunction")
        .expect("NightlyForecastFunction");
    let events = nightly.properties["Events"].as_mapping().expect("events");
    let schedule = events
        .values()
        .find(|e| e["Type"].as_str() == Some("ScheduleV2"))
        .expect("the nightly schedule");
    assert_eq!(
        schedule["Properties"]["ScheduleExpressionTimezone"].as_str(),
        Some(policy.time_zone().name()),
        "the schedule fires at night in the dealer's time zone from policy.toml"
    );
}
