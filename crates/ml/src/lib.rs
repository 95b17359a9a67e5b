//! ml: the machine-learning models (prep and train_predict). Not built yet; the pure
//! building blocks come first: scikit-learn's seeded split ([`split`]), classification
//! metrics ([`metrics`]) and Arrow-to-ndarray conversion ([`features`]).

use std::sync::Arc;

use pitwall_core::{Model, Result};

pub mod features;
pub mod metrics;
pub mod split;

/// The ml models (none yet).
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    Ok(Vec::new())
}
