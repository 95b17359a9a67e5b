//! `cargo run -p staging`: rebuilds the staging layer alone from the warehouse's raw tables.
fn main() -> std::process::ExitCode {
    pitwall_core::standalone::layer_main("staging", staging::models())
}
