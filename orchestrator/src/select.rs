//! Node selection with dbt's syntax: `--select` takes space-separated terms (union),
//! each a comma-separated list of atoms (intersection); an atom is
//! `[@][N+]method:value[+M]` where the method is one of none (name or folder path),
//! `fqn:`, `tag:`, `path:`, `source:`, `resource_type:`, `config.<key>:` (any config key:
//! `config.materialized:table`, `config.tags:bi`, `config.meta.owner:bi`,
//! `config.severity:warn`), `state:` (`modified`, `new`, `unmodified`, `old`, against
//! `--state DIR`); `*` globs.
//! `--exclude` uses the same syntax and is subtracted. Tests of selected models come
//! along per `--indirect-selection`.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use pitwall_core::Dag;
use pitwall_core::dag::NodeId;

use crate::cli::{IndirectSelection, Selection};
use crate::state::{Comparison, PreviousState};
use pitwall_project::{NodeInfo, Project};

/// A node as selectors see it: what the project says of it, and how it compares with
/// `--state`'s manifest when one is given.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub info: NodeInfo,
    pub state: Option<Comparison>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Method {
    Default,
    Tag,
    Path,
    Source,
    ResourceType,
    /// `config.<key>[.<key>...]`, the path into the config.
    Config(Vec<String>),
    State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Atom {
    at: bool,
    /// `None`: no `+`; `Some(None)`: all ancestors; `Some(Some(n))`: up to n.
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
    method: Method,
    value: String,
}

#[derive(Clone, Debug, Default)]
pub struct Selector {
    /// Union of intersections, each with its text.
    terms: Vec<(String, Vec<Atom>)>,
}

impl Selector {
    pub fn parse(args: &[String]) -> Result<Selector> {
        let mut terms = Vec::new();
        for term in args.iter().flat_map(|a| a.split_whitespace()) {
            let atoms = term.split(',').map(parse_atom).collect::<Result<Vec<_>>>()?;
            terms.push((term.to_owned(), atoms));
        }
        Ok(Selector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a term compares with a previous state (`state:`).
    fn uses_state(&self) -> bool {
        self.terms.iter().flat_map(|(_, atoms)| atoms).any(|a| a.method == Method::State)
    }

    /// The nodes this selector picks among `nodes`, and the terms that picked none.
    pub fn evaluate(&self, nodes: &[Candidate], dag: &Dag) -> (BTreeSet<NodeId>, Vec<String>) {
        let mut out = BTreeSet::new();
        let mut unmatched = Vec::new();
        for (text, term) in &self.terms {
            let mut acc: Option<BTreeSet<NodeId>> = None;
            for atom in term {
                let picked = atom.evaluate(nodes, dag);
                acc = Some(match acc {
                    None => picked,
                    Some(prev) => prev.intersection(&picked).cloned().collect(),
                });
            }
            let picked = acc.unwrap_or_default();
            if picked.is_empty() {
                unmatched.push(text.clone());
            }
            out.extend(picked);
        }
        (out, unmatched)
    }
}

/// The nodes `selection` picks (everything when it selects nothing), minus what it
/// excludes; tests whose parents are picked come along per its indirect selection, or
/// `default`. A selection term that matches nothing is warned about, as dbt does.
pub fn select(project: &Project, selection: &Selection, default: IndirectSelection) -> Result<BTreeSet<NodeId>> {
    let mut infos: Vec<Candidate> =
        project.node_infos().into_iter().map(|info| Candidate { info, state: None }).collect();
    let selector = Selector::parse(&selection.select)?;
    let excluding = Selector::parse(&selection.exclude)?;
    if selector.uses_state() || excluding.uses_state() {
        let Some(dir) = &selection.state else {
            bail!("the state: selector compares with a previous run's artifacts: give their folder with --state DIR");
        };
        let compared = PreviousState::load(dir)?.compare(project);
        for info in &mut infos {
            info.state = compared.get(&info.info.id).copied();
        }
    }
    let mut picked = if selector.is_empty() {
        infos.iter().map(|n| n.info.id.clone()).collect()
    } else {
        let (picked, unmatched) = selector.evaluate(&infos, &project.dag);
        for term in unmatched {
            eprintln!("warning: the selection criterion '{term}' does not match any enabled nodes");
        }
        picked
    };
    let (excluded, _) = excluding.evaluate(&infos, &project.dag);
    picked.retain(|id| !excluded.contains(id));
    let mode = selection.indirect_selection.unwrap_or(default);
    for test in &project.tests {
        let id = NodeId::Test(test.name.clone());
        let parents = project.dag.parents(&id);
        let take = match mode {
            IndirectSelection::Eager => parents.iter().any(|p| picked.contains(*p)),
            IndirectSelection::Cautious => parents.iter().all(|p| picked.contains(*p)),
            IndirectSelection::Empty => false,
        };
        if take && !excluded.contains(&id) {
            picked.insert(id);
        }
    }
    Ok(picked)
}

fn parse_depth(text: &str, atom: &str) -> Result<Option<usize>> {
    if text.is_empty() {
        Ok(None)
    } else {
        match text.parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => bail!("selector '{atom}': '{text}' is not a graph depth"),
        }
    }
}

/// The values of `state:`: dbt's, without the `modified.<part>` sub-selectors (pitwall
/// compares a node's definition as one digest).
const STATES: [&str; 4] = ["modified", "new", "unmodified", "old"];

fn parse_atom(atom: &str) -> Result<Atom> {
    if atom.is_empty() {
        bail!("empty selector (check for a stray comma)");
    }
    let mut rest = atom;
    let at = rest.starts_with('@');
    if at {
        rest = &rest[1..];
    }
    let mut parents = None;
    if let Some(plus) = rest.find('+')
        && rest[..plus].bytes().all(|b| b.is_ascii_digit())
    {
        parents = Some(parse_depth(&rest[..plus], atom)?);
        rest = &rest[plus + 1..];
    }
    let mut children = None;
    if let Some(plus) = rest.rfind('+')
        && rest[plus + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        children = Some(parse_depth(&rest[plus + 1..], atom)?);
        rest = &rest[..plus];
    }
    if at && (parents.is_some() || children.is_some()) {
        bail!("selector '{atom}': '@' cannot be combined with '+'");
    }
    let (method, value) = match rest.split_once(':') {
        None => (Method::Default, rest),
        Some((m, v)) => {
            let method = match m {
                "tag" => Method::Tag,
                "path" => Method::Path,
                "source" => Method::Source,
                "resource_type" => Method::ResourceType,
                "state" => Method::State,
                "fqn" => Method::Default,
                other => match other.strip_prefix("config.") {
                    Some(path) if !path.is_empty() => Method::Config(path.split('.').map(str::to_owned).collect()),
                    _ => bail!(
                        "selector '{atom}': unknown method '{other}' (pitwall knows tag, path, source, resource_type, config.<key>, fqn)"
                    ),
                },
            };
            (method, v)
        }
    };
    if value.is_empty() {
        bail!("selector '{atom}' has no value");
    }
    if method == Method::State && !STATES.contains(&value) {
        bail!("selector '{atom}': pitwall compares state as {}", STATES.join(", "));
    }
    Ok(Atom { at, parents, children, method, value: value.to_owned() })
}

/// A config value matches a selector's value: a string (case-insensitively, as dbt
/// compares `config.severity:warn` with `WARN`) or a scalar by its text; a list when an item
/// does.
fn config_matches(pattern: &str, value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => glob(pattern, s) || glob(&pattern.to_lowercase(), &s.to_lowercase()),
        serde_json::Value::Array(items) => items.iter().any(|i| config_matches(pattern, i)),
        serde_json::Value::Null | serde_json::Value::Object(_) => false,
        other => glob(pattern, &other.to_string()),
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }
    }
}

impl Atom {
    fn matches(&self, candidate: &Candidate) -> bool {
        let node = &candidate.info;
        match &self.method {
            Method::Default => {
                let name = node.id.name();
                if glob(&self.value, &name) {
                    return true;
                }
                let parts: Vec<&str> = self.value.split('.').collect();
                parts.len() <= node.fqn.len()
                    && parts.iter().zip(&node.fqn).all(|(p, f)| glob(p, f))
                    && !matches!(node.id, NodeId::Source(_))
            }
            Method::Tag => node.tags.iter().any(|t| glob(&self.value, t)),
            Method::Path => {
                let value = self.value.trim_end_matches('/');
                node.path == value || node.path.starts_with(&format!("{value}/"))
            }
            Method::Source => match &node.id {
                NodeId::Source(s) => {
                    glob(&self.value, &s.source) || glob(&self.value, &format!("{}.{}", s.source, s.table))
                }
                _ => false,
            },
            Method::ResourceType => node.id.resource_type() == self.value,
            Method::Config(path) => {
                let value = path.iter().try_fold(&node.config, |v, key| v.get(key));
                value.is_some_and(|v| config_matches(&self.value, v))
            }
            // As in dbt, state:modified includes new nodes, and state:old is every node
            // the previous manifest has.
            Method::State => match (self.value.as_str(), candidate.state) {
                ("modified", Some(c)) => c != Comparison::Unmodified,
                ("new", Some(c)) => c == Comparison::New,
                ("unmodified", Some(c)) => c == Comparison::Unmodified,
                ("old", Some(c)) => c != Comparison::New,
                _ => false,
            },
        }
    }

    fn evaluate(&self, nodes: &[Candidate], dag: &Dag) -> BTreeSet<NodeId> {
        let base: Vec<&NodeId> = nodes.iter().filter(|n| self.matches(n)).map(|n| &n.info.id).collect();
        let mut out: BTreeSet<NodeId> = base.iter().map(|id| (*id).clone()).collect();
        for id in base {
            if self.at {
                for d in dag.descendants(id, None) {
                    out.insert(d.clone());
                    out.extend(dag.ancestors(d, None).into_iter().cloned());
                }
                out.extend(dag.ancestors(id, None).into_iter().cloned());
            }
            if let Some(depth) = self.parents {
                out.extend(dag.ancestors(id, depth).into_iter().cloned());
            }
            if let Some(depth) = self.children {
                out.extend(dag.descendants(id, depth).into_iter().cloned());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_parse_graph_operators_and_methods() {
        let a = parse_atom("2+tag:bi+1").unwrap();
        assert_eq!(
            (a.parents, a.children, a.method, a.value.as_str()),
            (Some(Some(2)), Some(Some(1)), Method::Tag, "bi")
        );
        let b = parse_atom("+fct_results").unwrap();
        assert_eq!((b.parents, b.children), (Some(None), None));
        let c = parse_atom("@int_results").unwrap();
        assert!(c.at);
        assert!(parse_atom("@+x").is_err());
        assert!(parse_atom("colour:red").unwrap_err().to_string().contains("unknown method"));
    }

    #[test]
    fn globs_match_like_shells() {
        assert!(glob("stg_f1_*", "stg_f1_races"));
        assert!(glob("*times*", "stg_f1_lap_times"));
        assert!(!glob("stg_*_x", "stg_f1_races"));
    }
}
