//! `pitwall cluster executor`: Ballista's executor process with pitwall's functions and
//! object stores, heartbeats often enough that a lost executor is noticed within
//! seconds, and its work folder emptied of each job's files when the job ends.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};

use crate::scheduler::HEARTBEAT_SECONDS;
use crate::state;

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub(crate) struct ExecutorOptions {
    pub(crate) scheduler_host: String,
    pub(crate) scheduler_port: u16,
    pub(crate) bind_host: String,
    /// The host other processes reach this executor at [default: bind_host].
    pub(crate) external_host: Option<String>,
    pub(crate) flight_port: u16,
    pub(crate) grpc_port: u16,
    pub(crate) work_dir: PathBuf,
    /// Tasks run at once (0: one per core).
    pub(crate) concurrent_tasks: usize,
    /// Whether it asks for tasks or is sent them: as its scheduler does.
    pub(crate) scheduling: TaskSchedulingPolicy,
}

/// Job files older than this are removed even if the scheduler never says the job ended
/// (it died, or lost this executor): a backstop, checked every minute.
const JOB_DATA_TTL_SECONDS: u64 = 3600;

fn process_config(options: &ExecutorOptions) -> Result<ExecutorProcessConfig> {
    let unspecified = options.bind_host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    if unspecified && options.external_host.is_none() {
        // The scheduler tells other executors and the client where to fetch this one's
        // output: "0.0.0.0" reaches nobody.
        anyhow::bail!("--bind {} needs --external-host: the name other machines reach this one at", options.bind_host);
    }
    std::fs::create_dir_all(&options.work_dir)
        .with_context(|| format!("cannot create the work folder {}", options.work_dir.display()))?;
    let work_dir = options.work_dir.canonicalize()?;
    let registry = state::session_state(state::config(), state::runtime(None)?);
    let runtime_dir = work_dir.clone();
    Ok(ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.external_host.clone().unwrap_or_else(|| options.bind_host.clone())),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        // A scheduler started at the same moment gets this long to come up.
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrent_tasks,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        job_data_ttl_seconds: JOB_DATA_TTL_SECONDS,
        job_data_clean_up_interval_seconds: 60,
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        task_scheduling_policy: options.scheduling,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&registry))),
        override_config_producer: Some(Arc::new(state::config)),
        override_runtime_producer: Some(Arc::new(move |_| state::runtime(Some(&runtime_dir)))),
        ..ExecutorProcessConfig::default()
    })
}

/// Runs an executor until the process is stopped (or the scheduler tells it to stop).
pub(crate) async fn serve(options: ExecutorOptions) -> Result<()> {
    let config = process_config(&options)?;
    tracing::info!(
        "pitwall executor {} (Flight {}:{}, gRPC {}) for the scheduler at {}:{}, work folder {}",
        config.executor_id,
        config.bind_host,
        config.port,
        config.grpc_port,
        options.scheduler_host,
        options.scheduler_port,
        options.work_dir.display()
    );
    start_executor_process(Arc::new(config))
        .await
        .with_context(|| format!("the executor serving {}:{}", options.scheduler_host, options.scheduler_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_on_every_interface_must_say_how_it_is_reached() {
        let options = ExecutorOptions {
            scheduler_host: "sched".into(),
            scheduler_port: 50050,
            bind_host: "0.0.0.0".into(),
            external_host: None,
            flight_port: 50051,
            grpc_port: 50052,
            work_dir: std::env::temp_dir().join("pitwall-executor-test"),
            concurrent_tasks: 1,
            scheduling: crate::scheduler::CLUSTER_SCHEDULING,
        };
        let refused = process_config(&options).err().expect("refused").to_string();
        assert!(refused.contains("--bind 0.0.0.0 needs --external-host"), "{refused}");
    }
}
