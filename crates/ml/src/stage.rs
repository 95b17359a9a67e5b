//! The model stage (the workshop's `@MODELSTAGE`): a folder or object store location
//! holding one sub-folder per model version,
//! `driver_position_1.0/driver_position_1.0.json` (the model) and
//! `driver_position_1.0/metrics.json` (how it scored). Both are JSON, each written
//! atomically through object_store.

use object_store::ObjectStoreExt;
use pitwall_core::{Error, Location, Result};
use serde::{Deserialize, Serialize};

use crate::classifier::{MODEL_NAME, MODEL_VERSION, ModelArtifact, TrainingInfo};
use crate::error::MlError;
use crate::metrics::SplitMetrics;

/// `driver_position_1.0`, the versioned folder (and file stem) of the model.
pub fn model_id() -> String {
    format!("{MODEL_NAME}_{MODEL_VERSION}")
}

pub fn model_path() -> String {
    format!("{0}/{0}.json", model_id())
}

pub fn metrics_path() -> String {
    format!("{}/metrics.json", model_id())
}

/// How the stored model scored, written beside it by the training model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub model: String,
    pub training: TrainingInfo,
    /// Wall time of the fit itself, in milliseconds.
    pub fit_ms: f64,
    /// The 30% test split of 2010-2019.
    pub test: SplitMetrics,
    /// The 2020 hold-out, against its true labels.
    pub hold_out: SplitMetrics,
}

/// Saves the model, then its metrics (each file atomically), each with the fingerprint
/// of the build that made them, when it has one (see [`is_current`]).
pub async fn save(
    stage: &Location,
    artifact: &ModelArtifact,
    metrics: &Metrics,
    fingerprint: Option<&str>,
) -> Result<()> {
    stage.write(&model_path(), to_json(&Stamped { value: artifact, fingerprint })?).await?;
    stage.write(&metrics_path(), to_json(&Stamped { value: metrics, fingerprint })?).await?;
    Ok(())
}

/// A stage file's content and the fingerprint of the build that wrote it. Both files
/// carry it, each written in one atomic step, so a build killed between the two leaves
/// files that disagree, and the stage is then not current for either fingerprint.
#[derive(Serialize)]
struct Stamped<'a, T> {
    #[serde(flatten)]
    value: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<&'a str>,
}

#[derive(Deserialize)]
struct FingerprintOf {
    fingerprint: Option<String>,
}

/// Whether the stage holds the model and metrics a build with `fingerprint` saved.
pub async fn is_current(stage: &Location, fingerprint: &str) -> Result<bool> {
    for path in [model_path(), metrics_path()] {
        let Some(bytes) = read(stage, &path).await? else {
            return Ok(false);
        };
        let saved: FingerprintOf = parse(stage, &path, &bytes)?;
        if saved.fingerprint.as_deref() != Some(fingerprint) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Pretty JSON with a final newline: readable and diffable.
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads a stage file; `None` when it does not exist.
pub(crate) async fn read(stage: &Location, path: &str) -> Result<Option<Vec<u8>>> {
    let store = stage.open()?;
    match store.store.get(&store.child(path)).await {
        Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads JSON back with floats bit-for-bit as written.
///
/// serde_json writes the shortest decimal that round-trips, but its default parser can
/// land one ulp off (its exact `float_roundtrip` mode is a crate-wide feature that would
/// rebuild arrow and datafusion). JSON is YAML 1.2, and the YAML reader parses numbers
/// with Rust's correctly rounded `str::parse`, so a stored model loads exactly as trained.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, MlError> {
    if !matches!(bytes.trim_ascii_start().first(), Some(b'{' | b'[')) {
        return Err(MlError::Stored("expected a JSON object or array".into()));
    }
    serde_norway::from_slice(bytes).map_err(|e| MlError::Stored(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(stage: &Location, path: &str, bytes: &[u8]) -> Result<T> {
    from_json(bytes).map_err(|e| Error::config(stage.join(path).to_string(), format!("not a valid file: {e}")))
}

/// The stored model, or `None` when the stage has none.
pub async fn load_model(stage: &Location) -> Result<Option<ModelArtifact>> {
    let path = model_path();
    let Some(bytes) = read(stage, &path).await? else {
        return Ok(None);
    };
    let artifact: ModelArtifact = parse(stage, &path, &bytes)?;
    artifact.validate().map_err(|e| Error::config(stage.join(&path).to_string(), e.to_string()))?;
    Ok(Some(artifact))
}

/// The stored metrics, or `None` when the stage has none.
pub async fn load_metrics(stage: &Location) -> Result<Option<Metrics>> {
    let path = metrics_path();
    match read(stage, &path).await? {
        Some(bytes) => parse(stage, &path, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Where the model file is (or would be), for messages.
pub fn model_location(stage: &Location) -> Location {
    stage.join(&model_path())
}

pub fn metrics_location(stage: &Location) -> Location {
    stage.join(&metrics_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_come_back_bit_for_bit() {
        // Values serde_json's default parser reads one ulp off, and awkward ones.
        let values = vec![
            0.009678844996651116,
            -2.5146616820663305e-5,
            0.0074128647285794744,
            -0.0076370384514136075,
            -0.014720980146309659,
            5e-324,
            1.7976931348623157e308,
            -0.0,
            0.1 + 0.2,
            1.0 / 3.0,
        ];
        let json = to_json(&values).unwrap();
        let back: Vec<f64> = from_json(&json).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&values));
        let lossy: Vec<f64> = serde_json::from_slice(&json).unwrap();
        assert_ne!(bits(&lossy), bits(&values), "if serde_json became exact, from_json can use it again");
    }

    #[test]
    fn json_strings_nulls_and_nesting_read_as_json() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Doc {
            text: String,
            missing: Option<f64>,
            flag: bool,
            rows: Vec<Vec<u64>>,
        }
        let doc =
            Doc { text: "a: [b], \"c\" # d\n é".into(), missing: None, flag: true, rows: vec![vec![1, 2], vec![]] };
        assert_eq!(from_json::<Doc>(&to_json(&doc).unwrap()).unwrap(), doc);
        assert!(from_json::<Doc>(b"text: plain yaml").is_err());
    }
}
