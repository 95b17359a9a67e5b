//! pitwall-core: the contracts every layer shares.
//!
//! It owns the [`Model`] trait and its [`ModelSpec`] (name, folder path, declared refs and
//! sources, config), the [`ModelContext`] that resolves refs and sources inside a model,
//! the project file ([`ProjectConfig`], `pitwall.toml`), the dbt-style SQL template
//! (`{{ ref() }}` / `{{ source() }}`), the [`Dag`] built from declarations, the embedded
//! [`Warehouse`] format (Parquet tables written atomically, views kept as SQL) and the
//! [`Runner`] that executes a set of models concurrently against it.
//!
//! The runner and the warehouse live here rather than in the orchestrator because every
//! layer crate ships a binary that runs that layer alone, and a layer crate must never
//! depend on the orchestrator above it.
//!
//! This crate must never know about a concrete model, a CSV file or the command line:
//! layers declare models, ingestion produces raw tables, the orchestrator decides what runs.

pub mod config;
pub mod context;
pub mod dag;
pub mod error;
pub mod functions;
pub mod model;
pub mod properties;
pub mod report;
pub mod runner;
pub mod standalone;
pub mod template;
pub mod testing;
pub mod warehouse;

pub use config::{Materialization, ModelConfig, ProjectConfig};
pub use context::{ModelContext, Relations};
pub use dag::Dag;
pub use error::{Error, Result};
pub use model::{FileKind, Language, Model, ModelSpec, Node, ProjectFile, SourceRef, SqlModel, sql_models};
pub use runner::{Job, NodeOutcome, NodeStatus, OutcomeKind, Plan, RunEvent, Runner};
pub use warehouse::Warehouse;

/// The datafusion this workspace is built on, re-exported so layers name one version.
pub use datafusion;
