//! The layers of the project, upstream first: the one place in pitwall that names them.

use pitwall_core::Layer;

pub static LAYERS: &[&Layer] = &[&ingestion::LAYER, &staging::LAYER, &intermediate::LAYER, &marts::LAYER, &ml::LAYER];
