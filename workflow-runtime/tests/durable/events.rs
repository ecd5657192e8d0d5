//! The event log: what a store keeps of a run's events, and what a durable run writes there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workflow_runtime::store::{
    Checkpoint, Lease, LoggedEvent, NewEvent, Retention, RunId, RunStatus,
};
use workflow_runtime::{Error, Runner};

use crate::stores::Fixture;
use crate::workflows::Chain;

/// An event at `millis` after the epoch, whose JSON is `{"type":"<name>"}`.
fn event(millis: u64, name: &str) -> NewEvent {
    let at = UNIX_EPOCH + Duration::from_millis(millis);
    NewEvent::new(at, format!(r#"{{"type":"{name}"}}"#))
}

/// The numbers and JSON of `page`.
fn entries(page: &[LoggedEvent]) -> Vec<(u64, &str)> {
    page.iter()
        .map(|entry| (entry.seq, entry.event.as_str()))
        .collect()
}

pub(crate) async fn the_store_numbers_and_pages_a_run_s_log(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    let id = runner.create::<Chain>(1).await.expect("created");
    assert!(store.events(id, 0, 10).await.expect("reads").is_empty());
    let lease = Lease::new("worker", Duration::from_secs(30));
    let (_, first) = store.claim(id, &lease).await.expect("claims");
    let next = |seq| Checkpoint {
        seq,
        ..first.clone()
    };

    let two = vec![event(1_000, "a"), event(2_000, "b")];
    store
        .save_logged(&lease, next(1), two)
        .await
        .expect("saves");
    // A save that is refused logs nothing either.
    let refused = store
        .save_logged(&lease, next(1), vec![event(3_000, "lost")])
        .await;
    assert!(
        matches!(refused, Err(Error::VersionConflict { .. })),
        "{refused:?}"
    );
    let stranger = Lease::new("stranger", Duration::from_secs(30));
    let refused = store
        .save_logged(&stranger, next(2), vec![event(3_000, "lost")])
        .await;
    assert!(
        matches!(refused, Err(Error::LeaseLost { .. })),
        "{refused:?}"
    );
    // An append goes on from the last entry, with no lease.
    store
        .append_events(id, vec![event(3_000, "c")])
        .await
        .expect("appends");
    store
        .append_events(id, Vec::new())
        .await
        .expect("appends nothing");
    let last = Checkpoint {
        status: RunStatus::Finished,
        ..next(2)
    };
    store
        .save_logged(&lease, last, vec![event(4_000, "d")])
        .await
        .expect("saves");

    let all = store.events(id, 0, 100).await.expect("reads");
    let want = [
        (0, r#"{"type":"a"}"#),
        (1, r#"{"type":"b"}"#),
        (2, r#"{"type":"c"}"#),
        (3, r#"{"type":"d"}"#),
    ];
    assert_eq!(entries(&all), want);
    assert_eq!(all[2].at, UNIX_EPOCH + Duration::from_millis(3_000));
    let page = store.events(id, 1, 2).await.expect("reads");
    assert_eq!(entries(&page), want[1..3]);
    assert!(store.events(id, 4, 10).await.expect("reads").is_empty());
    assert!(store
        .events(id, u64::MAX, 10)
        .await
        .expect("reads")
        .is_empty());

    // Pruning history keeps the log; deleting the run deletes it.
    store.prune(id, 1).await.expect("prunes");
    assert_eq!(store.events(id, 0, 100).await.expect("reads").len(), 4);
    let future = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(
        store
            .delete_runs(Retention::before(future))
            .await
            .expect("deletes"),
        1
    );
    let gone = store.events(id, 0, 100).await;
    assert!(
        matches!(gone, Err(Error::RunNotFound { run }) if run == id),
        "{gone:?}"
    );

    let unknown = RunId::new();
    let error = store.events(unknown, 0, 10).await.expect_err("no such run");
    assert!(
        matches!(error, Error::RunNotFound { run } if run == unknown),
        "{error:?}"
    );
    let error = store
        .append_events(unknown, vec![event(0, "x")])
        .await
        .expect_err("no such run");
    assert!(
        matches!(error, Error::RunNotFound { run } if run == unknown),
        "{error:?}"
    );
}
