//! `cargo run -p marts`: runs the marts layer alone against the warehouse, reading its
//! upstream relations as the last build left them.
fn main() -> std::process::ExitCode {
    pitwall_cli::layer_main(&marts::LAYER)
}
