//! `cargo run -p marts`: rebuilds the marts layer alone from the warehouse.
fn main() -> std::process::ExitCode {
    pitwall_core::standalone::layer_main("marts", marts::models())
}
