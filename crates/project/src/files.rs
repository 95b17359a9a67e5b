//! Finding a project's files: every model, properties file, doc block file, test and
//! macro under the paths `pitwall.toml` names, read once, in a stable order (by path), each
//! with the project folder it is in.

use std::path::Path;

use pitwall_core::config::{Mount, ProjectPaths};

use crate::diagnostics::{Diagnostic, Diagnostics};

/// A file of the project.
#[derive(Clone, Debug)]
pub struct ProjectFile {
    /// Relative to the project root, `/`-separated: what messages and the manifest show.
    pub path: String,
    /// The project folder it is in (its fqn without its own name): its folders under its
    /// path, after the path's mount folder.
    pub folder: Vec<String>,
    pub text: String,
}

impl ProjectFile {
    /// The file's name without its extension: the node it defines is named so.
    pub fn stem(&self) -> &str {
        let name = self.path.rsplit('/').next().unwrap_or(&self.path);
        name.rsplit_once('.').map_or(name, |(stem, _)| stem)
    }

    /// The file's path under its project folder: dbt's `path` (`marts/core/x.sql`).
    pub fn project_path(&self) -> String {
        let name = self.path.rsplit('/').next().unwrap_or(&self.path);
        self.folder.iter().map(String::as_str).chain([name]).collect::<Vec<_>>().join("/")
    }
}

/// Every file of a project, by kind.
#[derive(Debug, Default)]
pub struct Discovered {
    /// `.sql` under the model paths.
    pub models: Vec<ProjectFile>,
    /// `.yml` / `.yaml` under the model paths.
    pub properties: Vec<ProjectFile>,
    /// `.md` under the docs paths.
    pub docs: Vec<ProjectFile>,
    /// `.sql` under the test paths, outside a `generic` folder.
    pub singular_tests: Vec<ProjectFile>,
    /// `.sql` under a test path's `generic` folder: `{% test %}` blocks.
    pub generic_tests: Vec<ProjectFile>,
    /// `.sql` under the macro paths: `{% macro %}` (and `{% test %}`) blocks.
    pub macros: Vec<ProjectFile>,
}

/// Reads every file of the project. A path that does not exist holds nothing (as in dbt,
/// where the default `macros` folder is often absent); a file that cannot be read is a
/// problem naming it.
pub fn discover(paths: &ProjectPaths, diagnostics: &mut Diagnostics) -> Discovered {
    let mut found = Discovered::default();
    for mount in &paths.models {
        for file in walk(mount, diagnostics) {
            match extension(&file.path) {
                "sql" => found.models.push(file),
                "yml" | "yaml" => found.properties.push(file),
                _ => {}
            }
        }
    }
    for mount in &paths.tests {
        for file in walk(mount, diagnostics).into_iter().filter(|f| extension(&f.path) == "sql") {
            let generic = file.path[mount.shown.len()..].split('/').any(|part| part == "generic");
            if generic { found.generic_tests.push(file) } else { found.singular_tests.push(file) }
        }
    }
    for mount in &paths.macros {
        found.macros.extend(walk(mount, diagnostics).into_iter().filter(|f| extension(&f.path) == "sql"));
    }
    for mount in &paths.docs {
        found.docs.extend(walk(mount, diagnostics).into_iter().filter(|f| extension(&f.path) == "md"));
    }
    // Two paths may overlap (docs-paths repeats the others): each file once.
    found.docs.dedup_by(|a, b| a.path == b.path);
    found
}

fn extension(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(_, e)| e)
}

/// Every file under `mount`, sorted by path; hidden files and folders are skipped.
fn walk(mount: &Mount, diagnostics: &mut Diagnostics) -> Vec<ProjectFile> {
    let mut files = Vec::new();
    if mount.dir.is_dir() {
        walk_dir(&mount.dir, &mount.shown, &mount.folder, &mut files, diagnostics);
    }
    files
}

fn walk_dir(dir: &Path, shown: &str, folder: &[String], files: &mut Vec<ProjectFile>, diagnostics: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return diagnostics.push(Diagnostic::new(shown, format!("cannot read the folder: {e}"))),
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let shown_path = if shown.is_empty() || shown == "." { name.clone() } else { format!("{shown}/{name}") };
        if path.is_dir() {
            let mut inner = folder.to_vec();
            inner.push(name);
            walk_dir(&path, &shown_path, &inner, files, diagnostics);
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push(ProjectFile { path: shown_path, folder: folder.to_vec(), text }),
            Err(e) => diagnostics.push(Diagnostic::new(shown_path, format!("cannot read the file: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn files_are_found_by_kind_with_their_folders() {
        let root = tempfile::tempdir().unwrap();
        let write = |p: &str, text: &str| {
            let path = root.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("models/marts/core/a.sql", "select 1");
        write("models/marts/core/a.yml", "version: 2");
        write("models/marts/core/.hidden.sql", "x");
        write("models/staging/notes.md", "{% docs d %}x{% enddocs %}");
        write("tests/t.sql", "select 1");
        write("tests/generic/g.sql", "{% test g(model) %}{% endtest %}");
        let mount = |dir: &str| Mount { dir: root.path().join(dir), shown: dir.into(), folder: Vec::new() };
        let paths = ProjectPaths {
            models: vec![mount("models")],
            tests: vec![mount("tests")],
            macros: vec![mount("macros")],
            docs: vec![mount("models"), mount("tests")],
        };
        let mut diagnostics = Diagnostics::default();
        let found = discover(&paths, &mut diagnostics);
        assert!(diagnostics.is_empty());
        assert_eq!(found.models.len(), 1);
        assert_eq!(found.models[0].path, "models/marts/core/a.sql");
        assert_eq!(found.models[0].folder, ["marts", "core"]);
        assert_eq!(found.models[0].stem(), "a");
        assert_eq!(found.models[0].project_path(), "marts/core/a.sql");
        assert_eq!(found.properties.len(), 1);
        assert_eq!((found.singular_tests.len(), found.generic_tests.len(), found.docs.len()), (1, 1, 1));
        assert!(found.macros.is_empty());
        let _ = PathBuf::new();
    }
}
