//! pitwall-core: the contracts every layer shares.
//!
//! It owns the [`Model`] trait and its [`ModelSpec`] (name, folder path, declared refs and
//! sources, config), the [`ModelContext`] that resolves refs and sources inside a model,
//! the project file ([`ProjectConfig`], `pitwall.toml`), the dbt-style SQL template
//! (`{{ ref() }}` / `{{ source() }}`), the [`Dag`] built from declarations, the embedded
//! [`Warehouse`] format (Parquet tables written atomically, views kept as SQL), the
//! [`Runner`] that executes a [`Plan`] made from the DAG, [`Location`] (a local folder or
//! an object-store URL, parsed once), declared [`Source`]s and the [`Layer`] value each
//! layer crate exports to describe itself.
//!
//! The runner and the warehouse live here rather than in the orchestrator because every
//! layer crate ships a binary that runs that layer alone, and a layer crate must never
//! depend on the orchestrator above it.
//!
//! This crate must never know about a concrete model, a CSV file or the command line:
//! layers declare models, ingestion streams raw tables into a sink, the orchestrator decides what runs,
//! and `pitwall-cli` owns every flag.

pub mod config;
pub mod context;
pub mod dag;
pub mod error;
pub mod functions;
pub mod layer;
pub mod location;
pub mod model;
pub mod properties;
pub mod report;
pub mod resources;
pub mod runner;
pub mod source;
pub mod template;
pub mod testing;
pub mod warehouse;

pub use config::{Materialization, ModelConfig, ProjectConfig};
pub use context::{ModelContext, Relations};
pub use dag::Dag;
pub use error::{Error, Result};
pub use layer::{Layer, Report, SourceLoader};
pub use location::{Location, StoreOptions};
pub use model::{FileKind, Language, Model, ModelSpec, Node, ProjectFile, SourceRef, SqlModel, sql_model, sql_models};
pub use runner::{Job, NodeOutcome, NodeStatus, OutcomeKind, Plan, RunEvent, Runner};
pub use source::{MemorySink, RawSink, Source};
pub use warehouse::Warehouse;

/// The datafusion this workspace is built on, re-exported so layers name one version.
pub use datafusion;
