//! Recording the definitions of the workflows a runner creates runs of, once each.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use super::Runner;
use crate::definition::WorkflowDefinition;
use crate::workflow::Workflow;

/// The workflows (name and fingerprint) whose definition a runner has recorded.
pub(super) type Defined = Mutex<HashSet<(&'static str, u64)>>;

impl Runner {
    /// Records the definition of `W` in the store, the first time this runner (or a clone)
    /// creates a run of it. Best effort: a store that fails now is asked again next time, and
    /// the run is created all the same (its definition is for tools to show).
    pub(super) async fn define<W: Workflow>(&self) {
        let key = (W::NAME, W::FINGERPRINT);
        let lock = || self.defined.lock().unwrap_or_else(PoisonError::into_inner);
        if lock().contains(&key) {
            return;
        }
        let definition = WorkflowDefinition::of::<W>();
        if self.store.save_definition(definition).await.is_ok() {
            lock().insert(key);
        }
    }
}

// Here, above both the store and the `Workflow` trait, which the store may not import.
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
    /// assert_eq!(definition.signals, Some(vec![])); // it receives none
    /// ```
    pub fn of<W: Workflow>() -> Self {
        WorkflowDefinition {
            name: W::NAME.to_owned(),
            fingerprint: W::FINGERPRINT,
            steps: W::STEPS.iter().map(|step| (*step).to_owned()).collect(),
            mermaid: W::MERMAID.to_owned(),
            pauses: W::pauses(),
            signals: Some(W::signals()),
        }
    }
}
