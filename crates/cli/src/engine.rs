//! The query engine a command's session plans and runs on: DataFusion in this process
//! (`local`, the default), or Apache DataFusion Ballista, either a cluster started in this
//! process (`ballista`) or a remote scheduler (`df://host:port`). Chosen by `--engine`
//! (`PITWALL_ENGINE`) or a target's `engine`; only the `ballista` cargo feature can
//! build the Ballista engines.

use std::fmt;

use anyhow::{Result, bail};
use datafusion::prelude::SessionContext;
use pitwall_core::{Relations, Warehouse};

/// Where SQL is planned and executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    Local,
    /// A Ballista scheduler and executor started in this process.
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
            bail!("engine `{engine}`: built without the ballista feature: cargo build --features ballista");
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
}

/// The sessions for `engine` over `warehouse`, with pitwall's functions everywhere.
pub(crate) async fn sessions(engine: &Engine, warehouse: &Warehouse, relations: &Relations) -> Result<Sessions> {
    let client = warehouse.session(relations)?;
    let engine = match engine {
        Engine::Local => client.clone(),
        #[cfg(feature = "ballista")]
        distributed => cluster::session(distributed, &client).await?,
        #[cfg(not(feature = "ballista"))]
        _ => unreachable!("Engine::parse refuses Ballista engines without the feature"),
    };
    Ok(Sessions { engine, client })
}

#[cfg(feature = "ballista")]
mod cluster {
    use anyhow::{Context, Result};
    use ballista::prelude::SessionContextExt;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    use super::Engine;

    /// A Ballista session made from the client's state, so the scheduler (which plans
    /// from a copy of this state) and a standalone executor (whose function registry is
    /// taken from it) know pitwall's SQL functions, and the catalog is the client's.
    pub(super) async fn session(engine: &Engine, client: &SessionContext) -> Result<SessionContext> {
        // Rebuilt from the client's state, which turns off creating the default catalog
        // (it exists). Ballista rebuilds the state it is given, and with that still on
        // it would replace the shared catalog with an empty one.
        let state = SessionStateBuilder::new_from_existing(client.state()).build();
        let session = match engine {
            Engine::Standalone => SessionContext::standalone_with_state(state).await,
            Engine::Remote(url) => SessionContext::remote_with_state(url, state).await,
            Engine::Local => unreachable!("a local engine needs no cluster"),
        }
        .with_context(|| format!("starting the {engine} engine"))?;
        // Upgrading the state for Ballista resets its scalar functions to DataFusion's
        // own, so the client-side SQL planner needs pitwall's registered again.
        pitwall_core::functions::register(&session);
        Ok(session)
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

    #[cfg(not(feature = "ballista"))]
    #[test]
    fn ballista_without_the_feature_says_how_to_build_it() {
        for text in ["ballista", "df://localhost:50050"] {
            let refused = Engine::parse(Some(text)).unwrap_err().to_string();
            assert!(
                refused.contains("built without the ballista feature: cargo build --features ballista"),
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
