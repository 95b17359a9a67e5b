//! `cargo xtask tidy`: the architecture's rules, checked by a tool rather than by a
//! reviewer's memory (rust-analyzer's `tidy.rs` does the same). Also run by `cargo test`.
//!
//! 1. Crates depend only downwards, as [`LAYERING`] orders them (from `cargo metadata`).
//! 2. Only the orchestrator's registry names the layers' `LAYER` values (a layer's own
//!    binary names its own).
//! 3. Every crate root opens with `//!` and says what the crate must never do.
//! 4. Every manifest opts into the workspace's lints; every library turns doctests off;
//!    every package is named `pitwall-<name>`, but the layer crates (SPEC's
//!    `cargo run -p staging`) and xtask (`cargo xtask`).
//! 5. No function outside tests is longer than [`MAX_FUNCTION_LINES`] unless a comment
//!    right above it starts with `// Long:` and says why.
//! 6. No cycle among a crate's modules ([`modules`]).
//! 7. A library's unit-test harness is on exactly when it has unit tests: each harness
//!    links DataFusion, so an empty one costs a link, and one turned off hides its tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod modules;

/// Each package's rank: a dependency must have a lower one (a dev-dependency, at most
/// the same: a layer's tests may load data with the loader). A package missing here
/// fails the check, so a new crate takes its place in the layering deliberately.
const LAYERING: &[(&str, u32)] = &[
    ("pitwall-core", 1),
    ("pitwall-test-servers", 0),
    ("pitwall-snowflake-client", 0),
    ("pitwall-snowflake", 2),
    ("pitwall-cluster", 2),
    ("pitwall-project", 2),
    ("pitwall-cli", 3),
    ("ingestion", 4),
    ("staging", 4),
    ("intermediate", 4),
    ("marts", 4),
    ("ml", 4),
    ("pitwall-docs", 5),
    ("pitwall-orchestrator", 6),
    ("xtask", 6),
];

/// Layer crates, whose `LAYER` only the registry (and each one's own binary) may name.
const LAYERS: &[&str] = &["ingestion", "staging", "intermediate", "marts", "ml"];
const REGISTRY: &str = "orchestrator/src/registry.rs";

pub(crate) const MAX_FUNCTION_LINES: usize = 80;

pub(crate) fn main(root: &Path) -> Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        println!("tidy: every rule holds");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("tidy: {} rule{} broken", problems.len(), if problems.len() == 1 { "" } else { "s" })
}

/// Every broken rule, one message each, naming the file at fault.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let packages = packages(root)?;
    let mut problems = layering(&packages);
    for package in &packages {
        problems.extend(manifest(root, package)?);
    }
    let mut crates: BTreeMap<PathBuf, Vec<(String, String)>> = BTreeMap::new();
    for file in rust_files(root)? {
        let text = fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        problems.extend(layer_names(&shown, &text));
        if !is_test_file(&shown) {
            problems.extend(long_functions(&text).into_iter().map(|(line, name, n)| {
                format!("{shown}:{line}: fn {name} is {n} lines (over {MAX_FUNCTION_LINES}): split it, or say why above it in a `// Long:` comment")
            }));
        }
        if let Some((src, module)) = source_module(root, &file) {
            crates.entry(src).or_default().push((module, text));
        }
    }
    for (src, files) in crates {
        problems.extend(module_cycles(&src, &files));
    }
    Ok(problems)
}

/// A file's crate `src` folder and module, for a file under one (not tests, not a root).
fn source_module(root: &Path, file: &Path) -> Option<(PathBuf, String)> {
    let relative = file.strip_prefix(root).ok()?;
    let at = relative.components().position(|c| c.as_os_str() == "src")?;
    let src: PathBuf = relative.components().take(at + 1).collect();
    let module = modules::module_of(relative.strip_prefix(&src).ok()?)?;
    Some((src, module))
}

/// Rule 6, for one crate: each cycle among its modules, named with the crate's folder.
fn module_cycles(src: &Path, files: &[(String, String)]) -> Vec<String> {
    let mut graph: modules::ModuleGraph = files.iter().map(|(m, _)| (m.clone(), Default::default())).collect();
    for (module, text) in files {
        let paths = modules::named_paths(module, &non_test_code(text));
        modules::add_edges(&mut graph, module, &paths);
    }
    modules::cycles(&graph)
        .into_iter()
        .map(|cycle| {
            format!(
                "{}: modules {} name each other in a cycle: move what they share into one of them or a module of its own",
                src.display(),
                cycle.join(", ")
            )
        })
        .collect()
}

/// A workspace package: its name, manifest, crate roots and internal dependencies.
#[derive(Debug)]
pub(crate) struct Package {
    name: String,
    manifest: PathBuf,
    roots: Vec<PathBuf>,
    has_lib: bool,
    /// Whether the library's unit-test harness is built (`[lib] test`, on by default).
    lib_tested: bool,
    /// (dependency, is a dev-dependency), internal ones only.
    depends_on: Vec<(String, bool)>,
}

fn packages(root: &Path) -> Result<Vec<Package>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).context("cargo metadata's JSON")?;
    Ok(metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default().iter().map(package).collect())
}

fn package(p: &serde_json::Value) -> Package {
    let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
    let kinds = |t: &serde_json::Value| t["kind"].as_array().cloned().unwrap_or_default();
    let is_root = |t: &&serde_json::Value| kinds(t).iter().any(|k| k == "lib" || k == "bin");
    Package {
        name: p["name"].as_str().unwrap_or_default().to_owned(),
        manifest: PathBuf::from(p["manifest_path"].as_str().unwrap_or_default()),
        roots: targets.iter().filter(is_root).filter_map(|t| t["src_path"].as_str()).map(PathBuf::from).collect(),
        has_lib: targets.iter().any(|t| kinds(t).iter().any(|k| k == "lib")),
        lib_tested: targets.iter().any(|t| kinds(t).iter().any(|k| k == "lib") && t["test"] != false),
        depends_on: p["dependencies"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|d| d["path"].is_string())
            .map(|d| (d["name"].as_str().unwrap_or_default().to_owned(), d["kind"] == "dev"))
            .collect(),
    }
}

/// Rule 1: every internal dependency points down [`LAYERING`].
pub(crate) fn layering(packages: &[Package]) -> Vec<String> {
    let rank = |name: &str| LAYERING.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
    let mut problems = Vec::new();
    for package in packages {
        let Some(mine) = rank(&package.name) else {
            problems.push(format!(
                "{}: package {} has no place in xtask/src/tidy.rs's LAYERING",
                package.manifest.display(),
                package.name
            ));
            continue;
        };
        for (dependency, dev) in &package.depends_on {
            let theirs = rank(dependency).unwrap_or(u32::MAX);
            let upward = if *dev { theirs > mine } else { theirs >= mine };
            if upward && dependency != &package.name {
                let what = if *dev { "dev-dependency" } else { "dependency" };
                problems.push(format!(
                    "{}: {} (rank {mine}) has the {what} {dependency} (rank {theirs}): crates depend only downwards",
                    package.manifest.display(),
                    package.name
                ));
            }
        }
    }
    problems
}

/// Rules 3 and 4, for one package.
fn manifest(root: &Path, package: &Package) -> Result<Vec<String>> {
    let shown = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let text =
        fs::read_to_string(&package.manifest).with_context(|| format!("cannot read {}", package.manifest.display()))?;
    let mut problems: Vec<String> =
        package_name(&package.name).map(|p| format!("{}: {p}", shown(&package.manifest))).into_iter().collect();
    if !text.contains("[lints]\nworkspace = true") {
        problems.push(format!("{}: no `[lints] workspace = true`", shown(&package.manifest)));
    }
    if package.has_lib && !text.contains("doctest = false") {
        problems.push(format!(
            "{}: its library keeps doctests (`[lib] doctest = false`: examples live in tests)",
            shown(&package.manifest)
        ));
    }
    if let Some(lib) = package.roots.iter().find(|r| r.ends_with("lib.rs")) {
        let tests = unit_tests_under(lib)?.map(|file| shown(&file));
        problems.extend(unit_test_harness(&shown(&package.manifest), package.lib_tested, &tests));
    }
    let library = package.roots.iter().find(|r| r.ends_with("lib.rs")).or(package.roots.first());
    if let Some(root_file) = library {
        let source = fs::read_to_string(root_file).with_context(|| format!("cannot read {}", root_file.display()))?;
        if !source.starts_with("//!") || !source.to_lowercase().contains("must never") {
            problems.push(format!(
                "{}: a crate root opens with `//!` saying what it owns and what it must never do",
                shown(root_file)
            ));
        }
    }
    Ok(problems)
}

/// Rule 4's names: `pitwall-<name>`, so a package says whose it is on crates.io-style
/// listings and in `cargo tree`; the layers keep the names SPEC's `cargo run -p staging`
/// promises, and xtask the one `cargo xtask` expects.
pub(crate) fn package_name(name: &str) -> Option<String> {
    let exempt = LAYERS.contains(&name) || name == "xtask";
    (!exempt && !name.starts_with("pitwall-"))
        .then(|| format!("package `{name}` is not named pitwall-<name> (only the layers and xtask keep plain names)"))
}

/// Rule 7, for one library: `has_tests` names a file with a test module, if any does.
pub(crate) fn unit_test_harness(manifest: &str, tested: bool, has_tests: &Option<String>) -> Option<String> {
    match (tested, has_tests) {
        (true, None) => Some(format!(
            "{manifest}: its library has no unit tests: turn its harness off (`[lib] test = false`), an empty one costs a link"
        )),
        (false, Some(file)) => Some(format!(
            "{manifest}: `[lib] test = false` leaves the unit tests of {file} unrun: turn the harness back on"
        )),
        _ => None,
    }
}

/// The first file beside the crate root `lib` (its folder and below) with a test module.
fn unit_tests_under(lib: &Path) -> Result<Option<PathBuf>> {
    let mut folders = vec![lib.parent().unwrap_or(lib).to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                if text.lines().any(|l| l.trim() == "#[cfg(test)]") {
                    return Ok(Some(path));
                }
            }
        }
    }
    Ok(None)
}

/// Rule 2, for one file: `<layer>::LAYER` outside the registry and that layer's binary.
pub(crate) fn layer_names(shown: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for layer in LAYERS {
        let own_binary = shown == format!("crates/{layer}/src/main.rs");
        let needle = format!("{layer}::LAYER");
        if shown == REGISTRY || own_binary || shown.starts_with("xtask/") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let named = line
                .match_indices(&needle)
                .any(|(at, _)| line[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')));
            if named {
                problems.push(format!("{shown}:{}: names {needle}: only {REGISTRY} lists the layers", n + 1));
            }
        }
    }
    problems
}

fn is_test_file(shown: &str) -> bool {
    shown.contains("/tests/") || shown.contains("/benches/")
}

/// Every `.rs` file of the workspace's crates, the build output left out.
fn rust_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![root.join("crates"), root.join("orchestrator"), root.join("xtask")];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Rule 5, for one file's text: `(line, name, lines)` of each function over
/// [`MAX_FUNCTION_LINES`] lines without a `// Long:` comment above it; functions in a
/// `#[cfg(test)]` module do not count.
pub(crate) fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let code = blank_comments_and_strings(text);
    let lines: Vec<&str> = code.lines().collect();
    let original: Vec<&str> = text.lines().collect();
    let test_module = test_module_line(&lines);
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate().take(test_module) {
        let Some(name) = function_name(line) else { continue };
        let Some(length) = body_length(&lines[at..]) else { continue };
        if length > MAX_FUNCTION_LINES && !explained(&original[..at]) {
            found.push((at + 1, name, length));
        }
    }
    found
}

/// The line of the test module: `#[cfg(test)]` on a `mod`, not on a single item further
/// up; the line count when there is none.
fn test_module_line(lines: &[&str]) -> usize {
    (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]" && lines.get(i + 1).is_some_and(|l| l.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len())
}

/// A file's code before its test module, comments and literals blanked.
fn non_test_code(text: &str) -> String {
    let code = blank_comments_and_strings(text);
    let lines: Vec<&str> = code.lines().collect();
    lines[..test_module_line(&lines)].join("\n")
}

/// The name of the function a line declares, if it does.
fn function_name(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn")?;
    let qualifiers = ["pub", "pub(crate)", "pub(super)", "async", "const", "unsafe", "extern"];
    if !words[..at].iter().all(|w| qualifiers.contains(w) || w.starts_with("pub(")) {
        return None;
    }
    let name: String = words.get(at + 1)?.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// Lines from a declaration to the brace closing its body; `None` for a declaration
/// without a body (a trait method ending in `;`).
fn body_length(lines: &[&str]) -> Option<usize> {
    let mut depth = 0i64;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened && depth == 0 => return None,
                _ => {}
            }
            if opened && depth == 0 {
                return Some(n + 1);
            }
        }
    }
    None
}

/// Whether the comments and attributes right above a declaration include `// Long:`.
fn explained(above: &[&str]) -> bool {
    above
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//") || l.starts_with("#["))
        .any(|l| l.starts_with("// Long:"))
}

/// `text` with comments and the contents of string and char literals blanked (newlines
/// kept), so braces inside them are not counted.
fn blank_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, span: &[char]| out.extend(span.iter().map(|c| if *c == '\n' { '\n' } else { ' ' }));
    while i < chars.len() {
        let end = literal_end(&chars, i);
        if end > i {
            blank(&mut out, &chars[i..end]);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Where a comment, string or char literal starting at `i` ends; `i` if none starts there.
fn literal_end(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied();
    let find = |from: usize, pat: &[char]| {
        (from..chars.len()).find(|&k| chars[k..].starts_with(pat)).map_or(chars.len(), |k| k + pat.len())
    };
    let word_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    match (at(i), at(i + 1)) {
        (Some('/'), Some('/')) => (i..chars.len()).find(|&k| chars[k] == '\n').unwrap_or(chars.len()),
        (Some('/'), Some('*')) => find(i + 2, &['*', '/']),
        (Some('r'), Some('"' | '#')) if !word_before => {
            let hashes = (i + 1..chars.len()).take_while(|&k| chars[k] == '#').count();
            if at(i + 1 + hashes) != Some('"') {
                return i;
            }
            let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            find(i + 2 + hashes, &close)
        }
        (Some('"'), _) => {
            let mut k = i + 1;
            while k < chars.len() && chars[k] != '"' {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        }
        (Some('\''), Some('\\')) => find(i + 2, &['\'']),
        (Some('\''), Some(_)) if at(i + 2) == Some('\'') => i + 3,
        _ => i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, depends_on: &[(&str, bool)]) -> Package {
        Package {
            name: name.into(),
            manifest: PathBuf::from(format!("{name}/Cargo.toml")),
            roots: Vec::new(),
            has_lib: true,
            lib_tested: true,
            depends_on: depends_on.iter().map(|(d, dev)| (d.to_string(), *dev)).collect(),
        }
    }

    #[test]
    fn an_upward_or_sideways_dependency_breaks_the_layering_and_a_dev_one_may_go_sideways() {
        let fine = [package("pitwall-cli", &[("pitwall-core", false)]), package("staging", &[("ingestion", true)])];
        assert_eq!(layering(&fine), Vec::<String>::new());
        let up = layering(&[package("pitwall-core", &[("pitwall-cli", false)])]);
        assert!(up[0].contains("pitwall-core (rank 1) has the dependency pitwall-cli (rank 3)"), "{up:?}");
        let sideways = layering(&[package("marts", &[("ml", false)])]);
        assert_eq!(sideways.len(), 1, "{sideways:?}");
        let unknown = layering(&[package("pitwall-new", &[])]);
        assert!(unknown[0].contains("no place in xtask/src/tidy.rs's LAYERING"), "{unknown:?}");
    }

    #[test]
    fn a_package_is_named_pitwall_something_but_a_layer_and_xtask() {
        for fine in ["pitwall-core", "pitwall-orchestrator", "staging", "ml", "xtask"] {
            assert_eq!(package_name(fine), None, "{fine}");
        }
        let error = package_name("orchestrator").unwrap();
        assert!(error.contains("package `orchestrator` is not named pitwall-<name>"), "{error}");
    }

    #[test]
    fn only_the_registry_and_a_layers_own_binary_name_its_layer() {
        let text = "let layers = [&staging::LAYER];\nlet x = my_staging::LAYER;\n";
        assert_eq!(layer_names("orchestrator/src/commands.rs", text).len(), 1);
        assert!(layer_names(REGISTRY, text).is_empty());
        assert!(layer_names("crates/staging/src/main.rs", "layer_main(&staging::LAYER)").is_empty());
    }

    #[test]
    fn a_long_function_is_found_unless_a_long_comment_says_why_and_tests_do_not_count() {
        let body =
            |name: &str| format!("fn {name}() {{\n{}}}\n", "    let s = \"}}\"; // {{\n".repeat(MAX_FUNCTION_LINES));
        let text = format!(
            "{}\n// Long: one table read top to bottom.\n{}\ntrait T {{ fn f(&self); }}\n#[cfg(test)]\nfn helper() {{}}\n{}\n#[cfg(test)]\nmod tests {{\n{}}}\n",
            body("too_long"),
            body("explained"),
            body("after_a_test_helper"),
            body("in_a_test")
        );
        let found: Vec<String> = long_functions(&text).into_iter().map(|(_, name, _)| name).collect();
        assert_eq!(found, ["too_long", "after_a_test_helper"]);
        assert_eq!(long_functions(&body("x"))[0], (1, "x".to_owned(), MAX_FUNCTION_LINES + 2));
    }

    #[test]
    fn braces_in_comments_strings_and_chars_are_blanked() {
        let code = blank_comments_and_strings("a { '}' \"}\" r#\"}\"# /* } */ // }\n}");
        assert_eq!(code.matches(['{', '}']).count(), 2, "{code}");
    }

    #[test]
    fn a_library_harness_is_on_exactly_when_it_has_unit_tests() {
        let tests = Some("crates/x/src/a.rs".to_owned());
        assert_eq!(unit_test_harness("x/Cargo.toml", true, &tests), None);
        assert_eq!(unit_test_harness("x/Cargo.toml", false, &None), None);
        let empty = unit_test_harness("x/Cargo.toml", true, &None).unwrap();
        assert!(empty.starts_with("x/Cargo.toml: its library has no unit tests"), "{empty}");
        let hidden = unit_test_harness("x/Cargo.toml", false, &tests).unwrap();
        assert!(hidden.contains("leaves the unit tests of crates/x/src/a.rs unrun"), "{hidden}");
    }

    #[test]
    fn the_workspace_keeps_every_rule() {
        let root = crate::workspace_root();
        let problems = check(&root).unwrap();
        assert!(problems.is_empty(), "cargo xtask tidy:\n{}", problems.join("\n"));
    }
}
