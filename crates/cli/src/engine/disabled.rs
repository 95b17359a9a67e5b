//! The `ballista` feature off: only the local engine; a Ballista one is refused when it
//! is parsed, naming the feature.

use anyhow::{Result, bail};
use datafusion::prelude::SessionContext;
use pitwall_core::Warehouse;

use super::{Engine, Sessions};

/// Why a Ballista engine cannot be used, and how to build one that can.
pub(super) const MISSING: Option<&str> =
    Some("built without the ballista feature (a default one): cargo build -p pitwall-orchestrator --features ballista");

/// Nothing to keep running without Ballista.
#[derive(Default)]
pub(crate) struct Guard {}

pub(super) async fn sessions(engine: &Engine, _: &Warehouse, _: SessionContext) -> Result<Sessions> {
    bail!("engine `{engine}`: {}", MISSING.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballista_without_the_feature_says_how_to_build_it() {
        for text in ["ballista", "df://localhost:50050"] {
            let refused = Engine::parse(Some(text)).unwrap_err().to_string();
            assert!(refused.contains(MISSING.unwrap()), "{refused}");
        }
    }
}
