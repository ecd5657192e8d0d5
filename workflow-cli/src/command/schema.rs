//! A JSON Schema check of the subset `schemars` writes for Rust types: `type`, `enum`,
//! `const`, `properties` / `required` / `additionalProperties`, `items`, `oneOf` / `anyOf` /
//! `allOf`, and `$ref`s into `$defs` (or `definitions`). Keywords it does not know (formats,
//! ranges) pass: the worker that gives the answer is the last word on it.

use serde_json::Value;

/// Why `value` does not fit `schema`, at which path.
pub(crate) fn check(schema: &Value, value: &Value) -> Result<(), String> {
    Check { root: schema }.value(schema, value, "$", 0)
}

struct Check<'a> {
    root: &'a Value,
}

/// How deep `$ref`s may nest: a recursive type's schema ends there.
const MAX_DEPTH: u32 = 64;

impl Check<'_> {
    fn value(&self, schema: &Value, value: &Value, at: &str, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let Some(schema) = schema.as_object() else {
            // `true` takes anything, `false` nothing.
            return match schema {
                Value::Bool(false) => Err(format!("{at}: no value is allowed here")),
                _ => Ok(()),
            };
        };
        if let Some(Value::String(target)) = schema.get("$ref") {
            let resolved = self
                .resolve(target)
                .ok_or(format!("{at}: unknown `$ref` {target}"))?;
            self.value(resolved, value, at, depth + 1)?;
        }
        if let Some(kinds) = schema.get("type") {
            type_fits(kinds, value)
                .map_err(|expected| format!("{at}: expected {expected}, found {}", kind(value)))?;
        }
        if let Some(Value::Array(options)) = schema.get("enum") {
            if !options.contains(value) {
                return Err(format!("{at}: expected one of {}", list(options)));
            }
        }
        if let Some(constant) = schema.get("const") {
            if constant != value {
                return Err(format!("{at}: expected {constant}"));
            }
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for schema in all {
                self.value(schema, value, at, depth + 1)?;
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(options)) = schema.get(key) {
                self.one_of(options, value, at, depth)?;
            }
        }
        self.object(schema, value, at, depth)?;
        if let (Some(items), Value::Array(elements)) = (schema.get("items"), value) {
            for (index, element) in elements.iter().enumerate() {
                self.value(items, element, &format!("{at}[{index}]"), depth + 1)?;
            }
        }
        Ok(())
    }

    /// At least one of `options` fits `value` (a `oneOf` of disjoint variants, as `schemars`
    /// writes for enums, fits exactly one).
    fn one_of(&self, options: &[Value], value: &Value, at: &str, depth: u32) -> Result<(), String> {
        let mut reasons = Vec::new();
        for option in options {
            match self.value(option, value, at, depth + 1) {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(match reasons.as_slice() {
            [one] => one.clone(),
            _ => format!(
                "{at}: fits none of its {} forms ({})",
                options.len(),
                reasons.join("; ")
            ),
        })
    }

    fn object(
        &self,
        schema: &serde_json::Map<String, Value>,
        value: &Value,
        at: &str,
        depth: u32,
    ) -> Result<(), String> {
        let Value::Object(fields) = value else {
            return Ok(());
        };
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(format!("{at}: missing field `{name}`"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in fields {
            let inner = format!("{at}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => self.value(property, field, &inner, depth + 1)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: unknown field `{name}`"));
                    }
                    Some(extra @ Value::Object(_)) => {
                        self.value(extra, field, &inner, depth + 1)?;
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// The schema `#/$defs/Name` (or `#/definitions/Name`, or `#`) names.
    fn resolve(&self, target: &str) -> Option<&Value> {
        let path = target.strip_prefix('#')?;
        path.split('/')
            .filter(|part| !part.is_empty())
            .try_fold(self.root, |schema, part| {
                schema.get(part.replace("~1", "/").replace("~0", "~"))
            })
    }
}

/// Whether `value` is of the JSON type (or one of the types) `kinds` names; else what was
/// expected.
fn type_fits(kinds: &Value, value: &Value) -> Result<(), String> {
    let kinds: Vec<&str> = match kinds {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let fits = |expected: &str| match expected {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        other => other == kind(value),
    };
    match kinds.iter().any(|expected| fits(expected)) {
        true => Ok(()),
        false => Err(kinds.join(" or ")),
    }
}

/// The JSON type of `value`.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn list(options: &[Value]) -> String {
    let options: Vec<String> = options.iter().map(Value::to_string).collect();
    options.join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    /// What `schemars` writes for `enum Decision { Approve, Reject { reason: String } }`.
    fn decision() -> serde_json::Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Decision",
            "oneOf": [
                { "type": "string", "const": "Approve" },
                {
                    "type": "object",
                    "properties": { "Reject": { "$ref": "#/$defs/Reject" } },
                    "required": ["Reject"],
                    "additionalProperties": false
                }
            ],
            "$defs": {
                "Reject": {
                    "type": "object",
                    "properties": { "reason": { "type": "string" } },
                    "required": ["reason"]
                }
            }
        })
    }

    #[test]
    fn values_of_the_type_fit_and_others_say_why_not() {
        let schema = decision();
        assert_eq!(check(&schema, &json!("Approve")), Ok(()));
        assert_eq!(
            check(&schema, &json!({"Reject": {"reason": "long"}})),
            Ok(())
        );
        let wrong = check(&schema, &json!("yes")).expect_err("not a variant");
        assert!(wrong.contains("expected \"Approve\""), "{wrong}");
        let missing = check(&schema, &json!({"Reject": {}})).expect_err("no reason");
        assert!(missing.contains("missing field `reason`"), "{missing}");
        let typed = check(&schema, &json!({"Reject": {"reason": 3}})).expect_err("a number");
        assert!(
            typed.contains("$.Reject.reason: expected string"),
            "{typed}"
        );
        assert!(check(&json!({"type": "integer"}), &json!(1.5)).is_err());
        assert_eq!(
            check(&json!({"type": ["integer", "null"]}), &json!(null)),
            Ok(())
        );
    }
}
