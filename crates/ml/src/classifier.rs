//! The driver position classifier: a multinomial logistic regression fitted with
//! linfa-logistic, kept as a plain, readable artifact ([`ModelArtifact`]) that predicts
//! without linfa.
//!
//! **Regularisation.** scikit-learn's `LogisticRegression(C=1)` minimises
//! `C * sum_i logloss_i + 0.5 * ||W||^2`; linfa-logistic minimises
//! `sum_i logloss_i + 0.5 * alpha * ||W||^2` (both sum over samples, both leave the
//! intercepts unpenalised). Dividing sklearn's objective by `C` gives the same minimiser
//! with `alpha = 1 / C`, so the workshop's default `C = 1` is `alpha = 1`.
//!
//! **Iterations.** linfa-logistic does not report how many L-BFGS iterations it ran.
//! The fit is deterministic, so the count is recovered exactly by refitting with smaller
//! iteration caps: it is the smallest cap that yields the same parameters. A refit with
//! one iteration fewer tells whether the cap was reached, which is usually the only
//! refit needed when it was.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// The features the workshop trains on, in its order.
pub const FEATURES: [&str; 9] = [
    "race_year",
    "circuit_name",
    "grid",
    "constructor_name",
    "driver",
    "drivers_age_years",
    "driver_confidence",
    "constructor_relaiblity",
    "total_pit_stops_per_race",
];

pub const TARGET: &str = "position_label";

/// The library doing the fit, recorded in the artifact (checked against Cargo.lock by a test).
pub const LIBRARY: &str = "linfa-logistic";
pub const LIBRARY_VERSION: &str = "0.8.1";

/// How a model is trained; the defaults are the workshop's (scikit-learn's defaults:
/// raw features, C = 1, at most 100 iterations; a 70/30 split with seed 42).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Standardise features (training mean and standard deviation) before fitting; the
    /// artifact keeps both and applies them when predicting.
    pub standardize: bool,
    /// linfa's L2 strength; `1 / C` in scikit-learn's terms.
    pub alpha: f64,
    pub max_iterations: u64,
    /// L-BFGS stops when the gradient's L2 norm falls below this.
    pub gradient_tolerance: f64,
    pub train_size: f64,
    pub seed: u32,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            standardize: false,
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            train_size: 0.7,
            seed: 42,
        }
    }
}

impl TrainSettings {
    /// The defaults, with `standardize` taken from the model's `meta` config when set.
    pub fn from_meta(meta: &BTreeMap<String, serde_json::Value>) -> Result<TrainSettings, MlError> {
        let mut settings = TrainSettings::default();
        if let Some(value) = meta.get("standardize") {
            settings.standardize = value
                .as_bool()
                .ok_or_else(|| MlError::Config(format!("meta.standardize must be true or false, not {value}")))?;
        }
        Ok(settings)
    }
}

/// Per-feature centring and scaling, scikit-learn's `StandardScaler` (population standard
/// deviation; a constant feature keeps scale 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Standardization {
    pub fn fit(x: ArrayView2<'_, f64>) -> Standardization {
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols()));
        let scale = x.std_axis(Axis(0), 0.0).mapv(|s| if s == 0.0 || !s.is_finite() { 1.0 } else { s });
        Standardization { mean: mean.to_vec(), scale: scale.to_vec() }
    }

    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        (&x - &ArrayView1::from(&self.mean)) / ArrayView1::from(&self.scale)
    }
}

/// What training recorded about itself; deterministic (no clock), so retraining on the
/// same data gives the same artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Rows of the training dataset, before the split.
    pub rows: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub split: String,
    pub seed: u32,
    pub train_size: f64,
    pub library: String,
    pub library_version: String,
    pub solver: String,
    pub alpha: f64,
    pub max_iterations: u64,
    pub gradient_tolerance: f64,
    pub standardized: bool,
    /// L-BFGS iterations until the returned parameters were reached.
    pub iterations: u64,
    /// The solver stopped on its own criteria before its iteration cap (or its final
    /// gradient is below the tolerance).
    pub converged: bool,
    /// L2 norm of the objective's gradient at the returned parameters.
    pub gradient_norm: f64,
    /// The `pitwall ml compare` candidate this model is, with its hyperparameters and how
    /// it was chosen; absent for the workshop's model (the default, and every file
    /// written before model selection existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<CandidateRecord>,
}

/// What a stored model records about the candidate it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    pub name: String,
    pub family: String,
    pub hyperparameters: BTreeMap<String, serde_json::Value>,
    pub class_balancing: String,
    /// `auto` (the cross-validation winner, with its score) or `named in meta.model`.
    pub chosen_by: String,
}

/// A fitted model as stored in the model stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub name: String,
    pub version: String,
    pub kind: String,
    /// How to apply the numbers below.
    pub layout: String,
    pub target: String,
    pub features: Vec<String>,
    pub classes: Vec<i64>,
    /// `coefficients[i][k]`: the weight of feature `i` in the score of class `k`.
    pub coefficients: Vec<Vec<f64>>,
    pub intercepts: Vec<f64>,
    pub standardization: Option<Standardization>,
    pub training: TrainingInfo,
    /// Columns derived from `features` before standardization (one-hot categoricals);
    /// when present, `coefficients` has one row per encoded column. Absent: the features
    /// are used as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<crate::encoding::Encoding>,
    /// The trees of a tree model (`coefficients` and `intercepts` are empty then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<crate::trees::Forest>,
}

pub const MODEL_NAME: &str = "driver_position";
pub const MODEL_VERSION: &str = "1.0";

pub(crate) const LAYOUT: &str = "x = features (minus standardization.mean, divided by standardization.scale when present); \
score[k] = intercepts[k] + sum_i x[i] * coefficients[i][k]; prediction = classes[argmax_k score[k]] (first on ties)";

impl ModelArtifact {
    /// Checks that the arrays agree with each other (an artifact edited by hand, or from
    /// another version, fails here rather than mid-prediction).
    pub fn validate(&self) -> Result<(), MlError> {
        let k = self.classes.len();
        if self.features.is_empty() || k == 0 {
            return Err(MlError::Stored("the model has no features or no classes".into()));
        }
        if let Some(encoding) = &self.encoding {
            encoding.validate(self.features.len())?;
        }
        if let Some(forest) = &self.forest {
            return forest.validate(self.features.len(), k);
        }
        let f = self.input_width();
        if self.coefficients.len() != f || self.coefficients.iter().any(|row| row.len() != k) {
            return Err(MlError::Stored(format!("coefficients must be {f} rows (features) of {k} values (classes)")));
        }
        if self.intercepts.len() != k {
            return Err(MlError::Stored(format!("intercepts must have {k} values (one per class)")));
        }
        if let Some(s) = &self.standardization
            && (s.mean.len() != f || s.scale.len() != f)
        {
            return Err(MlError::Stored(format!(
                "standardization mean and scale must have {f} values (one per input column)"
            )));
        }
        Ok(())
    }

    /// Columns the linear part reads: the encoded ones, or the features themselves.
    fn input_width(&self) -> usize {
        self.encoding.as_ref().map_or(self.features.len(), |e| e.columns.len())
    }

    fn weights(&self) -> Array2<f64> {
        // As many rows as the coefficients have (validated to be the input width), so the
        // gradient check can drop the encoding and pass already encoded rows.
        let (f, k) = (self.coefficients.len(), self.classes.len());
        Array2::from_shape_fn((f, k), |(i, j)| self.coefficients[i][j])
    }

    /// Class scores for raw feature rows (standardised here when the model was).
    pub fn scores(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let encoded = self.encoding.as_ref().map(|e| e.apply(x));
        let x = match &encoded {
            Some(e) => e.view(),
            None => x.view(),
        };
        let x = match &self.standardization {
            Some(s) => s.apply(x),
            None => x.to_owned(),
        };
        x.dot(&self.weights()) + ArrayView1::from(&self.intercepts)
    }

    /// The predicted class of each row: the highest score, the first class on ties (as
    /// linfa-logistic's `predict`).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<i64> {
        if let Some(forest) = &self.forest {
            return forest.predict(x).mapv(|k| self.classes[k]);
        }
        self.scores(x).map_axis(Axis(1), |row| {
            let best = row.iter().enumerate().fold(0, |best, (j, s)| if *s > row[best] { j } else { best });
            self.classes[best]
        })
    }
}

/// A fitted model and how long the fit took (the fit alone, not the iteration count).
pub struct Fitted {
    pub artifact: ModelArtifact,
    pub fit_time: Duration,
}

/// Fits the classifier on training rows `x` (raw features, in [`FEATURES`] order) and
/// labels `y`. `split` describes how the rows were chosen, for the record.
pub fn fit(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    settings: &TrainSettings,
    split: SplitRecord,
) -> Result<Fitted, MlError> {
    if x.nrows() == 0 {
        return Err(MlError::Data("no training rows".into()));
    }
    if x.ncols() != FEATURES.len() {
        return Err(MlError::Data(format!("expected {} feature columns, got {}", FEATURES.len(), x.ncols())));
    }
    let standardization = settings.standardize.then(|| Standardization::fit(x));
    let x = match &standardization {
        Some(s) => s.apply(x),
        None => x.to_owned(),
    };
    let dataset = DatasetBase::new(x.view(), y);
    let run = |max_iterations: u64| {
        MultiLogisticRegression::default()
            .alpha(settings.alpha)
            .max_iterations(max_iterations)
            .gradient_tolerance(settings.gradient_tolerance)
            .fit(&dataset)
            .map_err(|e| MlError::Fit(format!("{LIBRARY} could not fit the model: {e}")))
    };
    let max = settings.max_iterations;
    // iterations_used first asks whether one iteration fewer gives the same fit: that
    // fit runs beside the real one, on another core, rather than after it.
    let (model, fit_time, mut probe) = std::thread::scope(|scope| {
        let probe = (max > 1).then(|| scope.spawn(|| run(max - 1)));
        let clock = Instant::now();
        let model = run(max);
        let fit_time = clock.elapsed();
        (model, fit_time, probe.map(|p| p.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
    });
    let model = model?;
    let same = |k: u64| -> Result<bool, MlError> {
        let m = match probe.take().filter(|_| k == max - 1) {
            Some(probed) => probed?,
            None => run(k)?,
        };
        Ok(m.params() == model.params() && m.intercept() == model.intercept())
    };
    let iterations = iterations_used(max, same)?;

    let training = training_info(settings, split, x.nrows(), iterations);
    let mut artifact = logistic_artifact(&model, standardization, training);
    let gradient_norm = gradient_norm(&artifact, x.view(), y, settings.alpha);
    artifact.training.gradient_norm = gradient_norm;
    artifact.training.converged = iterations < settings.max_iterations || gradient_norm < settings.gradient_tolerance;
    Ok(Fitted { artifact, fit_time })
}

/// The artifact of a fitted linfa model, its weights copied out so it predicts without linfa.
fn logistic_artifact(
    model: &MultiFittedLogisticRegression<f64, i64>,
    standardization: Option<Standardization>,
    training: TrainingInfo,
) -> ModelArtifact {
    ModelArtifact {
        name: MODEL_NAME.into(),
        version: MODEL_VERSION.into(),
        kind: "multinomial logistic regression".into(),
        layout: LAYOUT.into(),
        target: TARGET.into(),
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        classes: model.classes().to_vec(),
        coefficients: model.params().rows().into_iter().map(|r| r.to_vec()).collect(),
        intercepts: model.intercept().to_vec(),
        standardization,
        training,
        encoding: None,
        forest: None,
    }
}

/// How the logistic regression was trained; `converged` and `gradient_norm` are left for
/// [`fit`] to fill in, since they need the artifact.
fn training_info(settings: &TrainSettings, split: SplitRecord, train_rows: usize, iterations: u64) -> TrainingInfo {
    TrainingInfo {
        rows: split.rows,
        train_rows,
        test_rows: split.test_rows,
        split: split.description,
        seed: settings.seed,
        train_size: settings.train_size,
        library: LIBRARY.into(),
        library_version: LIBRARY_VERSION.into(),
        solver: "L-BFGS (argmin, memory 10, More-Thuente line search)".into(),
        alpha: settings.alpha,
        max_iterations: settings.max_iterations,
        gradient_tolerance: settings.gradient_tolerance,
        standardized: settings.standardize,
        iterations,
        converged: false,
        gradient_norm: 0.0,
        candidate: None,
    }
}

/// How the training rows were drawn, for [`TrainingInfo`].
pub struct SplitRecord {
    pub rows: usize,
    pub test_rows: usize,
    pub description: String,
}

/// The smallest iteration cap `k <= max` whose fit equals the fit with cap `max`
/// (`same(k)`); true for every `k` from the answer up, so a binary search finds it.
pub(crate) fn iterations_used(max: u64, mut same: impl FnMut(u64) -> Result<bool, MlError>) -> Result<u64, MlError> {
    if max <= 1 || !same(max - 1)? {
        return Ok(max);
    }
    let (mut lo, mut hi) = (1, max - 1); // same(hi) holds
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if same(mid)? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(hi)
}

/// `||grad||` of linfa's objective at the artifact's parameters, over the (already
/// standardised) training matrix: `X^T (P - Y) + alpha W` for the weights and
/// `sum(P - Y)` for the intercepts.
pub(crate) fn gradient_norm(
    artifact: &ModelArtifact,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, i64>,
    alpha: f64,
) -> f64 {
    let raw = ModelArtifact { standardization: None, encoding: None, ..artifact.clone() };
    let mut p = raw.scores(x);
    for mut row in p.rows_mut() {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.mapv_inplace(|s| (s - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|e| e / sum);
    }
    for (mut row, label) in p.rows_mut().into_iter().zip(y) {
        if let Some(k) = artifact.classes.iter().position(|c| c == label) {
            row[k] -= 1.0;
        }
    }
    let dw = x.t().dot(&p) + &(raw.weights() * alpha);
    let db = p.sum_axis(Axis(0));
    (dw.iter().map(|v| v * v).sum::<f64>() + db.iter().map(|v| v * v).sum::<f64>()).sqrt()
}

#[cfg(test)]
mod tests {
    use linfa::traits::Predict;
    use ndarray::array;

    use super::*;

    /// Three separable-ish clusters on two informative features, in the 9-feature layout.
    fn toy() -> (Array2<f64>, Array1<i64>) {
        let rows = 60;
        let x = Array2::from_shape_fn((rows, FEATURES.len()), |(i, j)| {
            let class = (i % 3) as f64;
            let wobble = ((i * 7 + j * 3) % 5) as f64 / 10.0;
            match j {
                0 => 2010.0 + (i % 10) as f64,
                1 => class * 2.0 + wobble,
                2 => 20.0 - class * 5.0 + wobble,
                _ => wobble,
            }
        });
        let y = Array1::from_shape_fn(rows, |i| (i % 3) as i64 + 1);
        (x, y)
    }

    fn record(rows: usize) -> SplitRecord {
        SplitRecord { rows, test_rows: 0, description: "all rows".into() }
    }

    #[test]
    fn artifact_predictions_equal_linfas_and_survive_json() {
        for standardize in [false, true] {
            let (x, y) = toy();
            let settings = TrainSettings { standardize, ..Default::default() };
            let fitted = fit(x.view(), y.view(), &settings, record(x.nrows())).unwrap();
            let artifact = fitted.artifact;
            artifact.validate().unwrap();
            assert_eq!(artifact.classes, vec![1, 2, 3]);

            // The same fit through linfa's own predict.
            let x_fit = match &artifact.standardization {
                Some(s) => s.apply(x.view()),
                None => x.clone(),
            };
            let linfa_model = MultiLogisticRegression::default()
                .alpha(1.0)
                .max_iterations(100)
                .gradient_tolerance(1e-4)
                .fit(&DatasetBase::new(x_fit.view(), y.view()))
                .unwrap();
            let expected: Array1<i64> = linfa_model.predict(&x_fit);
            assert_eq!(artifact.predict(x.view()), expected, "standardize={standardize}");

            let json = crate::stage::to_json(&artifact).unwrap();
            let back: ModelArtifact = crate::stage::from_json(&json).unwrap();
            assert_eq!(back, artifact, "floats round-trip exactly through JSON");
            assert_eq!(back.predict(x.view()), expected);
            let hits = expected.iter().zip(&y).filter(|(p, t)| p == t).count();
            assert!(hits > 50, "the toy clusters are learnable: {hits}/60");
        }
    }

    #[test]
    fn iterations_are_recovered_exactly_and_convergence_recorded() {
        let (x, y) = toy();
        let settings = TrainSettings { standardize: true, ..Default::default() };
        let fitted = fit(x.view(), y.view(), &settings, record(60)).unwrap();
        let t = &fitted.artifact.training;
        assert!(t.iterations >= 1 && t.iterations <= 100, "{t:?}");
        // Capping the solver at the recovered count gives the same model; one fewer does not.
        let run = |k: u64| {
            let xs = fitted.artifact.standardization.as_ref().unwrap().apply(x.view());
            let m = MultiLogisticRegression::default()
                .max_iterations(k)
                .fit(&DatasetBase::new(xs.view(), y.view()))
                .unwrap();
            (m.params().clone(), m.intercept().clone())
        };
        let full = run(100);
        assert_eq!(run(t.iterations), full);
        if t.iterations > 1 {
            assert_ne!(run(t.iterations - 1), full);
        }
        assert_eq!(t.converged, t.iterations < 100 || t.gradient_norm < 1e-4, "{t:?}");
        assert_eq!((t.library.as_str(), t.library_version.as_str()), (LIBRARY, LIBRARY_VERSION));

        // A cap of 2 iterations stops there, unconverged.
        let capped = TrainSettings { max_iterations: 2, ..settings };
        let t = fit(x.view(), y.view(), &capped, record(60)).unwrap().artifact.training;
        assert_eq!((t.iterations, t.converged), (2, false), "{t:?}");
    }

    #[test]
    fn iteration_search_finds_the_first_cap_giving_the_final_model() {
        for answer in [1u64, 2, 37, 99, 100] {
            let mut calls = 0;
            let found = iterations_used(100, |k| {
                calls += 1;
                Ok(k >= answer)
            })
            .unwrap();
            assert_eq!(found, answer);
            assert!(calls <= 8, "{calls} refits");
        }
    }

    #[test]
    fn standardization_uses_population_std_and_keeps_constant_features() {
        let x = array![[1.0, 5.0], [3.0, 5.0]];
        let s = Standardization::fit(x.view());
        assert_eq!((s.mean.clone(), s.scale.clone()), (vec![2.0, 5.0], vec![1.0, 1.0]));
        assert_eq!(s.apply(x.view()), array![[-1.0, 0.0], [1.0, 0.0]]);
    }

    #[test]
    fn hand_made_artifact_predicts_by_argmax_with_first_on_ties() {
        let artifact = ModelArtifact {
            features: vec!["a".into(), "b".into()],
            classes: vec![1, 2, 3],
            coefficients: vec![vec![1.0, 0.0, -1.0], vec![0.0, 1.0, 0.0]],
            intercepts: vec![0.0, 0.0, 0.5],
            standardization: None,
            ..fitted_toy()
        };
        artifact.validate().unwrap();
        // scores: [2, 0, -1.5] -> class 1; [0, 3, 0.5] -> 2; [-2, 0, 2.5] -> 3.
        let x = array![[2.0, 0.0], [0.0, 3.0], [-2.0, 0.0]];
        assert_eq!(artifact.predict(x.view()).to_vec(), vec![1, 2, 3]);
        // [0.5, 0.5] scores [0.5, 0.5, -1.5]: a tie between classes 1 and 2 goes to 1.
        let tie = ModelArtifact { intercepts: vec![0.0, 0.0, -1.0], ..artifact.clone() };
        assert_eq!(tie.predict(array![[0.5, 0.5]].view()).to_vec(), vec![1]);
        let broken = ModelArtifact { intercepts: vec![0.0], ..artifact };
        assert!(broken.validate().unwrap_err().to_string().contains("intercepts"));
    }

    fn fitted_toy() -> ModelArtifact {
        let (x, y) = toy();
        fit(x.view(), y.view(), &TrainSettings::default(), record(60)).unwrap().artifact
    }

    #[test]
    fn settings_read_standardize_from_meta() {
        let mut meta = BTreeMap::new();
        assert!(!TrainSettings::from_meta(&meta).unwrap().standardize);
        meta.insert("standardize".to_owned(), serde_json::Value::Bool(true));
        assert!(TrainSettings::from_meta(&meta).unwrap().standardize);
        meta.insert("standardize".to_owned(), serde_json::json!("yes"));
        let err = TrainSettings::from_meta(&meta).unwrap_err();
        assert!(matches!(&err, MlError::Config(m) if m.contains("true or false")), "{err:?}");
    }

    #[test]
    fn recorded_library_version_is_the_locked_one() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
        let entry = lock.split("[[package]]").find(|p| p.contains(&format!("name = \"{LIBRARY}\"\n"))).unwrap();
        assert!(entry.contains(&format!("version = \"{LIBRARY_VERSION}\"")), "{entry}");
    }
}
