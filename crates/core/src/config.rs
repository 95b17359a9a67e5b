//! The project file (`pitwall.toml`, dbt's `dbt_project.yml`) and model configs.
//!
//! Folder-level configs (`[models.marts.aggregates] tags = ["bi"]`) apply to every model
//! whose folder path starts with that path; a model's own config wins, tags accumulate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const PROJECT_FILE: &str = "pitwall.toml";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Materialization {
    #[default]
    View,
    Table,
}

impl std::fmt::Display for Materialization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Materialization::View => "view",
            Materialization::Table => "table",
        })
    }
}

/// A config as written at one level (folder or model); unset fields inherit.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfigPatch {
    #[serde(default)]
    pub materialized: Option<Materialization>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub node_color: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// dbt's `meta`: free-form settings a model may read (`[models.ml.train_predict.meta]
    /// standardize = true`); merged key by key, the deeper level winning.
    #[serde(default)]
    pub meta: BTreeMap<String, serde_json::Value>,
}

/// A model's resolved config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelConfig {
    pub materialized: Materialization,
    pub tags: Vec<String>,
    pub node_color: Option<String>,
    pub enabled: bool,
    pub meta: BTreeMap<String, serde_json::Value>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            materialized: Materialization::View,
            tags: Vec::new(),
            node_color: None,
            enabled: true,
            meta: BTreeMap::new(),
        }
    }
}

impl ModelConfig {
    pub fn apply(&mut self, patch: &ConfigPatch) {
        if let Some(m) = patch.materialized {
            self.materialized = m;
        }
        for tag in &patch.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
        if let Some(c) = &patch.node_color {
            self.node_color = Some(c.clone());
        }
        if let Some(e) = patch.enabled {
            self.enabled = e;
        }
        for (key, value) in &patch.meta {
            self.meta.insert(key.clone(), value.clone());
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Folder configs: this level's patch plus nested folders by name.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FolderConfig {
    #[serde(flatten)]
    pub patch: ConfigPatch,
    #[serde(flatten)]
    pub folders: BTreeMap<String, FolderConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    project: ProjectSection,
    #[serde(default)]
    sources: BTreeMap<String, SourceSection>,
    warehouse: WarehouseSection,
    #[serde(default)]
    models: Option<FolderConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProjectSection {
    name: String,
    #[serde(default)]
    target_path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    location: String,
    #[serde(default)]
    schema: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct WarehouseSection {
    #[serde(default)]
    path: Option<String>,
    schema: String,
    #[serde(default)]
    model_stage: Option<String>,
}

/// Where a source's files are read from and the warehouse schema its raw tables land in.
#[derive(Clone, Debug, Serialize)]
pub struct SourceLocation {
    pub location: String,
    pub schema: String,
}

/// Values given on the command line or in the environment, which beat the project file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub source: Option<String>,
    pub target_path: Option<String>,
    pub warehouse: Option<String>,
    pub model_stage: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ProjectConfig {
    pub root: PathBuf,
    pub name: String,
    /// Where artifacts (manifest, run results, load report) are written.
    pub target_path: PathBuf,
    /// The warehouse location: a local folder or an object store URL.
    pub warehouse: String,
    /// The schema models are built into.
    pub schema: String,
    /// Where trained ML models are stored (a folder or object store URL), the
    /// workshop's MODELSTAGE.
    pub model_stage: String,
    pub sources: BTreeMap<String, SourceLocation>,
    pub models: FolderConfig,
}

impl ProjectConfig {
    /// Finds `pitwall.toml` in `start` or its nearest ancestor.
    pub fn discover(start: &Path) -> Result<PathBuf> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(PROJECT_FILE).is_file() {
                return Ok(d.to_path_buf());
            }
            dir = d.parent();
        }
        Err(Error::config(
            start.display().to_string(),
            format!("no {PROJECT_FILE} here or in any parent folder (use --project-dir)"),
        ))
    }

    pub fn load(root: &Path, overrides: &Overrides) -> Result<ProjectConfig> {
        let file = root.join(PROJECT_FILE);
        let text =
            std::fs::read_to_string(&file).map_err(|e| Error::config(file.display().to_string(), e.to_string()))?;
        Self::parse(root, &file.display().to_string(), &text, overrides)
    }

    pub fn parse(root: &Path, location: &str, text: &str, overrides: &Overrides) -> Result<ProjectConfig> {
        let parsed: ProjectFile = toml::from_str(text)
            .map_err(|e| Error::config(location, e.to_string().trim_end().replace('\n', "\n  ")))?;
        let resolve = |p: &str| -> String {
            if p.contains("://") || Path::new(p).is_absolute() {
                p.to_owned()
            } else {
                root.join(p).display().to_string()
            }
        };
        let target_path = PathBuf::from(resolve(
            overrides.target_path.as_deref().or(parsed.project.target_path.as_deref()).unwrap_or("target"),
        ));
        let warehouse = match overrides.warehouse.as_deref().or(parsed.warehouse.path.as_deref()) {
            Some(p) => resolve(p),
            None => target_path.join("warehouse").display().to_string(),
        };
        let model_stage = match overrides.model_stage.as_deref().or(parsed.warehouse.model_stage.as_deref()) {
            Some(p) => resolve(p),
            None => target_path.join("model_stage").display().to_string(),
        };
        if parsed.sources.is_empty() {
            return Err(Error::config(location, "no [sources.<name>] section: pitwall needs a source to read"));
        }
        if overrides.source.is_some() && parsed.sources.len() != 1 {
            return Err(Error::config(location, "--source can only override a project with exactly one source"));
        }
        let sources = parsed
            .sources
            .into_iter()
            .map(|(name, s)| {
                let location = resolve(overrides.source.as_deref().unwrap_or(&s.location));
                let schema = s.schema.unwrap_or_else(|| "raw".to_owned());
                (name, SourceLocation { location, schema })
            })
            .collect();
        Ok(ProjectConfig {
            root: root.to_path_buf(),
            name: parsed.project.name,
            target_path,
            warehouse,
            schema: parsed.warehouse.schema,
            model_stage,
            sources,
            models: parsed.models.unwrap_or_default(),
        })
    }

    /// The config of a model in folder `fqn`, with its own `patch` applied last.
    pub fn model_config(&self, fqn: &[String], patch: &ConfigPatch) -> ModelConfig {
        let mut config = ModelConfig::default();
        let mut folder = &self.models;
        config.apply(&folder.patch);
        for part in fqn {
            match folder.folders.get(part) {
                Some(f) => {
                    folder = f;
                    config.apply(&folder.patch);
                }
                None => break,
            }
        }
        config.apply(patch);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r##"
[project]
name = "p"

[sources.formula1]
location = "data"

[warehouse]
schema = "analytics"

[models.marts]
materialized = "table"

[models.marts.aggregates]
tags = "bi"
node_color = "Maroon"

[models.marts.aggregates.meta]
owner = "bi"
level = 2

[models.marts.aggregates.deeper.meta]
level = 3
"##;

    #[test]
    fn folder_configs_cascade_and_model_config_wins() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &Overrides::default()).unwrap();
        let fqn = ["marts".to_owned(), "aggregates".to_owned()];
        let own = ConfigPatch { tags: vec!["x".into()], ..Default::default() };
        let c = p.model_config(&fqn, &own);
        assert_eq!(c.materialized, Materialization::Table);
        assert_eq!(c.tags, vec!["bi", "x"]);
        assert_eq!(c.node_color.as_deref(), Some("Maroon"));
        assert_eq!(c.meta["owner"], "bi");
        assert_eq!(c.meta["level"], 2);
        let deeper = p.model_config(&[fqn[0].clone(), fqn[1].clone(), "deeper".to_owned()], &ConfigPatch::default());
        assert_eq!((deeper.meta["owner"].as_str(), deeper.meta["level"].as_i64()), (Some("bi"), Some(3)));
        let staging = p.model_config(&["staging".to_owned()], &ConfigPatch::default());
        assert_eq!(staging.materialized, Materialization::View);
        assert_eq!(p.warehouse, "/p/target/warehouse");
        assert_eq!(p.sources["formula1"].location, "/p/data");
        assert_eq!(p.sources["formula1"].schema, "raw");
    }

    #[test]
    fn overrides_beat_the_file() {
        let o = Overrides {
            source: Some("s3://bucket/prefix/".into()),
            target_path: Some("/tmp/t".into()),
            warehouse: None,
            model_stage: None,
        };
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &o).unwrap();
        assert_eq!(p.sources["formula1"].location, "s3://bucket/prefix/");
        assert_eq!(p.warehouse, "/tmp/t/warehouse");
        assert_eq!(p.model_stage, "/tmp/t/model_stage");
    }

    #[test]
    fn unknown_keys_name_the_file_and_line() {
        let text = "[project]\nname = \"p\"\ncolour = 1\n[warehouse]\nschema = \"a\"\n";
        let err =
            ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &Overrides::default()).unwrap_err().to_string();
        assert!(err.starts_with("pitwall.toml: "), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }
}
