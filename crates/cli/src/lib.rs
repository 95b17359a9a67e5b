//! pitwall-cli: the command-line edge every pitwall binary shares, `pitwall` and each
//! layer's own (`cargo run -p staging`, `-p ingestion`, ...).
//!
//! - [`GlobalOptions`]: the one clap definition of the options every binary takes
//!   (`--project-dir`, `--target`, `--source`, `--target-path`, `--warehouse`, `--model-stage`,
//!   `--no-wait` and their `PITWALL_*` variables), and the one conversion from them to a
//!   [`ProjectConfig`].
//! - [`open_warehouse`]: the one place a command opens the warehouse, taking its lock
//!   (shared to read, exclusive to write) for as long as the [`OpenWarehouse`] lives.
//! - [`execute`]: the run loop behind `pitwall run/test/build` and every layer binary:
//!   load the sources a plan reads, run the plan on the warehouse, print dbt's progress
//!   lines, the summary and the layers' reports.
//! - [`execute`] reuses what has not changed: it loads the raw tables whose files changed,
//!   fingerprints each job (`pitwall_core::state`) and runs the plan with the stamps the
//!   warehouse holds; [`Deferral`] reads refs to unbuilt models from another warehouse
//!   (`--defer`).
//! - [`Engine`]: where sessions plan and run SQL (`--engine`): DataFusion here, or a
//!   Ballista cluster (cargo feature `ballista`), with Rust models kept in this process.
//! - [`layer_main`]: a layer binary's whole `main`, driven by the layer's [`Layer`] value.
//!
//! It must never decide what runs (selection and the project's DAG are the
//! orchestrator's) or name a layer: layers come in as values.

mod defer;
mod engine;
mod execute;
mod open;
mod options;
pub mod resources;

pub use defer::Deferral;
pub use engine::Engine;

pub use execute::{Executed, Execution, execute, header};
pub use open::{OpenWarehouse, open_warehouse};
pub use options::{GlobalOptions, exit_code, init, layer_main, run_layer};
pub use pitwall_core::warehouse::Access;
pub use pitwall_core::{Layer, ProjectConfig};
