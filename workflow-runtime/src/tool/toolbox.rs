//! [`Toolbox`]: the tools of an agent by name, and what a call of one tells the model.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;

use super::{Tool, ToolError};
use crate::provider::{self, ToolCall};

/// The most characters of arguments that were not JSON repeated back to the model.
const ECHO: usize = 200;

/// Tools by name, with their definitions read once.
#[derive(Clone, Default)]
pub(crate) struct Toolbox {
    entries: Vec<(provider::Tool, Arc<dyn Tool>)>,
}

impl Toolbox {
    /// Adds `tool`, in place of a tool of the same name if there is one.
    pub(crate) fn add(&mut self, tool: Arc<dyn Tool>) {
        let definition = tool.definition();
        match self
            .entries
            .iter_mut()
            .find(|(d, _)| d.name == definition.name)
        {
            Some(entry) => *entry = (definition, tool),
            None => self.entries.push((definition, tool)),
        }
    }

    /// Whether there are no tools.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tools' definitions, in the order they were added.
    pub(crate) fn definitions(&self) -> impl Iterator<Item = &provider::Tool> {
        self.entries.iter().map(|(definition, _)| definition)
    }

    /// The tools' names, in the order they were added.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.definitions().map(|d| d.name.as_str()).collect()
    }

    /// Calls the tool `call` names with its arguments.
    ///
    /// # Errors
    ///
    /// A [`ToolError`] for the model: no tool has that name, the arguments are not a JSON
    /// object, or the tool failed.
    pub(crate) async fn call(&self, call: &ToolCall) -> Result<Value, ToolError> {
        let Some((_, tool)) = self.entries.iter().find(|(d, _)| d.name == call.name) else {
            return Err(unknown(&call.name, &self.names()));
        };
        if let Value::String(raw) = &call.arguments {
            return Err(ToolError::new(format!(
                "the arguments are not valid JSON: `{}`; call `{}` again with a JSON object",
                excerpt(raw),
                call.name
            )));
        }
        tool.call(call.arguments.clone()).await
    }
}

/// The error for a call of `name`, which is none of `names`.
pub(crate) fn unknown(name: &str, names: &[&str]) -> ToolError {
    let mut message = format!("there is no tool `{name}`");
    match names.split_first() {
        None => message.push_str("; answer without tools"),
        Some((first, rest)) => {
            let _ = write!(message, "; call one of `{first}`");
            for name in rest {
                let _ = write!(message, ", `{name}`");
            }
        }
    }
    ToolError::new(message)
}

/// What the model is told of a call that ended with `result`: a string result as it is, any
/// other as JSON, and an error as `error: ` and its message.
pub(crate) fn content(result: &Result<Value, ToolError>) -> String {
    match result {
        Ok(Value::String(text)) => text.clone(),
        Ok(value) => value.to_string(),
        Err(error) => format!("error: {error}"),
    }
}

/// The first [`ECHO`] characters of `text`.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(ECHO) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{content, unknown, ToolError};

    #[test]
    fn the_model_is_told_what_to_do_instead() {
        assert_eq!(
            unknown("wether", &["weather", "time"]).message(),
            "there is no tool `wether`; call one of `weather`, `time`"
        );
        assert_eq!(
            unknown("x", &[]).message(),
            "there is no tool `x`; answer without tools"
        );
        assert_eq!(content(&Ok(json!("sunny"))), "sunny");
        assert_eq!(content(&Ok(json!({"a": 1}))), r#"{"a":1}"#);
        assert_eq!(content(&Err(ToolError::new("down"))), "error: down");
    }
}
