//! The query engine a command's session plans and runs on: DataFusion in this process
//! (`local`, the default), or Apache DataFusion Ballista (`pitwall-cluster`), either a
//! scheduler and executor started in this process (`ballista`) or a cluster of
//! `pitwall cluster` processes (`df://host:port`). Chosen by `--engine`
//! (`PITWALL_ENGINE`) or a target's `engine`; only the `ballista` cargo feature can
//! build the Ballista engines.

use std::fmt;
use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::prelude::SessionContext;
use pitwall_core::{EngineWatch, Relations, Warehouse};

/// Where SQL is planned and executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    Local,
    /// A Ballista scheduler and executor started in this process (pitwall's own, as
    /// `pitwall cluster` runs them).
    Standalone,
    /// A Ballista scheduler at `df://host:port`.
    Remote(String),
}

impl Engine {
    /// Parses an engine as `--engine` or a target's `engine` writes it; `None` is local.
    pub fn parse(text: Option<&str>) -> Result<Engine> {
        let engine = match text.map(str::trim) {
            None | Some("" | "local") => Engine::Local,
            Some("ballista") => Engine::Standalone,
            Some(url) if url.starts_with("df://") => Engine::Remote(url.to_owned()),
            Some(other) => bail!("unknown engine `{other}` (known: local, ballista, df://HOST:PORT)"),
        };
        if engine != Engine::Local && !cfg!(feature = "ballista") {
            bail!(
                "engine `{engine}`: built without the ballista feature (a default one): cargo build -p orchestrator --features ballista"
            );
        }
        Ok(engine)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Standalone => f.write_str("ballista"),
            Engine::Remote(url) => f.write_str(url),
        }
    }
}

/// A command's two sessions, sharing one catalog and one object-store registry: what
/// is registered in either is visible in both.
pub(crate) struct Sessions {
    /// Plans and runs SQL models, tests and queries on the engine.
    pub(crate) engine: SessionContext,
    /// Runs what cannot leave this process: the Rust models, whose plans hold
    /// in-memory batches and a scalar function closing over a trained model.
    pub(crate) client: SessionContext,
    /// Keeps the engine's in-process servers running.
    pub(crate) guard: EngineGuard,
    /// A remote cluster's executors, watched so that losing one stops the run.
    pub(crate) watch: Option<Arc<dyn EngineWatch>>,
}

/// The in-process cluster of `--engine ballista`, stopped (and its work folder removed)
/// when this is dropped: keep it as long as the engine session is used.
#[derive(Default)]
pub(crate) struct EngineGuard {
    #[cfg(feature = "ballista")]
    _standalone: Option<pitwall_cluster::Standalone>,
}

/// The sessions for `engine` over `warehouse`, with pitwall's functions everywhere.
pub(crate) async fn sessions(engine: &Engine, warehouse: &Warehouse, relations: &Relations) -> Result<Sessions> {
    let client = warehouse.session(relations)?;
    match engine {
        Engine::Local => Ok(Sessions { engine: client.clone(), client, guard: EngineGuard::default(), watch: None }),
        #[cfg(feature = "ballista")]
        Engine::Standalone => {
            let standalone = pitwall_cluster::Standalone::start(warehouse.spill_dir()).await?;
            // The executor in this process registers within moments of starting.
            let engine = pitwall_cluster::session(standalone.url(), &client, STANDALONE_START).await?;
            // Its executor is this process: it cannot be lost on its own.
            Ok(Sessions { engine, client, guard: EngineGuard { _standalone: Some(standalone) }, watch: None })
        }
        #[cfg(feature = "ballista")]
        Engine::Remote(url) => {
            // Watched from before the first query, so none is sent to an executor that
            // died since the last build but is still listed.
            let watch = pitwall_cluster::ExecutorWatch::start(url).await?;
            let engine = pitwall_cluster::session(url, &client, EXECUTOR_WAIT).await?;
            Ok(Sessions { engine, client, guard: EngineGuard::default(), watch: Some(Arc::new(watch)) })
        }
        #[cfg(not(feature = "ballista"))]
        _ => unreachable!("Engine::parse refuses Ballista engines without the feature"),
    }
}

/// How long a build waits for the in-process executor to register.
#[cfg(feature = "ballista")]
const STANDALONE_START: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a build waits for a remote scheduler with no executor to get one (an
/// executor started with it registers within a heartbeat).
#[cfg(feature = "ballista")]
const EXECUTOR_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_unknown_ones_are_named() {
        assert_eq!(Engine::parse(None).unwrap(), Engine::Local);
        assert_eq!(Engine::parse(Some("local")).unwrap(), Engine::Local);
        let unknown = Engine::parse(Some("spark")).unwrap_err().to_string();
        assert!(unknown.contains("unknown engine `spark`"), "{unknown}");
    }

    #[cfg(not(feature = "ballista"))]
    #[test]
    fn ballista_without_the_feature_says_how_to_build_it() {
        for text in ["ballista", "df://localhost:50050"] {
            let refused = Engine::parse(Some(text)).unwrap_err().to_string();
            assert!(
                refused.contains("built without the ballista feature (a default one): cargo build -p orchestrator --features ballista"),
                "{refused}"
            );
        }
    }

    #[cfg(feature = "ballista")]
    #[test]
    fn ballista_engines_parse_with_the_feature() {
        assert_eq!(Engine::parse(Some("ballista")).unwrap(), Engine::Standalone);
        assert_eq!(Engine::parse(Some("df://h:50050")).unwrap(), Engine::Remote("df://h:50050".into()));
    }
}
