//! The definition of a workflow as stores record it, and how it reads back.

use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::workflow::Workflow;

impl WorkflowDefinition {
    /// The definition of `W`.
    ///
    /// ```
    /// # use std::future::Future;
    /// # use workflow_runtime::{Context, Error, Workflow, WorkflowDefinition};
    /// # struct Double;
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # enum State { Double(u32), End(u32) }
    /// # impl Workflow for Double {
    /// #     type Input = u32;
    /// #     type Output = u32;
    /// #     type State = State;
    /// #     const NAME: &'static str = "Double";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["double"];
    /// #     fn start(input: u32) -> State { State::Double(input) }
    /// #     fn finish(state: State) -> Result<u32, State> {
    /// #         match state { State::End(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &State) -> &'static str {
    /// #         match state { State::Double(_) => "double", State::End(_) => "end" }
    /// #     }
    /// #     fn transition<'a>(&'a self, state: State, _: &'a mut Context)
    /// #         -> impl Future<Output = Result<State, Error>> + Send + 'a {
    /// #         async move { Ok(match state { State::Double(x) => State::End(x * 2), end => end }) }
    /// #     }
    /// # }
    /// // `Double`, written by hand (hidden here), has no diagram and no pause.
    /// let definition = WorkflowDefinition::of::<Double>();
    /// assert_eq!((definition.name.as_str(), definition.fingerprint), ("Double", 1));
    /// assert_eq!(definition.steps, ["double"]);
    /// assert!(definition.mermaid.is_empty() && definition.pauses.is_empty());
    /// ```
    pub fn of<W: Workflow>() -> Self {
        WorkflowDefinition {
            name: W::NAME.to_owned(),
            fingerprint: W::FINGERPRINT,
            steps: W::STEPS.iter().map(|step| (*step).to_owned()).collect(),
            mermaid: W::MERMAID.to_owned(),
            pauses: W::pauses(),
        }
    }

    /// The definition as a store keeps it: JSON.
    pub(crate) fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A definition a store kept, `text`: [`Error::CorruptCheckpoint`] if it does not read
    /// back.
    pub(crate) fn from_stored(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|error| Error::CorruptCheckpoint {
            run: None,
            seq: None,
            reason: "a stored workflow definition does not read back".into(),
            source: Some(error.into()),
        })
    }
}
