//! Durable runs on every store: the same cases against `MemoryStore`, `SqliteStore` (a real
//! file, in each durability mode) and `PostgresStore` (a real server, from
//! `WORKFLOW_POSTGRES_URL`; see the README).

mod basics;
mod calls;
mod checks;
mod contention;
mod corrupt;
mod events;
mod forever;
mod leases;
mod limits;
mod migrate;
mod pauses;
mod retention;
mod rows;
mod spenders;
mod stores;
mod together;
mod usage;
mod workers;
mod workflows;

/// Runs each case, an `async fn(Fixture)` in `cases`, against each store.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(crate::stores::memory()).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(crate::stores::sqlite()).await;
                }
            )*
        }

        /// `Durability::Normal`, where writes run on the caller's thread when they can.
        mod sqlite_normal {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(crate::stores::sqlite_normal()).await;
                }
            )*
        }

        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(fixture) = crate::stores::postgres().await {
                        crate::$module::$case(fixture).await;
                    }
                }
            )*
        }
    };
}

conformance! {
    basics::a_checkpoint_after_every_step,
    basics::a_created_run_waits_for_resume,
    basics::fork_starts_a_new_run_from_a_checkpoint,
    basics::list_filters_and_pages,
    basics::unknown_runs_are_typed_errors,
    basics::the_step_limit_counts_per_call,
    calls::recorded_calls_follow_the_lease_and_the_step,
    leases::a_crashed_run_runs_no_completed_step_again,
    leases::a_long_step_keeps_its_lease,
    leases::expired_leases_are_taken_over_and_stale_writes_rejected,
    leases::a_stale_owner_s_late_write_is_rejected,
    leases::a_write_between_saves_is_seen_by_the_next_save,
    leases::concurrent_resumes_do_not_fork,
    together::saves_of_many_runs_at_once_are_each_checked,
    together::saves_behind_one_given_up_are_written,
    pauses::a_pause_suspends_and_a_typed_value_resumes,
    pauses::a_json_value_is_checked,
    pauses::a_fan_out_checkpoints_each_finished_branch,
    events::the_store_numbers_and_pages_a_run_s_log,
    events::a_run_s_events_are_logged_without_its_text,
    events::a_runner_can_keep_no_log,
    events::a_failed_run_logs_its_failure_and_goes_on_when_resumed,
    events::a_paused_run_s_log_goes_on_when_answered,
    events::a_crashed_run_keeps_its_events_up_to_its_last_checkpoint,
    events::a_subscriber_that_hears_a_run_end_finds_it_saved,
    checks::a_changed_definition_is_refused,
    checks::a_failed_step_is_recorded_and_resumed,
    checks::a_panicking_step_is_a_recorded_failure,
    checks::a_dropped_run_gives_up_its_lease,
    checks::cancellation_fails_the_run_and_it_resumes,
    checks::hand_made_checkpoints_are_typed_errors,
    forever::huge_leases_never_expire,
    retention::prune_keeps_the_last_checkpoints,
    retention::history_is_read_a_page_at_a_time,
    retention::a_page_of_history_has_its_own_branches,
    retention::a_claimed_run_comes_back_with_its_latest_branches,
    retention::old_ended_runs_are_deleted,
    retention::a_worker_deletes_old_runs_on_an_interval,
    forever::a_runner_with_an_endless_lease_keeps_its_run,
    usage::usage_adds_up_across_a_pause_and_runners,
    usage::usage_survives_a_crash_and_a_failed_step,
    usage::a_budget_holds_across_resumes,
    usage::a_fork_counts_from_zero,
    usage::a_resumed_fan_out_keeps_what_its_finished_branches_spent,
    workers::submitted_runs_are_driven_by_workers,
    workers::a_submit_with_the_same_id_is_the_same_run,
    workers::a_run_of_an_unknown_workflow_is_left_alone,
    workers::orphaned_runs_are_recovered,
    workers::runs_are_cancelled_by_id,
    workers::a_stopping_worker_gives_its_runs_back,
    workers::an_answered_pause_is_driven_by_a_worker,
    workers::an_answer_recorded_without_the_code_is_given_by_a_worker,
    workers::definitions_are_recorded_once,
    workers::a_cancel_whose_worker_died_is_completed,
    workers::an_announced_run_is_claimed_if_free_and_served,
    workers::a_busy_worker_s_claims_still_find_a_run_whose_time_has_come,
    workers::a_run_given_up_behind_the_last_one_taken_is_taken_again,
}
