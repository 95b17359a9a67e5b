//! intermediate: int_lap_times_years, int_pit_stops and int_results, the joins that
//! give staging rows their context. Each is a SQL file in `models/`, embedded at build
//! time; their long descriptions are Markdown doc blocks in `models/intermediate.md`.
//!
//! This crate must never read a source directly: intermediate models ref staging models.

use std::sync::Arc;

use pitwall_core::{FileKind, Layer, Model, ProjectFile, Result, embed, sql_models};

pub const FQN: &[&str] = &["intermediate"];

const FILES: &[(&str, &str)] =
    &[embed!("models/int_lap_times_years.sql"), embed!("models/int_pit_stops.sql"), embed!("models/int_results.sql")];

/// The intermediate layer, with its descriptions (properties YAML and Markdown doc blocks).
pub static LAYER: Layer = Layer {
    name: "intermediate",
    about: "The intermediate layer: int_lap_times_years, int_pit_stops and int_results, joined from staging",
    models,
    files: &[
        ProjectFile::new(FileKind::Properties, embed!("models/intermediate.yml"), FQN),
        ProjectFile::new(FileKind::Docs, embed!("models/intermediate.md"), FQN),
    ],
    source: None,
    reports: &[],
};

/// The intermediate models.
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    sql_models(FQN, FILES)
}

#[cfg(test)]
mod tests {
    #[test]
    fn intermediate_models_ref_only_staging() {
        let models = super::models().unwrap();
        assert_eq!(models.len(), 3);
        for m in &models {
            assert!(m.spec().sources.is_empty());
            assert!(m.spec().refs.iter().all(|r| r.starts_with("stg_f1_")), "{:?}", m.spec().refs);
        }
    }
}
