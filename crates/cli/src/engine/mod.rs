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

// The Ballista engines, or their refusal: ripgrep's `enabled`/`disabled` pattern, so
// nothing below holds a `cfg`.
#[cfg(not(feature = "ballista"))]
mod disabled;
#[cfg(feature = "ballista")]
mod enabled;
#[cfg(not(feature = "ballista"))]
use disabled as ballista;
#[cfg(feature = "ballista")]
use enabled as ballista;

/// The in-process cluster of `--engine ballista`, stopped (and its work folder removed)
/// when this is dropped: keep it as long as the engine session is used.
pub(crate) use ballista::Guard as EngineGuard;

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
        if engine != Engine::Local
            && let Some(missing) = ballista::MISSING
        {
            bail!("engine `{engine}`: {missing}");
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

/// The sessions for `engine` over `warehouse`, with pitwall's functions everywhere.
pub(crate) async fn sessions(engine: &Engine, warehouse: &Warehouse, relations: &Relations) -> Result<Sessions> {
    let client = warehouse.session(relations)?;
    match engine {
        Engine::Local => Ok(Sessions { engine: client.clone(), client, guard: EngineGuard::default(), watch: None }),
        _ => ballista::sessions(engine, warehouse, client).await,
    }
}

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
}
