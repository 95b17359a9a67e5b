//! The project DAG (petgraph), built from declared refs and sources before anything
//! runs. Edges point from upstream to downstream.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{Error, Result};
use crate::spec::{ModelSpec, SourceRef};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeId {
    Source(SourceRef),
    Model(String),
    Test(String),
}

impl NodeId {
    /// dbt's unique id (`model.pitwall.fct_results`, `source.pitwall.formula1.races`).
    pub fn unique_id(&self, project: &str) -> String {
        match self {
            NodeId::Source(s) => s.unique_id(project),
            NodeId::Model(m) => format!("model.{project}.{m}"),
            NodeId::Test(t) => format!("test.{project}.{t}"),
        }
    }

    /// The name a user types: `fct_results`, `formula1.races`.
    pub fn name(&self) -> String {
        match self {
            NodeId::Source(s) => format!("{}.{}", s.source, s.table),
            NodeId::Model(m) | NodeId::Test(m) => m.clone(),
        }
    }

    pub fn resource_type(&self) -> &'static str {
        match self {
            NodeId::Source(_) => "source",
            NodeId::Model(_) => "model",
            NodeId::Test(_) => "test",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Dag {
    graph: DiGraph<NodeId, ()>,
    index: BTreeMap<NodeId, NodeIndex>,
}

impl Dag {
    /// Builds the DAG of `models` over `sources`; an unknown ref or source, a duplicate
    /// name or a cycle is an error naming the models involved.
    pub fn build<'a>(models: impl IntoIterator<Item = &'a ModelSpec>, sources: &[SourceRef]) -> Result<Dag> {
        let models: Vec<&ModelSpec> = models.into_iter().collect();
        Self::build_over(&models, sources.iter().cloned().map(NodeId::Source))
    }

    /// The DAG of some of a project's models (one layer's), over whatever they read from
    /// outside: those sources and models are nodes without parents, to be read from the
    /// warehouse.
    pub fn with_upstream<'a>(models: impl IntoIterator<Item = &'a ModelSpec>) -> Result<Dag> {
        let models: Vec<&ModelSpec> = models.into_iter().collect();
        let inside: BTreeSet<&str> = models.iter().map(|m| m.name.as_str()).collect();
        let mut upstream: BTreeSet<NodeId> = BTreeSet::new();
        for spec in &models {
            upstream.extend(spec.refs.iter().filter(|r| !inside.contains(r.as_str())).cloned().map(NodeId::Model));
            upstream.extend(spec.sources.iter().cloned().map(NodeId::Source));
        }
        Self::build_over(&models, upstream)
    }

    fn build_over(models: &[&ModelSpec], outside: impl IntoIterator<Item = NodeId>) -> Result<Dag> {
        let mut dag = Dag::default();
        for id in outside {
            dag.add(id);
        }
        for spec in models {
            let id = NodeId::Model(spec.name.clone());
            if dag.index.contains_key(&id) {
                return Err(Error::DuplicateModel(spec.name.clone()));
            }
            dag.add(id);
        }
        for spec in models {
            let to = dag.index[&NodeId::Model(spec.name.clone())];
            for r in &spec.refs {
                let from = *dag
                    .index
                    .get(&NodeId::Model(r.clone()))
                    .ok_or_else(|| Error::UnknownRef { model: spec.name.clone(), target: r.clone() })?;
                // A spec's refs and sources are each listed once, so every edge is new:
                // `add_edge` rather than petgraph's `update_edge`, which scans for it.
                dag.graph.add_edge(from, to, ());
            }
            for s in &spec.sources {
                let from = *dag.index.get(&NodeId::Source(s.clone())).ok_or_else(|| Error::UnknownSource {
                    model: spec.name.clone(),
                    source_name: s.source.clone(),
                    table: s.table.clone(),
                })?;
                dag.graph.add_edge(from, to, ());
            }
        }
        dag.check_acyclic()?;
        Ok(dag)
    }

    fn add(&mut self, id: NodeId) -> NodeIndex {
        if let Some(&ix) = self.index.get(&id) {
            return ix;
        }
        let ix = self.graph.add_node(id.clone());
        self.index.insert(id, ix);
        ix
    }

    /// Adds a test node depending on `depends_on` (which must already be in the DAG).
    pub fn add_test(&mut self, name: &str, depends_on: &[NodeId]) -> Result<()> {
        let to = self.add(NodeId::Test(name.to_owned()));
        for d in depends_on {
            let from =
                *self.index.get(d).ok_or_else(|| Error::UnknownRef { model: name.to_owned(), target: d.name() })?;
            self.graph.update_edge(from, to, ());
        }
        Ok(())
    }

    fn check_acyclic(&self) -> Result<()> {
        if petgraph::algo::toposort(&self.graph, None).is_ok() {
            return Ok(());
        }
        for scc in petgraph::algo::tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() > 1 || self_loop {
                // Walk the cycle from its smallest name so the message is stable.
                let start = *scc.iter().min_by_key(|ix| self.graph[**ix].name()).expect("non-empty");
                let mut path = vec![self.graph[start].name()];
                let mut at = start;
                loop {
                    let next = self
                        .graph
                        .neighbors_directed(at, Direction::Outgoing)
                        .filter(|n| scc.contains(n))
                        .min_by_key(|n| self.graph[*n].name())
                        .expect("a node in a cycle has a successor in it");
                    path.push(self.graph[next].name());
                    if next == start || path.len() > scc.len() {
                        break;
                    }
                    at = next;
                }
                return Err(Error::Cycle(path));
            }
        }
        unreachable!("toposort failed but no cycle was found")
    }

    pub fn contains(&self, id: &NodeId) -> bool {
        self.index.contains_key(id)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &NodeId> {
        self.graph.node_weights()
    }

    fn neighbors(&self, id: &NodeId, dir: Direction) -> Vec<&NodeId> {
        let Some(&ix) = self.index.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<&NodeId> = self.graph.neighbors_directed(ix, dir).map(|n| &self.graph[n]).collect();
        out.sort();
        out
    }

    pub fn parents(&self, id: &NodeId) -> Vec<&NodeId> {
        self.neighbors(id, Direction::Incoming)
    }

    pub fn children(&self, id: &NodeId) -> Vec<&NodeId> {
        self.neighbors(id, Direction::Outgoing)
    }

    fn walk(&self, id: &NodeId, dir: Direction, depth: Option<usize>) -> BTreeSet<&NodeId> {
        let mut seen = BTreeSet::new();
        let Some(&start) = self.index.get(id) else {
            return seen;
        };
        let mut queue = VecDeque::from([(start, 0usize)]);
        let mut visited = BTreeSet::from([start]);
        while let Some((ix, d)) = queue.pop_front() {
            if depth.is_some_and(|max| d >= max) {
                continue;
            }
            for n in self.graph.neighbors_directed(ix, dir) {
                if visited.insert(n) {
                    seen.insert(&self.graph[n]);
                    queue.push_back((n, d + 1));
                }
            }
        }
        seen
    }

    /// Every node upstream of `id`, up to `depth` edges away (all when `None`).
    pub fn ancestors(&self, id: &NodeId, depth: Option<usize>) -> BTreeSet<&NodeId> {
        self.walk(id, Direction::Incoming, depth)
    }

    /// Every node downstream of `id`, up to `depth` edges away (all when `None`).
    pub fn descendants(&self, id: &NodeId, depth: Option<usize>) -> BTreeSet<&NodeId> {
        self.walk(id, Direction::Outgoing, depth)
    }

    /// All nodes, upstream before downstream, ties broken by name (so output is stable).
    pub fn topological(&self) -> Vec<&NodeId> {
        let mut indegree: BTreeMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|ix| (ix, self.graph.neighbors_directed(ix, Direction::Incoming).count()))
            .collect();
        let mut ready: BTreeSet<(&NodeId, NodeIndex)> =
            indegree.iter().filter(|(_, d)| **d == 0).map(|(ix, _)| (&self.graph[*ix], *ix)).collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some((id, ix)) = ready.pop_first() {
            order.push(id);
            for n in self.graph.neighbors_directed(ix, Direction::Outgoing) {
                let d = indegree.get_mut(&n).expect("every node has an indegree");
                *d -= 1;
                if *d == 0 {
                    ready.insert((&self.graph[n], n));
                }
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigPatch;
    use crate::spec::Language;

    fn spec(name: &str, refs: &[&str], sources: &[(&str, &str)]) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            fqn: vec!["x".into()],
            refs: refs.iter().map(|r| r.to_string()).collect(),
            sources: sources.iter().map(|(s, t)| SourceRef::new(*s, *t)).collect(),
            own_config: ConfigPatch::default(),
            language: Language::Sql,
            raw_code: String::new(),
            original_file_path: String::new(),
        }
    }

    fn m(name: &str) -> NodeId {
        NodeId::Model(name.into())
    }

    #[test]
    fn ancestors_descendants_and_order_follow_refs() {
        let specs =
            [spec("c", &["b"], &[]), spec("b", &["a"], &[]), spec("a", &[], &[("f", "t")]), spec("d", &["a"], &[])];
        let dag = Dag::build(&specs, &[SourceRef::new("f", "t")]).unwrap();
        let names = |s: BTreeSet<&NodeId>| s.into_iter().map(NodeId::name).collect::<Vec<_>>();
        assert_eq!(names(dag.ancestors(&m("c"), None)), vec!["f.t", "a", "b"]);
        assert_eq!(names(dag.ancestors(&m("c"), Some(1))), vec!["b"]);
        assert_eq!(names(dag.descendants(&m("a"), None)), vec!["b", "c", "d"]);
        let order: Vec<String> = dag.topological().into_iter().map(NodeId::name).collect();
        assert_eq!(order, vec!["f.t", "a", "b", "c", "d"]);
    }

    #[test]
    fn a_layer_dag_reads_what_is_outside_it_from_parentless_nodes() {
        let specs = [spec("b", &["a"], &[]), spec("c", &["b"], &[("f", "t")])];
        let dag = Dag::with_upstream(&specs).unwrap();
        assert!(dag.parents(&m("a")).is_empty());
        assert_eq!(dag.parents(&m("c")), vec![&NodeId::Source(SourceRef::new("f", "t")), &m("b")]);
    }

    #[test]
    fn unknown_ref_names_both_models() {
        let err = Dag::build(&[spec("a", &["nope"], &[])], &[]).unwrap_err().to_string();
        assert!(err.contains("'a'") && err.contains("'nope'"), "{err}");
    }

    #[test]
    fn cycle_names_the_models_on_it() {
        let specs = [spec("a", &["c"], &[]), spec("b", &["a"], &[]), spec("c", &["b"], &[]), spec("z", &[], &[])];
        let err = Dag::build(&specs, &[]).unwrap_err().to_string();
        assert_eq!(err, "dependency cycle between models: a -> b -> c -> a");
    }
}
