//! The ml layer through the real binary on the real data (`data/f1`): prep and the
//! split match `data/expected/f1` exactly; predictions, from a different optimizer than
//! scikit-learn's, are measured against the expected ones. The build they check is the
//! one `f1_end_to_end` makes, so the real data is built once for all 21 models.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{expected_outputs, gunzip, pitwall, real_data};

/// The ml models whose output must equal the workshop's exactly; train_test_position
/// included: the split reproduces scikit-learn's, so every row has the same dataset_type.
pub(crate) const EXACT_ML_MODELS: &[&str] = &[
    "ml_data_prep",
    "covariate_encoding",
    "train_test_dataset",
    "hold_out_dataset_for_prediction",
    "train_test_position",
];

fn metrics(target: &Path) -> serde_json::Value {
    let path = target.join("model_stage/driver_position_1.0/metrics.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A CSV of numbers only (as predict_position is), keyed by every column but `label`,
/// numbers compared to 9 significant digits as the comparison tool does.
fn labelled_rows(path: &Path, label: &str) -> Vec<(Vec<String>, String)> {
    let text = if path.extension().is_some_and(|e| e == "gz") {
        gunzip(path)
    } else {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(|h| h.trim().to_lowercase()).collect();
    let at = header.iter().position(|h| h == label).unwrap();
    let mut order: Vec<usize> = (0..header.len()).filter(|&i| i != at).collect();
    order.sort_by_key(|&i| header[i].clone());
    let number = |v: &str| format!("{:.8e}", v.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {v}")));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (order.iter().map(|&i| number(fields[i])).collect(), number(fields[at]))
        })
        .collect()
}

/// The share of expected rows whose label the actual rows agree with, matching rows by
/// their feature values (each actual row used once).
fn label_agreement(expected: &Path, actual: &Path, label: &str) -> (usize, usize) {
    let expected = labelled_rows(expected, label);
    let total = expected.len();
    let mut available: BTreeMap<(Vec<String>, String), usize> = BTreeMap::new();
    let actual = labelled_rows(actual, label);
    assert_eq!(actual.len(), expected.len(), "one prediction per hold-out row");
    for row in actual {
        *available.entry(row).or_default() += 1;
    }
    let agreeing = expected
        .into_iter()
        .filter(|row| match available.get_mut(row) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    (agreeing, total)
}

/// Predictions of a build in `target`, exported to `out`, mostly agree with
/// scikit-learn's, and the stored metrics are as good as the workshop's.
pub(crate) fn assert_predictions_mostly_agree(target: &Path, out: &Path) {
    let (agreeing, rows) = label_agreement(
        &expected_outputs().join("predict_position.csv.gz"),
        &out.join("predict_position.csv"),
        "position_predicted",
    );
    let agreement = agreeing as f64 / rows as f64;
    println!("predict_position: {agreeing} of {rows} labels agree with scikit-learn's ({:.1}%)", 100.0 * agreement);
    assert_eq!(rows, 334);
    assert!(agreement >= 0.85, "{agreeing} of {rows}");

    let metrics = metrics(target);
    let test = metrics["test"]["balanced_accuracy"].as_f64().unwrap();
    let hold_out = metrics["hold_out"]["balanced_accuracy"].as_f64().unwrap();
    println!("balanced accuracy: test {test:.3}, 2020 hold-out {hold_out:.3}");
    assert_eq!((metrics["test"]["rows"].as_u64(), metrics["hold_out"]["rows"].as_u64()), (Some(562), Some(334)));
    assert!(test >= 0.58 && hold_out >= 0.58, "{metrics:#}");
    assert_eq!(metrics["training"]["train_rows"], 1309);
}

#[test]
fn prediction_without_a_stored_model_fails_clearly_until_training_is_built() {
    let target = tempfile::tempdir().unwrap();
    let build = pitwall(target.path(), &["build"]);
    assert!(build.ok(), "{}", build.all());
    let stage = target.path().join("model_stage");
    assert!(stage.join("driver_position_1.0/driver_position_1.0.json").is_file());

    std::fs::remove_dir_all(&stage).unwrap();
    let predict = pitwall(target.path(), &["run", "--select", "predict_position"]);
    assert!(!predict.ok(), "{}", predict.all());
    let all = predict.all();
    assert!(all.contains("no trained model at") && all.contains("driver_position_1.0.json"), "{all}");
    assert!(all.contains("pitwall build --select +predict_position"), "{all}");

    let rebuild = pitwall(target.path(), &["build", "--select", "+predict_position"]);
    assert!(rebuild.ok(), "{}", rebuild.all());
    assert!(
        rebuild.stdout.contains("analytics.predict_position ") && rebuild.stdout.contains("ERROR=0"),
        "{}",
        rebuild.stdout
    );
    assert!(stage.join("driver_position_1.0/metrics.json").is_file());
}

/// `(features, label)` of each row of an exported CSV: the features as text keyed by
/// column name (the two models order their columns differently).
fn rows_by_features(path: &Path, label: &str) -> Vec<(Vec<String>, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut keyed: Vec<usize> = (0..header.len()).filter(|&i| header[i] != label && header[i] != "result_id").collect();
    keyed.sort_by_key(|&i| header[i]);
    let at = header.iter().position(|h| *h == label).unwrap();
    let number = |v: &str| format!("{:.8e}", v.parse::<f64>().unwrap());
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (keyed.iter().map(|&i| number(fields[i])).collect(), fields[at].parse::<f64>().unwrap() as i64)
        })
        .collect()
}

#[test]
fn compare_then_auto_reaches_the_targets() {
    let target = tempfile::tempdir().unwrap();
    let prep = pitwall(target.path(), &["build", "-s", "+train_test_dataset", "+hold_out_dataset_for_prediction"]);
    assert!(prep.ok(), "{}", prep.all());
    let compare = pitwall(target.path(), &["ml", "compare", "--folds", "5", "--seed", "42"]);
    assert!(compare.ok(), "{}", compare.all());
    println!("{}", compare.stdout);
    assert!(compare.stdout.contains("CV mean ± sd") && compare.stdout.contains("* chosen by cross-validation"));
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("ml_compare.json")).unwrap()).unwrap();
    let workshop = table["candidates"].as_array().unwrap().iter().find(|c| c["name"] == "logistic_raw").unwrap();
    let figure = |key: &str| format!("{:.3}", workshop[key].as_f64().unwrap());
    assert_eq!((figure("test"), figure("hold_out")), ("0.590".into(), "0.599".into()), "the workshop's model");

    // model = "auto" in a copy of the checkout's project.
    let project = tempfile::tempdir().unwrap();
    let commented = "# [models.ml.train_predict.meta]\n# standardize = true";
    let toml = crate::support::checkout_toml();
    assert!(toml.contains(commented), "pitwall.toml's ml meta comment moved: update {}", file!());
    let toml = toml.replacen(commented, "[models.ml.train_predict.meta]\nmodel = \"auto\"", 1);
    std::fs::write(project.path().join("pitwall.toml"), toml).unwrap();
    let out = target.path().join("export");
    let run = |args: &[&str]| {
        let output = crate::support::pitwall_command()
            .current_dir(project.path())
            .args(["--project-dir".as_ref(), project.path().as_os_str(), "--source".as_ref(), real_data().as_os_str()])
            .args(["--target-path".as_ref(), target.path().as_os_str()])
            .args(args)
            .output()
            .unwrap();
        crate::support::Run::from(output)
    };
    let build = run(&["build", "-s", "train_test_position", "predict_position"]);
    assert!(build.ok(), "{}", build.all());
    let export =
        run(&["export", "--out", out.to_str().unwrap(), "-s", "predict_position", "hold_out_dataset_for_prediction"]);
    assert!(export.ok(), "{}", export.all());

    let stored = metrics(target.path());
    assert_eq!(stored["training"]["candidate"]["name"], table["chosen"], "auto trains the table's winner");
    let test = stored["test"]["balanced_accuracy"].as_f64().unwrap();
    // The hold-out figure, recomputed from predict_position's rows against the true labels.
    let predicted: BTreeMap<Vec<String>, i64> =
        rows_by_features(&out.join("predict_position.csv"), "position_predicted").into_iter().collect();
    let (truth, guesses): (Vec<i64>, Vec<i64>) =
        rows_by_features(&out.join("hold_out_dataset_for_prediction.csv"), "position_label")
            .into_iter()
            .map(|(key, label)| (label, predicted[&key]))
            .unzip();
    let hold_out = ml::metrics::SplitMetrics::compute(&truth, &guesses, &[1, 2, 3]).balanced_accuracy;
    println!("auto: {} test {test:.3}, 2020 hold-out {hold_out:.3}", table["chosen"]);
    assert!((hold_out - stored["hold_out"]["balanced_accuracy"].as_f64().unwrap()).abs() < 1e-12);
    assert!(test >= 0.67 && hold_out >= 0.65, "test {test:.3}, hold-out {hold_out:.3}");
}
