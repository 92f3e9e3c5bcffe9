//! A resource's metadata checked against its product's schema (Vercel's JSON Schema with `ui:`
//! controls): the fields Vercel's form sends must be the ones the product declares, of the
//! declared type, within its `enum` and bounds, the required ones present. What is wrong is said
//! field by field, as Vercel's `validation_error` lists them.

use serde_json::Value;

/// Each metadata field at fault, as (`metadata.{key}`, what is wrong). A product without a
/// schema takes any object.
pub fn problems(schema: Option<&Value>, metadata: &Value) -> Vec<(String, String)> {
    let Some(given) = metadata.as_object() else {
        return vec![("metadata".to_owned(), "must be an object".to_owned())];
    };
    let Some(schema) = schema else { return Vec::new() };
    let empty = serde_json::Map::new();
    let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let mut problems = Vec::new();
    let mut fault = |key: &str, message: String| problems.push((format!("metadata.{key}"), message));
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if given.get(required).is_none_or(Value::is_null) {
            fault(required, "is required".to_owned());
        }
    }
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (key, value) in given {
        match properties.get(key) {
            Some(property) => {
                if let Some(message) = mismatch(property, value) {
                    fault(key, message);
                }
            }
            None if closed => fault(key, "is not a field of this product".to_owned()),
            None => {}
        }
    }
    problems
}

/// What is wrong with one value, if anything.
fn mismatch(property: &Value, value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let kind = property.get("type").and_then(Value::as_str).unwrap_or("");
    let fits = match kind {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "array" => value.as_array().is_some_and(|items| {
            let item = property.get("items");
            items.iter().all(|v| item.is_none_or(|item| mismatch(item, v).is_none()))
        }),
        _ => true,
    };
    if !fits {
        return Some(format!("must be of type {kind}"));
    }
    if let Some(allowed) = property.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Some("is not one of the allowed values".to_owned());
        }
    }
    if let Some(number) = value.as_f64() {
        if property.get("minimum").and_then(Value::as_f64).is_some_and(|min| number < min) {
            return Some("is below the minimum".to_owned());
        }
        if property.get("maximum").and_then(Value::as_f64).is_some_and(|max| number > max) {
            return Some("is above the maximum".to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::problems;

    #[test]
    fn each_field_at_fault_is_named() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["region"],
            "properties": {
                "region": {"type": "string", "ui:control": "vercel-region", "enum": ["iad1", "fra1"]},
                "replicas": {"type": "number", "ui:control": "input", "minimum": 1, "maximum": 5},
                "regions": {"type": "array", "items": {"type": "string"}, "ui:control": "multi-vercel-region"},
            },
        });
        let fine = json!({"region": "fra1", "replicas": 2, "regions": ["iad1"]});
        assert!(problems(Some(&schema), &fine).is_empty());
        let wrong = json!({"replicas": 9, "regions": [1], "colour": "red"});
        let keys: Vec<String> = problems(Some(&schema), &wrong).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["metadata.region", "metadata.colour", "metadata.regions", "metadata.replicas"]);
        assert_eq!(problems(Some(&schema), &json!({"region": "mars"}))[0].1, "is not one of the allowed values");
        assert_eq!(problems(None, &json!([1]))[0].0, "metadata");
        assert!(problems(None, &json!({"anything": 1})).is_empty());
    }
}
