//! Workers: [`Worker`] picks up the runs submitted to a store and drives them, many at a time,
//! in as many processes as share the store.

mod retain;
mod serve;
mod work;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::durable::Runner;
use crate::store::{Retention, WorkflowType};
use crate::workflow::Workflow;
use serve::{Serve, Served};

/// Drives the runs in a store that any process [submitted](Runner::submit), and those whose
/// worker died: a pool of workers, in one process or many, on one machine (SQLite) or many
/// (Postgres), sharing the work.
///
/// A worker serves the workflows [registered](Self::register) with it, each known by its
/// name and definition fingerprint. It claims runnable runs of those, oldest first, with an
/// atomic claim that two workers never both win (`FOR UPDATE SKIP LOCKED` on Postgres, one
/// write transaction on SQLite): runs submitted and not yet started, runs whose worker's lease
/// expired (it crashed: this is how runs are recovered, by whichever worker comes first),
/// runs given up by a worker that stopped, runs whose sleep (`-> sleep "1h" ->`) is over, and
/// runs that wait for a signal (`-> receive b`) once a message of it is sent: a run that falls
/// asleep or waits is put aside in the store meanwhile, holding no worker. A run of a workflow
/// or a fingerprint the worker does not serve is left for one that does, never failed. A
/// suspended run waits for its answer; a failed or cancelled one is not picked up.
///
/// It drives at most [`concurrency`](Self::concurrency) runs at once (and, with
/// [`limit`](Self::limit), takes a run of a limited workflow only while fewer than its limit
/// run across all workers), each as
/// [`Runner::resume`] would, with the [`Runner`] it is built from (its lease, owner name,
/// budget, events): the lease is renewed while a step runs, a checkpoint is written after
/// every step, and a run [cancelled](Runner::cancel) by id stops. When told to stop, it
/// claims nothing more, lets the runs it drives finish for up to a
/// [grace period](Self::grace), then drops those still running and gives up their leases,
/// so that another worker takes them over at once.
///
/// # Example
///
/// ```
/// # use std::future::Future;
/// # use workflow_runtime::{Context, Workflow};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use workflow_runtime::{Error, MemoryStore, Runner, Worker};
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
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let runner = Runner::new(Arc::new(MemoryStore::new()));
/// // Any process: submit a run of `Double` (a one-step workflow, hidden here).
/// let run = runner.submit::<Double>(21).await?;
///
/// // A worker process: serve `Double` until told to stop.
/// let worker = Worker::new(runner.clone()).register(Double).concurrency(8).spawn();
///
/// assert_eq!(run.result().await?, 42);
/// let report = worker.stop().await;
/// assert_eq!(report.finished, 1);
/// # Ok(())
/// # }
/// ```
pub struct Worker {
    runner: Runner,
    served: Vec<Arc<dyn Serve>>,
    /// The limits across all workers, by workflow name.
    limits: Vec<(&'static str, u32)>,
    concurrency: usize,
    poll: Duration,
    grace: Duration,
    retention: Option<retain::Job>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("runner", &self.runner)
            .field("serves", &self.types())
            .field("concurrency", &self.concurrency)
            .field("poll", &self.poll)
            .field("grace", &self.grace)
            .field("retention", &self.retention)
            .finish()
    }
}

/// What a worker did, once it has stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerReport {
    /// Runs it drove to the end.
    pub finished: u64,
    /// Runs it drove to a pause, or to a signal none of whose messages was queued.
    pub suspended: u64,
    /// Runs it drove to a sleep (`-> sleep "1h" ->`): put aside in the store until their
    /// time, for whichever worker comes then. A run that sleeps twice counts twice.
    pub slept: u64,
    /// Runs it drove that failed, were cancelled, were lost to another worker, or did not
    /// read back.
    pub failed: u64,
    /// Runs still running when its grace period ended, whose leases it gave up.
    pub released: u64,
    /// Old ended runs its [retention](Worker::retention) job deleted.
    pub deleted: u64,
}

impl Worker {
    /// A worker that drives runs with `runner`, serving no workflow yet, 16 runs at a time.
    pub fn new(runner: Runner) -> Self {
        Worker {
            runner,
            served: Vec::new(),
            limits: Vec::new(),
            concurrency: 16,
            poll: Duration::from_millis(100),
            grace: Duration::from_secs(30),
            retention: None,
        }
    }

    /// Serves `workflow`: picks up runs of its name and definition fingerprint. Register
    /// each workflow the worker is to run; several can share a worker.
    pub fn register<W: Workflow + 'static>(mut self, workflow: W) -> Self {
        self.served.push(Arc::new(Served(workflow)));
        self
    }

    /// Drives at most `runs` runs at once (default 16, at least 1).
    pub fn concurrency(mut self, runs: usize) -> Self {
        self.concurrency = runs.max(1);
        self
    }

    /// Lets at most `runs` runs of workflow `W` (at least 1) run at once across all the
    /// workers sharing the store, in this process and others: a worker claims a run of `W`
    /// only while fewer than `runs` runs of it hold a live lease. The rest wait in the store,
    /// oldest first, and are picked up as places free up. This is how to keep a workflow that
    /// calls a rate-limited provider, or a small downstream service, from being run by every
    /// worker at once; [`concurrency`](Self::concurrency) limits what one worker runs, of all
    /// its workflows together.
    ///
    /// The limit is checked in the claim, atomically: on Postgres each claim of a limited
    /// workflow takes a lock of that workflow for its transaction (`pg_advisory_xact_lock`)
    /// before it counts, on SQLite the claim's write transaction holds the file's write lock,
    /// so two workers never both take the last place. It counts every run of the workflow
    /// (of any fingerprint) holding a live lease, including runs driven by
    /// [`Runner::resume`]; a run that sleeps, waits for a signal or a pause holds none, nor
    /// does one whose worker died, once its lease expires. Each worker passes its own limit
    /// with each claim, so give every worker that serves `W` the same one: a worker without
    /// it takes runs of `W` regardless. On Postgres, claims of limited workflows run on a
    /// second connection of the store, opened when first needed.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use workflow_runtime::{MemoryStore, Runner, Worker, Workflow};
    /// # use workflow_runtime::store::WorkflowType;
    /// # struct Report;
    /// # impl Workflow for Report {
    /// #     type Input = ();
    /// #     type Output = ();
    /// #     type State = ();
    /// #     const NAME: &'static str = "Report";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &[];
    /// #     fn start(_: ()) {}
    /// #     fn finish(_: ()) -> Result<(), ()> { Ok(()) }
    /// #     fn step_name(_: &()) -> &'static str { "end" }
    /// #     fn transition<'a>(&'a self, _: (), _: &'a mut workflow_runtime::Context)
    /// #         -> impl std::future::Future<Output = Result<(), workflow_runtime::Error>>
    /// #         + Send + 'a { async { Ok(()) } }
    /// # }
    /// # let runner = Runner::new(Arc::new(MemoryStore::new()));
    /// // Each worker runs up to 16 runs, but at most 5 `Report`s run at once in all.
    /// let worker = Worker::new(runner).register(Report).limit::<Report>(5).concurrency(16);
    /// assert_eq!(worker.types(), [WorkflowType::new("Report", 1).with_limit(5)]);
    /// ```
    pub fn limit<W: Workflow>(mut self, runs: u32) -> Self {
        self.limits.retain(|(name, _)| *name != W::NAME);
        self.limits.push((W::NAME, runs.max(1)));
        self
    }

    /// Looks for runs to pick up every `every` when there were none (default 100 ms), and
    /// sooner when the store announces work
    /// ([`work_notices`](crate::store::CheckpointStore::work_notices): on Postgres, a run
    /// submitted, a pause answered or a message sent, in any process).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every.max(Duration::from_millis(1));
        self
    }

    /// Once told to stop, lets the runs it drives finish for up to `grace` (default 30 s)
    /// before it drops them and gives up their leases.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Also deletes old ended runs, with all they keep (checkpoints, events, messages), as
    /// [`Runner::delete_runs`] does: the runs `retention` selects, once when the worker starts
    /// and then every `every`, until it stops. The age `retention` was built with is kept: with
    /// [`Retention::older_than`]`(30 days)`, each pass deletes the runs ended more than 30
    /// days before it. Deleting is safe with many workers at once (each run is deleted once),
    /// so every worker may run the job, or one. A pass that fails is logged (`tracing`, at
    /// `warn`) and tried again at the next; [`WorkerReport::deleted`] counts the runs deleted.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use workflow_runtime::{MemoryStore, Runner, Worker};
    /// use workflow_runtime::store::Retention;
    ///
    /// # let runner = Runner::new(Arc::new(MemoryStore::new()));
    /// let month = Retention::older_than(Duration::from_secs(30 * 24 * 3600)).and_failed();
    /// let worker = Worker::new(runner).retention(month, Duration::from_secs(3600));
    /// # let _ = worker;
    /// ```
    pub fn retention(mut self, retention: Retention, every: Duration) -> Self {
        self.retention = Some(retain::Job::new(retention, every));
        self
    }

    /// The workflows it serves, with their [limits](Self::limit).
    pub fn types(&self) -> Vec<WorkflowType> {
        let limit = |kind: WorkflowType| match self.limits.iter().find(|(n, _)| *n == kind.name) {
            Some((_, runs)) => kind.with_limit(*runs),
            None => kind,
        };
        self.served
            .iter()
            .map(|served| limit(served.kind()))
            .collect()
    }

    /// Runs the worker on the current task until `stop` is cancelled, then stops as
    /// [`grace`](Self::grace) says, and reports what it did. A store that fails is tried
    /// again after the poll interval; the failure is logged (`tracing`, at `warn`).
    pub async fn run(self, stop: CancellationToken) -> WorkerReport {
        work::run(self, stop).await
    }

    /// Runs the worker on a task of its own (`tokio::spawn`); the handle stops it.
    pub fn spawn(self) -> WorkerHandle {
        let stop = CancellationToken::new();
        let task = tokio::spawn(self.run(stop.clone()));
        WorkerHandle { stop, task }
    }
}

/// A worker running on a task of its own: [`Worker::spawn`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<WorkerReport>,
}

impl WorkerHandle {
    /// Tells the worker to stop, waits until it has (within its grace period), and reports
    /// what it did. (An empty report if its task was aborted from outside.)
    pub async fn stop(self) -> WorkerReport {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}
