//! The `pitwall cluster` subcommands: one binary to copy to every machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::executor::{self, ExecutorOptions};
use crate::{scheduler, status};

/// `pitwall cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run a Ballista scheduler that plans pitwall's SQL (its functions, and s3:// tables
    /// read with the AWS_* variables) until stopped. Clients use --engine df://HOST:PORT;
    /// its REST API (/api/executors, /api/jobs) and /readyz share the port
    Scheduler {
        /// The address to listen on; executors and clients must reach it
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        bind: SocketAddr,
    },
    /// Run a Ballista executor for a pitwall scheduler until stopped: it runs the tasks of
    /// pitwall's SQL models and tests, reads sources and the warehouse from the object
    /// store (s3:// with the AWS_* variables, or paths that are the same on every machine)
    /// and serves its shuffle files to the other executors over Arrow Flight
    Executor {
        /// The scheduler to register with
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        scheduler: String,
        /// The address to listen on (Arrow Flight)
        #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
        bind: String,
        /// The host name the scheduler and other executors reach this one at
        /// [default: --bind]
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// The Arrow Flight port (shuffle files are fetched from it)
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The gRPC port registered with the scheduler. Nothing listens on it: pitwall's
        /// executors ask the scheduler for tasks rather than being sent them
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Folder for shuffle and spill files; each job's are removed when it ends
        #[arg(long, value_name = "DIR")]
        work_dir: PathBuf,
        /// Tasks run at once [default: one per core]
        #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
        concurrent_tasks: usize,
    },
    /// Show the executors registered with a scheduler, their task slots and last
    /// heartbeat, and its jobs by status
    Status {
        /// The scheduler
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        scheduler: String,
    },
}

/// Runs `command`: the server ones until the process is stopped.
pub async fn run(command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Scheduler { bind } => scheduler::serve(bind, scheduler::CLUSTER_SCHEDULING).await,
        ClusterCommand::Executor { scheduler, bind, external_host, port, grpc_port, work_dir, concurrent_tasks } => {
            let (scheduler_host, scheduler_port) = split_address(&scheduler)?;
            let options = ExecutorOptions {
                scheduler_host,
                scheduler_port,
                bind_host: bind,
                external_host,
                flight_port: port,
                grpc_port,
                work_dir,
                concurrent_tasks,
                scheduling: scheduler::CLUSTER_SCHEDULING,
            };
            executor::serve(options).await
        }
        ClusterCommand::Status { scheduler } => status::print(&scheduler).await,
    }
}

fn split_address(address: &str) -> Result<(String, u16)> {
    let (host, port) = address
        .trim_start_matches("df://")
        .rsplit_once(':')
        .with_context(|| format!("--scheduler `{address}` is not HOST:PORT"))?;
    let port = port.parse().with_context(|| format!("--scheduler `{address}`: `{port}` is not a port"))?;
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_addresses_split_into_host_and_port() {
        assert_eq!(split_address("10.0.0.5:50050").unwrap(), ("10.0.0.5".into(), 50050));
        assert_eq!(split_address("df://sched:1").unwrap(), ("sched".into(), 1));
        assert!(split_address("sched").unwrap_err().to_string().contains("is not HOST:PORT"));
    }
}
