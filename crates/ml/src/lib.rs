//! ml: the machine-learning models (prep and train_predict). Not wired as models yet;
//! the building blocks: scikit-learn's seeded split ([`split`]), classification metrics
//! ([`metrics`]), Arrow-to-ndarray conversion ([`features`]), the linfa-logistic
//! classifier and its readable artifact ([`classifier`]) and the model stage ([`stage`]).

use std::sync::Arc;

use pitwall_core::{Model, Result};

pub mod classifier;
pub mod features;
pub mod metrics;
pub mod split;
pub mod stage;

/// The ml models (none yet).
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    Ok(Vec::new())
}
