//! dbt's `--defer`: a ref to a model the run does not build, and the warehouse lacks, is
//! read from another warehouse (the one a `--state` manifest describes), so a run can
//! build a few models in dev while reading everything else from prod.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::common::TableReference;
use pitwall_core::dag::NodeId;
use pitwall_core::state::Stamp;
use pitwall_core::{Location, Relations, Warehouse};

use crate::open::OpenWarehouse;

/// Models to read from another warehouse when this one lacks them.
#[derive(Clone, Debug)]
pub struct Deferral {
    /// Where the state's relations live.
    pub warehouse: Location,
    /// Its schemas: where its models and each source's raw tables are.
    pub relations: Relations,
    /// The models to defer, by name.
    pub models: Vec<String>,
}

/// Makes each model of `deferral` that the open warehouse lacks readable under its own
/// name, from the deferred warehouse (its views read that warehouse's relations), and
/// records the stamps they were stored with, so what is built on them is fingerprinted
/// with what it really read. Returns the models deferred.
pub(crate) async fn defer(
    open: &OpenWarehouse,
    deferral: &Deferral,
    target: &Relations,
    stored: &mut BTreeMap<NodeId, Stamp>,
) -> Result<Vec<String>> {
    let present = |model: &str| open.attached.iter().any(|r| r.schema == target.target_schema && r.name == model);
    let missing: Vec<&String> = deferral.models.iter().filter(|m| !present(m)).collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let other = Arc::new(Warehouse::open(&deferral.warehouse)?);
    let session = other.session(&deferral.relations)?;
    let schemas = deferral.relations.schemas();
    let attached = other
        .attach(&session, &schemas.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .with_context(|| format!("reading the deferred warehouse at {}", deferral.warehouse))?;
    other.share_store(&open.session);
    let mut deferred = Vec::new();
    for model in missing {
        let theirs = deferral.relations.model(model);
        let Some(relation) = attached.iter().find(|r| r.schema == deferral.relations.target_schema && &r.name == model)
        else {
            continue;
        };
        let provider = session.table(theirs).await?.into_view();
        let ours: TableReference = target.model(model);
        open.session.deregister_table(ours.clone())?;
        open.session.register_table(ours, provider)?;
        if let Some(stamp) = &relation.stamp {
            stored.insert(NodeId::Model(model.clone()), stamp.clone());
        }
        deferred.push(model.clone());
    }
    Ok(deferred)
}
