//! `pitwall ml compare`: model selection by stratified k-fold cross-validation on the
//! training split only (the 70% of `train_test_dataset` that `train_test_position`
//! trains on). Each candidate ([`crate::candidates`]) is scored by its mean balanced
//! accuracy over the folds; the highest mean wins (the earlier candidate on a tie).
//! Every candidate is then refitted on the whole training split and scored on the test
//! split and the 2020 hold-out: those two figures are reported, never used to choose.
//!
//! Folds ([`stratified_folds`]) are pitwall's own, not scikit-learn's `StratifiedKFold`
//! assignment: each class's rows are shuffled by the seeded MT19937 and dealt round-robin
//! to the folds, so every fold holds each class's share to within one row. Everything
//! is seeded and summed in a fixed order, so a comparison gives the same scores on every
//! run and machine (only the timings differ).

use std::time::Instant;

use ndarray::{ArrayView1, ArrayView2, Axis};
use pitwall_core::{Error, Location, ProjectConfig, Result};
use serde::{Deserialize, Serialize};

use crate::candidates::{self, Candidate};
use crate::classifier::{SplitRecord, TrainSettings};
use crate::dataset::{self, HOLD_OUT_DATASET, SplitData, TRAIN_TEST_DATASET};
use crate::error::MlError;
use crate::metrics::SplitMetrics;
use crate::split::Mt19937;
use crate::stage;

/// Where the comparison is written, under the target path.
pub const COMPARE_FILE: &str = "ml_compare.json";
pub const DEFAULT_FOLDS: usize = 5;

/// A comparison, as `ml_compare.json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub folds: usize,
    pub seed: u32,
    pub train_rows: usize,
    pub test_rows: usize,
    pub hold_out_rows: usize,
    /// The candidate with the highest mean CV balanced accuracy.
    pub chosen: String,
    pub candidates: Vec<CandidateResult>,
    /// Wall time of the whole comparison, in milliseconds.
    pub total_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateResult {
    pub name: String,
    pub family: String,
    pub class_balancing: String,
    pub hyperparameters: std::collections::BTreeMap<String, serde_json::Value>,
    /// Balanced accuracy on each held-out fold, in fold order.
    pub cv_scores: Vec<f64>,
    pub cv_mean: f64,
    /// Population standard deviation of `cv_scores`.
    pub cv_sd: f64,
    /// Balanced accuracy of the model refitted on the whole training split.
    pub test: f64,
    pub hold_out: f64,
    /// The refit on the whole training split, in milliseconds.
    pub fit_ms: f64,
    /// Cross-validation, refit and scoring, in milliseconds.
    pub total_ms: f64,
}

/// `folds` disjoint sets of positions into `y` covering all of it, each sorted, each
/// holding every class's share to within one row.
pub fn stratified_folds(y: ArrayView1<'_, i64>, folds: usize, seed: u32) -> Vec<Vec<usize>> {
    let mut by_class: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
    y.iter().enumerate().for_each(|(i, c)| by_class.entry(*c).or_default().push(i));
    let mut rng = Mt19937::new(seed);
    let mut out = vec![Vec::new(); folds];
    let mut next = 0;
    for members in by_class.values() {
        for p in rng.permutation(members.len()) {
            out[next % folds].push(members[p]);
            next += 1;
        }
    }
    out.iter_mut().for_each(|fold| fold.sort_unstable());
    out
}

/// The candidate's balanced accuracy on each fold, fitted on the other folds.
pub fn cross_validate(
    candidate: &Candidate,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    folds: &[Vec<usize>],
) -> std::result::Result<Vec<f64>, MlError> {
    folds
        .iter()
        .enumerate()
        .map(|(k, held)| {
            let train: Vec<usize> = (0..y.len()).filter(|i| held.binary_search(i).is_err()).collect();
            let record = SplitRecord {
                rows: y.len(),
                test_rows: held.len(),
                description: format!("cross-validation fold {} of {}", k + 1, folds.len()),
            };
            let (x_fit, y_fit) = (x.select(Axis(0), &train), y.select(Axis(0), &train));
            let fitted = candidate.fit(x_fit.view(), y_fit.view(), record, false)?;
            let predicted = fitted.artifact.predict(x.select(Axis(0), held).view());
            let truth = y.select(Axis(0), held);
            Ok(SplitMetrics::compute(&truth.to_vec(), &predicted.to_vec(), &fitted.artifact.classes).balanced_accuracy)
        })
        .collect()
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (mean, (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt())
}

fn check_folds(rows: usize, folds: usize) -> std::result::Result<(), MlError> {
    if folds < 2 || folds > rows {
        return Err(MlError::Config(format!("--folds must be between 2 and the {rows} training rows, not {folds}")));
    }
    Ok(())
}

/// The cross-validation winner over the training rows, and its mean CV score.
pub fn choose(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    folds: usize,
    seed: u32,
) -> std::result::Result<(Candidate, f64), MlError> {
    check_folds(y.len(), folds)?;
    let assignment = stratified_folds(y, folds, seed);
    let mut best: Option<(Candidate, f64)> = None;
    for candidate in candidates::candidates(seed) {
        let (mean, _) = mean_sd(&cross_validate(&candidate, x, y, &assignment)?);
        if best.as_ref().is_none_or(|(_, b)| mean > *b) {
            best = Some((candidate, mean));
        }
    }
    // `candidates` always lists some, so there is always a best.
    best.ok_or_else(|| MlError::Internal("there are no candidates".to_owned()))
}

/// Cross-validates every candidate on `data`'s training split, then refits each on it and
/// scores it on the test split and the hold-out.
pub fn compare(data: &SplitData, folds: usize, seed: u32) -> std::result::Result<Comparison, MlError> {
    check_folds(data.y_train.len(), folds)?;
    let clock = Instant::now();
    let assignment = stratified_folds(data.y_train.view(), folds, seed);
    let mut results = Vec::new();
    for candidate in candidates::candidates(seed) {
        let started = Instant::now();
        let scores = cross_validate(&candidate, data.x_train.view(), data.y_train.view(), &assignment)?;
        let fitted = candidate.fit(data.x_train.view(), data.y_train.view(), data.record(), false)?;
        let score = |x: ArrayView2<'_, f64>, y: ArrayView1<'_, i64>| {
            let predicted = fitted.artifact.predict(x);
            SplitMetrics::compute(&y.to_vec(), &predicted.to_vec(), &fitted.artifact.classes).balanced_accuracy
        };
        let (cv_mean, cv_sd) = mean_sd(&scores);
        results.push(CandidateResult {
            name: candidate.name.clone(),
            family: candidate.family().into(),
            class_balancing: candidate.class_balancing().into(),
            hyperparameters: candidate.hyperparameters(),
            cv_scores: scores,
            cv_mean,
            cv_sd,
            test: score(data.x_test.view(), data.y_test.view()),
            hold_out: score(data.x_hold.view(), data.y_hold.view()),
            fit_ms: fitted.fit_time.as_secs_f64() * 1000.0,
            total_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    let chosen =
        results.iter().enumerate().fold(0, |best, (i, r)| if r.cv_mean > results[best].cv_mean { i } else { best });
    Ok(Comparison {
        folds,
        seed,
        train_rows: data.y_train.len(),
        test_rows: data.y_test.len(),
        hold_out_rows: data.y_hold.len(),
        chosen: results.get(chosen).map(|r| r.name.clone()).unwrap_or_default(),
        candidates: results,
        total_ms: clock.elapsed().as_secs_f64() * 1000.0,
    })
}

impl Comparison {
    /// The table `pitwall ml compare` prints.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Model comparison: {}-fold stratified cross-validation (seed {}) on the {} training rows; \
             test split {} rows, 2020 hold-out {} rows (balanced accuracy)\n\n\
             {:<32} {:>15} {:>6} {:>9} {:>9} {:>10}\n",
            self.folds,
            self.seed,
            self.train_rows,
            self.test_rows,
            self.hold_out_rows,
            "candidate",
            "CV mean ± sd",
            "test",
            "hold-out",
            "fit ms",
            "total ms"
        );
        for r in &self.candidates {
            let mark = if r.name == self.chosen { "*" } else { " " };
            out.push_str(&format!(
                "{mark}{:<31} {:>8.3} ± {:.3} {:>6.3} {:>9.3} {:>9.1} {:>10.1}\n",
                r.name, r.cv_mean, r.cv_sd, r.test, r.hold_out, r.fit_ms, r.total_ms
            ));
        }
        out.push_str(&format!(
            "\n* chosen by cross-validation: {} (test and hold-out are reported, never used to choose)\n\
             Total {:.2} s. Train it with [models.ml.train_predict.meta] model = \"auto\" in pitwall.toml \
             (or a candidate's name).",
            self.chosen,
            self.total_ms / 1000.0
        ));
        out
    }
}

/// `pitwall ml compare`: reads the datasets from the warehouse, compares, writes
/// `<target-path>/ml_compare.json` and returns the table.
pub async fn run(config: &ProjectConfig, folds: usize, seed: u32) -> Result<String> {
    let open = pitwall_cli::open_warehouse(config, pitwall_cli::Access::Read, false)
        .await
        .map_err(|e| Error::config(config.warehouse.to_string(), format!("{e:#}")))?;
    let relations = config.relations();
    let mut batches = Vec::new();
    for name in [TRAIN_TEST_DATASET, HOLD_OUT_DATASET] {
        let relation = relations.model(name);
        if !open.session.table_exist(relation.clone())? {
            return Err(Error::config(
                config.warehouse.to_string(),
                format!(
                    "{name} is not in the warehouse: build it first \
                     (pitwall build -s +{TRAIN_TEST_DATASET} +{HOLD_OUT_DATASET})"
                ),
            ));
        }
        batches.push(dataset::collect_in_key_order(open.session.table(relation).await?).await?);
    }
    let fail = |e: MlError| Error::config(config.warehouse.to_string(), e.to_string());
    let data = SplitData::new(&batches[0], &batches[1], &TrainSettings::default()).map_err(fail)?;
    let comparison = compare(&data, folds, seed).map_err(fail)?;
    config.target_path.write(COMPARE_FILE, stage::to_json(&comparison)?).await?;
    Ok(format!("{}\nWritten to {}", comparison.render(), config.target_path.join(COMPARE_FILE)))
}

/// The comparison last written under `target`, or `None` when there is none.
pub async fn load(target: &Location) -> Result<Option<Comparison>> {
    match stage::read(target, COMPARE_FILE).await? {
        Some(bytes) => stage::from_json(&bytes)
            .map(Some)
            .map_err(|e| Error::config(target.join(COMPARE_FILE).to_string(), format!("not a valid file: {e}"))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};

    use super::*;

    #[test]
    fn folds_are_stratified_disjoint_and_cover_the_rows() {
        // 17 rows of class 1, 9 of class 2, 4 of class 3.
        let y = Array1::from_shape_fn(30, |i| {
            if i < 17 {
                1
            } else if i < 26 {
                2
            } else {
                3
            }
        });
        let folds = stratified_folds(y.view(), 5, 42);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..30).collect::<Vec<_>>(), "disjoint and covering");
        for class in [1, 2, 3] {
            let total = y.iter().filter(|c| **c == class).count();
            for fold in &folds {
                let n = fold.iter().filter(|&&i| y[i] == class).count();
                assert!(n.abs_diff(total / 5) <= 1, "class {class}: {n} of {total} in {fold:?}");
            }
        }
        assert_eq!(folds, stratified_folds(y.view(), 5, 42), "seeded");
        assert_ne!(folds, stratified_folds(y.view(), 5, 43));
    }

    fn toy() -> SplitData {
        let x = |n: usize, shift: usize| {
            Array2::from_shape_fn((n, 9), |(i, j)| match j {
                2 => ((i * 7 + shift) % 20) as f64 + 1.0,
                1 | 3 | 4 => ((i + j + shift) % 4) as f64,
                _ => ((i * 3 + j * 5 + shift) % 11) as f64 / 10.0,
            })
        };
        let label = |x: &Array2<f64>| {
            x.column(2).mapv(|g| {
                if g <= 3.0 {
                    1
                } else if g <= 10.0 {
                    2
                } else {
                    3
                }
            })
        };
        let (x_train, x_test, x_hold) = (x(60, 0), x(20, 3), x(15, 5));
        SplitData {
            y_train: label(&x_train),
            y_test: label(&x_test),
            y_hold: label(&x_hold),
            x_train,
            x_test,
            x_hold,
            split: crate::split::Split { train: (0..60).collect(), test: (60..80).collect() },
            rows: 80,
            description: "toy".into(),
        }
    }

    #[test]
    fn two_runs_give_identical_tables_but_for_timings() {
        let data = toy();
        let untimed = |mut c: Comparison| {
            c.total_ms = 0.0;
            c.candidates.iter_mut().for_each(|r| (r.fit_ms, r.total_ms) = (0.0, 0.0));
            c
        };
        let first = untimed(compare(&data, 3, 42).unwrap());
        assert_eq!(first, untimed(compare(&data, 3, 42).unwrap()));
        assert_eq!(first.candidates.len(), candidates::candidates(42).len());
        let best = first.candidates.iter().map(|r| r.cv_mean).fold(f64::MIN, f64::max);
        let chosen = first.candidates.iter().find(|r| r.name == first.chosen).unwrap();
        assert_eq!(chosen.cv_mean, best, "the winner has the best CV mean");
        let (winner, cv) = choose(data.x_train.view(), data.y_train.view(), 3, 42).unwrap();
        assert_eq!((winner.name.as_str(), cv), (first.chosen.as_str(), best), "auto trains the table's winner");
        let text = first.render();
        assert!(text.contains(&format!("*{}", first.chosen)) && text.contains("CV mean ± sd"), "{text}");
        let err = compare(&data, 1, 42).unwrap_err();
        assert!(matches!(&err, MlError::Config(m) if m.starts_with("--folds must be between 2")), "{err:?}");
    }
}
