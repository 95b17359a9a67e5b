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

/// The docs crate over the checkout's whole project, Rust models included (which only
/// this registry can bind): its graph lays out, its lineage traces every column.
#[cfg(test)]
mod tests {
    use pitwall_core::Language;
    use pitwall_docs::graph::{SOURCE_COLOR, layout, svg};
    use pitwall_docs::lineage::{ColumnRef, Lineage, RelationKind};

    use super::checkout_project;

    #[tokio::test]
    async fn every_source_and_model_sits_right_of_its_parents_without_overlap() {
        let project = checkout_project().await;
        let graph = layout(&project);
        assert_eq!(graph.nodes.len(), 29);
        for (from, to) in &graph.edges {
            assert!(graph.nodes[*from].layer < graph.nodes[*to].layer);
            assert!(graph.nodes[*from].x + graph.node_width < graph.nodes[*to].x);
        }
        let mut spots: Vec<(i64, i64)> = graph.nodes.iter().map(|n| (n.x as i64, n.y as i64)).collect();
        spots.sort_unstable();
        spots.dedup();
        assert_eq!(spots.len(), 29, "two nodes share a place");
        let layer = |name: &str| graph.nodes.iter().find(|n| n.name == name).unwrap().layer;
        assert_eq!((layer("formula1.races"), layer("stg_f1_races"), layer("predict_position")), (0, 1, 8));
        let svg = svg(&graph);
        assert_eq!(svg.matches("<g class=\"node\"").count(), 29);
        assert!(svg.contains("data-name=\"fct_results\""), "{svg}");
        assert!(svg.contains(&format!("fill=\"{SOURCE_COLOR}\"")));
    }

    #[tokio::test]
    async fn every_column_of_every_sql_model_of_the_workspace_is_traced_exactly() {
        let project = checkout_project().await;
        let lineage = Lineage::of(&project).await.unwrap();
        assert_eq!(lineage.models.len(), project.nodes.len());
        for (name, model) in &lineage.models {
            match model.language {
                Language::Sql => {
                    assert!(model.note.is_none() && !model.columns.is_empty(), "{name}: {:?}", model.note)
                }
                Language::Rust => assert!(model.columns.is_empty() && model.note.is_some(), "{name}"),
            }
        }
        let direct = lineage.direct("int_results", "driver").unwrap();
        assert_eq!(
            direct,
            [ColumnRef::model("stg_f1_drivers", "forename"), ColumnRef::model("stg_f1_drivers", "surname")]
        );
        let sources =
            lineage.upstream("fct_results", "race_year").into_iter().filter(|(_, c)| c.kind == RelationKind::Source);
        assert_eq!(sources.collect::<Vec<_>>(), [(3, ColumnRef::source("formula1.races", "year"))]);
        assert_eq!(
            lineage.rust_readers("hold_out_dataset_for_prediction"),
            ["predict_position", "train_test_position"]
        );
        // The docs site embeds it as JSON.
        let json = serde_json::to_value(&lineage).unwrap();
        assert_eq!(json["models"]["stg_f1_status"]["columns"][1]["upstream"][0]["kind"], "source");
    }

    #[tokio::test]
    async fn an_unknown_column_or_model_is_named_with_near_candidates() {
        let project = checkout_project().await;
        let lineage = Lineage::of(&project).await.unwrap();
        let e = lineage.resolve("fct_results.drivr").unwrap_err().to_string();
        assert!(e.starts_with("model 'fct_results' has no column 'drivr' (did you mean driver?); its columns:"), "{e}");
        assert!(e.contains("its columns: result_id, race_id,"), "{e}");
        let e = lineage.resolve("fct_result.driver").unwrap_err().to_string();
        assert!(e.starts_with("'fct_result' is not a model or source table of this project (did you mean fct_results"));
        assert_eq!(
            lineage.resolve("FORMULA1.Drivers.FORENAME").unwrap(),
            ColumnRef::source("formula1.drivers", "forename")
        );
        // A Rust model's columns are known only once it runs: any is taken, and said so.
        let rust = lineage.resolve("predict_position.position_predicted").unwrap();
        assert!(lineage.render(&rust, false).contains("computed in Rust from hold_out_dataset_for_prediction"));
    }
}
