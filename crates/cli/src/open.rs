//! The one place a command opens the warehouse: its lock first, then a session with
//! every relation it holds attached, on the configured engine.

use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::prelude::SessionContext;
use pitwall_core::warehouse::{Access, Relation, WarehouseLock};
use pitwall_core::{EngineWatch, ProjectConfig, Warehouse};

use crate::engine::{self, Engine, EngineGuard, Sessions};

/// An opened warehouse: the warehouse, a session with every relation it holds in the
/// project's schemas (sources', target, audit) attached, and its lock, held as long as
/// this value lives (keep it for the whole command, not just the session).
pub struct OpenWarehouse {
    pub warehouse: Arc<Warehouse>,
    /// On the configured engine (see [`Engine`]).
    pub session: SessionContext,
    /// In this process, over the same catalog: for what cannot leave it (Rust models).
    pub client: SessionContext,
    pub engine: Engine,
    pub lock: WarehouseLock,
    /// Every relation attached, with its stamp.
    pub attached: Vec<Relation>,
    /// The engine's in-process servers, if it has any, stopped with this.
    pub(crate) _engine: EngineGuard,
    /// A remote cluster's executors, watched while this lives.
    pub(crate) engine_watch: Option<Arc<dyn EngineWatch>>,
}

/// Opens the warehouse of `config` for `access`: takes its lock first (shared to read,
/// exclusive to write; see [`Warehouse::lock`]), waiting for another process's unless
/// `no_wait`, then, as the writer, removes what dead processes left behind, and attaches
/// every relation.
pub async fn open_warehouse(config: &ProjectConfig, access: Access, no_wait: bool) -> Result<OpenWarehouse> {
    let relations = config.relations();
    let engine = Engine::parse(config.engine.as_deref())?;
    let warehouse = Arc::new(Warehouse::open(&config.warehouse)?.with_resources(config.resources.clone()));
    let lock = warehouse
        .lock(access, !no_wait, |holder| {
            eprintln!("Waiting for the warehouse at {}: it is in use by {holder}", config.warehouse);
        })
        .await
        .with_context(|| match no_wait {
            true => "not waiting for the warehouse (--no-wait, PITWALL_NO_WAIT)",
            false => "locking the warehouse",
        })?;
    if access == Access::Write {
        let removed = warehouse.remove_leftovers(&lock);
        if !removed.is_empty() {
            println!(
                "Removed {} temporary file{} an interrupted run left in the warehouse",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" }
            );
        }
    }
    let opened = async {
        let Sessions { engine: session, client, guard, watch } =
            engine::sessions(&engine, &warehouse, &relations).await?;
        let schemas = relations.schemas();
        let attached = warehouse
            .attach(&session, &schemas.iter().map(String::as_str).collect::<Vec<_>>())
            .await
            .with_context(|| format!("reading the warehouse at {}", config.warehouse))?;
        anyhow::Ok((session, client, attached, guard, watch))
    };
    match opened.await {
        Ok((session, client, attached, _engine, engine_watch)) => {
            Ok(OpenWarehouse { warehouse, session, client, engine, lock, attached, _engine, engine_watch })
        }
        Err(e) => {
            // An object store's lease would otherwise hold the next build off until it expires.
            lock.release().await;
            Err(e)
        }
    }
}
