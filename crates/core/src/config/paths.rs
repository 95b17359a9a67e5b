//! Where a project's files are: dbt's `model-paths`, `test-paths`, `macro-paths` and
//! `docs-paths`, each folder read at every run. An entry is a folder (as in dbt: what is
//! under it is the project's tree from its top), or `{ path, folder }`, which mounts a
//! folder at a folder of the project's tree, so a repository can keep a project's parts in
//! several places (pitwall's own checkout keeps each layer's models in its crate).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// An entry of a `*-paths` list as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum PathEntry {
    Path(String),
    Mounted(MountedPath),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MountedPath {
    path: String,
    folder: String,
}

/// A folder of the project and where its files sit in the project's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The folder on disk.
    pub dir: PathBuf,
    /// The folder as the project file names it, relative to the project root, for paths
    /// shown to users (`original_file_path`).
    pub shown: String,
    /// The project folder its files are in: empty for a plain entry, `["marts"]` for
    /// `{ path = "...", folder = "marts" }`.
    pub folder: Vec<String>,
}

/// Every kind of path of a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectPaths {
    pub models: Vec<Mount>,
    pub tests: Vec<Mount>,
    pub macros: Vec<Mount>,
    /// Where `{% docs %}` blocks are read [default: every path above, as dbt's docs-paths].
    pub docs: Vec<Mount>,
}

impl ProjectPaths {
    /// The paths as written (dbt's defaults where a key is missing), relative to `root`.
    pub(super) fn resolve(
        root: &Path,
        models: Option<&[PathEntry]>,
        tests: Option<&[PathEntry]>,
        macros: Option<&[PathEntry]>,
        docs: Option<&[PathEntry]>,
    ) -> ProjectPaths {
        let mounts = |entries: Option<&[PathEntry]>, default: &str| -> Vec<Mount> {
            match entries {
                Some(entries) => entries.iter().map(|e| e.mount(root)).collect(),
                None => vec![PathEntry::Path(default.to_owned()).mount(root)],
            }
        };
        let (models, tests, macros) = (mounts(models, "models"), mounts(tests, "tests"), mounts(macros, "macros"));
        let docs = match docs {
            Some(entries) => entries.iter().map(|e| e.mount(root)).collect(),
            None => models.iter().chain(&tests).chain(&macros).cloned().collect(),
        };
        ProjectPaths { models, tests, macros, docs }
    }
}

impl PathEntry {
    fn mount(&self, root: &Path) -> Mount {
        let (path, folder) = match self {
            PathEntry::Path(path) => (path.as_str(), ""),
            PathEntry::Mounted(m) => (m.path.as_str(), m.folder.as_str()),
        };
        let shown = path.trim_end_matches('/').to_owned();
        Mount {
            dir: root.join(&shown),
            shown,
            folder: folder.split(['/', '.']).filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_dbts_defaults_and_docs_paths_cover_the_others() {
        let paths = ProjectPaths::resolve(Path::new("/p"), None, None, None, None);
        assert_eq!(paths.models[0].dir, PathBuf::from("/p/models"));
        assert_eq!(paths.tests[0].shown, "tests");
        assert_eq!(paths.docs.iter().map(|m| m.shown.as_str()).collect::<Vec<_>>(), ["models", "tests", "macros"]);
    }

    #[test]
    fn a_mounted_path_puts_its_files_under_a_project_folder() {
        let entries = [
            PathEntry::Mounted(MountedPath { path: "crates/marts/models/".into(), folder: "marts".into() }),
            PathEntry::Path("more".into()),
        ];
        let paths = ProjectPaths::resolve(Path::new("/p"), Some(&entries), None, None, None);
        assert_eq!(paths.models[0].folder, ["marts"]);
        assert_eq!(paths.models[0].shown, "crates/marts/models");
        assert!(paths.models[1].folder.is_empty());
    }
}
