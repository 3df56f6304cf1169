//! The table in `infra/template.yaml` is the one the code and the tests use (`store::table::TABLE`).

use serde_norway::Value;
use store::table::{TableSpec, TABLE};

/// Keys, indexes and TTL of a table, as declared.
#[derive(Debug, PartialEq)]
struct Declared {
    pk: String,
    sk: String,
    /// (name, pk, sk, projection)
    gsis: Vec<(String, String, String, String)>,
    ttl: String,
    ttl_enabled: bool,
    /// Every attribute definition with its type.
    attributes: Vec<(String, String)>,
}

fn expected(spec: &TableSpec) -> Declared {
    let mut attributes: Vec<(String, String)> = [spec.pk, spec.sk]
        .into_iter()
        .chain(spec.gsis.iter().flat_map(|g| [g.pk, g.sk]))
        .map(|a| (a.to_owned(), "S".to_owned()))
        .collect();
    attributes.sort();
    Declared {
        pk: spec.pk.into(),
        sk: spec.sk.into(),
        gsis: spec
            .gsis
            .iter()
            .map(|g| (g.name.into(), g.pk.into(), g.sk.into(), "ALL".into()))
            .collect(),
        ttl: spec.ttl.into(),
        ttl_enabled: true,
        attributes,
    }
}

fn text(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} is not a string"))
}

fn key_schema(v: &Value, what: &str) -> Result<(String, String), String> {
    let elements = v
        .as_sequence()
        .ok_or_else(|| format!("{what}: KeySchema is not a list"))?;
    let find = |kind: &str| -> Result<String, String> {
        elements
            .iter()
            .find(|e| e["KeyType"].as_str() == Some(kind))
            .ok_or_else(|| format!("{what}: no {kind} key"))
            .and_then(|e| text(&e["AttributeName"], "AttributeName"))
    };
    if elements.len() != 2 {
        return Err(format!("{what}: expected a HASH and a RANGE key"));
    }
    Ok((find("HASH")?, find("RANGE")?))
}

/// Reads the `Table` resource of a SAM/CloudFormation template.
fn declared_table(yaml: &str) -> Result<Declared, String> {
    let doc: Value = serde_norway::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
    let table = &doc["Resources"]["Table"];
    if table["Type"].as_str() != Some("AWS::DynamoDB::Table") {
        return Err("Resources.Table is not an AWS::DynamoDB::Table".into());
    }
    let p = &table["Properties"];
    let (pk, sk) = key_schema(&p["KeySchema"], "table")?;
    let mut gsis = Vec::new();
    for g in p["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
    {
        let name = text(&g["IndexName"], "IndexName")?;
        let (gpk, gsk) = key_schema(&g["KeySchema"], &name)?;
        let projection = text(&g["Projection"]["ProjectionType"], "ProjectionType")?;
        gsis.push((name, gpk, gsk, projection));
    }
    let mut attributes = Vec::new();
    for a in p["AttributeDefinitions"]
        .as_sequence()
        .ok_or("AttributeDefinitions is not a list")?
    {
        attributes.push((
            text(&a["AttributeName"], "AttributeName")?,
            text(&a["AttributeType"], "AttributeType")?,
        ));
    }
    attributes.sort();
    let ttl = &p["TimeToLiveSpecification"];
    Ok(Declared {
        pk,
        sk,
        gsis,
        ttl: text(&ttl["AttributeName"], "TTL AttributeName")?,
        ttl_enabled: ttl["Enabled"].as_bool() == Some(true),
        attributes,
    })
}

fn template() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn the_template_declares_the_table_the_code_uses() {
    assert_eq!(declared_table(&template()).unwrap(), expected(&TABLE));
}

#[test]
fn the_deployed_table_is_on_demand_encrypted_and_recoverable() {
    let doc: Value = serde_norway::from_str(&template()).unwrap();
    assert_eq!(
        doc["Transform"].as_str(),
        Some("AWS::Serverless-2016-10-31")
    );
    let p = &doc["Resources"]["Table"]["Properties"];
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn a_template_whose_index_differs_from_the_code_is_caught() {
    let drifted = template().replacen(
        "AttributeName: gsi2sk\n              KeyType: RANGE",
        "AttributeName: gsi2pk\n              KeyType: RANGE",
        1,
    );
    assert_ne!(drifted, template(), "the edit must change the template");
    assert_ne!(declared_table(&drifted).unwrap(), expected(&TABLE));
    let no_ttl = template().replace("AttributeName: expires_at", "AttributeName: ttl");
    assert_ne!(declared_table(&no_ttl).unwrap(), expected(&TABLE));
}

#[test]
fn short_form_intrinsic_functions_do_not_break_parsing() {
    let yaml = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Sub \"t-${Stage}\"\n      Tags: [!Ref Stage, !GetAtt X.Arn]\n";
    let err = declared_table(yaml).unwrap_err();
    assert!(err.contains("KeySchema"), "{err}");
}
