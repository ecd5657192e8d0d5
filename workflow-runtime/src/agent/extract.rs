//! Structured output: the JSON schema sent for a type, and reading the answer back as one.

use std::fmt::Write as _;

use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;

use crate::provider::ResponseSchema;
use crate::Error;

/// The response schema for `T`: the JSON schema schemars derives from it, named after it.
pub(super) fn schema<T: JsonSchema>() -> ResponseSchema {
    let schema = SchemaGenerator::default().into_root_schema_for::<T>();
    ResponseSchema::new(schema_name(&T::schema_name()), schema.to_value())
}

/// `name` as providers accept schema and tool names: letters, digits, `_` and `-`, at most 64.
pub(super) fn schema_name(name: &str) -> String {
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
    let json = unfenced(text);
    serde_json::from_str(json)
        .or_else(|error| match escape_controls(json) {
            Some(escaped) => serde_json::from_str(&escaped).map_err(|_| error),
            None => Err(error),
        })
        .map_err(|source| Error::Extract {
            agent: agent.to_owned(),
            target: std::any::type_name::<T>(),
            reply: text.to_owned(),
            source,
        })
}

/// `json` with the control characters inside its strings escaped (a raw line break becomes
/// `\n`), as Python's `json.loads(strict=False)` reads them: small models, and servers that
/// constrain the answer with a grammar, write raw line breaks in strings. `None` if there are
/// none.
fn escape_controls(json: &str) -> Option<String> {
    let mut out = String::with_capacity(json.len() + 16);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    for c in json.chars() {
        if in_string && !escaped && c < ' ' {
            changed = true;
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                _ => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
            }
            continue;
        }
        match c {
            '"' if !escaped => in_string = !in_string,
            '\\' if in_string && !escaped => {
                escaped = true;
                out.push(c);
                continue;
            }
            _ => {}
        }
        escaped = false;
        out.push(c);
    }
    changed.then_some(out)
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
    use super::{escape_controls, parse, schema_name, unfenced};
    use crate::Error;

    #[test]
    fn fences_are_stripped_and_bare_json_is_left_alone() {
        assert_eq!(unfenced("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(unfenced("  ```\n[1, 2]\n```  "), "[1, 2]");
        assert_eq!(unfenced("{\"a\": \"```\"}"), "{\"a\": \"```\"}");
        assert_eq!(unfenced("```json {\"a\": 1}"), "```json {\"a\": 1}");
    }

    #[test]
    fn raw_control_characters_in_strings_are_read_as_escaped() {
        let raw = "{\"a\": \"two\nlines\tand\u{1}\", \"b\": \"q\\\"\n\"}";
        let escaped = escape_controls(raw).expect("changed");
        assert_eq!(escaped, r#"{"a": "two\nlines\tand\u0001", "b": "q\"\n"}"#);
        let value: serde_json::Value = parse("critic", raw).expect("read");
        assert_eq!(value["a"], "two\nlines\tand\u{1}");
        assert_eq!(value["b"], "q\"\n");
        // Line breaks between tokens are JSON already; nothing to escape.
        assert_eq!(escape_controls("{\n  \"a\": 1\n}"), None);
        assert_eq!(escape_controls(r#"{"a": "\\"}"#), None);
        // Still not JSON: the first error is reported.
        let error = parse::<serde_json::Value>("critic", "{\"a\": \"x\ny").expect_err("not JSON");
        assert!(matches!(error, Error::Extract { .. }));
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
