//! Class-weighted CART trees and random forests, grown here rather than with
//! linfa-trees / linfa-ensemble 0.8.1 (see the README's "Machine learning" section for
//! what was checked): linfa-ensemble's bagging drops the dataset's sample weights, so
//! its trees cannot be class-weighted; it draws one feature subset per tree (with
//! replacement) instead of one per split; it breaks vote ties through a `HashMap`'s
//! random order, so two runs can disagree; and it needs a `rand` 0.8 generator.
//!
//! The algorithm is scikit-learn's: Gini impurity weighted by sample weight, splits at
//! the midpoint between consecutive distinct values, `min_leaf` rows on each side, a
//! random subset of `max_features` features tried at each split (a forest), trees grown
//! on bootstrap samples whose multiplicity multiplies the class weight
//! (`class_weight="balanced"`: `n / (classes * n_class)`), and predictions by averaging
//! the leaves' class distributions. Randomness comes from the MT19937 generator of
//! [`crate::split`], seeded per tree, so a forest is the same on every run and machine.
//! The first best split wins ties (features in order, thresholds ascending), and the
//! first class wins a tie of averaged distributions.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::MlError;
use crate::split::Mt19937;

/// How the trees are grown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeSettings {
    pub trees: usize,
    /// `None`: grow until leaves are pure or too small to split.
    pub max_depth: Option<usize>,
    /// Fewest rows each side of a split keeps.
    pub min_leaf: usize,
    /// Features tried at each split; `None`: all of them.
    pub max_features: Option<usize>,
    /// Grow each tree on a bootstrap sample of the rows (a forest) or on all of them.
    pub bootstrap: bool,
    /// Weight rows by `n / (classes * n_class)`.
    pub class_weighted: bool,
    pub seed: u32,
}

/// One tree's nodes, the root first; a split's children come after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// Internally tagged (`{"node": "split", ...}`): the model file is read back through the
/// YAML reader (see [`crate::stage::from_json`]), which takes an external tag for a YAML tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "lowercase")]
pub enum Node {
    /// Rows with `features[feature] <= threshold` go to `left`, the others to `right`
    /// (indices into the tree's `nodes`).
    Split { feature: usize, threshold: f64, left: usize, right: usize },
    /// The weighted share of each class (in the model's `classes` order) among the
    /// training rows that reached this leaf.
    Leaf { distribution: Vec<f64> },
}

/// The trees of a tree model: one for a decision tree, many for a forest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub settings: TreeSettings,
    pub trees: Vec<Tree>,
}

impl Forest {
    /// Grows the trees on rows `x` and class indices `y` (`0..classes`).
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], classes: usize, settings: &TreeSettings) -> Forest {
        let class_weight = class_weights(y, classes, settings.class_weighted);
        let trees = (0..settings.trees)
            .map(|t| {
                // One generator per tree, so each tree depends only on its own index.
                let mut rng = Mt19937::new(settings.seed.wrapping_add(t as u32));
                let mut counts = vec![1.0; y.len()];
                if settings.bootstrap {
                    counts = vec![0.0; y.len()];
                    for _ in 0..y.len() {
                        counts[rng.random_interval(y.len().saturating_sub(1) as u64) as usize] += 1.0;
                    }
                }
                let weights: Vec<f64> = y.iter().zip(&counts).map(|(&c, n)| n * class_weight[c]).collect();
                let rows: Vec<usize> = (0..y.len()).filter(|&i| weights[i] > 0.0).collect();
                let mut grower = Grower { x, y, weights, classes, settings, rng, nodes: Vec::new() };
                grower.grow(rows, 0);
                Tree { nodes: grower.nodes }
            })
            .collect();
        Forest { settings: settings.clone(), trees }
    }

    /// The class index of each row: the highest mean leaf distribution, first on ties.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<usize> {
        Array1::from_shape_fn(x.nrows(), |i| {
            let mut total: Vec<f64> = Vec::new();
            for tree in &self.trees {
                let distribution = tree.leaf(|f| x[[i, f]]);
                total.resize(distribution.len(), 0.0);
                total.iter_mut().zip(distribution).for_each(|(t, d)| *t += d);
            }
            total.iter().enumerate().fold(0, |best, (k, v)| if *v > total[best] { k } else { best })
        })
    }

    /// Checks that every node points forward to a node that exists, reads an existing
    /// feature and that leaves have one share per class (so prediction cannot loop or
    /// index out of bounds on a hand-edited file).
    pub fn validate(&self, features: usize, classes: usize) -> Result<(), MlError> {
        if self.trees.is_empty() {
            return Err(MlError::Stored("the forest has no trees".into()));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(MlError::Stored(format!("tree {t} has no nodes")));
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                let ok = match node {
                    Node::Split { feature, left, right, .. } => {
                        *feature < features
                            && *left > i
                            && *right > i
                            && *left < tree.nodes.len()
                            && *right < tree.nodes.len()
                    }
                    Node::Leaf { distribution } => distribution.len() == classes,
                };
                if !ok {
                    return Err(MlError::Stored(format!(
                        "tree {t} node {i} is malformed: a split must read one of the {features} features and point \
                         to later nodes, a leaf must have {classes} class shares"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Tree {
    fn leaf(&self, value: impl Fn(usize) -> f64) -> &[f64] {
        let mut at = 0;
        loop {
            match &self.nodes[at] {
                Node::Split { feature, threshold, left, right } => {
                    at = if value(*feature) <= *threshold { *left } else { *right };
                }
                Node::Leaf { distribution } => return distribution,
            }
        }
    }
}

/// scikit-learn's `class_weight="balanced"` (or 1 for every class).
fn class_weights(y: &[usize], classes: usize, balanced: bool) -> Vec<f64> {
    let mut counts = vec![0usize; classes];
    y.iter().for_each(|&c| counts[c] += 1);
    counts.iter().map(|&n| if balanced && n > 0 { y.len() as f64 / (classes as f64 * n as f64) } else { 1.0 }).collect()
}

struct Grower<'x, 'a> {
    x: ArrayView2<'x, f64>,
    y: &'a [usize],
    weights: Vec<f64>,
    classes: usize,
    settings: &'a TreeSettings,
    rng: Mt19937,
    nodes: Vec<Node>,
}

/// `1 - sum(p^2)` of weighted class totals, times their weight: the impurity a node
/// contributes to its parent's split.
fn weighted_gini(totals: &[f64]) -> f64 {
    let weight: f64 = totals.iter().sum();
    if weight <= 0.0 {
        return 0.0;
    }
    weight - totals.iter().map(|t| t * t).sum::<f64>() / weight
}

impl Grower<'_, '_> {
    /// Grows the subtree of `rows` and returns its node index.
    fn grow(&mut self, rows: Vec<usize>, depth: usize) -> usize {
        let mut totals = vec![0.0; self.classes];
        rows.iter().for_each(|&r| totals[self.y[r]] += self.weights[r]);
        let at = self.nodes.len();
        let weight: f64 = totals.iter().sum();
        let pure = totals.contains(&weight);
        let deep = self.settings.max_depth.is_some_and(|d| depth >= d);
        let split = if pure || deep || rows.len() < 2 * self.settings.min_leaf {
            None
        } else {
            self.best_split(&rows, &totals)
        };
        let Some((feature, threshold)) = split else {
            let distribution = totals.iter().map(|t| if weight > 0.0 { t / weight } else { 0.0 }).collect();
            self.nodes.push(Node::Leaf { distribution });
            return at;
        };
        let (left_rows, right_rows): (Vec<usize>, Vec<usize>) =
            rows.into_iter().partition(|&r| self.x[[r, feature]] <= threshold);
        self.nodes.push(Node::Leaf { distribution: Vec::new() }); // replaced below
        let left = self.grow(left_rows, depth + 1);
        let right = self.grow(right_rows, depth + 1);
        self.nodes[at] = Node::Split { feature, threshold, left, right };
        at
    }

    /// The features a split may use: all, or a random `max_features` of them.
    fn candidate_features(&mut self) -> Vec<usize> {
        let p = self.x.ncols();
        let mut features: Vec<usize> = (0..p).collect();
        let Some(m) = self.settings.max_features.filter(|&m| m < p) else {
            return features;
        };
        // A partial Fisher-Yates shuffle: the first m positions are a uniform sample.
        for i in 0..m {
            let j = i + self.rng.random_interval((p - 1 - i) as u64) as usize;
            features.swap(i, j);
        }
        features.truncate(m);
        features.sort_unstable();
        features
    }

    /// The split of `rows` that lowers the weighted Gini impurity most, if any does.
    fn best_split(&mut self, rows: &[usize], totals: &[f64]) -> Option<(usize, f64)> {
        let parent = weighted_gini(totals);
        let min_leaf = self.settings.min_leaf.max(1);
        let (mut best, mut best_impurity) = (None, parent - 1e-12 * parent.abs().max(1.0));
        let mut order = rows.to_vec();
        let mut left = vec![0.0; self.classes];
        let mut right = vec![0.0; self.classes];
        for feature in self.candidate_features() {
            let column = self.x.column(feature);
            order.sort_by(|&a, &b| column[a].total_cmp(&column[b]).then(a.cmp(&b)));
            left.iter_mut().for_each(|v| *v = 0.0);
            right.copy_from_slice(totals);
            for i in 0..order.len() - 1 {
                let (row, next) = (order[i], order[i + 1]);
                left[self.y[row]] += self.weights[row];
                right[self.y[row]] -= self.weights[row];
                if column[row] == column[next] || i + 1 < min_leaf || order.len() - i - 1 < min_leaf {
                    continue;
                }
                let impurity = weighted_gini(&left) + weighted_gini(&right);
                if impurity < best_impurity {
                    best_impurity = impurity;
                    best = Some((feature, column[row] + (column[next] - column[row]) / 2.0));
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;

    fn settings(trees: usize, bootstrap: bool) -> TreeSettings {
        TreeSettings {
            trees,
            max_depth: None,
            min_leaf: 1,
            max_features: None,
            bootstrap,
            class_weighted: true,
            seed: 7,
        }
    }

    #[test]
    fn a_tree_learns_a_threshold_at_the_midpoint() {
        let x = array![[1.0], [2.0], [3.0], [10.0], [11.0]];
        let forest = Forest::fit(x.view(), &[0, 0, 0, 1, 1], 2, &settings(1, false));
        assert_eq!(forest.trees[0].nodes[0], Node::Split { feature: 0, threshold: 6.5, left: 1, right: 2 });
        assert_eq!(forest.predict(array![[0.0], [6.0], [7.0]].view()).to_vec(), vec![0, 0, 1]);
        forest.validate(1, 2).unwrap();
        assert!(forest.validate(0, 2).unwrap_err().to_string().contains("node 0 is malformed"));
    }

    #[test]
    fn class_weights_balance_a_minority_leaf() {
        // One leaf holds 3 rows of class 0 and 1 of class 1, which is 3 times rarer:
        // balanced weights make the leaf's shares equal, and the first class wins the tie.
        let x = array![[0.0], [0.0], [0.0], [0.0]];
        let forest = Forest::fit(x.view(), &[0, 0, 0, 1], 2, &settings(1, false));
        assert_eq!(forest.trees[0].nodes, vec![Node::Leaf { distribution: vec![0.5, 0.5] }]);
    }

    #[test]
    fn forests_are_the_same_on_every_run() {
        let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 13) % 11) as f64);
        let y: Vec<usize> = (0..40).map(|i| usize::from((i * 37 + 11) % 7 > 3)).collect();
        let grow = || Forest::fit(x.view(), &y, 2, &TreeSettings { max_features: Some(2), ..settings(5, true) });
        assert_eq!(grow(), grow());
        assert_ne!(grow().trees[0], grow().trees[1], "trees differ by their bootstrap");
    }
}
