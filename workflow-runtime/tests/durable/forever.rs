//! Leases too long to add to a clock (`Duration::MAX`, "never expires"): every store saturates
//! them, so the run stays its holder's and the store goes on working.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workflow_runtime::store::{Checkpoint, Lease, NewRun, RunId};
use workflow_runtime::{Error, Runner};

use crate::stores::Fixture;
use crate::workflows::Chain;

/// Lease durations that overflow a clock: `SystemTime + ttl`, or `now + ttl` in milliseconds
/// as an `i64`.
fn huge() -> Vec<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    vec![
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_millis(u64::MAX),
        Duration::from_millis(i64::MAX as u64),
        Duration::from_millis(i64::MAX as u64 - now + 1),
    ]
}

/// Whether `lease_expires` is at least a year away.
fn far(expires: Option<SystemTime>) -> bool {
    let year = Duration::from_secs(365 * 24 * 3600);
    expires.is_some_and(|expires| expires > SystemTime::now() + year)
}

/// Fails unless `error` says run `run` is leased to `owner`.
#[track_caller]
fn assert_owned(result: Result<impl std::fmt::Debug, Error>, run: RunId, owner: &str) {
    match result {
        Err(Error::RunOwned {
            run: id,
            owner: holder,
            expires_in,
        }) if id == run && holder == owner => {
            let year = Duration::from_secs(365 * 24 * 3600);
            assert!(expires_in > year, "{expires_in:?}");
        }
        other => panic!("expected the run to be owned by `{owner}`: {other:?}"),
    }
}

pub(crate) async fn huge_leases_never_expire(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    let other = Lease::new("other", Duration::from_secs(30));
    for ttl in huge() {
        let holder = Lease::new("holder", ttl);

        // Taken by a claim, renewed, and kept by a save.
        let id = runner.create::<Chain>(1).await.expect("created");
        let (info, latest) = store.claim(id, &holder).await.expect("claims");
        assert!(far(info.lease_expires), "{ttl:?}: {info:?}");
        assert_owned(store.claim(id, &other).await, id, "holder");
        store.renew(id, &holder).await.expect("renews");
        assert!(far(store.run(id).await.expect("run").lease_expires));
        assert_owned(store.claim(id, &other).await, id, "holder");
        let next = Checkpoint {
            seq: 1,
            created_at: SystemTime::now(),
            ..latest.clone()
        };
        store.save(&holder, next).await.expect("saves");
        let info = store.run(id).await.expect("run");
        assert_eq!((info.version, info.owner.as_deref()), (1, Some("holder")));
        assert!(far(info.lease_expires), "{ttl:?}: {info:?}");
        assert_owned(store.claim(id, &other).await, id, "holder");
        store.release(id, &holder, None).await.expect("releases");
        store
            .claim(id, &other)
            .await
            .expect("released: free to take");

        // Taken when the run is created.
        let first = Checkpoint {
            run: RunId::new(),
            seq: 0,
            ..latest
        };
        let created = first.run;
        let run = NewRun {
            first,
            parent: None,
            lease: Some(holder.clone()),
        };
        store.create(run).await.expect("creates");
        assert!(far(store.run(created).await.expect("run").lease_expires));
        assert_owned(store.claim(created, &other).await, created, "holder");
    }
}

/// A runner whose leases never expire keeps its run while a step hangs: no other worker
/// takes it over.
pub(crate) async fn a_runner_with_an_endless_lease_keeps_its_run(fixture: Fixture) {
    let holder = Runner::new(fixture.store.clone())
        .owner("holder")
        .lease(Duration::MAX);
    let id = holder.create::<Chain>(1).await.expect("created");
    let hanging = Chain::<1>::hanging_at(1);
    crate::leases::crash_when(&hanging.hung, holder.resume(&hanging, id)).await;
    assert_eq!(hanging.runs(), [1, 1, 0]);

    let other = Runner::new(fixture.store.clone())
        .owner("other")
        .lease(Duration::from_millis(50));
    let idle = Chain::<1>::default();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_owned(other.resume(&idle, id).await.map(|_| ()), id, "holder");
    assert_eq!(idle.runs(), [0, 0, 0]);

    let run = holder
        .start(&Chain::<1>::default(), 1)
        .await
        .expect("starts");
    assert_eq!(run.into_output().expect("finished"), 27);
}
