//! Rule 6: no cycle among a crate's modules. A module is a file (`src/a/b.rs` or
//! `src/a/b/mod.rs` is `a::b`); it depends on the modules its `crate::` and `super::`
//! paths name, outside its test module. Two exceptions keep the rule about design rather
//! than Rust's plumbing: the crate root (which declares and re-exports everything) is
//! left out, and a module naming one of its own ancestors is not an edge (a parent is
//! the facade its children share, as `config/mod.rs` is for `config/target.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A crate's modules, each with the modules it names.
pub(crate) type ModuleGraph = BTreeMap<String, BTreeSet<String>>;

/// The module a file under a crate's `src` is, by its path there (`a/b.rs` and
/// `a/b/mod.rs` are `a::b`); `None` for a crate root (`lib.rs`, `main.rs`).
pub(crate) fn module_of(in_src: &Path) -> Option<String> {
    let mut parts: Vec<String> =
        in_src.with_extension("").components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    let root = parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main");
    (!root && !parts.is_empty()).then(|| parts.join("::"))
}

/// The module paths `code` (comments and strings already blanked, tests cut off) names
/// through `crate::` and `super::`, made absolute from `module`.
pub(crate) fn named_paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = module.split("::").map(str::to_owned).collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let tail = &code[at..];
        let boundary = !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        let base = match () {
            _ if !boundary => None,
            _ if tail.starts_with("crate::") => Some((Vec::new(), "crate::".len())),
            _ if tail.starts_with("super::") => {
                let ups = count_prefix(tail, "super::");
                here.len().checked_sub(ups).map(|kept| (here[..kept].to_vec(), ups * "super::".len()))
            }
            _ => None,
        };
        match base {
            Some((base, skip)) => {
                let paths = segments_after(&tail[skip..]);
                found.extend(paths.into_iter().map(|p| base.iter().cloned().chain(p).collect()));
                at += skip;
            }
            None => at += tail.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

fn count_prefix(text: &str, prefix: &str) -> usize {
    let mut n = 0;
    while text[n * prefix.len()..].starts_with(prefix) {
        n += 1;
    }
    n
}

/// The paths after `crate::` or `super::`: `a::b::C` is one, `{a::X, b}` one per item.
fn segments_after(text: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    if let Some(group) = text.strip_prefix('{') {
        let inside = &group[..group.find('}').unwrap_or(group.len())];
        return inside.split(',').map(|item| item.trim().split("::").map(ident).collect()).collect();
    }
    let mut path = Vec::new();
    let mut rest = text;
    loop {
        let name = ident(rest);
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        path.push(name);
        match rest.strip_prefix("::") {
            Some(next) if !next.starts_with('{') => rest = next,
            _ => break,
        }
    }
    vec![path]
}

/// Adds `module`'s edges to `graph`: each named path to the longest known module it
/// starts with, ancestors and the module itself left out. Call once every module of
/// the crate is in `graph`.
pub(crate) fn add_edges(graph: &mut ModuleGraph, module: &str, paths: &[Vec<String>]) {
    let mut targets = BTreeSet::new();
    for path in paths {
        let target = (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| graph.contains_key(m));
        let Some(target) = target else { continue };
        let ancestor = module.starts_with(&format!("{target}::"));
        if target != module && !ancestor {
            targets.insert(target);
        }
    }
    graph.entry(module.to_owned()).or_default().extend(targets);
}

/// Each cycle of `graph` once, as the modules on it in order of name (a strongly
/// connected component of more than one module), found by Tarjan's algorithm.
pub(crate) fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    let mut tarjan =
        Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for module in graph.keys() {
        if !tarjan.index.contains_key(module.as_str()) {
            tarjan.visit(module);
        }
    }
    tarjan.found
}

struct Tarjan<'g> {
    graph: &'g ModuleGraph,
    index: BTreeMap<&'g str, usize>,
    low: BTreeMap<&'g str, usize>,
    stack: Vec<&'g str>,
    found: Vec<Vec<String>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, module: &'g str) {
        let n = self.index.len();
        self.index.insert(module, n);
        self.low.insert(module, n);
        self.stack.push(module);
        for next in self.graph.get(module).into_iter().flatten() {
            let next = next.as_str();
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[module].min(self.low[next]);
                self.low.insert(module, low);
            } else if self.stack.contains(&next) {
                let low = self.low[module].min(self.index[next]);
                self.low.insert(module, low);
            }
        }
        if self.low[module] == self.index[module] {
            let at = self.stack.iter().rposition(|m| *m == module).expect("on the stack");
            let mut component: Vec<String> = self.stack.drain(at..).map(str::to_owned).collect();
            component.sort();
            if component.len() > 1 {
                self.found.push(component);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(modules: &[(&str, &str)]) -> ModuleGraph {
        let mut graph: ModuleGraph = BTreeMap::new();
        for (module, _) in modules {
            graph.entry(module.to_string()).or_default();
        }
        for (module, code) in modules {
            let paths = named_paths(module, code);
            add_edges(&mut graph, module, &paths);
        }
        graph
    }

    #[test]
    fn files_are_modules_and_crate_roots_are_not() {
        assert_eq!(module_of(Path::new("docs/charts.rs")).as_deref(), Some("docs::charts"));
        assert_eq!(module_of(Path::new("config/mod.rs")).as_deref(), Some("config"));
        assert_eq!(module_of(Path::new("lib.rs")), None);
        assert_eq!(module_of(Path::new("main.rs")), None);
    }

    #[test]
    fn crate_and_super_paths_name_modules_and_groups_name_each_item() {
        let paths =
            named_paths("a::b", "use super::c::X; use crate::{d::Y, e}; fn f() { my_crate::z(); super::super::g(); }");
        let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
        assert_eq!(joined, ["a::c::X", "d::Y", "e", "g"]);
    }

    #[test]
    fn siblings_naming_each_other_are_a_cycle_and_a_child_naming_its_parent_is_not() {
        let cyclic = graph(&[("charts", "use super::plots;"), ("plots", "use super::charts::Chart;")]);
        assert_eq!(cycles(&cyclic), [vec!["charts".to_owned(), "plots".to_owned()]]);
        let layered = graph(&[
            ("config", "use crate::config::target::Target;"),
            ("config::target", "use super::Folders; use crate::config::X;"),
            ("charts", ""),
            ("plots", "use super::charts::Chart;"),
        ]);
        assert!(cycles(&layered).is_empty(), "{layered:?}");
    }
}
