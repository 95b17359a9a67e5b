//! marts: the tables analysts and BI tools read. `core` (fct_results, pit_stops_joined)
//! is SQL in `models/core/`; `aggregates` (fastest_pit_stops_by_constructor,
//! lap_times_moving_avg) answer the workshop's two questions in SQL in
//! `models/aggregates/`, reproducing pandas' numbers exactly (see each file's header).
//! Their descriptions and tests are data beside them (`*.yml`, `data_tests/`), all read
//! from disk at every run.
//!
//! This crate must never read a source directly or write to the warehouse itself: its
//! models are files; the runner materializes them.

use pitwall_core::Layer;

/// The marts layer (its models, properties and tests are files).
pub static LAYER: Layer = Layer {
    name: "marts",
    about: "The marts layer: fct_results and pit_stops_joined (core), and the two aggregates answering \
            the workshop's questions",
    compiled_models: &[],
    loader: None,
    reports: &[],
};
