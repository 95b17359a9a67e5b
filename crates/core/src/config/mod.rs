//! The project file (`pitwall.toml`, dbt's `dbt_project.yml` plus its profiles) as one
//! resolved value, [`ProjectConfig`]: one target chosen, every location parsed, every
//! value checked. Each concern has its own module:
//!
//! - [`file`]: the TOML schema, as serde reads it;
//! - [`paths`]: where the project's models, tests, macros and docs are;
//! - [`folders`]: model configs and the `[models.*]` folder tree;
//! - [`target`]: which target a run uses, its storage options, an adapter's keys;
//! - [`copy`]: a source's location and COPY INTO's load options;
//! - [`jobs`]: deployment jobs;
//! - [`env`]: `{{ env_var() }}` in values.
//!
//! [`ProjectConfig::parse`] runs them in that order; the first mistake is an error naming
//! the file (and line, where toml gives one) and the key.

mod copy;
mod env;
mod file;
mod folders;
mod jobs;
mod paths;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use copy::{MATCH_BY_COLUMN_NAME_VALUES, MatchByColumnName, ON_ERROR_VALUES, OnError, SourceLocation};
pub use env::{EnvVarError, env_var, render_env_vars};
pub use folders::{ConfigPatch, FolderConfig, Materialization, ModelConfig};
pub use jobs::JobConfig;
pub use paths::{Mount, ProjectPaths};
pub use target::{AdapterTarget, DEFAULT_TARGET};

use self::file::FileSchema;
use crate::error::{Error, Result};
use crate::location::{Location, StoreOptions};
use crate::relations::Relations;

pub const PROJECT_FILE: &str = "pitwall.toml";

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
    /// `--vars`: a YAML mapping (dbt's form, `{season: 2020}`) beating `[vars]`.
    pub vars: Option<String>,
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
    /// Where the project's models, tests, macros and docs are read from.
    pub paths: ProjectPaths,
    /// dbt's vars: `[vars]`, with `--vars` beating them key by key.
    pub vars: BTreeMap<String, serde_json::Value>,
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
    /// An adapter's target (`type = "snowflake"`: built locally, then delivered), its keys
    /// for the adapter to read; `None` for a local target, whose warehouse is the result.
    pub adapter: Option<AdapterTarget>,
}

/// The chosen target's settings, `{{ env_var() }}` rendered.
struct TargetSettings {
    name: String,
    storage: StoreOptions,
    adapter: Option<AdapterTarget>,
    source: Option<String>,
    schema: Option<String>,
    warehouse: Option<String>,
    model_stage: Option<String>,
    engine: Option<String>,
}

/// Where a file's locations are.
struct Locations {
    target_path: Location,
    warehouse: Location,
    model_stage: Location,
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
        let mut parsed = read_schema(location, text)?;
        let models = parsed.models.take().unwrap_or_default();
        let target = TargetSettings::choose(location, &parsed, overrides)?;
        let jobs = jobs::jobs(location, &parsed, &target.name)?;
        let locations = Locations::of(root, &parsed, &target, overrides)?;
        let schema = target.schema.clone().or(parsed.warehouse.schema.take()).ok_or_else(|| {
            let name = &target.name;
            Error::config(
                location,
                format!("no schema for target `{name}`: set [targets.{name}] schema or [warehouse] schema"),
            )
        })?;
        let sources = sources(root, location, text, &mut parsed, &target, overrides)?;
        let vars = vars(location, &parsed, overrides)?;
        let project = &parsed.project;
        let paths = ProjectPaths::resolve(
            root,
            project.model_paths.as_deref(),
            project.test_paths.as_deref(),
            project.macro_paths.as_deref(),
            project.docs_paths.as_deref(),
        );
        Ok(ProjectConfig {
            root: root.to_path_buf(),
            name: parsed.project.name.clone(),
            targets: parsed.targets.keys().cloned().collect(),
            target: target.name,
            jobs,
            paths,
            vars,
            target_path: locations.target_path,
            warehouse: locations.warehouse,
            schema,
            model_stage: locations.model_stage,
            sources,
            models,
            engine: target.engine,
            resources: Default::default(),
            adapter: target.adapter,
        })
    }

    /// How refs and sources map to schema-qualified relations in this project.
    pub fn relations(&self) -> Relations {
        Relations {
            target_schema: self.schema.clone(),
            source_schemas: self.sources.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect(),
        }
    }

    /// The config of a model in folder `fqn`: the folder configs, then each of `patches`
    /// in order (its properties entry, then its own `config()`), the later winning.
    pub fn model_config(&self, fqn: &[String], patches: &[&ConfigPatch]) -> ModelConfig {
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
        for patch in patches {
            config.apply(patch);
        }
        config
    }
}

/// The file as serde reads it, with `[models...]` keys checked (an unknown one is named
/// with its line).
fn read_schema(location: &str, text: &str) -> Result<FileSchema> {
    let parsed: FileSchema =
        toml::from_str(text).map_err(|e| Error::config(location, e.to_string().trim_end().replace('\n', "\n  ")))?;
    if let Some(key) = parsed.models.as_ref().and_then(FolderConfig::first_unknown) {
        let line = copy::line_at(text, key.span().start);
        return Err(Error::config(
            format!("{location}:{line}"),
            format!(
                "unknown key `{}` in [models...] (known: {}, or a sub-folder's table)",
                key.get_ref(),
                folders::CONFIG_KEYS.join(", ")
            ),
        ));
    }
    Ok(parsed)
}

impl TargetSettings {
    /// The target a run uses (see [`target::choose_target`]) and its settings.
    fn choose(location: &str, parsed: &FileSchema, overrides: &Overrides) -> Result<TargetSettings> {
        let (name, section) = target::choose_target(location, parsed, overrides)?;
        let storage = target::target_storage(location, &name, &section.storage)?;
        let setting = |key: &str, value: Option<&String>| -> Result<Option<String>> {
            value
                .map(|v| {
                    render_env_vars(v).map_err(|e| Error::config(location, format!("[targets.{name}] {key}: {e}")))
                })
                .transpose()
        };
        let schema = setting("schema", section.schema.as_ref())?;
        let adapter = section.adapter(location, &name, &setting)?;
        // On an adapter's target `warehouse` is the adapter's; the local one is `local-warehouse`.
        let warehouse = match &adapter {
            None => setting("warehouse", section.warehouse.as_ref())?,
            Some(_) => setting("local-warehouse", section.local_warehouse.as_ref())?,
        };
        Ok(TargetSettings {
            storage,
            source: setting("source", section.source.as_ref())?,
            model_stage: setting("model-stage", section.model_stage.as_ref())?,
            engine: overrides.engine.clone().or(setting("engine", section.engine.as_ref())?),
            schema,
            warehouse,
            adapter,
            name,
        })
    }
}

impl Locations {
    /// The option, else the target's, else the file's, else the default, for each.
    fn of(root: &Path, parsed: &FileSchema, target: &TargetSettings, overrides: &Overrides) -> Result<Locations> {
        let at = |p: &str| Location::parse(p, root).map(|l| l.with_options(&target.storage));
        let target_path =
            at(overrides.target_path.as_deref().or(parsed.project.target_path.as_deref()).unwrap_or("target"))?;
        // An adapter's target builds locally in a folder of its own by default, so
        // delivering never reads what another target built.
        let (defaults, file_warehouse, file_stage) = match &target.adapter {
            None => (target_path.clone(), parsed.warehouse.path.as_deref(), parsed.warehouse.model_stage.as_deref()),
            Some(_) => (target_path.join(&target.name), None, None),
        };
        let pick = |option: Option<&str>, target: Option<&str>, file: Option<&str>, default: &str| match option
            .or(target)
            .or(file)
        {
            Some(p) => at(p),
            None => Ok(defaults.join(default)),
        };
        Ok(Locations {
            warehouse: pick(overrides.warehouse.as_deref(), target.warehouse.as_deref(), file_warehouse, "warehouse")?,
            model_stage: pick(
                overrides.model_stage.as_deref(),
                target.model_stage.as_deref(),
                file_stage,
                "model_stage",
            )?,
            target_path,
        })
    }
}

/// Every `[sources.<name>]`: its files' location (`--source` or the target's beating it,
/// for a project with one source), schema and load options.
fn sources(
    root: &Path,
    location: &str,
    text: &str,
    parsed: &mut FileSchema,
    target: &TargetSettings,
    overrides: &Overrides,
) -> Result<BTreeMap<String, SourceLocation>> {
    if parsed.sources.is_empty() {
        return Err(Error::config(location, "no [sources.<name>] section: pitwall needs a source to read"));
    }
    let source_override = overrides.source.as_deref().or(target.source.as_deref());
    if source_override.is_some() && parsed.sources.len() != 1 {
        return Err(Error::config(
            location,
            "--source (or a target's source) can only override a project with exactly one source",
        ));
    }
    std::mem::take(&mut parsed.sources)
        .into_iter()
        .map(|(name, section)| {
            let files_at =
                Location::parse(source_override.unwrap_or(&section.location), root)?.with_options(&target.storage);
            let source = copy::source_location(location, text, &name, section, files_at)?;
            Ok((name, source))
        })
        .collect()
}

/// `[vars]`, then `--vars` (YAML, as dbt takes it) key by key.
fn vars(location: &str, parsed: &FileSchema, overrides: &Overrides) -> Result<BTreeMap<String, serde_json::Value>> {
    let mut vars = BTreeMap::new();
    for (key, value) in &parsed.vars {
        let value = serde_json::to_value(value).map_err(|e| Error::config(location, format!("[vars] {key}: {e}")))?;
        vars.insert(key.clone(), value);
    }
    if let Some(text) = overrides.vars.as_deref().filter(|t| !t.trim().is_empty()) {
        let given: BTreeMap<String, serde_json::Value> = serde_norway::from_str(text)
            .map_err(|e| Error::config("--vars", format!("'{text}' is not a YAML mapping of names to values ({e})")))?;
        vars.extend(given);
    }
    Ok(vars)
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
    fn an_adapters_target_passes_its_keys_rendered_and_builds_locally_in_its_own_folder() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", SNOWFLAKE, &Overrides::default()).unwrap();
        let adapter = p.adapter.as_ref().expect("an adapter's target");
        assert_eq!((adapter.kind.as_str(), adapter.at.as_str()), ("snowflake", "pitwall.toml: [targets.sf]"));
        let keys: Vec<&str> = adapter.options.keys().map(String::as_str).collect();
        assert_eq!(keys, ["account", "database", "host", "password", "port", "protocol", "user", "warehouse"]);
        assert_eq!(adapter.options["password"].as_str(), Some("hunter2"));
        assert_eq!(adapter.options["warehouse"].as_str(), Some("COMPUTE_WH"));
        assert_eq!(adapter.options["port"].as_integer(), Some(8123));
        assert_eq!(p.schema, "production");
        // `warehouse` is the adapter's there; the local build goes under target/<target>/.
        assert_eq!(p.warehouse.to_string(), "/p/target/sf/warehouse");
        assert_eq!(p.model_stage.to_string(), "/p/target/sf/model_stage");
        let debug = format!("{p:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn an_empty_adapter_value_is_unset_and_a_local_target_refuses_an_adapters_key() {
        let parse = |text: &str| ProjectConfig::parse(Path::new("/p"), "pitwall.toml", text, &Overrides::default());
        let emptied =
            SNOWFLAKE.replace("PITWALL_CONFIG_TEST_SF_PASSWORD', 'hunter2'", "PITWALL_CONFIG_TEST_SF_PASSWORD', ''");
        let p = parse(&emptied).unwrap();
        assert!(!p.adapter.unwrap().options.contains_key("password"));
        let local = SNOWFLAKE.replace("type = \"snowflake\"\n", "");
        let error = parse(&local).unwrap_err().to_string();
        assert!(error.contains("[targets.sf] account: not a key of a local target"), "{error}");
        assert!(error.contains("need its type (type = \"snowflake\")"), "{error}");
        let typo = FILE.replace("[warehouse]", "[targets.dev]\nmodle-stage = \"x\"\n\n[warehouse]");
        let error = parse(&typo).unwrap_err().to_string();
        assert!(error.contains("[targets.dev] modle-stage: not a key of a local target"), "{error}");
    }

    #[test]
    fn folder_configs_cascade_and_model_config_wins() {
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &Overrides::default()).unwrap();
        let fqn = ["marts".to_owned(), "aggregates".to_owned()];
        let own = ConfigPatch { tags: vec!["x".into()], ..Default::default() };
        let c = p.model_config(&fqn, &[&own]);
        assert_eq!(c.materialized, Materialization::Table);
        assert_eq!(c.tags, vec!["bi", "x"]);
        assert_eq!(c.node_color.as_deref(), Some("Maroon"));
        assert_eq!(c.meta["owner"], "bi");
        assert_eq!(c.meta["level"], 2);
        let deeper = p.model_config(&[fqn[0].clone(), fqn[1].clone(), "deeper".to_owned()], &[]);
        assert_eq!((deeper.meta["owner"].as_str(), deeper.meta["level"].as_i64()), (Some("bi"), Some(3)));
        let staging = p.model_config(&["staging".to_owned()], &[]);
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
            vars: Some("{season: 2020, new: x}".into()),
        };
        let file = format!("{FILE}\n[vars]\nseason = 2021\nkeep = 1\n");
        let p = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", &file, &o).unwrap();
        let vars: Vec<String> = p.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(vars, ["keep=1", "new=\"x\"", "season=2020"]);
        let bad = Overrides { vars: Some("[1, 2]".into()), ..Default::default() };
        let err = ProjectConfig::parse(Path::new("/p"), "pitwall.toml", FILE, &bad).unwrap_err().to_string();
        assert!(err.starts_with("--vars: '[1, 2]' is not a YAML mapping"), "{err}");
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
}
