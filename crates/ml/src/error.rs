//! What can go wrong in the ml layer's own logic, by who is at fault: the data, the
//! project's settings, a file the layer stored earlier, the fitting library, or this
//! crate itself. Each variant carries the whole message, and prints it as it is: the
//! callers that turn it into a `pitwall_core::Error` add the model or file it concerns.
//!
//! This module depends on nothing else in the crate, so every module can use it.

/// An error of the ml layer's logic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MlError {
    /// The datasets cannot be used: too few rows, a column missing, NULL, of the wrong
    /// type or of the wrong length.
    #[error("{0}")]
    Data(String),

    /// A setting is wrong: `meta.model`, `meta.standardize`, or a report option such as
    /// `--folds`.
    #[error("{0}")]
    Config(String),

    /// A file the layer wrote (the model, its metrics, a comparison) does not read back,
    /// or its model does not hold together (edited by hand, or from another version).
    #[error("{0}")]
    Stored(String),

    /// The fitting library (linfa-logistic) failed on the training rows.
    #[error("{0}")]
    Fit(String),

    /// A bug: something this crate guarantees did not hold.
    #[error("{0}")]
    Internal(String),
}
