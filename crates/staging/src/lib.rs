//! staging: the eight `stg_f1_*` models, one per raw table.
//!
//! They are declared as data in `models/stg_f1.yml` (a source table and its select
//! items) and each becomes a [`SqlModel`] reading `{{ source(...) }}`, so adding a
//! staging model is adding a YAML entry, not code.
//!
//! This crate must never read files at run time or reach past its sources: everything it
//! declares is embedded at build time and resolved by the runner.

use std::sync::Arc;

use pitwall_core::config::ConfigPatch;
use pitwall_core::{Error, Layer, Model, Result, SqlModel};
use serde::Deserialize;

const SPEC_PATH: &str = "crates/staging/models/stg_f1.yml";
const SPEC: &str = include_str!("../models/stg_f1.yml");

/// The staging layer: eight views, one per raw table.
pub static LAYER: Layer = Layer {
    name: "staging",
    about: "The staging layer: the eight stg_f1_* views, one per raw table, renamed and retyped",
    models,
    files: &[],
    source: None,
    reports: &[],
};

/// Folder path of every staging model (the workshop's `models/staging/formula1`).
pub const FQN: &[&str] = &["staging", "formula1"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StagingFile {
    models: Vec<StagingModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StagingModel {
    name: String,
    /// `source_name.table_name`
    source: String,
    select: Vec<String>,
}

impl StagingModel {
    fn sql(&self) -> Result<String> {
        let (source, table) = self.source.split_once('.').ok_or_else(|| {
            Error::config(
                SPEC_PATH,
                format!("model {}: source must be 'source.table', not '{}'", self.name, self.source),
            )
        })?;
        if self.select.is_empty() {
            return Err(Error::config(SPEC_PATH, format!("model {}: select is empty", self.name)));
        }
        Ok(format!("select\n    {}\nfrom {{{{ source('{source}', '{table}') }}}}\n", self.select.join(",\n    ")))
    }
}

/// The staging models.
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    let file: StagingFile = serde_norway::from_str(SPEC).map_err(|e| {
        let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
        Error::config(format!("{SPEC_PATH}{at}"), e.to_string())
    })?;
    file.models
        .iter()
        .map(|m| {
            let model = SqlModel::new(&m.name, FQN, m.sql()?, SPEC_PATH, ConfigPatch::default())?;
            Ok(Arc::new(model) as Arc<dyn Model>)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_models_each_reading_one_source_table() {
        let models = models().unwrap();
        assert_eq!(models.len(), 8);
        for m in &models {
            let spec = m.spec();
            assert!(spec.name.starts_with("stg_f1_"), "{}", spec.name);
            assert!(spec.refs.is_empty());
            assert_eq!(spec.sources.len(), 1);
            assert_eq!(format!("stg_f1_{}", spec.sources[0].table), spec.name);
        }
    }
}
