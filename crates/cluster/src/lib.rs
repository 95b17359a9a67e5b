//! pitwall-cluster: pitwall's SQL on Apache DataFusion Ballista 55 (cargo feature
//! `ballista` of pitwall-cli and the orchestrator).
//!
//! It owns both sides of a cluster, built on Ballista's own library crates:
//! - the processes, from pitwall's one binary: [`ClusterCommand`] (`pitwall cluster
//!   scheduler | executor | status`). Their sessions know pitwall's SQL functions
//!   (`pitwall_core::functions`) and open any `s3://` bucket from the standard `AWS_*`
//!   variables, as pitwall itself does ([`stores`]); their configuration (heartbeats,
//!   lost-executor timeouts, job-data clean-up) is chosen so a job ends or fails in
//!   bounded time;
//! - the client: [`session`], the session a build plans SQL in and submits it through,
//!   either to a scheduler at `df://HOST:PORT` or to a scheduler and executor started in
//!   this process (`--engine ballista`, [`Standalone`]), with a check that the cluster
//!   answers and runs pitwall's functions before any model is submitted;
//! - [`ExecutorWatch`]: during a build on a remote cluster, notices a lost executor
//!   within seconds, so the runner stops and commits nothing computed after the loss.
//!
//! It must never decide what runs or know a model: the runner submits SQL through the
//! session this crate makes, and the Rust models never leave the pitwall process.

mod client;
mod command;
mod executor;
mod leaves;
mod scheduler;
mod state;
mod status;
pub mod stores;
mod watch;

pub use client::{Standalone, session};
pub use command::{ClusterCommand, run};
pub use watch::ExecutorWatch;
