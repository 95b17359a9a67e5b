//! Classification metrics computed from predicted vs true labels, as scikit-learn defines
//! them: the confusion matrix, per-class precision / recall / F1 (0 where undefined,
//! sklearn's `zero_division` default), accuracy and balanced accuracy (the mean recall
//! over the classes that occur in the true labels).

use serde::{Deserialize, Serialize};

/// Metrics of one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    pub rows: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    /// One entry per label, in `labels` order.
    pub per_class: Vec<ClassMetrics>,
    /// The labels the confusion matrix rows and columns stand for, sorted.
    pub labels: Vec<i64>,
    /// `confusion_matrix[i][j]`: rows whose true label is `labels[i]` predicted as `labels[j]`.
    pub confusion_matrix: Vec<Vec<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: i64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows whose true label is this one.
    pub support: u64,
    /// Rows predicted as this label.
    pub predicted: u64,
}

impl SplitMetrics {
    /// Scores `predicted` against `truth` over `classes` (the model's) plus any other
    /// label that occurs in either.
    pub fn compute(truth: &[i64], predicted: &[i64], classes: &[i64]) -> SplitMetrics {
        assert_eq!(truth.len(), predicted.len(), "one prediction per true label");
        let mut labels: Vec<i64> = classes.iter().chain(truth).chain(predicted).copied().collect();
        labels.sort_unstable();
        labels.dedup();
        let k = labels.len();
        let index = |label: &i64| labels.binary_search(label).expect("every label is listed");
        let mut matrix = vec![vec![0u64; k]; k];
        for (t, p) in truth.iter().zip(predicted) {
            matrix[index(t)][index(p)] += 1;
        }
        let ratio = |num: u64, den: u64| if den == 0 { 0.0 } else { num as f64 / den as f64 };
        let per_class: Vec<ClassMetrics> = labels
            .iter()
            .enumerate()
            .map(|(i, &label)| {
                let tp = matrix[i][i];
                let support: u64 = matrix[i].iter().sum();
                let predicted: u64 = matrix.iter().map(|row| row[i]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
                ClassMetrics { label, precision, recall, f1, support, predicted }
            })
            .collect();
        let correct: u64 = (0..k).map(|i| matrix[i][i]).sum();
        let present: Vec<f64> = per_class.iter().filter(|c| c.support > 0).map(|c| c.recall).collect();
        let balanced_accuracy =
            if present.is_empty() { 0.0 } else { present.iter().sum::<f64>() / present.len() as f64 };
        SplitMetrics {
            rows: truth.len(),
            accuracy: ratio(correct, truth.len() as u64),
            balanced_accuracy,
            per_class,
            labels,
            confusion_matrix: matrix,
        }
    }

    /// A readable block: headline numbers, the per-class table, the confusion matrix.
    pub fn render(&self, title: &str) -> String {
        let mut out = format!(
            "{title}: {} rows, balanced accuracy {:.3}, accuracy {:.3}\n",
            self.rows, self.balanced_accuracy, self.accuracy
        );
        out.push_str("  class  precision  recall     f1  support  predicted\n");
        for c in &self.per_class {
            out.push_str(&format!(
                "  {:>5}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}  {:>9}\n",
                c.label, c.precision, c.recall, c.f1, c.support, c.predicted
            ));
        }
        out.push_str("  confusion matrix (rows: true label, columns: predicted)\n");
        out.push_str(&format!("  {:>10}", "true\\pred"));
        for label in &self.labels {
            out.push_str(&format!(" {label:>6}"));
        }
        out.push('\n');
        for (label, row) in self.labels.iter().zip(&self.confusion_matrix) {
            out.push_str(&format!("  {label:>10}"));
            for n in row {
                out.push_str(&format!(" {n:>6}"));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_class_example() {
        // true:      1 1 1 2 2 3 3 3 3 3
        // predicted: 1 2 1 2 3 3 3 2 3 1
        let truth = [1, 1, 1, 2, 2, 3, 3, 3, 3, 3];
        let predicted = [1, 2, 1, 2, 3, 3, 3, 2, 3, 1];
        let m = SplitMetrics::compute(&truth, &predicted, &[1, 2, 3]);
        assert_eq!(m.confusion_matrix, vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 1, 3]]);
        assert_eq!(m.accuracy, 0.6);
        // recalls 2/3, 1/2, 3/5 -> mean 0.5888...
        assert!((m.balanced_accuracy - (2.0 / 3.0 + 0.5 + 0.6) / 3.0).abs() < 1e-15);
        let c1 = &m.per_class[0];
        assert_eq!((c1.support, c1.predicted), (3, 3));
        assert!((c1.precision - 2.0 / 3.0).abs() < 1e-15 && (c1.recall - 2.0 / 3.0).abs() < 1e-15);
        let c2 = &m.per_class[1];
        assert!((c2.precision - 1.0 / 3.0).abs() < 1e-15);
        assert!((c2.f1 - 2.0 * (1.0 / 3.0) * 0.5 / (1.0 / 3.0 + 0.5)).abs() < 1e-15);
    }

    #[test]
    fn balanced_accuracy_differs_from_accuracy_on_imbalanced_labels() {
        // Always predicting the majority class: accuracy 0.9, balanced accuracy 0.5.
        let truth = [2, 2, 2, 2, 2, 2, 2, 2, 2, 1];
        let m = SplitMetrics::compute(&truth, &[2; 10], &[1, 2]);
        assert_eq!(m.accuracy, 0.9);
        assert_eq!(m.balanced_accuracy, 0.5);
        // Class 1 is never predicted: precision 0 (not NaN), F1 0.
        assert_eq!((m.per_class[0].precision, m.per_class[0].f1), (0.0, 0.0));
    }

    #[test]
    fn classes_absent_from_the_truth_do_not_count_in_balanced_accuracy() {
        // Class 3 is a model class but never true; a prediction of it is still an error.
        let m = SplitMetrics::compute(&[1, 1, 2, 2], &[1, 3, 2, 2], &[1, 2, 3]);
        assert_eq!(m.labels, vec![1, 2, 3]);
        assert_eq!(m.per_class[2].support, 0);
        assert_eq!(m.balanced_accuracy, (0.5 + 1.0) / 2.0);
        // A label outside the model's classes is listed too.
        let m = SplitMetrics::compute(&[4], &[1], &[1, 2, 3]);
        assert_eq!(m.labels, vec![1, 2, 3, 4]);
        assert_eq!(m.balanced_accuracy, 0.0);
    }

    #[test]
    fn render_shows_the_table_and_the_matrix() {
        let m = SplitMetrics::compute(&[1, 2, 2], &[1, 2, 1], &[1, 2]);
        let text = m.render("test");
        assert!(text.starts_with("test: 3 rows, balanced accuracy 0.750, accuracy 0.667"), "{text}");
        assert!(text.contains("confusion matrix"), "{text}");
        assert!(text.contains("           1      1      0\n           2      1      1\n"), "{text}");
    }
}
