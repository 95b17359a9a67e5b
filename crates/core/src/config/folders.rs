//! Model configs at every level: [`ConfigPatch`] (what one level writes: a folder in
//! `pitwall.toml`, a properties entry, a model's own `config()`), [`FolderConfig`] (the
//! `[models.*]` tree) and [`ModelConfig`] (a model's resolved config). A deeper or more
//! specific level wins; tags accumulate; meta merges key by key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
#[serde(deny_unknown_fields)]
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
    /// The compiled Rust model this model is (`train_test_position`); a model with this
    /// set has no SQL.
    #[serde(default)]
    pub rust_model: Option<String>,
}

/// A model's resolved config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelConfig {
    pub materialized: Materialization,
    pub tags: Vec<String>,
    pub node_color: Option<String>,
    pub enabled: bool,
    pub meta: BTreeMap<String, serde_json::Value>,
    pub rust_model: Option<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            materialized: Materialization::View,
            tags: Vec::new(),
            node_color: None,
            enabled: true,
            meta: BTreeMap::new(),
            rust_model: None,
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
        if let Some(r) = &patch.rust_model {
            self.rust_model = Some(r.clone());
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
///
/// A key is a config key when pitwall knows it and a nested folder when its value is a
/// table; anything else is kept in `unknown` with its position, so the project file's
/// error names the key and its line rather than the section.
#[derive(Clone, Debug, Default)]
pub struct FolderConfig {
    pub patch: ConfigPatch,
    pub folders: BTreeMap<String, FolderConfig>,
    unknown: Vec<toml::Spanned<String>>,
}

pub(super) const CONFIG_KEYS: &[&str] = &["materialized", "tags", "node_color", "enabled", "meta", "rust_model"];

impl<'de> Deserialize<'de> for FolderConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(FolderVisitor)
    }
}

struct FolderVisitor;

impl<'de> serde::de::Visitor<'de> for FolderVisitor {
    type Value = FolderConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a table of model configs and folders")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<FolderConfig, A::Error> {
        let mut folder = FolderConfig::default();
        let mut patch = toml::Table::new();
        while let Some(key) = map.next_key::<toml::Spanned<String>>()? {
            if CONFIG_KEYS.contains(&key.get_ref().as_str()) {
                patch.insert(key.into_inner(), map.next_value()?);
                continue;
            }
            // Decided on the value's shape without buffering it, so nested keys keep
            // their positions.
            match map.next_value::<Entry>()? {
                Entry::Folder(nested) => {
                    folder.folders.insert(key.into_inner(), nested);
                }
                Entry::Other => folder.unknown.push(key),
            }
        }
        folder.patch = ConfigPatch::deserialize(toml::Value::Table(patch)).map_err(serde::de::Error::custom)?;
        Ok(folder)
    }
}

/// A folder-level value that is not a config key: a nested folder, or anything else.
enum Entry {
    Folder(FolderConfig),
    Other,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entry;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a folder's table or a value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<Entry, A::Error> {
                FolderVisitor.visit_map(map).map(Entry::Folder)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Entry, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Entry::Other)
            }

            fn visit_str<E>(self, _: &str) -> std::result::Result<Entry, E> {
                Ok(Entry::Other)
            }

            fn visit_bool<E>(self, _: bool) -> std::result::Result<Entry, E> {
                Ok(Entry::Other)
            }

            fn visit_i64<E>(self, _: i64) -> std::result::Result<Entry, E> {
                Ok(Entry::Other)
            }

            fn visit_u64<E>(self, _: u64) -> std::result::Result<Entry, E> {
                Ok(Entry::Other)
            }

            fn visit_f64<E>(self, _: f64) -> std::result::Result<Entry, E> {
                Ok(Entry::Other)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl FolderConfig {
    /// The first key that is neither a config key nor a folder, at any depth.
    pub(super) fn first_unknown(&self) -> Option<&toml::Spanned<String>> {
        self.unknown.first().or_else(|| self.folders.values().find_map(FolderConfig::first_unknown))
    }
}
