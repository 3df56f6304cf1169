//! Field-level error reporting for the visit webhook body, where serde alone stops at the first
//! problem and does not say where it is.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::customer::Consents;
use super::odometer::Odometer;
use super::recommendation::RecommendationDto;
use super::vehicle::VehicleDto;
use super::visit::{CustomerDto, FieldError, Visit, VisitDto, VisitErrors};
use super::work_order::LineDto;

const VISIT_FIELDS: &[&str] = &[
    "work_order_id",
    "closed_at",
    "kind",
    "odometer_km",
    "advisor_id",
    "customer",
    "vehicle",
    "lines",
    "recommendations",
];
const CUSTOMER_FIELDS: &[&str] = &["id", "first_name", "phone", "telegram_chat_id", "consents"];
const CONSENTS_FIELDS: &[&str] = &["service_messages", "marketing"];
const VEHICLE_FIELDS: &[&str] = &[
    "vin",
    "make",
    "model",
    "first_registration",
    "warranty_until",
    "plate",
];
const LINE_FIELDS: &[&str] = &["kind", "code", "name", "qty", "price", "cost"];
const RECOMMENDATION_FIELDS: &[&str] = &[
    "code",
    "name",
    "urgency",
    "labor_estimate",
    "parts_estimate",
];

pub(crate) fn parse_visit_json(bytes: &[u8]) -> Result<Visit, VisitErrors> {
    let serde_error = match serde_json::from_slice::<VisitDto>(bytes) {
        Ok(dto) => return Visit::try_from(dto),
        Err(e) => e,
    };
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => {
            return Err(VisitErrors(vec![FieldError::new(
                "$",
                format!("malformed JSON: {e}"),
            )]))
        }
    };
    let mut shape = Shape::default();
    let dto = shape.visit(&value);
    let mut errors = std::mem::take(&mut shape.errors);
    if let Err(value_errors) = Visit::try_from(dto) {
        errors.extend(
            value_errors
                .0
                .into_iter()
                .filter(|e| !shape.is_broken(&e.field)),
        );
    }
    if errors.is_empty() {
        errors.push(FieldError::new("$", serde_error));
    }
    Err(VisitErrors(errors))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Walks the body like the DTO's deserialiser would, recording every shape problem and building
/// a DTO with placeholders where the shape is wrong.
#[derive(Default)]
struct Shape {
    errors: Vec<FieldError>,
    /// Paths whose value was replaced by a placeholder; value errors under them are noise.
    broken: Vec<String>,
}

impl Shape {
    fn fail(&mut self, path: String, message: String) {
        self.errors.push(FieldError::new(path.clone(), message));
        self.broken.push(path);
    }

    fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        known: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => {
                for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
                    self.errors
                        .push(FieldError::new(join(path, key), "unknown field"));
                }
                Some(map)
            }
            other => {
                let at = if path.is_empty() {
                    "$".to_owned()
                } else {
                    path.to_owned()
                };
                self.fail(at, format!("expected an object, got {}", type_name(other)));
                None
            }
        }
    }

    /// A required field; a missing one is reported when its object exists.
    fn required<'v>(
        &mut self,
        obj: Option<&'v Map<String, Value>>,
        path: &str,
        name: &str,
    ) -> Option<&'v Value> {
        let obj = obj?;
        let value = obj.get(name);
        if value.is_none() {
            self.fail(join(path, name), "missing field".to_owned());
        }
        value
    }

    fn string(&mut self, obj: Option<&Map<String, Value>>, path: &str, name: &str) -> String {
        match self.required(obj, path, name) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                self.fail(
                    join(path, name),
                    format!("expected a string, got {}", type_name(other)),
                );
                String::new()
            }
            None => String::new(),
        }
    }

    fn nullable_string(
        &mut self,
        obj: Option<&Map<String, Value>>,
        path: &str,
        name: &str,
    ) -> Option<String> {
        match obj?.get(name)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                let message = format!("expected a string or null, got {}", type_name(other));
                self.fail(join(path, name), message);
                Some(String::new())
            }
        }
    }

    fn boolean(&mut self, obj: Option<&Map<String, Value>>, path: &str, name: &str) -> bool {
        match self.required(obj, path, name) {
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                let message = format!("expected true or false, got {}", type_name(other));
                self.fail(join(path, name), message);
                false
            }
            None => false,
        }
    }

    fn visit(&mut self, value: &Value) -> VisitDto {
        let obj = self.object("", value, VISIT_FIELDS);
        VisitDto {
            work_order_id: self.string(obj, "", "work_order_id"),
            closed_at: self.string(obj, "", "closed_at"),
            kind: self.string(obj, "", "kind"),
            odometer_km: self.odometer(obj),
            advisor_id: self.nullable_string(obj, "", "advisor_id"),
            customer: self.customer(obj),
            vehicle: self.vehicle(obj),
            lines: self.lines(obj),
            recommendations: self.recommendations(obj),
        }
    }

    fn odometer(&mut self, obj: Option<&Map<String, Value>>) -> i64 {
        match self.required(obj, "", "odometer_km") {
            Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
            Some(value @ Value::Number(_)) => {
                let message = match Odometer::deserialize(value) {
                    Err(e) => e.to_string(),
                    Ok(_) => "expected an integer number of kilometres".to_owned(),
                };
                self.fail("odometer_km".to_owned(), message);
                0
            }
            Some(other) => {
                let message = format!(
                    "expected an integer number of kilometres, got {}",
                    type_name(other)
                );
                self.fail("odometer_km".to_owned(), message);
                0
            }
            None => 0,
        }
    }

    fn customer(&mut self, parent: Option<&Map<String, Value>>) -> CustomerDto {
        const P: &str = "customer";
        let obj = self
            .required(parent, "", P)
            .and_then(|v| self.object(P, v, CUSTOMER_FIELDS));
        let telegram_chat_id = match obj.and_then(|o| o.get("telegram_chat_id")) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
            Some(other) => {
                let message = format!("expected an integer or null, got {}", type_name(other));
                self.fail(join(P, "telegram_chat_id"), message);
                None
            }
        };
        let consents_path = join(P, "consents");
        let consents = self
            .required(obj, P, "consents")
            .and_then(|v| self.object(&consents_path, v, CONSENTS_FIELDS));
        let consents = Consents {
            service_messages: self.boolean(consents, &consents_path, "service_messages"),
            marketing: self.boolean(consents, &consents_path, "marketing"),
        };
        CustomerDto {
            id: self.string(obj, P, "id"),
            first_name: self.string(obj, P, "first_name"),
            phone: self.string(obj, P, "phone"),
            telegram_chat_id,
            consents,
        }
    }

    fn vehicle(&mut self, parent: Option<&Map<String, Value>>) -> VehicleDto {
        const P: &str = "vehicle";
        let obj = self
            .required(parent, "", P)
            .and_then(|v| self.object(P, v, VEHICLE_FIELDS));
        VehicleDto {
            vin: self.string(obj, P, "vin"),
            make: self.string(obj, P, "make"),
            model: self.string(obj, P, "model"),
            first_registration: self.string(obj, P, "first_registration"),
            warranty_until: self.nullable_string(obj, P, "warranty_until"),
            plate: self.nullable_string(obj, P, "plate"),
        }
    }

    fn lines(&mut self, parent: Option<&Map<String, Value>>) -> Vec<LineDto> {
        let items = match self.required(parent, "", "lines") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.fail(
                    "lines".to_owned(),
                    format!("expected an array, got {}", type_name(other)),
                );
                return Vec::new();
            }
            None => return Vec::new(),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("lines[{i}]");
                let obj = self.object(&p, item, LINE_FIELDS);
                LineDto {
                    kind: self.string(obj, &p, "kind"),
                    code: self.string(obj, &p, "code"),
                    name: self.string(obj, &p, "name"),
                    qty: self.string(obj, &p, "qty"),
                    price: self.string(obj, &p, "price"),
                    cost: self.string(obj, &p, "cost"),
                }
            })
            .collect()
    }

    /// The optional `recommendations` array (absent or null is none).
    fn recommendations(&mut self, parent: Option<&Map<String, Value>>) -> Vec<RecommendationDto> {
        let items = match parent.and_then(|o| o.get("recommendations")) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.fail(
                    "recommendations".to_owned(),
                    format!("expected an array, got {}", type_name(other)),
                );
                return Vec::new();
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("recommendations[{i}]");
                let obj = self.object(&p, item, RECOMMENDATION_FIELDS);
                RecommendationDto {
                    code: self.string(obj, &p, "code"),
                    name: self.string(obj, &p, "name"),
                    urgency: self.string(obj, &p, "urgency"),
                    labor_estimate: self.string(obj, &p, "labor_estimate"),
                    parts_estimate: self.string(obj, &p, "parts_estimate"),
                }
            })
            .collect()
    }

    /// Whether `field` is at or under a path whose value was a placeholder.
    fn is_broken(&self, field: &str) -> bool {
        self.broken.iter().any(|b| {
            field == b
                || b == "$"
                || (field.starts_with(b.as_str())
                    && matches!(field.as_bytes().get(b.len()), Some(b'.' | b'[')))
        })
    }
}
