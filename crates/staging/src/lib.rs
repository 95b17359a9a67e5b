//! staging: the eight `stg_f1_*` models, one per raw table, and the `formula1` source
//! they read (`models/formula1/f1_sources.yml`: tables, columns and their warehouse types,
//! as the workshop's setup script creates them, and the source tests).
//!
//! Its models are SQL files in `models/`, read from disk at every run (the checkout's
//! `pitwall.toml` mounts the folder at the project folder `staging`), so this crate
//! compiles in nothing but its binary, which runs the staging layer alone.
//!
//! This crate must never join across sources or reach past them: each staging model
//! renames and retypes one raw table.

use pitwall_core::Layer;

/// The staging layer: eight views, one per raw table.
pub static LAYER: Layer = Layer {
    name: "staging",
    about: "The staging layer: the eight stg_f1_* views, one per raw table, renamed and retyped",
    compiled_models: &[],
    loader: None,
    reports: &[],
};
