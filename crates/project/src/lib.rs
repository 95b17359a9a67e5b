//! pitwall-project: reads a project from disk and resolves it, at every run.
//!
//! The phases, in order ([`load`] runs the first three; [`Project::plan`] the last):
//!
//! 1. **load** ([`files`]): every file under the paths `pitwall.toml` names (dbt's
//!    `model-paths`, `test-paths`, `macro-paths`, `docs-paths`), each with the project
//!    folder it is in (its fqn);
//! 2. **render** ([`jinja`]): every SQL model and test rendered once with dbt's Jinja on
//!    minijinja (`ref`, `source`, `config`, `var`, `env_var`, `this`, `target`, macros,
//!    `{% test %}` blocks); what a model calls is what it reads;
//! 3. **resolve** ([`resolve`]): properties parsed ([`properties`]), sources declared, SQL
//!    parsed, Rust models bound by name (`rust_model`), configs resolved (the model file's
//!    `config()` over its properties entry over `[models.*]` folder configs), the DAG
//!    built, tests collected ([`data_tests`]) and attached, descriptions and doc blocks
//!    ([`docs`]) read;
//! 4. **plan** ([`plan`]): each SQL model planned once over its inputs' schemas, without
//!    data; lineage, the catalog, the docs and test-column checks read these plans.
//!
//! Every problem found is collected ([`Diagnostics`], each naming file, line and column)
//! and the project is refused before anything runs.
//!
//! This crate must never run a model, open the warehouse or decide what a command
//! selects: it describes the project; `pitwall-cli` and the orchestrator act on it.

pub mod data_tests;
pub mod diagnostics;
pub mod docs;
pub mod files;
pub mod jinja;
pub mod plan;
pub mod project;
pub mod properties;
pub mod resolve;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use docs::DocBlock;
pub use project::{ColumnDoc, NodeDoc, NodeInfo, Planned, Project, ProjectSource};
pub use resolve::{Bindings, load, par_map};
