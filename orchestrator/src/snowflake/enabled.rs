//! The `snowflake` feature on: log in with pitwall-snowflake, deliver, query. The
//! protocol and the loading itself are pitwall-snowflake's; this module only decides what
//! goes where.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arrow::util::pretty::pretty_format_batches;
use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use pitwall_cli::{Access, open_warehouse};
use pitwall_core::config::AdapterTarget;
use pitwall_core::progress;
use pitwall_core::report::dotted;
use pitwall_core::{Materialization, NodeOutcome, NodeStatus, OutcomeKind, ProjectConfig};
pub use pitwall_snowflake::Target;
pub use pitwall_snowflake::client::Session;
use pitwall_snowflake::delivery::{self, Delivered, Outcome, Relation, Shape};

use pitwall_project::Project;

/// The adapter reads its own keys (`schema` is the target's; a key path is under the
/// project).
pub(super) fn read(config: &ProjectConfig, adapter: &AdapterTarget) -> Result<Target> {
    Ok(Target::read(&adapter.at, &adapter.options, &config.schema, &config.root)?)
}

/// For the run's first line.
pub fn describe(target: &Target) -> String {
    format!("delivered to Snowflake at {} (database {})", target.endpoint(), target.database)
}

/// Logs in to the target's Snowflake, naming the endpoint on failure (never a secret).
pub async fn connect(_: &Project, target: &Target) -> Result<Session> {
    let options = target.connect_options()?;
    Session::login(&options)
        .await
        .with_context(|| format!("logging in to Snowflake at {} as {}", target.endpoint(), target.user))
}

/// Delivers what the run built when it succeeded; says why not otherwise. The session is
/// closed either way.
pub async fn deliver_run(
    project: &Project,
    target: &Target,
    session: Session,
    succeeded: bool,
    loaded: &[String],
    outcomes: &[NodeOutcome],
) -> Result<()> {
    let delivered = if succeeded {
        deliver(project, target, &session, &relations(project, loaded, outcomes, &target.database)).await
    } else {
        println!("\nNothing delivered to Snowflake: the run did not succeed");
        Ok(())
    };
    let closed = session.close().await;
    delivered?;
    if let Err(e) = closed {
        eprintln!("warning: closing the Snowflake session: {e}");
    }
    Ok(())
}

/// The relations a run materialized, upstream first: the raw tables of the sources it
/// loaded (reloaded or not), then each model it built or reused. A view goes as a view when its SQL compiles for
/// Snowflake's names.
pub fn relations(
    project: &Project,
    loaded_sources: &[String],
    outcomes: &[NodeOutcome],
    database: &str,
) -> Vec<Relation> {
    let mut relations = Vec::new();
    for source in project.sources.iter().filter(|s| loaded_sources.contains(&s.source.name)) {
        let Some(location) = project.config.sources.get(&source.source.name) else { continue };
        for table in &source.source.tables {
            relations.push(Relation {
                local_schema: location.schema.clone(),
                local_name: table.name.clone(),
                schema: location.schema.clone(),
                name: table.name.clone(),
                shape: Shape::Table,
            });
        }
    }
    // A reused model is delivered too: the local warehouse cannot tell whether Snowflake
    // already holds that version (another target, a failed delivery, a dropped table).
    let built = |name: &str| {
        outcomes.iter().any(|o| {
            o.name == name
                && matches!(o.kind, OutcomeKind::Model(_))
                && matches!(o.status, NodeStatus::Success { .. } | NodeStatus::Reused { .. })
        })
    };
    let snowflake_name = |r: &TableReference| delivery::qualified(database, r.schema().unwrap_or_default(), r.table());
    for node in project.nodes.iter().filter(|n| built(n.name())) {
        let shape = match (node.config.materialized, node.model.compiled()) {
            (Materialization::View, Some(sql)) => {
                match sql.render_with(&project.relations, node.name(), snowflake_name) {
                    Ok(sql) => Shape::View { sql },
                    Err(_) => Shape::Table,
                }
            }
            _ => Shape::Table,
        };
        relations.push(Relation {
            local_schema: project.relations.model(node.name()).schema().unwrap_or_default().to_owned(),
            local_name: node.name().to_owned(),
            schema: project.config.schema.clone(),
            name: node.name().to_owned(),
            shape,
        });
    }
    relations
}

/// Delivers `relations` from the local warehouse, a line per relation as dbt prints.
pub async fn deliver(project: &Project, target: &Target, session: &Session, relations: &[Relation]) -> Result<()> {
    println!(
        "\nDelivering {} relations to Snowflake at {}: database {}",
        relations.len(),
        session.endpoint(),
        target.database
    );
    let clock = std::time::Instant::now();
    let open = open_warehouse(&project.config, Access::Read, false).await?;
    let finished = Arc::new(Mutex::new((0usize, Instant::now())));
    let _progress = delivering(relations, finished.clone());
    let outcomes = delivery::deliver(
        session,
        &Warehouse(&open.client),
        &target.database,
        &project.config.schema,
        relations,
        &|index, total, outcome| {
            *finished.lock().expect("not poisoned") = (index, Instant::now());
            println!("{}", line(index, total, outcome));
        },
    )
    .await
    .with_context(|| format!("Snowflake at {}", session.endpoint()))?;
    let views = outcomes.iter().filter(|o| o.delivered == Delivered::View).count();
    println!(
        "\nDelivered {} relations ({} tables, {views} views) to Snowflake in {:.2}s; every row count equals pitwall's",
        outcomes.len(),
        outcomes.len() - views,
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The local side of a delivery: the warehouse, read through a DataFusion session.
struct Warehouse<'a>(&'a SessionContext);

impl Warehouse<'_> {
    async fn frame(&self, relation: &Relation) -> datafusion::error::Result<datafusion::dataframe::DataFrame> {
        let name = TableReference::partial(relation.local_schema.as_str(), relation.local_name.as_str());
        self.0.table(name).await
    }
}

impl delivery::Local for Warehouse<'_> {
    async fn count(&self, relation: &Relation) -> Result<u64, delivery::BoxError> {
        Ok(self.frame(relation).await?.count().await? as u64)
    }

    async fn rows(&self, relation: &Relation) -> Result<delivery::Rows, delivery::BoxError> {
        let stream = self.frame(relation).await?.execute_stream().await?;
        let schema = stream.schema();
        let batches = stream.map(|batch| batch.map_err(delivery::BoxError::from)).boxed();
        Ok(delivery::Rows { schema, batches })
    }
}

/// A relation whose delivery takes longer than this gets a progress line.
const LONG_DELIVERY: Duration = Duration::from_secs(5);

/// Shows the relation being delivered (they go one after another) once it has taken
/// long: `finished` holds how many are done and since when the current one runs.
fn delivering(relations: &[Relation], finished: Arc<Mutex<(usize, Instant)>>) -> progress::Progress {
    let names: Vec<String> = relations.iter().map(|r| format!("{}.{}", r.schema, r.name)).collect();
    progress::show(move || {
        let (done, since) = *finished.lock().expect("not poisoned");
        let current = names.get(done)?;
        (since.elapsed() >= LONG_DELIVERY).then(|| {
            format!(
                "Delivering to Snowflake: {current} ({:.0} s), {done} of {} relations done",
                since.elapsed().as_secs_f64(),
                names.len()
            )
        })
    })
}

/// `  3 of 29 OK delivered table PC_DBT_DB.RAW.RACES ....... [1125 rows in 0.08s]`, and for
/// a view of pitwall's delivered as a table, why, on the line under it.
fn line(index: usize, total: usize, outcome: &Outcome) -> String {
    let kind = match outcome.delivered {
        Delivered::View => "view",
        Delivered::Table | Delivered::TableForView { .. } => "table",
    };
    let right = format!("[{} rows in {:.2}s]", outcome.rows, outcome.elapsed.as_secs_f64());
    let line = dotted(&format!("{index:>3} of {total} OK delivered {kind} {}", outcome.relation), &right);
    match &outcome.delivered {
        Delivered::TableForView { why } => format!("{line}\n      a view in pitwall, delivered as a table: {why}"),
        _ => line,
    }
}

/// `pitwall query` on a Snowflake target: the statement runs in Snowflake.
pub async fn query(project: &Project, target: &Target, sql: &str, limit: Option<usize>) -> Result<bool> {
    let session = connect(project, target).await?;
    let result = session.query(sql).await.with_context(|| format!("running the query in Snowflake: {sql}"));
    let closed = session.close().await;
    let result = result?;
    let mut batches = result.batches;
    if let Some(limit) = limit {
        let mut left = limit;
        batches = batches
            .into_iter()
            .filter_map(|b| {
                let take = b.num_rows().min(left);
                left -= take;
                (take > 0).then(|| b.slice(0, take))
            })
            .collect();
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    println!("{}", pretty_format_batches(&batches)?);
    println!("{rows} rows (in Snowflake at {})", target.endpoint());
    if let Err(e) = closed {
        eprintln!("warning: closing the Snowflake session: {e}");
    }
    Ok(true)
}
