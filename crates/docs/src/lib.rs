//! pitwall-docs: dbt's documentation site and the project's column lineage.
//!
//! `pitwall docs generate` ([`generate`]) writes into the target path (a folder or an
//! object-store URL), beside the `manifest.json` every command writes: `catalog.json`
//! (dbt's, the warehouse's column types, [`catalog`]) and `index.html`, one
//! self-contained file (its CSS, script, lineage graph, charts and the project as embedded
//! JSON: it opens from `file://` with no network). `pitwall docs serve` ([`serve`]) serves
//! the target path over HTTP; `pitwall lineage` prints [`lineage`]'s trees.
//!
//! - [`site`]: the page and the JSON the script renders every page from.
//! - [`graph`]: the DAG's layered layout, as SVG; a big project's folded by folder
//!   ([`graph::folds`]).
//! - [`charts`] and `plots`: the workshop's answers from the warehouse and model stage.
//! - [`markdown`]: descriptions and doc blocks, rendered to escaped HTML.
//! - [`serve`]: the static HTTP server.
//! - [`lineage`]: column-level lineage, read off the project's logical plans.
//! - [`catalog`]: dbt's `catalog.json`.
//!
//! It must never write anything but those files, never build a model, and never name a
//! layer: it reads the project as loaded ([`Project`]), and the warehouse only through
//! `pitwall_cli::open_warehouse` (a shared lock, as every reader).

pub mod catalog;
pub mod charts;
pub mod graph;
pub mod lineage;
pub mod markdown;
pub mod plots;
pub mod serve;
pub mod site;

use anyhow::{Context, Result};
use object_store::ObjectStoreExt;
use pitwall_cli::{Access, open_warehouse};
use pitwall_core::Location;
use serde_json::Value;

use crate::lineage::Lineage;
use pitwall_project::Project;

/// Writes `catalog.json` and `index.html` into the target path.
pub async fn generate(project: &Project, no_wait: bool) -> Result<bool> {
    let target = &project.config.target_path;
    // One shared lock for the catalog and the charts, so both see the same build.
    let open = open_warehouse(&project.config, Access::Read, no_wait).await?;
    let catalog = catalog::catalog_value(project, &open).await?;
    let bytes = serde_json::to_vec_pretty(&catalog)?;
    target.write("catalog.json", bytes).await.with_context(|| format!("writing {}", target.join("catalog.json")))?;
    let charts = plots::Charts::draw(charts::read(project, &open.session).await);
    drop(open);
    let run_results =
        read(target, "run_results.json").await?.and_then(|bytes| json_or_warn(&bytes, "run_results.json"));
    // Column lineage is a part of the site, not a reason to have none.
    let lineage = Lineage::of(project)
        .await
        .inspect_err(|e| eprintln!("warning: column lineage left out of the docs: {e:#}"))
        .ok();
    let inputs =
        site::Inputs { project, run_results, catalog: Some(catalog), lineage: lineage.as_ref(), charts: &charts };
    let html = site::render(&inputs);
    target
        .write("index.html", html.into_bytes())
        .await
        .with_context(|| format!("writing {}", target.join("index.html")))?;
    println!("Wrote the docs site (index.html, catalog.json, manifest.json) to {target}");
    match target {
        Location::Local(path) => println!("Open {} or run pitwall docs serve", path.join("index.html").display()),
        Location::Url(..) => println!("Run pitwall docs serve to browse it"),
    }
    Ok(true)
}

/// A target-path file's bytes, or `None` when it does not exist.
async fn read(location: &Location, name: &str) -> Result<Option<Vec<u8>>> {
    let store = location.open()?;
    match store.store.get(&store.child(name)).await {
        Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", location.join(name))),
    }
}

/// An artifact that does not parse is left out of the site, said in passing: the site is
/// still worth having without it.
fn json_or_warn(bytes: &[u8], name: &str) -> Option<Value> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            eprintln!("warning: {name} is not valid JSON ({e}); the docs site leaves it out");
            None
        }
    }
}
