//! The worker's loop: claim a run when a slot is free, drive it on a task of its own, and stop
//! gracefully.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::serve::{Ended, Serve};
use super::{Worker, WorkerReport};
use crate::error::{describe, Error};
use crate::store::{CheckpointStore, Lease, RunId, RunInfo, WorkNotices};

/// The leases of the runs a worker drives, by run: given up if its grace period ends first.
type InFlight = Arc<Mutex<HashMap<RunId, Lease>>>;

pub(super) async fn run(worker: Worker, stop: CancellationToken) -> WorkerReport {
    let types = worker.types();
    let slots = Arc::new(Semaphore::new(worker.concurrency));
    let in_flight = InFlight::default();
    let mut tasks = JoinSet::new();
    let mut report = WorkerReport::default();
    let store = Arc::clone(worker.runner.store());
    let retention = worker
        .retention
        .map(|job| tokio::spawn(super::retain::run(Arc::clone(&store), job, stop.clone())));
    // What it serves, for tools to show: best effort, as a run's creator records it too.
    for served in &worker.served {
        if let Err(error) = store.save_definition(served.definition()).await {
            tracing::warn!(error = %error, "workflow worker: recording a definition failed");
        }
    }
    let mut notices = store.work_notices();
    // Whether the worker was just woken by a notice: the run it announced, if it announced
    // one alone, is all there is to claim.
    let mut woken = false;
    loop {
        while let Some(ended) = tasks.try_join_next() {
            tally(&mut report, ended.ok());
        }
        let slot = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let lease = worker.runner.new_lease();
        let announced = match (std::mem::take(&mut woken), notices.as_ref()) {
            (true, Some(notices)) => notices.announced(),
            _ => None,
        };
        // What is announced from now on wakes the worker if this claim finds nothing.
        if let Some(notices) = notices.as_mut() {
            notices.mark_seen();
        }
        let claimed = match announced {
            // Every idle worker heard it; the others find it taken, at little cost.
            Some(run) => store.claim_announced(run, &types, &lease).await,
            None => store.claim_next(&types, &lease).await,
        };
        match claimed {
            Ok(Some((info, latest))) => {
                let Some(serve) = served(&worker.served, &info) else {
                    // A store that returned a run of another type: give it back.
                    let _ = store.release(info.id, &lease, None).await;
                    continue;
                };
                lock(&in_flight).insert(info.id, lease.clone());
                let (runner, in_flight) = (worker.runner.clone(), Arc::clone(&in_flight));
                tasks.spawn(async move {
                    let run = info.id;
                    let ended = serve.drive(runner, lease, info, latest).await;
                    lock(&in_flight).remove(&run);
                    drop(slot);
                    ended
                });
            }
            Ok(None) => {
                drop(slot);
                woken = idle(&worker, &stop, notices.as_mut()).await;
            }
            Err(error) => {
                drop(slot);
                unreadable(&*store, &lease, &error).await;
                tracing::warn!(error = %error, "workflow worker: claiming a run failed");
                idle(&worker, &stop, None).await;
            }
        }
    }
    let mut report = wind_down(&worker, &*store, tasks, &in_flight, report).await;
    if let Some(retention) = retention {
        report.deleted = retention.await.unwrap_or_default();
    }
    report
}

/// The workflow `info` is a run of, among those served.
fn served(served: &[Arc<dyn Serve>], info: &RunInfo) -> Option<Arc<dyn Serve>> {
    let known = |serve: &&Arc<dyn Serve>| serve.kind().matches(&info.workflow, info.fingerprint);
    served.iter().find(known).cloned()
}

/// Waits for the poll interval, until the store announces work, or until told to stop:
/// whether work was announced.
async fn idle(
    worker: &Worker,
    stop: &CancellationToken,
    notices: Option<&mut WorkNotices>,
) -> bool {
    let announced = async {
        let heard = match notices {
            Some(notices) => notices.changed().await,
            None => false,
        };
        if !heard {
            // No notices, or a store that stopped announcing: the poll is left.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(worker.poll) => false,
        () = announced => true,
    }
}

/// A run claimed that did not read back: recorded as failed with why, so that it is not
/// picked up again and again.
async fn unreadable(store: &dyn CheckpointStore, lease: &Lease, error: &Error) {
    if let Error::CorruptCheckpoint { run: Some(run), .. } = error {
        let _ = store.release(*run, lease, Some(describe(error))).await;
    }
}

/// Lets the runs in flight finish for the grace period, then drops the rest and gives up
/// their leases.
async fn wind_down(
    worker: &Worker,
    store: &dyn CheckpointStore,
    mut tasks: JoinSet<Ended>,
    in_flight: &InFlight,
    mut report: WorkerReport,
) -> WorkerReport {
    let deadline = tokio::time::sleep(worker.grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ended = tasks.join_next() => match ended {
                Some(ended) => tally(&mut report, ended.ok()),
                None => return report,
            },
            () = &mut deadline => break,
        }
    }
    tasks.shutdown().await;
    let leases: Vec<(RunId, Lease)> = lock(in_flight).drain().collect();
    for (run, lease) in leases {
        // A run dropped gives up its lease itself, in a task of its own: whichever comes
        // first does it, and the other finds it done.
        let _ = store.release(run, &lease, None).await;
        report.released += 1;
    }
    report
}

fn tally(report: &mut WorkerReport, ended: Option<Ended>) {
    match ended {
        Some(Ended::Finished) => report.finished += 1,
        Some(Ended::Suspended) => report.suspended += 1,
        Some(Ended::Sleeping) => report.slept += 1,
        Some(Ended::Failed) | None => report.failed += 1,
    }
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<RunId, Lease>> {
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
}
