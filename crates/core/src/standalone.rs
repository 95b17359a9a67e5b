//! The `main` of each layer crate's binary: runs that layer's models alone against the
//! warehouse of the project in the current folder (or `--project-dir`), reading every
//! upstream relation from it as the last build left it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{Overrides, ProjectConfig};
use crate::context::Relations;
use crate::error::Result;
use crate::model::{Model, Node};
use crate::report::{self, Tally};
use crate::runner::{Plan, RunEvent, Runner};
use crate::warehouse::Warehouse;

const USAGE: &str = "usage: cargo run -p <layer> -- [--project-dir DIR] [--target-path DIR] [--warehouse PATH]

Runs this layer's models alone, reading their upstream relations from the warehouse
(build them first with `pitwall build`). The same options and PITWALL_* variables as
`pitwall` apply.";

/// Runs `models` (one layer's) and exits non-zero if any failed.
pub fn layer_main(layer: &str, models: Result<Vec<Arc<dyn Model>>>) -> ExitCode {
    let mut project_dir = std::env::var_os("PITWALL_PROJECT_DIR").map(PathBuf::from);
    let mut overrides = Overrides {
        source: None,
        target_path: std::env::var("PITWALL_TARGET_PATH").ok(),
        warehouse: std::env::var("PITWALL_WAREHOUSE").ok(),
        model_stage: std::env::var("PITWALL_MODEL_STAGE").ok(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed = match arg.as_str() {
            "--project-dir" => value("--project-dir").map(|v| project_dir = Some(v.into())),
            "--target-path" => value("--target-path").map(|v| overrides.target_path = Some(v)),
            "--warehouse" => value("--warehouse").map(|v| overrides.warehouse = Some(v)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument '{other}'")),
        };
        if let Err(e) = parsed {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run_layer(layer, models, project_dir, overrides)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_layer(
    layer: &str,
    models: Result<Vec<Arc<dyn Model>>>,
    project_dir: Option<PathBuf>,
    overrides: Overrides,
) -> Result<bool> {
    let clock = Instant::now();
    let root = match project_dir {
        Some(dir) => dir,
        None => ProjectConfig::discover(&std::env::current_dir()?)?,
    };
    let project = ProjectConfig::load(&root, &overrides)?;
    let nodes = models?.into_iter().map(|m| Node::new(m, &project)).collect::<Result<Vec<_>>>()?;
    let relations = Relations {
        target_schema: project.schema.clone(),
        source_schemas: project.sources.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect(),
    };
    let warehouse = Arc::new(Warehouse::open(&project.warehouse)?);
    let session = warehouse.session(&relations)?;
    let mut schemas: Vec<&str> = relations.source_schemas.values().map(String::as_str).collect();
    schemas.push(&relations.target_schema);
    warehouse.attach(&session, &schemas).await?;

    println!("Running the {layer} layer alone: {} models against {}", nodes.len(), warehouse.location());
    let total = nodes.len();
    let done = Mutex::new(0usize);
    let runner = Runner::new(session, warehouse, relations).with_model_stage(&project.model_stage);
    let outcomes = runner
        .run(&Plan::models(&nodes), &|event| {
            if let RunEvent::Finished(outcome) = event {
                let mut n = done.lock().expect("not poisoned");
                *n += 1;
                println!("{}", report::node_line(*n, total, outcome));
            }
        })
        .await;
    let tally = Tally::of(&outcomes);
    println!("\nFinished running {total} models in {}.", report::elapsed(clock.elapsed()));
    for detail in report::error_details(&outcomes) {
        println!("\n{detail}");
    }
    println!("{}", tally.summary());
    Ok(tally.ok())
}
