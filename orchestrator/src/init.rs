//! `pitwall init DIR`: writes a new project, the dbt + Snowflake workshop's, as editable
//! files in dbt's layout (`pitwall.toml`, `models/staging`, `models/intermediate`,
//! `models/marts/...`, `models/ml/...`, `tests/`) with the bundled data (`data/f1`), so
//! `cd DIR && pitwall build` builds it offline. The files are this checkout's own project
//! (see `build.rs`), carried in the binary.

use std::path::Path;

use anyhow::{Context, Result, bail};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/starter.rs"));
}

/// The starter project's files: (path in the project, contents).
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// Writes the starter project into `dir` (created if missing), which must be empty, so
/// nothing of the user's is ever overwritten.
pub fn init(dir: &Path) -> Result<bool> {
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            bail!("{} is not empty: pitwall init writes a new project into an empty or new folder", dir.display());
        }
    } else if dir.exists() {
        bail!("{} exists and is not a folder", dir.display());
    }
    for (path, contents) in files() {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, contents).with_context(|| format!("writing {}", target.display()))?;
    }
    let models = files().iter().filter(|(p, _)| p.starts_with("models/") && p.ends_with(".sql")).count();
    println!("Wrote a new pitwall project to {}: {} files, {models} SQL models", dir.display(), files().len());
    println!("Next: cd {} && pitwall build", dir.display());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_has_dbts_layout_and_the_bundled_data() {
        let paths: Vec<&str> = files().iter().map(|(p, _)| *p).collect();
        for expected in [
            "pitwall.toml",
            "models/staging/formula1/f1_sources.yml",
            "models/staging/formula1/stg_f1_races.sql",
            "models/intermediate/int_results.sql",
            "models/intermediate/intermediate.md",
            "models/marts/core/fct_results.sql",
            "models/marts/aggregates/aggregates.yml",
            "models/ml/prep/ml_data_prep.sql",
            "models/ml/train_predict/train_predict.yml",
            "tests/lap_times_moving_avg_assert_positive_or_null.sql",
            "tests/generic/all_values_gte_zero.sql",
            "data/f1/results.csv.gz",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }
        assert_eq!(paths.iter().filter(|p| p.starts_with("models/") && p.ends_with(".sql")).count(), 19);
    }

    /// `build.rs` lays the checkout out by convention; the checkout's pitwall.toml must
    /// follow it, or `init` would write another project than the checkout builds.
    #[test]
    fn the_checkouts_paths_follow_the_layout_the_starter_is_embedded_by() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let config = pitwall_core::ProjectConfig::load(root, &Default::default()).unwrap();
        for mount in &config.paths.models {
            let layer = mount.shown.strip_prefix("crates/").and_then(|p| p.strip_suffix("/models")).unwrap();
            assert_eq!(mount.folder, [layer], "{mount:?}");
        }
        let under = |mounts: &[pitwall_core::config::Mount], folder: &str| {
            mounts.iter().all(|m| m.folder.is_empty() && m.shown.starts_with("crates/") && m.shown.ends_with(folder))
        };
        assert!(under(&config.paths.tests, "/data_tests") && under(&config.paths.macros, "/macros"));
        let starter = files().iter().find(|(p, _)| *p == "pitwall.toml").unwrap().1;
        let starter = std::str::from_utf8(starter).unwrap();
        assert!(!starter.contains("model-paths =") && starter.contains("location = \"data/f1\""));
    }

    #[test]
    fn init_refuses_a_folder_that_is_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let error = init(dir.path()).unwrap_err().to_string();
        assert!(error.contains("is not empty"), "{error}");
        assert_eq!(std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(), "mine");
    }
}
