//! The project file (`pitwall.toml`, dbt's `dbt_project.yml`) and model configs.
//!
//! Folder-level configs (`[models.marts.aggregates] tags = ["bi"]`) apply to every model
//! whose folder path starts with that path; a model's own config wins, tags accumulate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::context::Relations;
use crate::error::{Error, Result};
use crate::location::{Location, StoreOptions};

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

const CONFIG_KEYS: &[&str] = &["materialized", "tags", "node_color", "enabled", "meta"];

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
    fn first_unknown(&self) -> Option<&toml::Spanned<String>> {
        self.unknown.first().or_else(|| self.folders.values().find_map(FolderConfig::first_unknown))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    project: ProjectSection,
    #[serde(default)]
    sources: BTreeMap<String, SourceSection>,
    #[serde(default)]
    warehouse: WarehouseSection,
    #[serde(default)]
    targets: BTreeMap<String, TargetSection>,
    #[serde(default)]
    jobs: BTreeMap<String, JobSection>,
    #[serde(default)]
    models: Option<FolderConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProjectSection {
    name: String,
    #[serde(default)]
    target_path: Option<String>,
    #[serde(default)]
    default_target: Option<String>,
}

/// `[targets.<name>]`: dbt's profile targets. Each key beats `[warehouse]` and the
/// sources' locations; any value may be `{{ env_var('NAME') }}`.
// No Debug: a target's values may be secrets.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TargetSection {
    /// `local` (the default: the warehouse is the result) or `snowflake` (built locally,
    /// then delivered to Snowflake).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
    /// The local warehouse's location; on a `snowflake` target, dbt-snowflake's meaning:
    /// the virtual warehouse that runs the statements (then `local-warehouse` is the
    /// location).
    #[serde(default)]
    warehouse: Option<String>,
    #[serde(default)]
    local_warehouse: Option<String>,
    // dbt-snowflake's profile keys, spelled as dbt spells them.
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "private_key_path")]
    private_key_path: Option<String>,
    #[serde(default, rename = "private_key_passphrase")]
    private_key_passphrase: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    database: Option<String>,
    #[serde(default)]
    host: Option<String>,
    /// A number, or a string (so it may be `{{ env_var('PORT') }}`).
    #[serde(default)]
    port: Option<toml::Value>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    model_stage: Option<String>,
    /// The query engine (see [`ProjectConfig::engine`]).
    #[serde(default)]
    engine: Option<String>,
    /// Object-store options for this target's locations (see [`StoreOptions`]).
    #[serde(default)]
    storage: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct JobSection {
    #[serde(default)]
    target: Option<String>,
    steps: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `[jobs.<name>]`: a production job, as dbt Cloud's deployment jobs: pitwall commands run
/// in order against one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobConfig {
    pub name: String,
    /// The target its steps run against [default: the project's default target].
    pub target: String,
    /// Each step a pitwall command line without `pitwall`: `build`, `test -s marts`.
    pub steps: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    location: String,
    #[serde(default)]
    schema: Option<String>,
    /// Kept with its position so a bad value is reported with its line.
    #[serde(default)]
    on_error: Option<toml::Spanned<String>>,
    #[serde(default)]
    match_by_column_name: Option<toml::Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct WarehouseSection {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    model_stage: Option<String>,
}

/// Where a source's files are read from, the warehouse schema its raw tables land in,
/// and how its files are loaded (COPY INTO's `ON_ERROR` and `MATCH_BY_COLUMN_NAME`).
#[derive(Clone, Debug)]
pub struct SourceLocation {
    pub location: Location,
    pub schema: String,
    pub on_error: OnError,
    pub match_by_column_name: MatchByColumnName,
}

/// COPY INTO's `ON_ERROR`: what a file with rejected records does to the load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum OnError {
    /// Load every good record, report the rest (the workshop's `on_error = 'continue'`).
    #[default]
    Continue,
    /// Load nothing from a file with at least this many rejected records (`skip_file` is 1).
    SkipFile(u64),
    /// Load nothing from a file when at least this percentage of its records is rejected.
    SkipFilePercent(f64),
    /// Fail the whole load on the first rejected record, before the warehouse is touched.
    AbortStatement,
}

/// The values `on_error` accepts, for messages.
pub const ON_ERROR_VALUES: &str = "continue, skip_file, skip_file_<n>, skip_file_<n>%, abort_statement";

impl OnError {
    /// Parses COPY's spelling, case-insensitively: `continue`, `skip_file`, `skip_file_<n>`
    /// (n >= 1), `skip_file_<n>%` (0 < n <= 100), `abort_statement`.
    pub fn parse(text: &str) -> Option<OnError> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "continue" => return Some(OnError::Continue),
            "skip_file" => return Some(OnError::SkipFile(1)),
            "abort_statement" => return Some(OnError::AbortStatement),
            _ => {}
        }
        let n = lower.strip_prefix("skip_file_")?;
        if let Some(percent) = n.strip_suffix('%') {
            let p: f64 = percent.parse().ok()?;
            return (p > 0.0 && p <= 100.0 && percent.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
                .then_some(OnError::SkipFilePercent(p));
        }
        let count: u64 = n.parse().ok()?;
        (count >= 1 && n.bytes().all(|b| b.is_ascii_digit())).then_some(OnError::SkipFile(count))
    }
}

impl std::fmt::Display for OnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnError::Continue => f.write_str("continue"),
            OnError::SkipFile(1) => f.write_str("skip_file"),
            OnError::SkipFile(n) => write!(f, "skip_file_{n}"),
            OnError::SkipFilePercent(p) => write!(f, "skip_file_{p}%"),
            OnError::AbortStatement => f.write_str("abort_statement"),
        }
    }
}

/// COPY INTO's `MATCH_BY_COLUMN_NAME`: fields by position (`none`) or by header name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchByColumnName {
    #[default]
    None,
    CaseInsensitive,
}

/// The values `match_by_column_name` accepts, for messages.
pub const MATCH_BY_COLUMN_NAME_VALUES: &str = "none, case_insensitive";

impl MatchByColumnName {
    pub fn parse(text: &str) -> Option<MatchByColumnName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Some(MatchByColumnName::None),
            "case_insensitive" => Some(MatchByColumnName::CaseInsensitive),
            _ => None,
        }
    }
}

/// The 1-based line of byte `offset` in `text` (a span toml reported).
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Parses an optional `[sources.<name>]` option with `parse`, naming the file, the line
/// and the accepted values when it is wrong.
fn source_option<T: Default>(
    location: &str,
    text: &str,
    source: &str,
    key: &str,
    value: Option<&toml::Spanned<String>>,
    parse: fn(&str) -> Option<T>,
    accepted: &str,
) -> Result<T> {
    let Some(value) = value else { return Ok(T::default()) };
    parse(value.get_ref()).ok_or_else(|| {
        let line = line_at(text, value.span().start);
        Error::config(
            format!("{location}:{line}"),
            format!("[sources.{source}] {key} = '{}' is not valid (accepted: {accepted})", value.get_ref()),
        )
    })
}

/// The target name when the file has no `[targets]`.
pub const DEFAULT_TARGET: &str = "default";

/// The target to use and its section: `--target`, else `default-target`, else the only
/// target; a file without `[targets]` has one implicit target, `default`.
fn choose_target<'a>(
    location: &str,
    parsed: &'a ProjectFile,
    overrides: &Overrides,
) -> Result<(String, std::borrow::Cow<'a, TargetSection>)> {
    use std::borrow::Cow;
    let known = || {
        if parsed.targets.is_empty() {
            "the file defines no [targets.<name>]".to_owned()
        } else {
            format!("defined: {}", parsed.targets.keys().cloned().collect::<Vec<_>>().join(", "))
        }
    };
    let name = match (overrides.target.as_deref(), parsed.project.default_target.as_deref()) {
        (Some(name), _) => name.to_owned(),
        (None, Some(name)) => name.to_owned(),
        (None, None) if parsed.targets.is_empty() => {
            return Ok((DEFAULT_TARGET.to_owned(), Cow::Owned(TargetSection::default())));
        }
        (None, None) if parsed.targets.len() == 1 => parsed.targets.keys().next().cloned().unwrap_or_default(),
        (None, None) => {
            return Err(Error::config(
                location,
                format!("several targets and no default-target under [project]: pass --target NAME ({})", known()),
            ));
        }
    };
    match parsed.targets.get(&name) {
        Some(target) => Ok((name, Cow::Borrowed(target))),
        None if parsed.targets.is_empty() && name == DEFAULT_TARGET => Ok((name, Cow::Owned(TargetSection::default()))),
        None => Err(Error::config(location, format!("unknown target `{name}` ({})", known()))),
    }
}

/// A target's `[targets.<name>.storage]` as store options, `{{ env_var() }}` rendered and
/// every key checked.
fn target_storage(location: &str, target: &str, storage: &BTreeMap<String, toml::Value>) -> Result<StoreOptions> {
    let mut options = BTreeMap::new();
    for (key, value) in storage {
        let text = match value {
            toml::Value::String(s) => render_env_vars(s)
                .map_err(|e| Error::config(location, format!("[targets.{target}.storage] {key}: {e}")))?,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                return Err(Error::config(
                    location,
                    format!("[targets.{target}.storage] {key}: expected a string, number or boolean"),
                ));
            }
        };
        options.insert(key.clone(), text);
    }
    let options = StoreOptions::new(options);
    options.validate(&format!("{location}: [targets.{target}.storage]"))?;
    Ok(options)
}

/// `[jobs.<name>]`, each with its target checked (a job names a target the file defines).
fn jobs(location: &str, parsed: &ProjectFile, default_target: &str) -> Result<BTreeMap<String, JobConfig>> {
    let default_target = parsed.project.default_target.as_deref().unwrap_or(default_target);
    let mut jobs = BTreeMap::new();
    for (name, job) in &parsed.jobs {
        let target = job.target.clone().unwrap_or_else(|| default_target.to_owned());
        if !parsed.targets.is_empty() && !parsed.targets.contains_key(&target) {
            return Err(Error::config(
                location,
                format!(
                    "[jobs.{name}] target = '{target}' is not a target of this file (defined: {})",
                    parsed.targets.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if job.steps.is_empty() || job.steps.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::config(
                location,
                format!("[jobs.{name}] steps: give at least one pitwall command, e.g. [\"build\"]"),
            ));
        }
        jobs.insert(
            name.clone(),
            JobConfig { name: name.clone(), target, steps: job.steps.clone(), description: job.description.clone() },
        );
    }
    Ok(jobs)
}

/// Renders dbt's `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}` in a
/// project-file value, so secrets and per-machine settings stay out of the file. A
/// variable that is unset and has no default is an error naming it.
pub fn render_env_vars(text: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "an unclosed `{{`".to_owned())?;
        let expression = after[..end].trim();
        let arguments = expression
            .strip_prefix("env_var")
            .map(str::trim_start)
            .and_then(|a| a.strip_prefix('('))
            .and_then(|a| a.trim_end().strip_suffix(')'))
            .ok_or_else(|| {
                format!("`{{{{ {expression} }}}}`: only env_var('NAME') or env_var('NAME', 'default') is allowed here")
            })?;
        let quoted: Vec<&str> = arguments.split(',').map(str::trim).collect();
        let unquote = |a: &str| {
            a.strip_prefix('\'')
                .and_then(|a| a.strip_suffix('\''))
                .or_else(|| a.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
                .map(str::to_owned)
                .ok_or_else(|| format!("env_var({arguments}): arguments must be quoted strings"))
        };
        let (name, default) = match quoted.as_slice() {
            [name] => (unquote(name)?, None),
            [name, default] => (unquote(name)?, Some(unquote(default)?)),
            _ => return Err(format!("env_var({arguments}): expected a name and an optional default")),
        };
        match std::env::var(&name) {
            Ok(value) => out.push_str(&value),
            Err(_) => out.push_str(
                &default.ok_or_else(|| format!("env_var('{name}'): the variable is not set and has no default"))?,
            ),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Values given on the command line or in the environment, which beat the project file.
/// Relative paths in them are taken from the project root, as the file's are.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--target`: which `[targets.<name>]` to use.
    pub target: Option<String>,
    pub source: Option<String>,
    pub target_path: Option<String>,
    pub warehouse: Option<String>,
    pub model_stage: Option<String>,
    /// `--engine`: beats the target's `engine`.
    pub engine: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ProjectConfig {
    pub root: PathBuf,
    pub name: String,
    /// The target in use (`--target`, `default-target`, or the only one); `default` when
    /// the file has no `[targets]`.
    pub target: String,
    /// Every target the file defines, for messages.
    pub targets: Vec<String>,
    pub jobs: BTreeMap<String, JobConfig>,
    /// Where artifacts (manifest, run results, load report) are written.
    pub target_path: Location,
    pub warehouse: Location,
    /// The schema models are built into.
    pub schema: String,
    /// Where trained ML models are stored, the workshop's MODELSTAGE.
    pub model_stage: Location,
    pub sources: BTreeMap<String, SourceLocation>,
    pub models: FolderConfig,
    /// The query engine as written (`--engine`, else the target's `engine`); `None` is
    /// the local one. Core only carries the text: pitwall-cli, which makes sessions,
    /// parses it, so core names no engine.
    pub engine: Option<String>,
    /// The memory limit and spill folder of the sessions that run models and tests. Not
    /// in the file: pitwall-cli sets it from its options (`Resources::default()`, no
    /// limit, otherwise).
    pub resources: crate::resources::Resources,
    /// Where a `type = "snowflake"` target delivers what was built; `None` for a local
    /// target, whose warehouse is the result.
    pub snowflake: Option<SnowflakeTarget>,
}

/// A `type = "snowflake"` target's connection, dbt-snowflake's profile keys with
/// `{{ env_var() }}` rendered. Its `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct SnowflakeTarget {
    pub account: String,
    pub user: String,
    pub password: Option<String>,
    pub private_key_path: Option<PathBuf>,
    pub private_key_passphrase: Option<String>,
    pub role: Option<String>,
    pub database: String,
    /// The virtual warehouse statements run on.
    pub warehouse: Option<String>,
    pub schema: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
}

impl std::fmt::Debug for SnowflakeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("SnowflakeTarget")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("password", &set(&self.password))
            .field("private_key_path", &self.private_key_path)
            .field("private_key_passphrase", &set(&self.private_key_passphrase))
            .field("role", &self.role)
            .field("database", &self.database)
            .field("warehouse", &self.warehouse)
            .field("schema", &self.schema)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl SnowflakeTarget {
    /// The endpoint's base URL, as the connector will reach it (no credentials in it).
    pub fn endpoint(&self) -> String {
        let protocol = self.protocol.as_deref().unwrap_or("https");
        let host = self.host.clone().unwrap_or_else(|| format!("{}.snowflakecomputing.com", self.account));
        let port = self.port.unwrap_or(if protocol == "http" { 80 } else { 443 });
        format!("{protocol}://{host}:{port}")
    }
}

/// The keys only a `type = "snowflake"` target takes.
const SNOWFLAKE_KEYS: &str = "account, user, password, private_key_path, private_key_passphrase, role, database, \
     warehouse, host, port, protocol, local-warehouse";

impl TargetSection {
    /// A local target takes none of the Snowflake keys (`warehouse` is its location).
    fn check_local(&self, location: &str, target: &str) -> Result<()> {
        let snowflake_only = [
            ("local-warehouse", self.local_warehouse.is_some()),
            ("account", self.account.is_some()),
            ("user", self.user.is_some()),
            ("password", self.password.is_some()),
            ("private_key_path", self.private_key_path.is_some()),
            ("private_key_passphrase", self.private_key_passphrase.is_some()),
            ("role", self.role.is_some()),
            ("database", self.database.is_some()),
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("protocol", self.protocol.is_some()),
        ];
        match snowflake_only.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(Error::config(
                location,
                format!("[targets.{target}] {key}: only a target of type = \"snowflake\" takes it (add the type)"),
            )),
            None => Ok(()),
        }
    }

    /// The connection of a `type = "snowflake"` target, every required key checked.
    fn snowflake(
        &self,
        location: &str,
        target: &str,
        schema: Option<&str>,
        setting: impl Fn(&str, Option<&String>) -> Result<Option<String>>,
    ) -> Result<SnowflakeTarget> {
        let required = |key: &str, value: Option<&String>| -> Result<String> {
            setting(key, value)?.filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::config(
                    location,
                    format!("[targets.{target}] {key} is required on a type = \"snowflake\" target ({SNOWFLAKE_KEYS})"),
                )
            })
        };
        let port = match &self.port {
            None => None,
            Some(toml::Value::Integer(n)) => Some(*n as i128),
            Some(toml::Value::String(text)) => {
                let text = setting("port", Some(text))?.unwrap_or_default();
                Some(text.trim().parse::<i128>().map_err(|_| {
                    Error::config(location, format!("[targets.{target}] port = '{text}' is not a port number"))
                })?)
            }
            Some(other) => {
                return Err(Error::config(
                    location,
                    format!("[targets.{target}] port: a {} is not a port number", other.type_str()),
                ));
            }
        };
        let port = port
            .map(|n| {
                u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| {
                    Error::config(location, format!("[targets.{target}] port = {n} is not a port number (1-65535)"))
                })
            })
            .transpose()?;
        let protocol = setting("protocol", self.protocol.as_ref())?.filter(|v| !v.is_empty());
        if let Some(p) = protocol.as_deref().filter(|p| !matches!(*p, "http" | "https")) {
            return Err(Error::config(
                location,
                format!("[targets.{target}] protocol = '{p}' is not a protocol (accepted: https, http)"),
            ));
        }
        // An empty value is unset, so `{{ env_var('X', '') }}` can leave a key out.
        let password = setting("password", self.password.as_ref())?.filter(|v| !v.is_empty());
        let private_key_path =
            setting("private_key_path", self.private_key_path.as_ref())?.filter(|v| !v.is_empty()).map(PathBuf::from);
        if password.is_none() && private_key_path.is_none() {
            return Err(Error::config(
                location,
                format!("[targets.{target}] needs password or private_key_path to log in to Snowflake"),
            ));
        }
        Ok(SnowflakeTarget {
            account: required("account", self.account.as_ref())?,
            user: required("user", self.user.as_ref())?,
            password,
            private_key_path,
            private_key_passphrase: setting("private_key_passphrase", self.private_key_passphrase.as_ref())?
                .filter(|v| !v.is_empty()),
            role: setting("role", self.role.as_ref())?.filter(|v| !v.is_empty()),
            database: required("database", self.database.as_ref())?,
            warehouse: setting("warehouse", self.warehouse.as_ref())?.filter(|v| !v.is_empty()),
            schema: schema.map(str::to_owned).ok_or_else(|| {
                Error::config(
                    location,
                    format!("[targets.{target}] schema is required on a type = \"snowflake\" target"),
                )
            })?,
            host: setting("host", self.host.as_ref())?.filter(|v| !v.is_empty()),
            port,
            protocol,
        })
    }
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
        let mut parsed: ProjectFile = toml::from_str(text)
            .map_err(|e| Error::config(location, e.to_string().trim_end().replace('\n', "\n  ")))?;
        let models = parsed.models.take().unwrap_or_default();
        if let Some(key) = models.first_unknown() {
            let line = line_at(text, key.span().start);
            return Err(Error::config(
                format!("{location}:{line}"),
                format!(
                    "unknown key `{}` in [models...] (known: {}, or a sub-folder's table)",
                    key.get_ref(),
                    CONFIG_KEYS.join(", ")
                ),
            ));
        }
        let (target_name, target) = choose_target(location, &parsed, overrides)?;
        let storage = target_storage(location, &target_name, &target.storage)?;
        let setting = |key: &str, value: Option<&String>| -> Result<Option<String>> {
            value
                .map(|v| {
                    render_env_vars(v)
                        .map_err(|e| Error::config(location, format!("[targets.{target_name}] {key}: {e}")))
                })
                .transpose()
        };
        let target_source = setting("source", target.source.as_ref())?;
        let target_schema = setting("schema", target.schema.as_ref())?;
        let target_model_stage = setting("model-stage", target.model_stage.as_ref())?;
        let snowflake = match setting("type", target.kind.as_ref())?.as_deref() {
            None | Some("local") => {
                target.check_local(location, &target_name)?;
                None
            }
            Some("snowflake") => {
                let mut snowflake = target.snowflake(location, &target_name, target_schema.as_deref(), setting)?;
                // Relative to the project, as every path of the file is.
                snowflake.private_key_path = snowflake.private_key_path.map(|p| root.join(p));
                Some(snowflake)
            }
            Some(other) => {
                return Err(Error::config(
                    location,
                    format!(
                        "[targets.{target_name}] type = '{other}' is not a target type (accepted: local, snowflake)"
                    ),
                ));
            }
        };
        // On a Snowflake target `warehouse` is Snowflake's; the local one is `local-warehouse`.
        let target_warehouse = match &snowflake {
            None => setting("warehouse", target.warehouse.as_ref())?,
            Some(_) => setting("local-warehouse", target.local_warehouse.as_ref())?,
        };
        let engine = overrides.engine.clone().or(setting("engine", target.engine.as_ref())?);
        let targets: Vec<String> = parsed.targets.keys().cloned().collect();
        let jobs = jobs(location, &parsed, &target_name)?;
        let at = |p: &str| Location::parse(p, root).map(|l| l.with_options(&storage));
        let target_path =
            at(overrides.target_path.as_deref().or(parsed.project.target_path.as_deref()).unwrap_or("target"))?;
        // A Snowflake target's local build has its own folder by default, so delivering
        // never reads what another target built.
        let defaults = match &snowflake {
            None => target_path.clone(),
            Some(_) => target_path.join(&target_name),
        };
        let warehouse = match overrides.warehouse.as_deref().or(target_warehouse.as_deref()).or(match &snowflake {
            None => parsed.warehouse.path.as_deref(),
            Some(_) => None,
        }) {
            Some(p) => at(p)?,
            None => defaults.join("warehouse"),
        };
        let model_stage =
            match overrides.model_stage.as_deref().or(target_model_stage.as_deref()).or(match &snowflake {
                None => parsed.warehouse.model_stage.as_deref(),
                Some(_) => None,
            }) {
                Some(p) => at(p)?,
                None => defaults.join("model_stage"),
            };
        let schema = target_schema.or(parsed.warehouse.schema.take()).ok_or_else(|| {
            Error::config(
                location,
                format!(
                    "no schema for target `{target_name}`: set [targets.{target_name}] schema or [warehouse] schema"
                ),
            )
        })?;
        if parsed.sources.is_empty() {
            return Err(Error::config(location, "no [sources.<name>] section: pitwall needs a source to read"));
        }
        let source_override = overrides.source.as_deref().or(target_source.as_deref());
        if source_override.is_some() && parsed.sources.len() != 1 {
            return Err(Error::config(
                location,
                "--source (or a target's source) can only override a project with exactly one source",
            ));
        }
        let sources = std::mem::take(&mut parsed.sources)
            .into_iter()
            .map(|(name, s)| {
                let files_at = at(source_override.unwrap_or(&s.location))?;
                let schema = s.schema.unwrap_or_else(|| "raw".to_owned());
                let on_error = source_option(
                    location,
                    text,
                    &name,
                    "on_error",
                    s.on_error.as_ref(),
                    OnError::parse,
                    ON_ERROR_VALUES,
                )?;
                let match_by_column_name = source_option(
                    location,
                    text,
                    &name,
                    "match_by_column_name",
                    s.match_by_column_name.as_ref(),
                    MatchByColumnName::parse,
                    MATCH_BY_COLUMN_NAME_VALUES,
                )?;
                Ok((name, SourceLocation { location: files_at, schema, on_error, match_by_column_name }))
            })
            .collect::<Result<_>>()?;
        Ok(ProjectConfig {
            root: root.to_path_buf(),
            name: parsed.project.name,
            target: target_name,
            targets,
            jobs,
            target_path,
            warehouse,
            schema,
            model_stage,
            sources,
            models,
            engine,
            resources: Default::default(),
            snowflake,
        })
    }

    /// How refs and sources map to schema-qualified relations in this project.
    pub fn relations(&self) -> Relations {
        Relations {
            target_schema: self.schema.clone(),
            source_schemas: self.sources.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect(),
        }
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

    const SNOWFLAKE: &str = r#"
[project]
name = "p"
default-target = "sf"

[sources.formula1]
location = "data"

[targets.sf]
type = "snowflake"
account = "pitwall"
user = "ci"
password = "{{ env_var('PITWALL_CONFIG_TEST_SF_PASSWORD', 'hunter2') }}"
database = "PC_DBT_DB"
schema = "production"
warehouse = "COMPUTE_WH"
protocol = "http"
host = "127.0.0.1"
port = 8123
"#;

    #[test]
    fn a_snowflake_target_reads_dbts_keys_and_builds_locally_in_its_own_folder() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", SNOWFLAKE, &Overrides::default()).unwrap();
        let sf = p.snowflake.as_ref().expect("a snowflake target");
        assert_eq!((sf.account.as_str(), sf.user.as_str(), sf.database.as_str()), ("pitwall", "ci", "PC_DBT_DB"));
        assert_eq!(sf.password.as_deref(), Some("hunter2"));
        assert_eq!(sf.warehouse.as_deref(), Some("COMPUTE_WH"));
        assert_eq!(sf.endpoint(), "http://127.0.0.1:8123");
        assert_eq!(p.schema, "production");
        // `warehouse` is Snowflake's there; the local build goes under target/<target>/.
        assert_eq!(p.warehouse.to_string(), "/p/target/sf/warehouse");
        assert_eq!(p.model_stage.to_string(), "/p/target/sf/model_stage");
        let debug = format!("{p:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn a_snowflake_target_without_credentials_or_with_a_bad_port_names_the_key() {
        let parse = |text: &str| {
            ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &Overrides::default()).unwrap_err().to_string()
        };
        let no_login =
            SNOWFLAKE.replace("password = \"{{ env_var('PITWALL_CONFIG_TEST_SF_PASSWORD', 'hunter2') }}\"\n", "");
        assert!(parse(&no_login).contains("[targets.sf] needs password or private_key_path"), "{}", parse(&no_login));
        let no_account = SNOWFLAKE.replace("account = \"pitwall\"\n", "");
        assert!(parse(&no_account).contains("[targets.sf] account is required"), "{}", parse(&no_account));
        let bad_port = SNOWFLAKE.replace("port = 8123", "port = 70000");
        assert!(parse(&bad_port).contains("port = 70000 is not a port number"), "{}", parse(&bad_port));
        let bad_type = SNOWFLAKE.replace("type = \"snowflake\"", "type = \"bigquery\"");
        assert!(parse(&bad_type).contains("type = 'bigquery' is not a target type"), "{}", parse(&bad_type));
        let local = SNOWFLAKE.replace("type = \"snowflake\"\n", "");
        assert!(
            parse(&local).contains("[targets.sf] account: only a target of type = \"snowflake\""),
            "{}",
            parse(&local)
        );
    }

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
        assert_eq!(p.warehouse.to_string(), "/p/target/warehouse");
        assert_eq!(p.sources["formula1"].location.to_string(), "/p/data");
        assert_eq!(p.sources["formula1"].schema, "raw");
    }

    #[test]
    fn overrides_beat_the_file() {
        let o = Overrides {
            source: Some("s3://bucket/prefix/".into()),
            target: None,
            target_path: Some("/tmp/t".into()),
            warehouse: None,
            model_stage: None,
            engine: None,
        };
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &o).unwrap();
        assert_eq!(p.sources["formula1"].location.to_string(), "s3://bucket/prefix/");
        assert_eq!(p.warehouse.to_string(), "/tmp/t/warehouse");
        assert_eq!(p.model_stage.to_string(), "/tmp/t/model_stage");
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

    #[test]
    fn source_load_options_default_to_the_workshops_and_parse_copys_spellings() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &Overrides::default()).unwrap();
        assert_eq!(p.sources["formula1"].on_error, OnError::Continue);
        assert_eq!(p.sources["formula1"].match_by_column_name, MatchByColumnName::None);
        let with = FILE.replace(
            "location = \"data\"",
            "location = \"data\"\non_error = \"SKIP_FILE_10%\"\nmatch_by_column_name = \"Case_Insensitive\"",
        );
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", &with, &Overrides::default()).unwrap();
        assert_eq!(p.sources["formula1"].on_error, OnError::SkipFilePercent(10.0));
        assert_eq!(p.sources["formula1"].match_by_column_name, MatchByColumnName::CaseInsensitive);
        for (text, parsed) in [
            ("continue", Some(OnError::Continue)),
            ("Skip_File", Some(OnError::SkipFile(1))),
            ("skip_file_3", Some(OnError::SkipFile(3))),
            ("skip_file_2.5%", Some(OnError::SkipFilePercent(2.5))),
            ("ABORT_STATEMENT", Some(OnError::AbortStatement)),
            ("skip_file_0", None),
            ("skip_file_0%", None),
            ("skip_file_101%", None),
            ("skip_file_-1", None),
            ("skip_file_", None),
            ("skip", None),
        ] {
            assert_eq!(OnError::parse(text), parsed, "{text}");
        }
    }

    #[test]
    fn a_bad_on_error_value_names_the_file_line_and_accepted_values() {
        let text = "[project]\nname = \"p\"\n[sources.f]\nlocation = \"d\"\non_error = \"skip\"\n[warehouse]\nschema = \"a\"\n";
        let err =
            ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &Overrides::default()).unwrap_err().to_string();
        assert!(err.starts_with("pitwall.toml:5: [sources.f] on_error = 'skip' is not valid"), "{err}");
        assert!(err.contains(ON_ERROR_VALUES), "{err}");
        let bad_match = text.replace("on_error = \"skip\"", "match_by_column_name = \"yes\"");
        let err = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", &bad_match, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("pitwall.toml:5: [sources.f] match_by_column_name = 'yes'"), "{err}");
        assert!(err.contains("none, case_insensitive"), "{err}");
    }

    #[test]
    fn a_misspelt_folder_config_key_is_named_with_its_line() {
        let text = "[project]\nname = \"p\"\n[sources.f]\nlocation = \"d\"\n[warehouse]\nschema = \"a\"\n\
                    [models.staging]\nnode_color = \"Red\"\nmaterialised = \"table\"\n";
        let err =
            ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &Overrides::default()).unwrap_err().to_string();
        assert!(err.starts_with("pitwall.toml:9: unknown key `materialised`"), "{err}");
    }

    const TARGETS: &str = r#"
[project]
name = "p"
default-target = "dev"
[sources.f]
location = "data"
[warehouse]
schema = "analytics"
[targets.dev]
[targets.prod]
schema = "production"
warehouse = "s3://bucket/prod/"
model-stage = "{{ env_var('PITWALL_CONFIG_TEST_STAGE', 's3://bucket/stage/') }}"
[targets.prod.storage]
aws_region = "eu-west-1"
aws_secret_access_key = "{{ env_var('PITWALL_CONFIG_TEST_SECRET', 'not-a-real-secret') }}"
max_retries = 3
[jobs.production]
target = "prod"
steps = ["build", "test -s marts"]
"#;

    fn with_target(text: &str, target: Option<&str>) -> Result<ProjectConfig> {
        let overrides = Overrides { target: target.map(str::to_owned), ..Default::default() };
        ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &overrides)
    }

    #[test]
    fn the_default_target_is_used_unless_one_is_named_and_a_target_beats_the_warehouse_section() {
        let dev = with_target(TARGETS, None).unwrap();
        assert_eq!((dev.target.as_str(), dev.schema.as_str()), ("dev", "analytics"));
        assert_eq!(dev.warehouse.to_string(), "/p/target/warehouse");
        assert_eq!(dev.targets, ["dev", "prod"]);
        let prod = with_target(TARGETS, Some("prod")).unwrap();
        assert_eq!((prod.target.as_str(), prod.schema.as_str()), ("prod", "production"));
        assert_eq!(prod.warehouse.to_string(), "s3://bucket/prod/");
        assert_eq!(prod.model_stage.to_string(), "s3://bucket/stage/");
        assert_eq!(prod.sources["f"].location.to_string(), "/p/data");
        let job = &prod.jobs["production"];
        assert_eq!((job.target.as_str(), job.steps.len()), ("prod", 2));
        // The target's storage options travel with its URLs, and never show their values.
        let Location::Url(_, options) = &prod.warehouse else { panic!("a URL") };
        let shown = format!("{prod:?}");
        assert!(shown.contains("aws_secret_access_key") && !shown.contains("not-a-real-secret"), "{shown}");
        assert!(!options.is_empty());
    }

    #[test]
    fn a_targets_engine_is_carried_as_text_and_the_option_beats_it() {
        let text = TARGETS.replace("[targets.prod]\n", "[targets.prod]\nengine = \"ballista\"\n");
        assert_eq!(with_target(&text, None).unwrap().engine, None);
        assert_eq!(with_target(&text, Some("prod")).unwrap().engine.as_deref(), Some("ballista"));
        let overrides = Overrides { target: Some("prod".into()), engine: Some("local".into()), ..Default::default() };
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", &text, &overrides).unwrap();
        assert_eq!(p.engine.as_deref(), Some("local"));
    }

    #[test]
    fn a_file_without_targets_has_the_default_target() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &Overrides::default()).unwrap();
        assert_eq!(p.target, DEFAULT_TARGET);
        assert!(p.targets.is_empty() && p.jobs.is_empty());
    }

    #[test]
    fn target_mistakes_are_named() {
        let err = |text: &str, target: Option<&str>| with_target(text, target).unwrap_err().to_string();
        let unknown = err(TARGETS, Some("staging"));
        assert!(unknown.contains("unknown target `staging` (defined: dev, prod)"), "{unknown}");
        let no_default = err(&TARGETS.replace("default-target = \"dev\"\n", ""), None);
        assert!(no_default.contains("several targets and no default-target"), "{no_default}");
        let bad_key = err(&TARGETS.replace("aws_region", "aws_regoin"), Some("prod"));
        assert!(bad_key.contains("[targets.prod.storage]") && bad_key.contains("aws_regoin"), "{bad_key}");
        let bad_job = err(&TARGETS.replace("target = \"prod\"", "target = \"qa\""), None);
        assert!(bad_job.contains("[jobs.production] target = 'qa'"), "{bad_job}");
        let unset = err(
            &TARGETS.replace("'PITWALL_CONFIG_TEST_STAGE', 's3://bucket/stage/'", "'PITWALL_CONFIG_TEST_UNSET'"),
            Some("prod"),
        );
        assert!(unset.contains("env_var('PITWALL_CONFIG_TEST_UNSET'): the variable is not set"), "{unset}");
    }

    #[test]
    fn env_var_renders_dbts_forms_and_nothing_else() {
        assert_eq!(render_env_vars("plain").unwrap(), "plain");
        assert_eq!(render_env_vars("a{{ env_var('PITWALL_CONFIG_TEST_NONE', \"d\") }}b").unwrap(), "adb");
        let home = std::env::var("PATH").unwrap();
        assert_eq!(render_env_vars("{{env_var('PATH')}}").unwrap(), home);
        assert!(render_env_vars("{{ var('x') }}").unwrap_err().contains("only env_var"));
        assert!(render_env_vars("{{ env_var(PATH) }}").unwrap_err().contains("quoted"));
        assert!(render_env_vars("{{ env_var('PATH')").unwrap_err().contains("unclosed"));
    }
}
