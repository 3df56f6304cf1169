//! The SAM template (`infra/template.yaml`) read into the facts the stack's rules are about:
//! functions with their timeouts, events and policies, queues with their dead-letter queues, alarms.

use serde_norway::{Mapping, Value};

/// The template as shipped.
pub const TEMPLATE: &str = include_str!("../template.yaml");

/// Why a template could not be read.
#[derive(Debug)]
pub enum StackError {
    NotYaml(String),
    NoResources,
}

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackError::NotYaml(e) => write!(f, "the template is not YAML: {e}"),
            StackError::NoResources => write!(f, "the template has no Resources mapping"),
        }
    }
}

impl std::error::Error for StackError {}

/// A parsed template.
#[derive(Debug)]
pub struct Stack {
    resources: Mapping,
    globals: Value,
    outputs: Value,
    parameters: Value,
}

/// A CloudFormation resource: its logical id, type and properties.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub properties: &'a Value,
    pub metadata: &'a Value,
}

impl Stack {
    pub fn parse(yaml: &str) -> Result<Self, StackError> {
        let doc: Value =
            serde_norway::from_str(yaml).map_err(|e| StackError::NotYaml(e.to_string()))?;
        let resources = doc["Resources"]
            .as_mapping()
            .cloned()
            .ok_or(StackError::NoResources)?;
        Ok(Stack {
            resources,
            globals: doc["Globals"].clone(),
            outputs: doc["Outputs"].clone(),
            parameters: doc["Parameters"].clone(),
        })
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.resources.iter().filter_map(|(id, r)| {
            Some(Resource {
                id: id.as_str()?,
                kind: r["Type"].as_str()?,
                properties: &r["Properties"],
                metadata: &r["Metadata"],
            })
        })
    }

    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = Resource<'s>> + 's {
        self.resources().filter(move |r| r.kind == kind)
    }

    pub fn resource(&self, id: &str) -> Option<Resource<'_>> {
        self.resources().find(|r| r.id == id)
    }

    /// The default of a stack parameter, if declared with one.
    pub fn parameter_default(&self, name: &str) -> Option<&str> {
        self.parameters.get(name)?["Default"].as_str()
    }

    /// Every function's environment as SAM merges it: `Globals.Function` first, its own on top.
    pub fn function_environment<'s>(
        &'s self,
        function: &Resource<'s>,
    ) -> Vec<(&'s str, &'s Value)> {
        let mut vars: Vec<(&str, &Value)> = Vec::new();
        for source in [
            &self.globals["Function"]["Environment"]["Variables"],
            &function.properties["Environment"]["Variables"],
        ] {
            for (k, v) in source.as_mapping().into_iter().flatten() {
                let Some(k) = k.as_str() else { continue };
                vars.retain(|(name, _)| *name != k);
                vars.push((k, v));
            }
        }
        vars
    }

    /// The value of an output, if declared.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name).map(|o| &o["Value"])
    }

    /// A function property, falling back to `Globals.Function`.
    pub fn function_property<'s>(&'s self, function: &Resource<'s>, name: &str) -> &'s Value {
        match function.properties.get(name) {
            Some(v) => v,
            None => &self.globals["Function"][name],
        }
    }

    /// Seconds a function may run (its own `Timeout` or the global one; SAM's default is 3).
    pub fn function_timeout(&self, function: &Resource<'_>) -> u64 {
        self.function_property(function, "Timeout")
            .as_u64()
            .unwrap_or(3)
    }
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` (either form) points at.
pub fn referenced_id(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        Value::Tagged(t) if t.tag == "GetAtt" => match &t.value {
            Value::String(s) => s.split('.').next(),
            Value::Sequence(parts) => parts.first()?.as_str(),
            _ => None,
        },
        Value::Mapping(m) => match (m.get("Ref"), m.get("Fn::GetAtt")) {
            (Some(r), _) => r.as_str(),
            (_, Some(Value::Sequence(parts))) => parts.first()?.as_str(),
            (_, Some(Value::String(s))) => s.split('.').next(),
            _ => None,
        },
        _ => None,
    }
}

/// The attribute named by a `!GetAtt X.Attr`, if the value is one.
pub fn referenced_attribute(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "GetAtt" => t.value.as_str()?.split_once('.').map(|p| p.1),
        _ => None,
    }
}
