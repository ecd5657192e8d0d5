//! The calls a durable run's step in flight records, so that the step, run again after a
//! crash or a failed attempt, gets what they returned rather than making them again: the
//! model turns and tool calls of an agent's tool loop, and [`once`] blocks.
//!
//! A call's key says where it was made (the run's workflow, the step, the branch, and the same
//! for each child run it runs in) and which call it was there; the record lives under the
//! checkpoint the step started from, so a step that finishes leaves its records behind.

use std::fmt::Write;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Recorder, Scope};
use crate::error::Error;
use crate::id::RunId;

/// Where the calls made in a scope of a durable run are recorded, and the prefix of their
/// keys.
#[derive(Clone)]
pub(crate) struct Memo {
    recorder: Arc<dyn Recorder>,
    prefix: String,
    run: RunId,
    workflow: &'static str,
}

impl Scope {
    /// Where the calls made in the current future are recorded: `None` outside a durable
    /// run.
    pub(crate) fn memo() -> Option<Memo> {
        Scope::current()?.memo_here()
    }

    /// Where the calls made in this scope are recorded: the recorder of its run, or of the
    /// run its run runs in (a child run, inline in its parent's step).
    fn memo_here(&self) -> Option<Memo> {
        let mut chain = vec![self];
        let mut scope = self;
        let recorder = loop {
            if let Some(recorder) = &scope.run.recorder {
                break Arc::clone(recorder);
            }
            scope = scope.run.parent.as_ref()?;
            chain.push(scope);
        };
        let mut prefix = String::new();
        for scope in chain.iter().rev() {
            let run = &scope.run;
            let step = run.step_name(scope.step()).unwrap_or("-");
            let _ = write!(prefix, "{}.{step}", run.workflow);
            if let Some(branch) = &scope.branch {
                let _ = write!(prefix, "[{}]", branch.index);
            }
            prefix.push('/');
        }
        Some(Memo {
            recorder,
            prefix,
            run: scope.run.id,
            workflow: scope.run.workflow,
        })
    }

    /// Tells the recorder that the step this scope runs starts another attempt: the calls
    /// it makes are counted from the first again, and so find what the failed attempt
    /// recorded.
    pub(crate) fn restart_calls(&self) {
        if let Some(memo) = self.memo_here() {
            memo.recorder.restart(&memo.prefix);
        }
    }
}

impl Memo {
    /// The key of a call named `name` made here: `name` with where it was made, and how many
    /// calls of that name this step (its current attempt) made here before it, so that a step
    /// that makes the same call twice finds each one's record.
    pub(crate) fn key(&self, name: &str) -> String {
        let key = format!("{}{name}", self.prefix);
        let nth = self.recorder.occurrence(&key);
        format!("{key}#{nth}")
    }

    /// What call `key` returned, if it is recorded.
    ///
    /// # Errors
    ///
    /// The store's; [`Error::CorruptCheckpoint`] if the record is not a `T`.
    pub(crate) async fn recall<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let Some(json) = self.recorder.recall(key).await? else {
            return Ok(None);
        };
        let value = serde_json::from_str(&json).map_err(|error| Error::CorruptCheckpoint {
            run: Some(self.run),
            seq: None,
            reason: format!(
                "the record of call `{key}` of the step in flight does not read back as what \
                 the call returns; the code changed since it was recorded?"
            ),
            source: Some(Box::new(error)),
        })?;
        Ok(Some(value))
    }

    /// Records `value` as what call `key` returned.
    ///
    /// # Errors
    ///
    /// The store's ([`Error::LeaseLost`] if the run is no longer this worker's);
    /// [`Error::Checkpoint`] if `value` does not serialize.
    pub(crate) async fn remember<T: Serialize>(&self, key: String, value: &T) -> Result<(), Error> {
        let json = serde_json::to_string(value).map_err(|error| Error::Checkpoint {
            workflow: self.workflow,
            source: error.into(),
        })?;
        self.recorder.remember(key, json).await
    }

    /// What `future` returns, recorded under `key`: the record if there is one, without
    /// running `future`; else runs it, and records what it returns if it succeeds.
    ///
    /// # Errors
    ///
    /// `future`'s; those of [`recall`](Self::recall) and [`remember`](Self::remember).
    pub(crate) async fn recorded<T, E, F>(&self, key: String, future: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.recall(&key).await? {
            return Ok(value);
        }
        let value = future.await?;
        self.remember(key, &value).await?;
        Ok(value)
    }
}

/// Runs `future` at most once per step of a durable run, whatever happens to the step: what
/// it returns is recorded as soon as it succeeds, and the step, run again after a crash or a
/// failed attempt, gets the record back without running `future` again. This is the tool
/// for a side effect inside a step (a payment, an email, a write to another system): the
/// rest of the step may run again, this does not.
///
/// `key` names the call in its step: the step, the branch of a fan-out or a map, and the
/// child runs it runs in are added to it, and so is how many calls with the same `key` the
/// step made before, so that a step calling `once` in a loop finds each call's record in
/// turn. Concurrent calls in one step (or one branch) should have keys of their own: the
/// order they are counted in is the order they start in.
///
/// A failure is not recorded: the step, run again, runs `future` again. A `future` that
/// crashes the process halfway may have done its side effect without a record: only the call
/// in flight may run twice. Outside a durable run (in memory, or outside any run), `future`
/// just runs. `T` is kept as JSON, in the run's store, until the run is deleted or
/// [pruned](crate::store::CheckpointStore::prune) past the step.
///
/// # Example
///
/// A durable step that charges a card, then fails; resumed, it does not charge again:
///
/// ```
/// use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// use workflow_runtime::{once, Context, Error, MemoryStore, Runner, Workflow};
/// # use serde::{Deserialize, Serialize};
///
/// struct Checkout {
///     charged: AtomicU32,
///     fail: AtomicBool,
/// }
///
/// impl Checkout {
///     /// The step: the charge is made once, even if the step runs again.
///     async fn checkout(&self, cents: u32) -> Result<String, Error> {
///         let receipt: u32 = once("charge", async {
///             Ok::<_, Error>(self.charged.fetch_add(cents, Ordering::SeqCst) + cents)
///         })
///         .await?;
///         if self.fail.swap(false, Ordering::SeqCst) {
///             return Err(Error::other(std::io::Error::other("the shop went down")));
///         }
///         Ok(format!("receipt {receipt}"))
///     }
/// }
/// # #[derive(Serialize, Deserialize)]
/// # enum State { Checkout(u32), Done(String) }
/// # impl Workflow for Checkout {
/// #     type Input = u32; type Output = String; type State = State;
/// #     const NAME: &'static str = "Checkout"; const FINGERPRINT: u64 = 1;
/// #     const STEPS: &'static [&'static str] = &["checkout"];
/// #     fn start(cents: u32) -> State { State::Checkout(cents) }
/// #     fn finish(state: State) -> Result<String, State> {
/// #         match state { State::Done(out) => Ok(out), other => Err(other) }
/// #     }
/// #     fn step_name(state: &State) -> &'static str {
/// #         match state { State::Checkout(_) => "checkout", State::Done(_) => "end" }
/// #     }
/// #     async fn transition(&self, state: State, _: &mut Context) -> Result<State, Error> {
/// #         match state {
/// #             State::Checkout(cents) => Ok(State::Done(self.checkout(cents).await?)),
/// #             done => Ok(done),
/// #         }
/// #     }
/// # }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let shop = Checkout { charged: AtomicU32::new(0), fail: AtomicBool::new(true) };
/// let runner = Runner::new(Arc::new(MemoryStore::new()));
/// let failed = runner.start(&shop, 250).await?;
/// let id = failed.id;
/// assert!(failed.into_output().is_err());
/// let resumed = runner.resume(&shop, id).await?;
/// assert_eq!(resumed.into_output()?, "receipt 250");
/// assert_eq!(shop.charged.load(Ordering::SeqCst), 250);
///
/// // Outside a durable run, the block just runs.
/// assert_eq!(shop.checkout(100).await?, "receipt 350");
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// `future`'s; and, in a durable run, the store's when it reads or writes the record
/// ([`Error::LeaseLost`] if the run is no longer this worker's), [`Error::CorruptCheckpoint`]
/// if the record does not read back as a `T`, [`Error::Checkpoint`] if the value does not
/// serialize.
pub async fn once<T, E, F>(key: &str, future: F) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    E: From<Error>,
    F: Future<Output = Result<T, E>>,
{
    match Scope::memo() {
        None => future.await,
        Some(memo) => {
            let key = memo.key(&format!("once:{key}"));
            memo.recorded(key, future).await
        }
    }
}
