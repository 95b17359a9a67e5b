//! The lineage graph of a big project, folded: the sources and models of one folder (a
//! model's folder under its model path, `staging/formula1`; a source's tables) are drawn
//! as one node with the folder's name and node count, and the edges between two folders
//! as one edge.
//!
//! Every folder's own picture (its nodes in layers of their own, below a header) is laid
//! out here too and drawn hidden inside it. Unfolding a folder in the browser shows that
//! picture and re-stacks the columns of folders, each folder a box of a known size
//! (app.js's `pack`, which for all folders folded puts them where [`fold`] does); only
//! the edges between folders are drawn there. So no click lays out a node in the
//! browser, however many folders are open, and the picture without JavaScript is the
//! folded one.

use std::collections::BTreeMap;
use std::fmt::Write;

use pitwall_core::dag::NodeId;
use pitwall_project::Project;

use super::{
    ARROW, GAP_X, GAP_Y, Graph, GraphNode, MARGIN, NODE_HEIGHT, arrange, escape, nodes_and_edges, width_for,
    write_edge, write_node,
};

/// Above this many sources and models the graph starts folded. The flat picture stays
/// browsable by zoom and pan up to about this size (the workshop's 29 nodes are far
/// below it); beyond it a fitted graph is a wall of boxes too small to read, and the SVG
/// of a 1,000-model project (a thousand nodes and more edges) is slow to pan, while its
/// folders are a few dozen nodes.
pub const FOLD_ABOVE: usize = 150;

/// Space between an unfolded folder's frame and its nodes.
const PAD: f64 = 10.0;

/// One folder of the folded graph.
#[derive(Clone, Debug)]
pub struct Folder {
    /// `staging/formula1` (a model folder; `.` for models at the top of a model path) or
    /// `source:formula1`: unique, the page's `data-folder`.
    pub key: String,
    /// What its node reads: `staging/formula1`, `formula1 (source)`.
    pub label: String,
    /// Its first node's colour: a folder's models share their folder's `node_color`.
    pub color: String,
    /// Its nodes, as indexes into the graph's nodes, in topological order.
    pub members: Vec<usize>,
    /// Its column in the folded picture; a column's folders are in the picture's order.
    pub layer: usize,
    /// Where the folded picture puts it.
    pub x: f64,
    pub y: f64,
    /// Its size unfolded: the header and its nodes' own layers.
    pub width: f64,
    pub height: f64,
}

impl Folder {
    /// A folder not yet filled nor placed.
    fn new(key: String, label: String, color: String) -> Folder {
        Folder { key, label, color, members: Vec::new(), layer: 0, x: 0.0, y: 0.0, width: 0.0, height: 0.0 }
    }
}

/// The folded graph.
#[derive(Clone, Debug)]
pub struct Folded {
    /// Every source and model, each placed within its folder unfolded; `width` and
    /// `height` are the folded picture's, and `node_width` fits every name and folder label.
    pub graph: Graph,
    pub folders: Vec<Folder>,
    /// Each node's folder, as an index into `folders`.
    pub folder_of: Vec<usize>,
    /// `(from, to)` indexes into `folders`: one per pair with an edge between their nodes.
    pub folder_edges: Vec<(usize, usize)>,
}

/// Folds the project's graph by folder, whatever its size (the site does above [`FOLD_ABOVE`]).
pub fn fold(project: &Project) -> Folded {
    let (nodes, edges) = nodes_and_edges(project);
    fold_nodes(project, nodes, edges)
}

/// [`fold`], of the nodes and edges [`nodes_and_edges`] took from the project.
pub(super) fn fold_nodes(project: &Project, mut nodes: Vec<GraphNode>, edges: Vec<(usize, usize)>) -> Folded {
    let (mut folders, folder_of) = group(project, &nodes);
    let mut folder_edges: Vec<(usize, usize)> =
        edges.iter().map(|(a, b)| (folder_of[*a], folder_of[*b])).filter(|(a, b)| a != b).collect();
    folder_edges.sort_unstable();
    folder_edges.dedup();
    let longest_name = nodes.iter().map(|n| n.name.chars().count()).max().unwrap_or(0);
    let longest_label = folders.iter().map(label_chars).max().unwrap_or(0);
    let node_width = width_for(longest_name.max(longest_label));
    for folder in &mut folders {
        (folder.width, folder.height) = lay_out_inside(folder, &mut nodes, &edges, node_width);
    }
    let layers = folder_layers(&folders, &folder_edges, &nodes);
    let keys: Vec<String> = folders.iter().map(|f| f.key.clone()).collect();
    let columns = arrange(&keys, &layers, &folder_edges, node_width);
    for (k, folder) in folders.iter_mut().enumerate() {
        folder.layer = layers[k];
        (folder.x, folder.y) = (MARGIN + columns.positions[k].0, MARGIN + columns.positions[k].1);
    }
    // Column by column, top to bottom: the order the script stacks them in.
    let mut order: Vec<usize> = (0..folders.len()).collect();
    order.sort_by(|a, b| folders[*a].layer.cmp(&folders[*b].layer).then(folders[*a].y.total_cmp(&folders[*b].y)));
    let graph = Graph {
        width: 2.0 * MARGIN + columns.count as f64 * (node_width + GAP_X) - GAP_X,
        height: 2.0 * MARGIN + columns.tallest as f64 * (NODE_HEIGHT + GAP_Y) - GAP_Y,
        node_width,
        nodes,
        edges,
    };
    reorder(Folded { graph, folders, folder_of, folder_edges }, &order)
}

/// The folders in `order` (new index `i` is old `order[i]`), indexes renumbered.
fn reorder(folded: Folded, order: &[usize]) -> Folded {
    let mut renumber = vec![0; order.len()];
    for (new, old) in order.iter().enumerate() {
        renumber[*old] = new;
    }
    let folders = order.iter().map(|old| folded.folders[*old].clone()).collect();
    let folder_of = folded.folder_of.iter().map(|f| renumber[*f]).collect();
    let mut folder_edges: Vec<(usize, usize)> =
        folded.folder_edges.iter().map(|(a, b)| (renumber[*a], renumber[*b])).collect();
    folder_edges.sort_unstable();
    Folded { graph: folded.graph, folders, folder_of, folder_edges }
}

/// A node's folder: `(key, label)`.
fn folder_key(project: &Project, id: &NodeId) -> (String, String) {
    match id {
        NodeId::Source(s) => (format!("source:{}", s.source), format!("{} (source)", s.source)),
        _ => {
            let path = project.node(&id.name()).map(|n| n.spec().fqn.join("/")).unwrap_or_default();
            let path = if path.is_empty() { ".".to_owned() } else { path };
            (path.clone(), path)
        }
    }
}

/// The folders, in the order their first nodes come, and each node's folder.
fn group(project: &Project, nodes: &[GraphNode]) -> (Vec<Folder>, Vec<usize>) {
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut folders: Vec<Folder> = Vec::new();
    let mut folder_of_node = Vec::with_capacity(nodes.len());
    for (k, node) in nodes.iter().enumerate() {
        let (key, label) = folder_key(project, &node.id);
        let index = *by_key.entry(key.clone()).or_insert_with(|| {
            folders.push(Folder::new(key, label, node.color.clone()));
            folders.len() - 1
        });
        folders[index].members.push(k);
        folder_of_node.push(index);
    }
    (folders, folder_of_node)
}

/// The characters a folder's node needs: a marker, its label, a gap and its count.
fn label_chars(folder: &Folder) -> usize {
    2 + folder.label.chars().count() + 2 + folder.members.len().to_string().len()
}

/// Places a folder's nodes (their `x`, `y` from the folder's corner) in layers of their
/// own, the longest path over the edges inside the folder, below its header; returns the
/// unfolded folder's size.
fn lay_out_inside(folder: &Folder, nodes: &mut [GraphNode], edges: &[(usize, usize)], node_width: f64) -> (f64, f64) {
    let local: BTreeMap<usize, usize> = folder.members.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    // Sorted by their upstream ends, which are in topological order: each edge's upstream
    // layer is final before the edge is seen.
    let inner: Vec<(usize, usize)> = edges.iter().filter_map(|(a, b)| Some((*local.get(a)?, *local.get(b)?))).collect();
    let mut layers = vec![0usize; folder.members.len()];
    for (a, b) in &inner {
        layers[*b] = layers[*b].max(layers[*a] + 1);
    }
    let names: Vec<String> = folder.members.iter().map(|m| nodes[*m].name.clone()).collect();
    let columns = arrange(&names, &layers, &inner, node_width);
    let header = NODE_HEIGHT + GAP_Y;
    for (m, (x, y)) in folder.members.iter().zip(&columns.positions) {
        (nodes[*m].x, nodes[*m].y) = (PAD + x, header + y);
    }
    let width = 2.0 * PAD + columns.count as f64 * (node_width + GAP_X) - GAP_X;
    let height = header + columns.tallest as f64 * (NODE_HEIGHT + GAP_Y) - GAP_Y + PAD;
    (width, height)
}

/// Each folder's column: its longest path from a folder without parents, over the edges
/// that go forward in a topological order of the folders. Folders can form a cycle (a
/// model of A reads one of B, and another of B one of A): the order then goes on with
/// the folder whose nodes start leftmost in the flat layers, and the edges back into it
/// are drawn right to left.
fn folder_layers(folders: &[Folder], edges: &[(usize, usize)], nodes: &[GraphNode]) -> Vec<usize> {
    let count = folders.len();
    let leftmost: Vec<usize> =
        folders.iter().map(|f| f.members.iter().map(|m| nodes[*m].layer).min().unwrap_or(0)).collect();
    let mut waiting = vec![0usize; count];
    for (_, to) in edges {
        waiting[*to] += 1;
    }
    let mut position = vec![usize::MAX; count];
    for next_position in 0..count {
        let unplaced = (0..count).filter(|f| position[*f] == usize::MAX);
        let next = unplaced.min_by_key(|f| (waiting[*f] > 0, leftmost[*f], *f)).expect("a folder is left");
        position[next] = next_position;
        for (_, to) in edges.iter().filter(|(from, to)| *from == next && position[*to] == usize::MAX) {
            waiting[*to] -= 1;
        }
    }
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|f| position[*f]);
    let mut layers = vec![0usize; count];
    for f in order {
        let parents = edges.iter().filter(|(from, to)| *to == f && position[*from] < position[f]);
        layers[f] = parents.map(|(from, _)| layers[*from] + 1).max().unwrap_or(0);
    }
    layers
}

/// The folded graph as an inline `<svg>`: the edges between folders, then each folder
/// with its folded node and its unfolded picture (hidden by the style until the script
/// adds `open`). The sizes the script re-stacks folders with are `data-*` attributes.
pub fn svg(folded: &Folded) -> String {
    let graph = &folded.graph;
    let mut out = format!(
        "<svg class=\"lineage folded\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\" \
         aria-label=\"Lineage of {n} sources and models in {f} folders\" data-node-width=\"{nw:.0}\" \
         data-node-height=\"{NODE_HEIGHT}\" data-gap-x=\"{GAP_X}\" data-gap-y=\"{GAP_Y}\" data-margin=\"{MARGIN}\">\n\
         {ARROW}<g class=\"edges between-folders\">\n",
        w = graph.width,
        h = graph.height,
        n = graph.nodes.len(),
        f = folded.folders.len(),
        nw = graph.node_width,
    );
    for (from, to) in &folded.folder_edges {
        let (a, b) = (&folded.folders[*from], &folded.folders[*to]);
        let ends = format!("data-from-folder=\"{}\" data-to-folder=\"{}\"", escape(&a.key), escape(&b.key));
        write_edge(&mut out, &ends, (a.x + graph.node_width, a.y), (b.x, b.y));
    }
    out.push_str("</g>\n<g class=\"folders\">\n");
    for (k, folder) in folded.folders.iter().enumerate() {
        write_folder(&mut out, folded, k, folder);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// One folder: its folded node, then its body (frame, header, inner edges and nodes,
/// placed from the folder's corner).
fn write_folder(out: &mut String, folded: &Folded, index: usize, folder: &Folder) {
    let graph = &folded.graph;
    let (key, label, count) = (escape(&folder.key), escape(&folder.label), folder.members.len());
    let noun = if count == 1 { "node" } else { "nodes" };
    writeln!(
        out,
        "<g class=\"folder\" data-folder=\"{key}\" data-layer=\"{}\" data-width=\"{:.0}\" data-height=\"{:.0}\" \
         transform=\"translate({:.1} {:.1})\">",
        folder.layer, folder.width, folder.height, folder.x, folder.y
    )
    .expect("writing to a String cannot fail");
    let head = |class: &str, verb: &str, marker: &str, width: f64, fill: &str| {
        format!(
            "<g class=\"{class}\" role=\"button\" tabindex=\"0\"><title>{label}: {count} {noun} (click to {verb})</title>\
             <rect width=\"{width:.0}\" height=\"{NODE_HEIGHT}\" rx=\"6\" fill=\"{fill}\"/><text x=\"10\" y=\"{y:.1}\">\
             {marker} {label}</text><text class=\"count\" x=\"{x:.0}\" y=\"{y:.1}\" text-anchor=\"end\">{count}</text></g>\n",
            x = width - 10.0,
            y = NODE_HEIGHT / 2.0 + 4.0,
        )
    };
    let color = escape(&folder.color);
    out.push_str(&head("folder-node", "unfold", "\u{25b8}", graph.node_width, &color));
    writeln!(
        out,
        "<g class=\"folder-body\"><rect class=\"folder-frame\" width=\"{:.0}\" height=\"{:.0}\" rx=\"8\"/>",
        folder.width, folder.height
    )
    .expect("writing to a String cannot fail");
    out.push_str(&head("folder-head", "fold", "\u{25be}", folder.width, &color));
    out.push_str("<g class=\"edges\">\n");
    let inside = |k: &usize| folded.folder_of[*k] == index;
    for (from, to) in graph.edges.iter().filter(|(a, b)| inside(a) && inside(b)) {
        let (a, b) = (&graph.nodes[*from], &graph.nodes[*to]);
        let ends = format!("data-from=\"{}\" data-to=\"{}\"", escape(&a.name), escape(&b.name));
        write_edge(out, &ends, (a.x + graph.node_width, a.y), (b.x, b.y));
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for member in &folder.members {
        write_node(out, &graph.nodes[*member], graph.node_width);
    }
    out.push_str("</g></g></g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, layer: usize) -> GraphNode {
        let id = NodeId::Model(name.to_owned());
        GraphNode { id, name: name.to_owned(), color: String::new(), layer, x: 0.0, y: 0.0 }
    }

    fn folder(key: &str, members: &[usize]) -> Folder {
        Folder { members: members.to_vec(), ..Folder::new(key.to_owned(), key.to_owned(), String::new()) }
    }

    #[test]
    fn folders_that_read_each_other_still_get_columns_in_their_flat_order() {
        // a0 -> b1 -> c2 -> b3: folders b and c read each other.
        let nodes = [node("a0", 0), node("b1", 1), node("c2", 2), node("b3", 3)];
        let folders = [folder("a", &[0]), folder("b", &[1, 3]), folder("c", &[2])];
        let edges = [(0, 1), (1, 2), (2, 1)];
        assert_eq!(folder_layers(&folders, &edges, &nodes), [0, 1, 2], "c -> b is the edge drawn backwards");
        // Without the cycle, a folder sits right of every folder it reads.
        assert_eq!(folder_layers(&folders, &[(0, 2), (2, 1)], &nodes), [0, 2, 1]);
    }

    #[test]
    fn a_folder_lays_out_its_nodes_in_layers_of_its_own_below_its_header() {
        // m1 is in another folder: its edges do not count inside this one.
        let mut nodes = vec![node("m0", 0), node("m1", 1), node("m2", 2), node("m3", 3), node("m4", 0)];
        let edges = [(0, 1), (0, 2), (1, 2), (2, 3)];
        let inside = folder("f", &[0, 2, 3, 4]);
        let (width, height) = lay_out_inside(&inside, &mut nodes, &edges, 160.0);
        let at = |k: usize| (nodes[k].x, nodes[k].y);
        assert_eq!((at(0).0, at(2).0, at(3).0), (PAD, PAD + 224.0, PAD + 448.0), "three layers of their own");
        assert_eq!(at(4).0, PAD, "m4 reads nothing in the folder");
        assert!([0, 2, 3, 4].iter().all(|k| at(*k).1 >= NODE_HEIGHT + GAP_Y), "below the header");
        // Three columns; the header, then two rows (m0 and m4).
        let header = NODE_HEIGHT + GAP_Y;
        assert_eq!((width, height), (2.0 * PAD + 3.0 * 224.0 - GAP_X, header + 2.0 * header - GAP_Y + PAD));
    }
}
