//! ml: the machine-learning models (prep and train_predict). Not built yet.

use std::sync::Arc;

use pitwall_core::{Model, Result};

/// The ml models (none yet).
pub fn models() -> Result<Vec<Arc<dyn Model>>> {
    Ok(Vec::new())
}
