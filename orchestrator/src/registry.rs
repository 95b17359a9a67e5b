//! The layers of the project, upstream first: the one place in pitwall that names them.

use pitwall_core::Layer;

pub static LAYERS: &[&Layer] = &[&ingestion::LAYER, &staging::LAYER, &intermediate::LAYER, &marts::LAYER, &ml::LAYER];

/// The checkout's own project, loaded and planned, for unit tests.
#[cfg(test)]
pub(crate) async fn checkout_project() -> pitwall_project::Project {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let config = pitwall_core::ProjectConfig::load(root, &Default::default()).expect("the checkout's pitwall.toml");
    let mut project =
        pitwall_project::load(config, LAYERS, pitwall_project::Bindings::Required).expect("the checkout's project");
    project.plan().await.expect("the checkout's project plans");
    project
}
