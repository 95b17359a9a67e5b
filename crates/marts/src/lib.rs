//! marts: the tables analysts and BI tools read. `core` (fct_results, pit_stops_joined)
//! is SQL in `models/core/`.
//!
//! This crate must never read a source directly or write to the warehouse itself: it
//! declares models; the runner materializes them.

use std::sync::Arc;

use pitwall_core::{Model, Result, sql_models};

pub const CORE_FQN: &[&str] = &["marts", "core"];

const CORE_FILES: &[(&str, &str)] = &[
    ("crates/marts/models/core/fct_results.sql", include_str!("../models/core/fct_results.sql")),
    ("crates/marts/models/core/pit_stops_joined.sql", include_str!("../models/core/pit_stops_joined.sql")),
];

/// The marts models.
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    sql_models(CORE_FQN, CORE_FILES)
}
