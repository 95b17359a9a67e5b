//! The lineage graph of the docs site: every source and model of the project's DAG laid
//! out left to right in layers (a node's layer is its longest path from a source), drawn
//! as inline SVG. Each node is a `<g class="node" data-name=...>` whose rect is filled
//! with the model's `node_color` (sources one fixed colour), each edge a `<path
//! class="edge">`; the site's script makes nodes clickable and dims what a selector
//! leaves out.
//!
//! Layout is computed here, not in the browser, so the site draws the same picture
//! without JavaScript and the tests can check it without one. A project of more than
//! [`FOLD_ABOVE`] sources and models is drawn folded by folder instead ([`folds`]).

pub mod folds;

use std::collections::BTreeMap;
use std::fmt::Write;

use pitwall_core::dag::NodeId;

use super::markdown::escape;
use pitwall_project::Project;

pub use folds::FOLD_ABOVE;

/// The fill of every source node: sources have no folder config to take a colour from.
pub const SOURCE_COLOR: &str = "#3a7d44";
/// A model's fill when its folders set no `node_color` (dbt docs' default).
pub const DEFAULT_MODEL_COLOR: &str = "#0094b3";

/// Monospace 12px text: about 7.3 px per character, so a node is as wide as the longest
/// name needs (at least this much).
const CHAR_WIDTH: f64 = 7.3;
const MIN_NODE_WIDTH: f64 = 160.0;
const NODE_HEIGHT: f64 = 30.0;
const GAP_X: f64 = 64.0;
const GAP_Y: f64 = 14.0;
const MARGIN: f64 = 16.0;
/// Enough barycenter sweeps for a DAG this size to settle; each is cheap.
const SWEEPS: usize = 6;

/// A source or model placed on the page.
#[derive(Clone, Debug)]
pub struct GraphNode {
    pub id: NodeId,
    /// What a user types for it: `fct_results`, `formula1.races`.
    pub name: String,
    pub color: String,
    /// The longest path, in edges, from a node without parents.
    pub layer: usize,
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    /// `(from, to)` indexes into `nodes`, upstream to downstream.
    pub edges: Vec<(usize, usize)>,
    /// Every node's width: the longest name fits.
    pub node_width: f64,
    pub width: f64,
    pub height: f64,
}

/// The fill a node is drawn with: its folders' `node_color`, or the fixed source colour.
/// A colour that is not a name or a hex value (dbt's two forms) is not used: it goes into
/// `fill` and `style` attributes, where `url(...)` would load a resource.
pub fn node_color(project: &Project, id: &NodeId) -> String {
    match id {
        NodeId::Source(_) => SOURCE_COLOR.to_owned(),
        NodeId::Model(name) => project
            .node(name)
            .and_then(|n| n.config.node_color.clone())
            .filter(|c| is_plain_color(c))
            .unwrap_or_else(|| DEFAULT_MODEL_COLOR.to_owned()),
        // Tests are not drawn; their pages use a neutral colour.
        NodeId::Test(_) => "#6b7280".to_owned(),
    }
}

/// `CadetBlue` or `#800080` (3, 4, 6 or 8 hex digits).
fn is_plain_color(color: &str) -> bool {
    match color.strip_prefix('#') {
        Some(hex) => matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !color.is_empty() && color.bytes().all(|b| b.is_ascii_alphabetic()),
    }
}

/// The lineage graph as the site draws it: every node for a project of up to
/// [`FOLD_ABOVE`] sources and models, one node per folder above.
pub fn drawing(project: &Project) -> String {
    let (nodes, edges) = nodes_and_edges(project);
    match nodes.len() > FOLD_ABOVE {
        true => folds::svg(&folds::fold_nodes(project, nodes, edges)),
        false => svg(&place(nodes, edges)),
    }
}

/// Lays out the project's sources and models (tests are leaves of every model and would
/// only clutter the picture, as in dbt docs).
pub fn layout(project: &Project) -> Graph {
    let (nodes, edges) = nodes_and_edges(project);
    place(nodes, edges)
}

/// The sources and models in topological order, each with its layer (not yet placed),
/// and the edges between them, sorted.
fn nodes_and_edges(project: &Project) -> (Vec<GraphNode>, Vec<(usize, usize)>) {
    let ids: Vec<&NodeId> = project.dag.topological().into_iter().filter(|id| !matches!(id, NodeId::Test(_))).collect();
    let index: BTreeMap<&NodeId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let parents: Vec<Vec<usize>> =
        ids.iter().map(|id| project.dag.parents(id).iter().filter_map(|p| index.get(p).copied()).collect()).collect();
    // Topological order: every parent's layer is known before its children's.
    let mut layers = vec![0usize; ids.len()];
    for k in 0..ids.len() {
        layers[k] = parents[k].iter().map(|p| layers[*p] + 1).max().unwrap_or(0);
    }
    let mut edges: Vec<(usize, usize)> =
        parents.iter().enumerate().flat_map(|(k, ps)| ps.iter().map(move |p| (*p, k))).collect();
    edges.sort_unstable();
    let nodes = ids
        .iter()
        .enumerate()
        .map(|(k, id)| GraphNode {
            id: (*id).clone(),
            name: id.name(),
            color: node_color(project, id),
            layer: layers[k],
            x: 0.0,
            y: 0.0,
        })
        .collect();
    (nodes, edges)
}

/// The flat picture: every node in its layer's column, as wide as the longest name needs.
fn place(mut nodes: Vec<GraphNode>, edges: Vec<(usize, usize)>) -> Graph {
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let layers: Vec<usize> = nodes.iter().map(|n| n.layer).collect();
    let node_width = width_for(names.iter().map(|n| n.chars().count()).max().unwrap_or(0));
    let columns = arrange(&names, &layers, &edges, node_width);
    for (node, (x, y)) in nodes.iter_mut().zip(&columns.positions) {
        node.x = MARGIN + x;
        node.y = MARGIN + y;
    }
    Graph {
        width: 2.0 * MARGIN + columns.count as f64 * (node_width + GAP_X) - GAP_X,
        node_width,
        height: 2.0 * MARGIN + columns.tallest as f64 * (NODE_HEIGHT + GAP_Y) - GAP_Y,
        nodes,
        edges,
    }
}

/// A node's width for a label of `chars` characters: it fits, and is at least
/// [`MIN_NODE_WIDTH`].
fn width_for(chars: usize) -> f64 {
    (chars as f64 * CHAR_WIDTH + 22.0).max(MIN_NODE_WIDTH)
}

/// Nodes placed in columns, one per layer, from the origin.
struct Columns {
    /// Each node's top-left corner.
    positions: Vec<(f64, f64)>,
    /// How many columns, and how many nodes the tallest holds.
    count: usize,
    tallest: usize,
}

/// Places nodes of one width in their layers' columns, each ordered by [`order_rows`]
/// and centred vertically on the tallest column.
fn arrange(names: &[String], layers: &[usize], edges: &[(usize, usize)], node_width: f64) -> Columns {
    let rows = order_rows(names, layers, edges);
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut positions = vec![(0.0, 0.0); names.len()];
    for (layer, row) in rows.iter().enumerate() {
        let offset = (tallest - row.len()) as f64 / 2.0;
        for (slot, k) in row.iter().enumerate() {
            positions[*k] = (layer as f64 * (node_width + GAP_X), (offset + slot as f64) * (NODE_HEIGHT + GAP_Y));
        }
    }
    Columns { positions, count: rows.len(), tallest }
}

/// The nodes of each layer, top to bottom: by name first, then a few sweeps of the
/// barycenter heuristic (each node moves towards the mean position of its neighbours in
/// the sweep's direction), which removes most edge crossings. Positions are centred so
/// that layers of different sizes compare; ties keep the previous order, so the result
/// is deterministic.
fn order_rows(names: &[String], layers: &[usize], edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let count = layers.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (k, layer) in layers.iter().enumerate() {
        rows[*layer].push(k);
    }
    for row in &mut rows {
        row.sort_by_key(|k| &names[*k]);
    }
    let mut position = vec![0.0f64; names.len()];
    let place = |rows: &[Vec<usize>], position: &mut [f64]| {
        for row in rows {
            let centre = (row.len() as f64 - 1.0) / 2.0;
            for (slot, k) in row.iter().enumerate() {
                position[*k] = slot as f64 - centre;
            }
        }
    };
    place(&rows, &mut position);
    for sweep in 0..SWEEPS {
        let downwards = sweep % 2 == 0;
        let neighbours = |k: usize| -> Vec<usize> {
            edges
                .iter()
                .filter_map(|(from, to)| match downwards {
                    true => (*to == k).then_some(*from),
                    false => (*from == k).then_some(*to),
                })
                .collect()
        };
        let layer_order: Vec<usize> = if downwards { (1..count).collect() } else { (0..count).rev().collect() };
        for layer in layer_order {
            let key = |k: usize| {
                let ns = neighbours(k);
                if ns.is_empty() { position[k] } else { ns.iter().map(|n| position[*n]).sum::<f64>() / ns.len() as f64 }
            };
            let mut keyed: Vec<(f64, usize)> = rows[layer].iter().map(|k| (key(*k), *k)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            rows[layer] = keyed.into_iter().map(|(_, k)| k).collect();
            place(&rows, &mut position);
        }
    }
    rows
}

/// The graph as an inline `<svg>` element.
pub fn svg(graph: &Graph) -> String {
    let mut out = format!(
        "<svg class=\"lineage\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" \
         aria-label=\"Lineage of {n} sources and models\">\n{ARROW}",
        w = graph.width,
        h = graph.height,
        n = graph.nodes.len()
    );
    out.push_str("<g class=\"edges\">\n");
    for (from, to) in &graph.edges {
        let (a, b) = (&graph.nodes[*from], &graph.nodes[*to]);
        let ends = format!("data-from=\"{}\" data-to=\"{}\"", escape(&a.name), escape(&b.name));
        write_edge(&mut out, &ends, (a.x + graph.node_width, a.y), (b.x, b.y));
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for node in &graph.nodes {
        write_node(&mut out, node, graph.node_width);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// The arrowhead every edge ends in.
const ARROW: &str = "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
     markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" class=\"arrowhead\"/></marker>\
     </defs>\n";

/// An edge from the node whose right edge's top is at `from` to the one whose left edge's
/// top is at `to`, as a curve between the middles of those edges; `ends` are its
/// `data-*` attributes, which the script dims it by.
fn write_edge(out: &mut String, ends: &str, from: (f64, f64), to: (f64, f64)) {
    let (x1, y1) = (from.0, from.1 + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.0, to.1 + NODE_HEIGHT / 2.0);
    let mid = (x1 + x2) / 2.0;
    writeln!(
        out,
        "<path class=\"edge\" {ends} d=\"M {x1:.1} {y1:.1} C {mid:.1} {y1:.1}, {mid:.1} {y2:.1}, {x2:.1} {y2:.1}\" \
         marker-end=\"url(#arrow)\"/>"
    )
    .expect("writing to a String cannot fail");
}

/// A source or model: its page opens on a click (the script's), its name is its title.
fn write_node(out: &mut String, node: &GraphNode, width: f64) {
    let name = escape(&node.name);
    writeln!(
        out,
        "<g class=\"node\" data-name=\"{name}\" data-type=\"{}\" data-layer=\"{}\" \
         transform=\"translate({:.1} {:.1})\" \
         tabindex=\"0\"><title>{name}</title><rect width=\"{width:.0}\" height=\"{NODE_HEIGHT}\" rx=\"6\" \
         fill=\"{}\"/><text x=\"10\" y=\"{:.1}\">{name}</text></g>",
        node.id.resource_type(),
        node.layer,
        node.x,
        node.y,
        escape(&node.color),
        NODE_HEIGHT / 2.0 + 4.0,
    )
    .expect("writing to a String cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_and_hex_values_are_colours() {
        for good in ["CadetBlue", "#800080", "#36454f", "#abc"] {
            assert!(is_plain_color(good), "{good}");
        }
        for bad in ["", "#12345", "red;x", "url(#a)", "#ggg", "rgb(1,2,3)"] {
            assert!(!is_plain_color(bad), "{bad}");
        }
    }
}
