//! marts: the tables analysts and BI tools read. `core` (fct_results, pit_stops_joined)
//! is SQL in `models/core/`; `aggregates` (fastest_pit_stops_by_constructor,
//! lap_times_moving_avg) answer the workshop's two questions in SQL in
//! `models/aggregates/`, reproducing pandas' numbers exactly (see each file's header).
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

pub const AGGREGATES_FQN: &[&str] = &["marts", "aggregates"];

const AGGREGATES_FILES: &[(&str, &str)] = &[
    (
        "crates/marts/models/aggregates/fastest_pit_stops_by_constructor.sql",
        include_str!("../models/aggregates/fastest_pit_stops_by_constructor.sql"),
    ),
    (
        "crates/marts/models/aggregates/lap_times_moving_avg.sql",
        include_str!("../models/aggregates/lap_times_moving_avg.sql"),
    ),
];

/// The marts models.
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    let mut models = sql_models(CORE_FQN, CORE_FILES)?;
    models.extend(sql_models(AGGREGATES_FQN, AGGREGATES_FILES)?);
    Ok(models)
}
