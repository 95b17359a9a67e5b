//! The `pitwall` binary end to end: one test binary for the crate, since each links
//! DataFusion (ripgrep's layout).

/// Running the binary, the bundled data, the comparison with expected outputs.
mod support;

/// manifest.json and run_results.json against dbt's published schemas (dbt-artifacts-parser).
mod artifacts;
/// The Ballista engines: in-process, and a cluster of `pitwall cluster` processes on S3,
/// build what the local engine does; lost executors and unreachable schedulers.
#[cfg(feature = "ballista")]
mod ballista;
/// The warehouse lock and crash hygiene: concurrent builds, readers, SIGKILLed builds.
mod concurrency;
/// Data tests and build semantics on tampered copies of `fixtures/f1_tiny`.
mod data_tests;
/// The docs site: its embedded data, headless Chromium's rendering of it, `docs serve`.
mod docs;
/// The real data: every model against its expected output, loading and its failures.
mod f1_end_to_end;
/// The CLI on the hand-made `fixtures/f1_tiny` source: selectors, ls, compile, errors.
mod fixtures;
/// Production jobs: `pitwall job run` and `job history` on a temporary project.
mod jobs;
/// A layer alone, as its binary runs it, on raw tables the loader stored.
mod layers;
/// `pitwall lineage` on the workshop's models: column trees both ways, errors.
mod lineage;
/// The marts models on hand-made fixtures (pandas edge cases), without the binary.
mod marts_models;
/// The ml layer on the real data: predictions and the model stage.
mod ml_end_to_end;
/// The project on disk: `pitwall init`, user models, macros, vars, edits, refused projects.
mod project;
/// The loader against a corpus of damaged inputs and bad configs (issue 9).
mod reliability;
/// Sources, warehouse and model stage on S3 (a local moto server): parity with a local
/// build, rebuilds, and failures that name the URL and never the secret.
mod s3;
/// Delivery to Snowflake (fakesnow's emulator): a full build read back equal, query,
/// failures naming the endpoint.
#[cfg(feature = "snowflake")]
mod snowflake;
/// State-aware builds: reuse, exact rebuilds after edits, state: selectors and --defer.
mod state;
