//! intermediate: int_lap_times_years, int_pit_stops and int_results, the joins that give
//! staging rows their context. Each is a SQL file in `models/`, read from disk at every
//! run; their long descriptions are Markdown doc blocks in `models/intermediate.md`.
//!
//! This crate must never read a source directly: intermediate models ref staging models.

use pitwall_core::Layer;

/// The intermediate layer (its models, properties and doc blocks are files).
pub static LAYER: Layer = Layer {
    name: "intermediate",
    about: "The intermediate layer: int_lap_times_years, int_pit_stops and int_results, joined from staging",
    compiled_models: &[],
    loader: None,
    reports: &[],
};
