//! Structured output: the JSON schema sent for a type, and reading the answer back as one.

use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;

use crate::provider::ResponseSchema;
use crate::Error;

/// The response schema for `T`: the JSON schema schemars derives from it, named after it.
pub(super) fn schema<T: JsonSchema>() -> ResponseSchema {
    let schema = SchemaGenerator::default().into_root_schema_for::<T>();
    ResponseSchema::new(schema_name(&T::schema_name()), schema.to_value())
}

/// `name` as providers accept schema names: letters, digits, `_` and `-`, at most 64.
fn schema_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "response".to_owned()
    } else {
        name
    }
}

/// Reads `text`, the answer of agent `agent`, as a `T`.
///
/// # Errors
///
/// [`Error::Extract`] if it is not JSON that deserializes into `T`.
pub(super) fn parse<T: DeserializeOwned>(agent: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(unfenced(text)).map_err(|source| Error::Extract {
        agent: agent.to_owned(),
        target: std::any::type_name::<T>(),
        reply: text.to_owned(),
        source,
    })
}

/// `text` without the Markdown code fence (```` ```json … ``` ````) some models wrap JSON in.
fn unfenced(text: &str) -> &str {
    let text = text.trim();
    let Some(fenced) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body) = fenced.strip_suffix("```") else {
        return text;
    };
    // Skip the info string (`json`) on the opening line.
    match body.split_once('\n') {
        Some((_, body)) => body.trim(),
        None => body.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::{schema_name, unfenced};

    #[test]
    fn fences_are_stripped_and_bare_json_is_left_alone() {
        assert_eq!(unfenced("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(unfenced("  ```\n[1, 2]\n```  "), "[1, 2]");
        assert_eq!(unfenced("{\"a\": \"```\"}"), "{\"a\": \"```\"}");
        assert_eq!(unfenced("```json {\"a\": 1}"), "```json {\"a\": 1}");
    }

    #[test]
    fn schema_names_are_what_providers_accept() {
        assert_eq!(schema_name("Verdict"), "Verdict");
        assert_eq!(schema_name("Array_of_Verdict"), "Array_of_Verdict");
        assert_eq!(schema_name("Pair<A, B>"), "Pair_A__B_");
        assert_eq!(schema_name(""), "response");
        assert_eq!(schema_name(&"x".repeat(100)).len(), 64);
    }
}
