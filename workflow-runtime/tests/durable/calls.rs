//! The calls a step in flight records ([`CheckpointStore::save_call`]): under the lease and
//! the latest checkpoint only, the first write of a key wins, read back per checkpoint, gone
//! once the step is over and pruned, not copied by a fork.

use std::time::Duration;

use workflow_runtime::store::{CallRecord, Checkpoint, CheckpointStore, Lease};
use workflow_runtime::{Error, Runner};

use crate::stores::Fixture;
use crate::workflows::Chain;

fn call(key: &str, value: &str) -> CallRecord {
    CallRecord {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// The records at checkpoint `seq` of run `run`, by key.
async fn recorded(
    store: &dyn CheckpointStore,
    run: workflow_runtime::RunId,
    seq: u64,
) -> Vec<(String, String)> {
    let mut calls: Vec<_> = store
        .calls(run, seq)
        .await
        .expect("reads")
        .into_iter()
        .map(|call| (call.key, call.value))
        .collect();
    calls.sort();
    calls
}

pub(crate) async fn recorded_calls_follow_the_lease_and_the_step(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    let id = runner.create::<Chain>(1).await.expect("created");
    let lease = Lease::new("worker", Duration::from_secs(30));
    let (_, first) = store.claim(id, &lease).await.expect("claims");

    store
        .save_call(&lease, id, 0, call("a#0", "1"))
        .await
        .expect("records");
    // The first write of a key wins.
    store
        .save_call(&lease, id, 0, call("a#0", "2"))
        .await
        .expect("records nothing");
    store
        .save_call(&lease, id, 0, call("b#0", "\"text\""))
        .await
        .expect("records");
    let both = [
        ("a#0".into(), "1".into()),
        ("b#0".into(), "\"text\"".into()),
    ];
    assert_eq!(recorded(&*store, id, 0).await, both);

    // Another lease, or a checkpoint that is not the latest, records nothing.
    let stranger = Lease::new("stranger", Duration::from_secs(30));
    let refused = store.save_call(&stranger, id, 0, call("c#0", "3")).await;
    assert!(
        matches!(refused, Err(Error::LeaseLost { .. })),
        "{refused:?}"
    );
    let refused = store.save_call(&lease, id, 1, call("c#0", "3")).await;
    assert!(
        matches!(refused, Err(Error::VersionConflict { .. })),
        "{refused:?}"
    );

    // The next step records under its own checkpoint.
    let next = Checkpoint {
        seq: 1,
        ..first.clone()
    };
    store.save(&lease, next).await.expect("saves");
    let stale = store.save_call(&lease, id, 0, call("c#0", "3")).await;
    assert!(
        matches!(stale, Err(Error::VersionConflict { .. })),
        "{stale:?}"
    );
    store
        .save_call(&lease, id, 1, call("a#0", "4"))
        .await
        .expect("records");
    assert_eq!(recorded(&*store, id, 0).await, both);
    assert_eq!(recorded(&*store, id, 1).await, [("a#0".into(), "4".into())]);

    // A fork does not copy them; a prune deletes those of the steps that are over.
    let forked = runner.fork(&Chain::<1>::default(), id, 1).await;
    let forked = forked.expect("forks").id;
    assert!(recorded(&*store, forked, 0).await.is_empty());
    store.prune(id, 10).await.expect("prunes");
    assert!(recorded(&*store, id, 0).await.is_empty());
    assert_eq!(recorded(&*store, id, 1).await, [("a#0".into(), "4".into())]);
}
