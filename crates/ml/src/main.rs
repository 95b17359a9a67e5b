//! `cargo run -p ml`: rebuilds the ml layer alone (prep, training, prediction) from the
//! warehouse, with the model stage of the project (or `PITWALL_MODEL_STAGE`).
fn main() -> std::process::ExitCode {
    pitwall_core::standalone::layer_main("ml", ml::models())
}
