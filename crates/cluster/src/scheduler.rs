//! `pitwall cluster scheduler`: Ballista's scheduler, planning in pitwall's session
//! state ([`crate::state`]), with the timeouts that bound a job when an executor is lost.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::state;

/// How often an executor reports to the scheduler: the scheduler's lost-executor timeout
/// is a few of these.
pub(crate) const HEARTBEAT_SECONDS: u64 = 5;
/// An executor silent this long is lost: its tasks run again elsewhere, and a job that
/// cannot go on fails naming it. Ballista's default (180 s) would let a build wait three
/// minutes for a dead machine.
const EXECUTOR_TIMEOUT_SECONDS: u64 = 4 * HEARTBEAT_SECONDS;
/// How long a finished job's last stage output stays on the executors: long enough for
/// the client to fetch it, then removed (Ballista keeps it 300 s). Intermediate shuffle
/// output is removed as soon as the job succeeds, and a failed job's at once.
const FINISHED_JOB_DATA_SECONDS: u64 = 10;

/// The scheduler's configuration for `bind` (the address executors and clients reach).
pub(crate) fn config(bind: SocketAddr) -> SchedulerConfig {
    let mut config = SchedulerConfig::default()
        .with_hostname(bind.ip().to_string())
        .with_port(bind.port())
        // Executors ask for work when they have free slots (pull), rather than the
        // scheduler counting each one's free slots and pushing tasks to them: Ballista
        // 55's count leaks the slots of tasks whose stage it rolled back after losing an
        // executor (their statuses are ignored, their slots never returned), so the
        // executors left stop getting tasks and every job waits forever. An executor
        // knows its own free slots. Job files are removed the same way (the scheduler
        // answers a poll with the jobs to clean up).
        .with_scheduler_policy(TaskSchedulingPolicy::PullStaged)
        .with_finished_job_data_clean_up_interval_seconds(FINISHED_JOB_DATA_SECONDS)
        .with_finished_job_state_clean_up_interval_seconds(60)
        .with_no_executors_grace_period_seconds(EXECUTOR_TIMEOUT_SECONDS)
        .with_override_config_producer(Arc::new(state::config))
        .with_override_session_builder(Arc::new(|config| Ok(state::session_state(config, state::runtime(None)?))));
    config.bind_host = bind.ip().to_string();
    config.executor_timeout_seconds = EXECUTOR_TIMEOUT_SECONDS;
    config.expire_dead_executor_interval_seconds = HEARTBEAT_SECONDS;
    config
}

/// Runs a scheduler on `bind` until the process is stopped.
pub(crate) async fn serve(bind: SocketAddr) -> Result<()> {
    let config = config(bind);
    let cluster = BallistaCluster::new_from_config(&config).await.context("setting up the scheduler's state")?;
    tracing::info!("pitwall scheduler listening on {bind}");
    start_server(cluster, bind, Arc::new(config)).await.with_context(|| format!("the scheduler on {bind}"))
}
