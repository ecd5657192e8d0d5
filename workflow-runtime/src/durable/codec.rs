//! Between a workflow's state and a stored [`Checkpoint`]: writing one, and reading one back
//! with every check a row from outside needs.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::state::Loops;
use crate::store::{BranchRecord, Checkpoint, RunId, RunStatus, END, FORMAT_VERSION};
use crate::usage::SavedUsage;
use crate::workflow::{Pause, Workflow};

/// The size of the buffer `serde_json::to_string` starts with: a state that fits is written
/// there (without checking its UTF-8 again), a larger one into a buffer of its last size.
const SMALL: usize = 128;

/// What a checkpoint needs to know of a workflow, without its type: so that the checkpoints
/// a step saves in its middle go through a `dyn Checkpointer`.
pub(crate) struct Definition<S> {
    pub(crate) name: &'static str,
    pub(crate) fingerprint: u64,
    pub(crate) step_name: fn(&S) -> &'static str,
    pub(crate) pause: fn(&S) -> Option<Pause>,
}

impl<S> Clone for Definition<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Definition<S> {}

impl<S: Serialize + DeserializeOwned> Definition<S> {
    /// The definition of `W`.
    pub(crate) fn of<W: Workflow<State = S>>() -> Self {
        Definition {
            name: W::NAME,
            fingerprint: W::FINGERPRINT,
            step_name: W::step_name,
            pause: W::pause,
        }
    }

    /// Where a run in `state` stands.
    pub(crate) fn status(&self, state: &S) -> RunStatus {
        self.status_at((self.step_name)(state), state)
    }

    /// Where a run in `state`, at step `step`, stands.
    fn status_at(&self, step: &str, state: &S) -> RunStatus {
        if step == END {
            RunStatus::Finished
        } else if (self.pause)(state).is_some() {
            RunStatus::Suspended
        } else {
            RunStatus::Running
        }
    }

    /// Checkpoint `seq` of run `run`, holding `state` and `loops`.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if the state does not serialize.
    pub(crate) fn encode(
        &self,
        run: RunId,
        seq: u64,
        state: &S,
        loops: &Loops,
    ) -> Result<Checkpoint, Error> {
        self.encode_sized(run, seq, state, loops, 0)
    }

    /// [`encode`](Self::encode), writing the state's JSON into a buffer of `size` bytes to
    /// begin with (the length of the state saved last), so that a large state is written
    /// once rather than copied each time its buffer grows.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub(crate) fn encode_sized(
        &self,
        run: RunId,
        seq: u64,
        state: &S,
        loops: &Loops,
        size: usize,
    ) -> Result<Checkpoint, Error> {
        let text = if size <= SMALL {
            serde_json::to_string(state).map_err(|error| self.unsaved(error))?
        } else {
            let mut text = Vec::with_capacity(size);
            serde_json::to_writer(&mut text, state).map_err(|error| self.unsaved(error))?;
            // `serde_json` writes UTF-8; a failure here would be a bug of its own.
            String::from_utf8(text).map_err(|error| Error::Checkpoint {
                workflow: self.name,
                source: error.into(),
            })?
        };
        self.checkpoint(run, seq, state, text, loops)
    }

    /// Checkpoint `seq` of run `run`, holding `state`, already serialized as `text`.
    pub(crate) fn checkpoint(
        &self,
        run: RunId,
        seq: u64,
        state: &S,
        text: String,
        loops: &Loops,
    ) -> Result<Checkpoint, Error> {
        let loops = loops.to_json().map_err(|error| self.unsaved(error))?;
        let step = (self.step_name)(state);
        Ok(Checkpoint {
            run,
            seq,
            workflow: Cow::Borrowed(self.name),
            fingerprint: self.fingerprint,
            format: FORMAT_VERSION,
            step: Cow::Borrowed(step),
            status: self.status_at(step, state),
            state: text,
            loops,
            created_at: SystemTime::now(),
            // Set by whoever saves it: what the run spent is the run's, not the state's.
            usage: SavedUsage::default(),
            branches: Vec::new(),
            child: None,
        })
    }

    pub(crate) fn unsaved(&self, error: serde_json::Error) -> Error {
        Error::Checkpoint {
            workflow: self.name,
            source: error.into(),
        }
    }

    /// Reads `checkpoint` back as a state of this definition, checking everything first.
    fn decode(&self, checkpoint: &Checkpoint) -> Result<(S, Loops), Error> {
        let (run, seq) = (checkpoint.run, checkpoint.seq);
        if checkpoint.format != FORMAT_VERSION {
            return Err(Error::UnsupportedFormat {
                run,
                seq,
                format: checkpoint.format,
                supported: FORMAT_VERSION,
            });
        }
        if checkpoint.workflow != self.name || checkpoint.fingerprint != self.fingerprint {
            return Err(Error::DefinitionMismatch {
                run,
                workflow: self.name,
                fingerprint: self.fingerprint,
                stored_workflow: checkpoint.workflow.to_string(),
                stored_fingerprint: checkpoint.fingerprint,
            });
        }
        let corrupt =
            |reason: String, source: Option<serde_json::Error>| Error::CorruptCheckpoint {
                run: Some(run),
                seq: Some(seq),
                reason,
                source: source.map(Into::into),
            };
        let not_a_state = |error| {
            let reason = format!("its state is not a state of workflow `{}`", self.name);
            corrupt(reason, Some(error))
        };
        let state: S = if checkpoint.branches.is_empty() {
            serde_json::from_str(&checkpoint.state).map_err(not_a_state)?
        } else {
            let merged = with_branches(&checkpoint.state, &checkpoint.branches)
                .map_err(|(reason, source)| corrupt(reason, source))?;
            S::deserialize(merged).map_err(not_a_state)?
        };
        let loops: Loops = serde_json::from_str(&checkpoint.loops).map_err(|error| {
            corrupt(
                "its loop counters are not a list of counts".into(),
                Some(error),
            )
        })?;
        let step = (self.step_name)(&state);
        if step != checkpoint.step {
            let stored = &checkpoint.step;
            let reason =
                format!("it says the run is at step `{stored}`, but its state is at `{step}`");
            return Err(corrupt(reason, None));
        }
        let status = self.status(&state);
        if status != checkpoint.status {
            let stored = checkpoint.status;
            let reason = format!("its status is `{stored}`, but its state is `{status}`");
            return Err(corrupt(reason, None));
        }
        Ok((state, loops))
    }
}

impl Checkpoint {
    /// Reads the checkpoint back as a state of workflow `W` and its loop counters: what a
    /// resumed run continues from. Use it to look at the state at any point of a run's
    /// [`history`](crate::Runner::history).
    ///
    /// # Errors
    ///
    /// - [`Error::UnsupportedFormat`] if the checkpoint was written in another format
    ///   version than [`FORMAT_VERSION`];
    /// - [`Error::DefinitionMismatch`] if it was written by another workflow, or by another
    ///   definition of `W` (another [`Workflow::FINGERPRINT`]);
    /// - [`Error::CorruptCheckpoint`] if the state or the counters do not deserialize, or do
    ///   not agree with the checkpoint's step and status.
    pub fn decode<W: Workflow>(&self) -> Result<(W::State, Loops), Error> {
        Definition::<W::State>::of::<W>().decode(self)
    }
}

/// The state `text` of a fan-out or a map, with each of `branches` in its slot: a state
/// variant serializes as `{"tag": [input, [slot, …]]}`, and a finished slot as
/// `{"done": value}`.
fn with_branches(
    text: &str,
    branches: &[BranchRecord],
) -> Result<serde_json::Value, (String, Option<serde_json::Error>)> {
    let mut state: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| ("its state is not JSON".to_owned(), Some(error)))?;
    let content = state
        .as_object_mut()
        .filter(|variant| variant.len() == 1)
        .and_then(|variant| variant.values_mut().next())
        .and_then(serde_json::Value::as_array_mut)
        .filter(|content| content.len() == 2 && content[1].is_array());
    let Some([input, serde_json::Value::Array(slots)]) = content.map(Vec::as_mut_slice) else {
        let reason = "it has saved branches, but its state is not a fan-out or a map";
        return Err((reason.to_owned(), None));
    };
    // A map has a slot per element, but a hand-edited one may hold fewer: its elements count.
    let limit = slots.len().max(input.as_array().map_or(0, Vec::len));
    for branch in branches {
        let value: serde_json::Value = serde_json::from_str(&branch.value).map_err(|error| {
            let reason = format!(
                "the value saved for its branch {} is not JSON",
                branch.index
            );
            (reason, Some(error))
        })?;
        let index = usize::try_from(branch.index).unwrap_or(usize::MAX);
        if index >= limit {
            let reason = format!(
                "it has a saved branch {}, past its {limit} slots",
                branch.index
            );
            return Err((reason, None));
        }
        if index >= slots.len() {
            slots.resize(index + 1, serde_json::Value::from("pending"));
        }
        slots[index] = serde_json::json!({ "done": value });
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> Definition<u64> {
        Definition {
            name: "Count",
            fingerprint: 7,
            step_name: |state| if *state < 3 { "add" } else { END },
            pause: |_| None,
        }
    }

    #[test]
    fn a_saved_checkpoint_borrows_its_names_and_empty_counters() {
        let checkpoint = definition()
            .encode(RunId::new(), 1, &2, &Loops::new())
            .expect("a number serializes");
        assert!(matches!(checkpoint.workflow, Cow::Borrowed("Count")));
        assert!(matches!(checkpoint.step, Cow::Borrowed("add")));
        assert!(matches!(checkpoint.loops, Cow::Borrowed("[]")));
        assert_eq!(
            (checkpoint.state.as_str(), checkpoint.status),
            ("2", RunStatus::Running)
        );
    }

    #[test]
    fn taken_counters_are_written_out_and_read_back() {
        let mut loops = Loops::new();
        assert!(loops.take(1, 5));
        let definition = definition();
        let checkpoint = definition
            .encode(RunId::new(), 1, &3, &loops)
            .expect("a number serializes");
        assert!(matches!(checkpoint.loops, Cow::Owned(_)));
        assert_eq!(checkpoint.step, END);
        assert_eq!(
            definition.decode(&checkpoint).expect("it reads back"),
            (3, loops)
        );
    }
}
