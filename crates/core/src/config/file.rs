//! The TOML schema of `pitwall.toml`, as serde reads it: every section and key, unknown
//! ones refused. What the values mean is decided by the other modules.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::folders::FolderConfig;
use super::paths::PathEntry;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSchema {
    pub(super) project: ProjectSection,
    #[serde(default)]
    pub(super) sources: BTreeMap<String, SourceSection>,
    #[serde(default)]
    pub(super) warehouse: WarehouseSection,
    #[serde(default)]
    pub(super) targets: BTreeMap<String, TargetSection>,
    #[serde(default)]
    pub(super) jobs: BTreeMap<String, JobSection>,
    #[serde(default)]
    pub(super) models: Option<FolderConfig>,
    /// dbt's `vars`: values `var('name')` reads in models and tests.
    #[serde(default)]
    pub(super) vars: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ProjectSection {
    pub(super) name: String,
    #[serde(default)]
    pub(super) target_path: Option<String>,
    #[serde(default)]
    pub(super) default_target: Option<String>,
    #[serde(default)]
    pub(super) model_paths: Option<Vec<PathEntry>>,
    #[serde(default)]
    pub(super) test_paths: Option<Vec<PathEntry>>,
    #[serde(default)]
    pub(super) macro_paths: Option<Vec<PathEntry>>,
    #[serde(default)]
    pub(super) docs_paths: Option<Vec<PathEntry>>,
}

/// `[targets.<name>]`: dbt's profile targets. Each key beats `[warehouse]` and the
/// sources' locations; any value may be `{{ env_var('NAME') }}`. Core reads its own keys;
/// every other key is the adapter's that `type` names, kept as written for it to read.
// No Debug: a target's values may be secrets.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct TargetSection {
    /// `local` (the default: the warehouse is the result) or an adapter's type
    /// (`snowflake`: built locally, then delivered).
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) source: Option<String>,
    /// The local warehouse's location on a local target. On an adapter's target it is the
    /// adapter's key, as dbt's profiles spell it (dbt-snowflake: the virtual warehouse),
    /// and `local-warehouse` is the location.
    #[serde(default)]
    pub(super) warehouse: Option<String>,
    #[serde(default)]
    pub(super) local_warehouse: Option<String>,
    #[serde(default)]
    pub(super) schema: Option<String>,
    #[serde(default)]
    pub(super) model_stage: Option<String>,
    /// The query engine (see [`ProjectConfig::engine`]).
    #[serde(default)]
    pub(super) engine: Option<String>,
    /// Object-store options for this target's locations (see [`StoreOptions`]).
    #[serde(default)]
    pub(super) storage: BTreeMap<String, toml::Value>,
    /// Every other key: the adapter's (a local target takes none).
    #[serde(flatten)]
    pub(super) adapter: BTreeMap<String, toml::Value>,
}

/// The keys core reads on every target, for messages about a key that is not one.
pub(super) const TARGET_KEYS: &str = "type, source, warehouse, local-warehouse, schema, model-stage, engine, storage";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct JobSection {
    #[serde(default)]
    pub(super) target: Option<String>,
    pub(super) steps: Vec<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceSection {
    pub(super) location: String,
    #[serde(default)]
    pub(super) schema: Option<String>,
    /// Kept with its position so a bad value is reported with its line.
    #[serde(default)]
    pub(super) on_error: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub(super) match_by_column_name: Option<toml::Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct WarehouseSection {
    #[serde(default)]
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) schema: Option<String>,
    #[serde(default)]
    pub(super) model_stage: Option<String>,
}
