//! `cargo run -p ingestion`: loads the project's sources into the warehouse's raw schema
//! alone, printing and saving the load report.
fn main() -> std::process::ExitCode {
    pitwall_cli::layer_main(&ingestion::LAYER)
}
