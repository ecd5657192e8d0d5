//! What the store records of a workflow's definition, so that tools without the workflow's
//! code can show it: [`WorkflowDefinition`], the [`PauseDefinition`] of each pause and the
//! [`SignalDefinition`] of each signal.

use serde::{Deserialize, Serialize};

/// A pause of a workflow, as [`Workflow::pauses`](crate::Workflow::pauses) describes it: the
/// step it waits before, and the value it takes.
///
/// ```
/// use workflow_runtime::PauseDefinition;
///
/// let approve = PauseDefinition::new("approve", "bool", None);
/// assert_eq!(approve.value_type, "bool");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PauseDefinition {
    /// The step that runs once the value is given.
    pub step: String,
    /// The Rust type of the value it takes (`core::any::type_name`), for people.
    pub value_type: String,
    /// The JSON Schema of that value, if its type implements
    /// [`JsonSchema`](schemars::JsonSchema): tools check an answer against it before they
    /// record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

impl PauseDefinition {
    /// The pause before step `step`, which takes a value of type `value_type`, described by
    /// the JSON Schema `schema` if known.
    pub fn new(
        step: impl Into<String>,
        value_type: impl Into<String>,
        schema: Option<serde_json::Value>,
    ) -> Self {
        PauseDefinition {
            step: step.into(),
            value_type: value_type.into(),
            schema,
        }
    }
}

/// A signal a workflow receives, as [`Workflow::signals`](crate::Workflow::signals)
/// describes it: the name its messages are queued under, the steps that receive it, and the
/// type of its messages.
///
/// ```
/// use workflow_runtime::SignalDefinition;
///
/// let reminder = SignalDefinition::new("Reminder", &["remind"], "app::Reminder", None);
/// assert_eq!(reminder.steps, ["remind"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignalDefinition {
    /// The name messages are queued under: [`Signal::SIGNAL`](crate::Signal::SIGNAL), the
    /// message type as written in the `receive` step.
    pub name: String,
    /// The steps that receive it (`a -> receive b` in `flow!`: `b`).
    pub steps: Vec<String>,
    /// The Rust type of its messages (`core::any::type_name`), for people.
    pub value_type: String,
    /// The JSON Schema of its messages, if their type implements
    /// [`JsonSchema`](schemars::JsonSchema): tools check a message against it before they
    /// queue it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

impl SignalDefinition {
    /// Signal `name`, received by `steps`, whose messages are of type `value_type`, described
    /// by the JSON Schema `schema` if known.
    pub fn new(
        name: impl Into<String>,
        steps: &[&str],
        value_type: impl Into<String>,
        schema: Option<serde_json::Value>,
    ) -> Self {
        SignalDefinition {
            name: name.into(),
            steps: steps.iter().map(|step| (*step).to_owned()).collect(),
            value_type: value_type.into(),
            schema,
        }
    }
}

/// A workflow's definition, as a store records it once per name and fingerprint
/// ([`CheckpointStore::save_definition`](crate::store::CheckpointStore::save_definition)):
/// what `workflow show` and the console show of a run's graph without its code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowDefinition {
    /// [`Workflow::NAME`](crate::Workflow::NAME).
    pub name: String,
    /// [`Workflow::FINGERPRINT`](crate::Workflow::FINGERPRINT).
    pub fingerprint: u64,
    /// [`Workflow::STEPS`](crate::Workflow::STEPS).
    pub steps: Vec<String>,
    /// [`Workflow::MERMAID`](crate::Workflow::MERMAID): the graph as a Mermaid flowchart, empty
    /// if unknown.
    pub mermaid: String,
    /// [`Workflow::pauses`](crate::Workflow::pauses).
    pub pauses: Vec<PauseDefinition>,
    /// [`Workflow::signals`](crate::Workflow::signals); `None` in a definition recorded by a
    /// version of `workflow` that did not record them (tools then check nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<Vec<SignalDefinition>>,
}

impl WorkflowDefinition {
    /// The pause before step `step`, if the workflow has one.
    pub fn pause(&self, step: &str) -> Option<&PauseDefinition> {
        self.pauses.iter().find(|pause| pause.step == step)
    }

    /// Signal `name`, if the workflow receives it: `None` if it does not, or if the
    /// definition does not record its signals ([`signals`](Self::signals) is `None`).
    pub fn signal(&self, name: &str) -> Option<&SignalDefinition> {
        let signals = self.signals.as_deref().unwrap_or_default();
        signals.iter().find(|signal| signal.name == name)
    }
}

// What the SQL stores read and write (the memory store keeps the value itself).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl WorkflowDefinition {
    /// The definition as a store keeps it: JSON.
    pub(crate) fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A definition a store kept, `text`: [`Error::CorruptCheckpoint`] if it does not read
    /// back.
    ///
    /// [`Error::CorruptCheckpoint`]: crate::Error::CorruptCheckpoint
    pub(crate) fn from_stored(text: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(text).map_err(|error| crate::Error::CorruptCheckpoint {
            run: None,
            seq: None,
            reason: "a stored workflow definition does not read back".into(),
            source: Some(error.into()),
        })
    }
}

/// The JSON Schema of `T` if it implements [`JsonSchema`](schemars::JsonSchema), else `None`:
/// what `#[workflow]` calls for each pause, as `(&&SchemaOf::<T>::new()).schema()` (the
/// method is found on `&SchemaOf<T>` when the bound holds, on `SchemaOf<T>` otherwise).
#[doc(hidden)]
pub struct SchemaOf<T>(core::marker::PhantomData<T>);

impl<T> SchemaOf<T> {
    #[doc(hidden)]
    pub const fn new() -> Self {
        SchemaOf(core::marker::PhantomData)
    }
}

impl<T> Default for SchemaOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`SchemaOf`] for a type with a schema.
#[doc(hidden)]
pub trait WithSchema {
    /// Its JSON Schema.
    fn schema(&self) -> Option<serde_json::Value>;
}

impl<T: schemars::JsonSchema> WithSchema for &SchemaOf<T> {
    fn schema(&self) -> Option<serde_json::Value> {
        serde_json::to_value(schemars::schema_for!(T)).ok()
    }
}

/// [`SchemaOf`] for any other type.
#[doc(hidden)]
pub trait WithoutSchema {
    /// None.
    fn schema(&self) -> Option<serde_json::Value>;
}

impl<T> WithoutSchema for SchemaOf<T> {
    fn schema(&self) -> Option<serde_json::Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Decision {
        approved: bool,
    }

    struct Opaque;

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn a_definition_stored_without_signals_reads_back_with_none() {
        let old = r#"{"name":"A","fingerprint":1,"steps":["a"],"mermaid":"","pauses":[]}"#;
        let read = WorkflowDefinition::from_stored(old).expect("reads back");
        assert_eq!(read.signals, None);
        assert!(read.signal("Reminder").is_none());

        let mut new = read;
        let reminder = SignalDefinition::new("Reminder", &["remind"], "Reminder", None);
        new.signals = Some(vec![reminder.clone()]);
        let again = WorkflowDefinition::from_stored(&new.to_stored()).expect("reads back");
        assert_eq!(again.signal("Reminder"), Some(&reminder));
        new.signals = Some(Vec::new());
        let none = WorkflowDefinition::from_stored(&new.to_stored()).expect("reads back");
        assert_eq!(
            none.signals,
            Some(Vec::new()),
            "an empty list is kept: it receives none"
        );
    }

    #[test]
    // The borrows pick the method: they are the point.
    #[allow(clippy::needless_borrow)]
    fn a_type_with_a_schema_has_it_and_another_has_none() {
        let schema = (&&SchemaOf::<Decision>::new()).schema().expect("a schema");
        assert_eq!(schema["properties"]["approved"]["type"], "boolean");
        assert_eq!((&&SchemaOf::<Opaque>::new()).schema(), None);
    }
}
