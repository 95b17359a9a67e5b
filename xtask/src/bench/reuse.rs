//! The state-aware rows of the scale benchmark: after a clean build, a no-op build into
//! the same warehouse and a build after a one-model edit. Here: the project's working
//! copy (the edit is made there, never in the checkout), the edit and the guard that
//! undoes it, and the counts of reused and built nodes read back from `run_results.json`
//! that show whether reuse happened.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The model the edit row changes: a marts table that one aggregate reads, so the edit
/// rebuilds a small part of the DAG.
pub(crate) const EDITED_MODEL: &str = "pit_stops_joined";

/// Appended to the edited model's final select: new tokens (comments and whitespace
/// would not change its fingerprint), the same rows.
pub(crate) const HARMLESS_PREDICATE: &str = "where 1 = 1";

/// The three builds timed per round, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Build {
    /// Into a fresh output folder: nothing to reuse.
    Clean,
    /// Again into the clean build's warehouse, nothing changed: everything reusable.
    NoOp,
    /// Again, with [`EDITED_MODEL`] edited: that model and what reads it rebuilt.
    Edit,
}

impl Build {
    pub(crate) const ALL: [Build; 3] = [Build::Clean, Build::NoOp, Build::Edit];

    /// As the report names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Build::Clean => "clean",
            Build::NoOp => "no-op",
            Build::Edit => "one-model edit",
        }
    }

    /// As log file names and JSON keys name it.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Build::Clean => "clean",
            Build::NoOp => "noop",
            Build::Edit => "edit",
        }
    }
}

/// Copies the project at `from` into `to` (replacing what was there), leaving out hidden
/// entries, its `target` folder and the `skipped` folders (the bench's own output must
/// not be copied into itself). The bench runs and edits the copy, so an interrupted
/// bench (Ctrl-C runs no destructor) never leaves the checkout modified.
pub(crate) fn copy_project(from: &Path, to: &Path, skipped: &[&Path]) -> Result<()> {
    if to.exists() {
        fs::remove_dir_all(to).with_context(|| format!("cannot remove {}", to.display()))?;
    }
    let mut skipped = skipped.to_vec();
    let own_target = from.join("target");
    skipped.push(&own_target);
    copy_folder(from, to, &skipped)
}

fn copy_folder(from: &Path, to: &Path, skipped: &[&Path]) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry?.path();
        let hidden = path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if hidden || skipped.contains(&path.as_path()) {
            continue;
        }
        let destination = to.join(path.file_name().context("a folder entry without a name")?);
        // Follows symbolic links: the copy must stand alone.
        if path.is_dir() {
            copy_folder(&path, &destination, skipped)?;
        } else {
            fs::copy(&path, &destination)
                .with_context(|| format!("cannot copy {} to {}", path.display(), destination.display()))?;
        }
    }
    Ok(())
}

/// The file of `model` in `project`, from a manifest's `original_file_path`.
pub(crate) fn model_file(manifest: &Value, project: &Path, model: &str) -> Result<PathBuf> {
    let nodes = manifest["nodes"].as_object().context("manifest.json has no nodes")?;
    let node = nodes
        .values()
        .find(|node| node["resource_type"] == "model" && node["name"] == model)
        .with_context(|| format!("the project has no model {model}, which the one-model edit changes"))?;
    let path = node["original_file_path"].as_str().with_context(|| format!("the manifest gives {model} no file"))?;
    Ok(project.join(path))
}

/// `sql` with [`HARMLESS_PREDICATE`] appended, or an error when the model's last select
/// could not take it (it filters already, or the file ends with a semicolon).
fn edited_sql(sql: &str) -> Result<String> {
    let body = sql.trim_end();
    let lowered = body.to_lowercase();
    let last_from = lowered.rfind("from").unwrap_or(0);
    let tail = &lowered[last_from..];
    if body.ends_with(';') || ["where", "group by", "order by", "limit", "union"].iter().any(|k| tail.contains(k)) {
        bail!("cannot append `{HARMLESS_PREDICATE}` to {EDITED_MODEL}: its last select does not end with a join");
    }
    Ok(format!("{body}\n{HARMLESS_PREDICATE}\n"))
}

/// The edited model's file while edited: dropping it (or [`ModelEdit::restore`]) puts
/// the original text back, so an error in the edit build leaves the next round's clean
/// build the project as it was.
pub(crate) struct ModelEdit {
    path: PathBuf,
    original: String,
    restored: bool,
}

impl ModelEdit {
    pub(crate) fn apply(path: &Path) -> Result<ModelEdit> {
        let original = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let edited = edited_sql(&original)?;
        let edit = ModelEdit { path: path.to_path_buf(), original, restored: false };
        fs::write(path, edited).with_context(|| format!("cannot edit {}", path.display()))?;
        Ok(edit)
    }

    /// Puts the original back, reporting a failure (which `drop` can only print).
    pub(crate) fn restore(mut self) -> Result<()> {
        self.restored = true;
        fs::write(&self.path, &self.original).with_context(|| format!("cannot restore {}", self.path.display()))
    }
}

impl Drop for ModelEdit {
    fn drop(&mut self) {
        if !self.restored
            && let Err(error) = fs::write(&self.path, &self.original)
        {
            eprintln!("cannot restore {}: {error}", self.path.display());
        }
    }
}

/// How many models and tests of a build were reused, and how many built or run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeCounts {
    pub(crate) models_reused: usize,
    pub(crate) models_built: usize,
    pub(crate) tests_reused: usize,
    pub(crate) tests_run: usize,
}

impl NodeCounts {
    /// The counts of a `run_results.json`: status `reused` against every other status.
    pub(crate) fn of(run_results: &Value) -> Result<NodeCounts> {
        let results = run_results["results"].as_array().context("run_results.json has no results")?;
        let mut counts = NodeCounts::default();
        for result in results {
            let reused = result["status"] == "reused";
            let kind = result["unique_id"].as_str().and_then(|id| id.split('.').next()).unwrap_or_default();
            match (kind, reused) {
                ("model", true) => counts.models_reused += 1,
                ("model", false) => counts.models_built += 1,
                ("test", true) => counts.tests_reused += 1,
                ("test", false) => counts.tests_run += 1,
                _ => {}
            }
        }
        Ok(counts)
    }

    pub(crate) fn to_json(self) -> Value {
        json!({
            "models_reused": self.models_reused,
            "models_built": self.models_built,
            "tests_reused": self.tests_reused,
            "tests_run": self.tests_run,
        })
    }
}

impl fmt::Display for NodeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "models {} reused / {} built, tests {} reused / {} run",
            self.models_reused, self.models_built, self.tests_reused, self.tests_run
        )
    }
}

/// `<target-path>/run_results.json` of the build that wrote into `out`.
pub(crate) fn read_run_results(out: &Path) -> Result<Value> {
    let path = out.join("run_results.json");
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The status of `model` in a `run_results.json`, if it ran.
fn model_status<'a>(run_results: &'a Value, model: &str) -> Option<&'a str> {
    run_results["results"].as_array()?.iter().find_map(|result| {
        let id = result["unique_id"].as_str()?;
        (id.starts_with("model.") && id.rsplit('.').next() == Some(model)).then(|| result["status"].as_str())?
    })
}

/// Whether `pitwall build --help` offers `--full-refresh`: a pitwall that does has
/// state-aware builds, so its no-op build must reuse every model.
pub(crate) fn reuse_expected(build_help: &str) -> bool {
    build_help.contains("--full-refresh")
}

/// Errors when a build's counts show the measurement is not what its row claims: a
/// clean build that reused, a no-op build that rebuilt models (with `reuse_expected`),
/// an edit build that reused the edited model (its row would time a no-op).
pub(crate) fn check(build: Build, run_results: &Value, reuse_expected: bool) -> Result<NodeCounts> {
    let counts = NodeCounts::of(run_results)?;
    match build {
        Build::Clean if counts.models_reused + counts.tests_reused > 0 => {
            bail!("the clean build into a fresh folder reused nodes ({counts}): it was not clean")
        }
        Build::NoOp if reuse_expected && counts.models_built > 0 => bail!(
            "the no-op build rebuilt {} models with nothing changed ({counts}): reuse is broken, or turned off \
             by a --full-refresh among the pitwall arguments",
            counts.models_built
        ),
        Build::Edit => match model_status(run_results, EDITED_MODEL) {
            Some("reused") => {
                bail!("the build after editing {EDITED_MODEL} reused it: its fingerprint missed the edit")
            }
            None => bail!("the build after editing {EDITED_MODEL} has no result for it in run_results.json"),
            Some(_) => Ok(counts),
        },
        _ => Ok(counts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_results(statuses: &[(&str, &str)]) -> Value {
        let results: Vec<Value> =
            statuses.iter().map(|(id, status)| json!({ "unique_id": id, "status": status })).collect();
        json!({ "results": results })
    }

    #[test]
    fn the_edit_appends_a_true_predicate_to_the_final_join() {
        let sql = "select a.x\nfrom a\nleft join b\n    on a.id = b.id\n\n";
        assert_eq!(edited_sql(sql).unwrap(), "select a.x\nfrom a\nleft join b\n    on a.id = b.id\nwhere 1 = 1\n");
        assert!(edited_sql("select x from a where x > 1").is_err());
        assert!(edited_sql("select x from a;").is_err());
        assert!(edited_sql("select x from a group by x").is_err());
    }

    #[test]
    fn the_edit_is_undone_on_restore_and_on_drop() {
        let path = std::env::temp_dir().join(format!("xtask-reuse-edit-{}.sql", std::process::id()));
        let original = "select x\nfrom a\n";
        fs::write(&path, original).unwrap();
        let edit = ModelEdit::apply(&path).unwrap();
        assert!(fs::read_to_string(&path).unwrap().ends_with("where 1 = 1\n"));
        edit.restore().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), original);
        let result: Result<()> = (|| {
            let _edit = ModelEdit::apply(&path)?;
            bail!("the build failed")
        })();
        assert!(result.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), original);
        fs::remove_file(path).unwrap();
    }

    #[test]
    fn counts_split_models_and_tests_by_reused_or_not() {
        let results = run_results(&[
            ("model.p.a", "reused"),
            ("model.p.pit_stops_joined", "success"),
            ("test.p.t1", "reused"),
            ("test.p.t2", "pass"),
            ("test.p.t3", "warn"),
        ]);
        let counts = NodeCounts::of(&results).unwrap();
        assert_eq!(counts, NodeCounts { models_reused: 1, models_built: 1, tests_reused: 1, tests_run: 2 });
        assert_eq!(counts.to_string(), "models 1 reused / 1 built, tests 1 reused / 2 run");
    }

    #[test]
    fn checks_fail_only_when_a_row_did_not_measure_what_it_says() {
        let all_built = run_results(&[("model.p.a", "success"), ("model.p.pit_stops_joined", "success")]);
        let all_reused = run_results(&[("model.p.a", "reused"), ("model.p.pit_stops_joined", "reused")]);
        assert!(check(Build::Clean, &all_built, true).is_ok());
        assert!(check(Build::Clean, &all_reused, true).is_err());
        assert!(check(Build::NoOp, &all_built, false).is_ok(), "a pitwall without reuse builds everything");
        assert!(check(Build::NoOp, &all_built, true).unwrap_err().to_string().contains("rebuilt 2 models"));
        assert!(check(Build::NoOp, &all_reused, true).is_ok());
        assert!(check(Build::Edit, &all_built, true).is_ok());
        assert!(check(Build::Edit, &all_reused, true).unwrap_err().to_string().contains("missed the edit"));
        assert!(check(Build::Edit, &run_results(&[("model.p.a", "reused")]), false).is_err());
    }

    #[test]
    fn a_pitwall_with_full_refresh_is_expected_to_reuse() {
        assert!(reuse_expected("      --full-refresh  Rebuild every node"));
        assert!(!reuse_expected("      --select <SELECTOR>"));
    }

    #[test]
    fn the_copy_leaves_out_hidden_entries_target_and_skipped_folders() {
        let root = std::env::temp_dir().join(format!("xtask-reuse-copy-{}", std::process::id()));
        let from = root.join("from");
        for folder in ["models/core", "target", ".git", "bench"] {
            fs::create_dir_all(from.join(folder)).unwrap();
        }
        for file in ["pitwall.toml", "models/core/m.sql", "target/x", ".git/HEAD", "bench/y"] {
            fs::write(from.join(file), file).unwrap();
        }
        let to = root.join("to");
        copy_project(&from, &to, &[&from.join("bench")]).unwrap();
        assert_eq!(fs::read_to_string(to.join("models/core/m.sql")).unwrap(), "models/core/m.sql");
        assert!(to.join("pitwall.toml").is_file());
        assert!(!to.join("target").exists() && !to.join(".git").exists() && !to.join("bench").exists());
        fs::remove_dir_all(root).unwrap();
    }
}
