//! orchestrator: the top of pitwall and the only crate that sees every layer.
//!
//! It collects the models of every layer crate and the sources of `ingestion` into a
//! [`Project`], builds the DAG, turns selectors (`+fct_results`, `tag:bi`,
//! `staging,config.materialized:view`) into node sets, drives ingestion and the
//! runner, and owns the `pitwall` command line and its console output.
//!
//! It must never implement a model or parse a CSV: models live in their layer crates,
//! rows are touched only by `ingestion`.

pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod project;
pub mod select;

pub use project::Project;
