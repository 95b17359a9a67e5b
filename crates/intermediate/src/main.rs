//! `cargo run -p intermediate`: rebuilds the intermediate layer alone from the warehouse.
fn main() -> std::process::ExitCode {
    pitwall_core::standalone::layer_main("intermediate", intermediate::models())
}
