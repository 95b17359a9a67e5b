//! orchestrator: the top of pitwall and the only crate that sees every layer.
//!
//! It reads the project from disk ([`pitwall_project::load`], with the Rust models and
//! loader of every layer's [`Layer`](pitwall_core::Layer) value from one list,
//! [`registry::LAYERS`]) into a [`Project`] (models, sources, tests, docs, the DAG),
//! turns selectors (`+fct_results`, `tag:bi`, `staging,config.materialized:view`) into
//! node sets, plans runs on the DAG and hands them to `pitwall-cli`'s run loop, writes
//! dbt's artifacts, owns the `pitwall` command line, and hands a Snowflake target's
//! results to the Snowflake adapter (`pitwall-snowflake`, feature `snowflake`), and writes
//! new projects (`pitwall init`, [`init`]).
//!
//! It must never implement a model or parse a CSV (models live in their layer crates,
//! rows are touched only by `ingestion`), and outside `registry.rs` it names no layer.

pub mod artifacts;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod init;
pub mod jobs;
pub mod registry;
pub mod select;
pub mod snowflake;
pub mod state;

pub use pitwall_project::Project;
