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

/// How tasks reach a cluster's executors: they ask for work when they have free slots
/// (pull). Pushing, the scheduler counts each executor's free slots itself, and Ballista
/// 55's count leaks the slots of tasks whose stage it rolled back after losing an
/// executor (it ignores their statuses, so never returns their slots): the executors
/// left stop getting tasks and every later job waits forever. An executor knows its own
/// free slots. Job files are removed the same way (a poll's answer names the jobs to
/// clean up). The cost: a stage's tasks start at the next poll, up to about 0.1 s later.
pub(crate) const CLUSTER_SCHEDULING: TaskSchedulingPolicy = TaskSchedulingPolicy::PullStaged;
/// How tasks reach the executor inside the pitwall process (`--engine ballista`): pushed,
/// the moment a stage can run. It cannot be lost apart from the scheduler, so no stage
/// is ever rolled back and the leak above cannot happen.
pub(crate) const IN_PROCESS_SCHEDULING: TaskSchedulingPolicy = TaskSchedulingPolicy::PushStaged;

/// The scheduler's configuration for `bind` (the address executors and clients reach),
/// its executors getting tasks by `scheduling`.
pub(crate) fn config(bind: SocketAddr, scheduling: TaskSchedulingPolicy) -> SchedulerConfig {
    let mut config = SchedulerConfig::default()
        .with_hostname(bind.ip().to_string())
        .with_port(bind.port())
        .with_scheduler_policy(scheduling)
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
pub(crate) async fn serve(bind: SocketAddr, scheduling: TaskSchedulingPolicy) -> Result<()> {
    let config = config(bind, scheduling);
    let cluster = BallistaCluster::new_from_config(&config).await.context("setting up the scheduler's state")?;
    tracing::info!("pitwall scheduler listening on {bind}");
    start_server(cluster, bind, Arc::new(config)).await.with_context(|| format!("the scheduler on {bind}"))
}
