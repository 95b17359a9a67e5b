//! The `ballista` feature on: the Ballista engines, through pitwall-cluster.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use datafusion::prelude::SessionContext;
use pitwall_core::Warehouse;

use super::{Engine, Sessions};

/// Nothing is missing: every engine can be built.
pub(super) const MISSING: Option<&str> = None;

/// How long a build waits for the in-process executor to register.
const STANDALONE_START: Duration = Duration::from_secs(30);
/// How long a build waits for a remote scheduler with no executor to get one (an
/// executor started with it registers within a heartbeat).
const EXECUTOR_WAIT: Duration = Duration::from_secs(10);

/// The in-process cluster of `--engine ballista`, if that is the engine.
#[derive(Default)]
pub(crate) struct Guard {
    _standalone: Option<pitwall_cluster::Standalone>,
}

/// The sessions of a Ballista engine; `client` is this process's, over the same catalog.
pub(super) async fn sessions(engine: &Engine, warehouse: &Warehouse, client: SessionContext) -> Result<Sessions> {
    match engine {
        Engine::Local => unreachable!("the local engine's sessions are made without Ballista"),
        Engine::Standalone => {
            let standalone = pitwall_cluster::Standalone::start(warehouse.spill_dir()).await?;
            // The executor in this process registers within moments of starting.
            let engine = pitwall_cluster::session(standalone.url(), &client, STANDALONE_START).await?;
            // Its executor is this process: it cannot be lost on its own.
            Ok(Sessions { engine, client, guard: Guard { _standalone: Some(standalone) }, watch: None })
        }
        Engine::Remote(url) => {
            // Watched from before the first query, so none is sent to an executor that
            // died since the last build but is still listed.
            let watch = pitwall_cluster::ExecutorWatch::start(url).await?;
            let engine = pitwall_cluster::session(url, &client, EXECUTOR_WAIT).await?;
            Ok(Sessions { engine, client, guard: Guard::default(), watch: Some(Arc::new(watch)) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballista_engines_parse_with_the_feature() {
        assert_eq!(Engine::parse(Some("ballista")).unwrap(), Engine::Standalone);
        assert_eq!(Engine::parse(Some("df://h:50050")).unwrap(), Engine::Remote("df://h:50050".into()));
    }
}
