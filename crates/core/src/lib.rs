//! pitwall-core: the contracts every layer shares.
//!
//! It owns the [`Model`] trait and its [`ModelSpec`] (name, folder path, declared refs and
//! sources, config), [`CompiledSql`] (a model's or test's SQL after Jinja, relations kept
//! apart), the [`ModelContext`] that resolves refs and sources inside a model, the
//! project file ([`ProjectConfig`], `pitwall.toml`), the [`Dag`], resolved data tests
//! ([`testing::TestSpec`]), the embedded [`Warehouse`] format (Parquet tables written
//! atomically, views kept as SQL), the [`Runner`] that executes a [`Plan`] made from the
//! DAG, [`EngineWatch`] (how a run learns that a cluster lost an
//! executor), [`loading`] (a load the runner starts on before it commits),
//! [`Location`] (a local folder or an object-store URL, parsed once), declared
//! [`Source`]s and the [`Layer`] value each layer crate exports to describe what it
//! compiles into pitwall (Rust models, a loader, reports).
//!
//! The runner and the warehouse live here rather than in the orchestrator because every
//! layer crate ships a binary that runs that layer alone, and a layer crate must never
//! depend on the orchestrator above it.
//!
//! This crate must never read a project's model files (`pitwall-project` does), know
//! about a concrete model, a CSV file or the command line: layers declare what they
//! compile in, ingestion streams raw tables into a sink, the orchestrator decides what
//! runs, and `pitwall-cli` owns every flag.

pub mod config;
pub mod context;
pub mod dag;
pub mod error;
pub mod functions;
pub mod layer;
pub mod lease;
pub mod loading;
pub mod location;
pub mod model;
pub mod progress;
pub mod relations;
pub mod report;
pub mod resources;
pub mod runner;
pub mod source;
pub mod spec;
pub mod sql;
pub mod state;
pub mod testing;
pub mod warehouse;
pub mod watch;

pub use config::{Materialization, ModelConfig, ProjectConfig};
pub use context::ModelContext;
pub use dag::Dag;
pub use error::{Error, Result};
pub use layer::{Layer, Report, SourceLoader};
pub use location::{Location, StoreOptions};
pub use model::{CompiledModel, Model, Node, SqlModel};
pub use relations::Relations;
pub use runner::{Job, NodeOutcome, NodeStatus, OutcomeKind, Plan, RunEvent, Runner};
pub use source::{MemorySink, RawSink, Source};
pub use spec::{Language, ModelSpec, SourceRef};
pub use sql::{CompiledSql, Piece};
pub use warehouse::Warehouse;
pub use watch::EngineWatch;

/// The datafusion this workspace is built on, re-exported so layers name one version.
pub use datafusion;
