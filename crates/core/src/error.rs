//! The error type shared by every layer.

use datafusion::error::DataFusionError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A project, properties or model file is wrong; `location` names the file (and line).
    #[error("{location}: {message}")]
    Config { location: String, message: String },

    #[error("model '{model}' refers to '{target}', which is not a model of this project")]
    UnknownRef { model: String, target: String },

    #[error("model '{model}' uses source '{source_name}.{table}', which is not declared")]
    UnknownSource { model: String, source_name: String, table: String },

    #[error("two models are named '{0}'")]
    DuplicateModel(String),

    #[error("dependency cycle between models: {}", .0.join(" -> "))]
    Cycle(Vec<String>),

    #[error("'{relation}' is not in the warehouse at {warehouse}: build it first (pitwall build --select +{model})")]
    MissingUpstream { relation: String, model: String, warehouse: String },

    /// Another process holds the warehouse lock, and this one was told not to wait.
    #[error("{lock_file} is held by {holder}")]
    WarehouseLocked { lock_file: String, holder: String },

    /// The engine lost part of itself (see [`crate::EngineWatch`]) before this result
    /// was committed: it may be wrong, so the warehouse keeps what it had.
    #[error("{0}; this result is not trusted, so the warehouse keeps what it had")]
    EngineLost(String),

    /// The load a run started beside failed before this result was committed: it was
    /// computed from raw tables that never became current, so it is thrown away.
    #[error("not committed: the load it ran beside failed ({0})")]
    LoadFailed(LoadFailed),

    #[error("model '{model}': {message}")]
    Model { model: String, message: String },

    /// Writing a loaded raw table (`schema.table`) to the warehouse failed.
    #[error("storing the raw table {table} in the warehouse")]
    Storing {
        table: String,
        #[source]
        source: Box<Error>,
    },

    /// The engine's error, boxed as a trait object: a crate that only passes errors along
    /// (options, the loader) then links none of DataFusion's error code, which is reached
    /// through the box's vtable, made where a DataFusion error is converted.
    #[error(transparent)]
    DataFusion(Box<dyn std::error::Error + Send + Sync>),

    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),

    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Why a load failed, in its caller's words (the load's own error stays the caller's to
/// report; this is what the runner says of the results it threw away). See
/// [`crate::loading`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LoadFailed(pub String);

impl From<DataFusionError> for Error {
    fn from(error: DataFusionError) -> Self {
        Error::DataFusion(Box::new(error))
    }
}

impl Error {
    pub fn config(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { location: location.into(), message: message.into() }
    }

    pub fn model(model: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Model { model: model.into(), message: message.into() }
    }
}
