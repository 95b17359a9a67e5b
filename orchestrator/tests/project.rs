//! The project on disk: `pitwall init`, a user's own models, macros, vars and tests,
//! editing the checkout's models, and projects refused before anything runs.

use std::path::{Path, PathBuf};

use crate::support::{self as common, Run, fixture, pitwall_command, snapshot, workspace};

/// Runs pitwall in `project` (found from the current folder, as a user runs it).
fn pitwall_in(project: &Path, args: &[&str]) -> Run {
    Run::from(pitwall_command().current_dir(project).args(args).output().expect("pitwall runs"))
}

/// `pitwall init` into a new folder `demo` under a temporary one.
fn init() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let run = pitwall_in(dir.path(), &["init", "demo"]);
    assert!(run.ok(), "{}", run.all());
    assert!(run.stdout.contains("19 SQL models"), "{}", run.stdout);
    (dir, demo)
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn init_writes_a_project_that_builds_the_workshop_exactly_and_refuses_a_folder_in_use() {
    let (dir, demo) = init();
    let build = pitwall_in(&demo, &["build"]);
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains("Found 21 models, 17 data tests and 8 sources"), "{}", build.stdout);
    assert!(build.stdout.contains("ERROR=0 SKIP=0"), "{}", build.stdout);
    let out = demo.join("export");
    let export = pitwall_in(&demo, &["export", "--out", out.to_str().unwrap()]);
    assert!(export.ok(), "{}", export.all());
    common::assert_models_match(&out, crate::f1_end_to_end::EXACT_MODELS);
    common::assert_models_match(&out, crate::ml_end_to_end::EXACT_ML_MODELS);

    let again = pitwall_in(dir.path(), &["init", "demo"]);
    assert!(!again.ok() && again.stderr.contains("is not empty"), "{}", again.all());
}

/// A model of the user's own: config(), a macro, var(), ref('fct_results'), a properties
/// file with tests, a singular test; on the hand-made source so it builds in a moment.
fn add_custom_model(demo: &Path) {
    write(demo, "macros/points.sql", "{% macro per_race(column) %}sum({{ column }}) / count(*){% endmacro %}\n");
    write(
        demo,
        "models/custom/x.sql",
        "{{ config(materialized='table', tags=['custom']) }}\n\
         select driver, {{ per_race('points') }} as points_per_race, count(*) as races\n\
         from {{ ref('fct_results') }}\n\
         where race_year >= {{ var('season', 2000) }}\n\
         group by driver\n",
    );
    write(
        demo,
        "models/custom/x.yml",
        "version: 2\nmodels:\n  - name: x\n    description: Points per race by driver\n    columns:\n      \
         - name: driver\n        tests: [not_null, unique]\n",
    );
    write(demo, "tests/x_points_are_positive.sql", "select * from {{ ref('x') }} where points_per_race < 0\n");
}

#[test]
fn a_user_model_with_config_macro_var_and_tests_builds_and_every_command_sees_it() {
    let (_dir, demo) = init();
    add_custom_model(&demo);
    let tiny = fixture("f1_tiny");
    let source = tiny.to_str().unwrap();
    let build = pitwall_in(&demo, &["build", "--source", source, "-s", "+x"]);
    assert!(build.ok(), "{}", build.all());
    assert!(build.stdout.contains("OK created table model analytics.x "), "{}", build.stdout);
    for test in ["not_null_x_driver", "unique_x_driver", "x_points_are_positive"] {
        assert!(build.stdout.contains(&format!("PASS {test} ")), "no {test}:\n{}", build.stdout);
    }
    let count = |vars: Option<&str>| {
        let mut args = vec!["build", "--source", source, "-s", "x"];
        if let Some(vars) = vars {
            args.extend(["--vars", vars]);
        }
        let run = pitwall_in(&demo, &args);
        assert!(run.ok(), "{}", run.all());
        let query = pitwall_in(&demo, &["query", "select count(*) as n from x"]);
        query.stdout.lines().find_map(|l| l.trim_matches(|c| c == '|' || c == ' ').parse::<u64>().ok()).unwrap()
    };
    let all_years = count(None);
    assert!(all_years > 0 && count(Some("{season: 2100}")) == 0, "--vars did not change the model");

    let ls = pitwall_in(&demo, &["ls", "-s", "tag:custom"]);
    assert_eq!(ls.stdout.trim(), "pitwall.custom.x", "{}", ls.all());
    let lineage = pitwall_in(&demo, &["lineage", "x.points_per_race"]);
    assert!(lineage.ok() && lineage.stdout.contains("<- fct_results.points"), "{}", lineage.all());
    let compile = pitwall_in(&demo, &["compile", "-s", "x"]);
    assert!(compile.stdout.contains("sum(points) / count(*)"), "{}", compile.all());
    let docs = pitwall_in(&demo, &["docs", "generate"]);
    assert!(docs.ok(), "{}", docs.all());
    let site = std::fs::read_to_string(demo.join("target/index.html")).unwrap();
    assert!(site.contains("model.pitwall.x") && site.contains("Points per race by driver"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo.join("target/manifest.json")).unwrap()).unwrap();
    let node = &manifest["nodes"]["model.pitwall.x"];
    assert_eq!(node["original_file_path"], "models/custom/x.sql");
    assert_eq!(node["fqn"], serde_json::json!(["pitwall", "custom", "x"]));
    assert_eq!(node["checksum"]["checksum"].as_str().unwrap().len(), 64);
}

#[test]
fn an_unknown_ref_broken_sql_and_a_duplicate_name_are_all_named_and_nothing_runs() {
    let (_dir, demo) = init();
    let tiny = fixture("f1_tiny");
    let source = tiny.to_str().unwrap();
    let build = pitwall_in(&demo, &["build", "--source", source, "-s", "staging"]);
    assert!(build.ok(), "{}", build.all());
    let before = snapshot(&demo.join("target/warehouse"));

    write(&demo, "models/custom/a.sql", "select *\nfrom {{ ref('fct_result') }}\n");
    write(&demo, "models/custom/b.sql", "select driver,\nfrom where {{ ref('fct_results') }}\n");
    write(&demo, "models/custom/more/fct_results.sql", "select 1 as one\n");
    let refused = pitwall_in(&demo, &["build", "--source", source]);
    assert!(!refused.ok(), "{}", refused.all());
    let error = &refused.stderr;
    assert!(error.contains("the project has 3 problems; nothing was run"), "{error}");
    assert!(
        error.contains("models/custom/a.sql:2:")
            && error.contains("unknown ref 'fct_result' (did you mean 'fct_results'?)"),
        "{error}"
    );
    assert!(error.contains("models/custom/b.sql:2:") && error.contains("SQL does not parse"), "{error}");
    assert!(
        error.contains("models/marts/core/fct_results.sql") && error.contains("models/custom/more/fct_results.sql"),
        "{error}"
    );
    assert!(!refused.stdout.contains(" OK "), "{}", refused.stdout);
    assert_eq!(snapshot(&demo.join("target/warehouse")), before, "the warehouse changed");
}

#[test]
fn editing_a_model_in_the_checkout_changes_the_next_build_with_the_same_binary() {
    let copy = tempfile::tempdir().unwrap();
    // The checkout's project files, as they are laid out in the repository.
    copy_tree(&workspace(), copy.path(), &["pitwall.toml", "crates", "data/f1"]);
    let model = copy.path().join("crates/marts/models/aggregates/fastest_pit_stops_by_constructor.sql");
    let sql = std::fs::read_to_string(&model).unwrap();
    assert!(sql.contains("2021"), "{sql}");
    std::fs::write(&model, sql.replace("2021", "2020")).unwrap();

    let build = pitwall_in(copy.path(), &["build", "-s", "+fastest_pit_stops_by_constructor"]);
    assert!(build.ok(), "{}", build.all());
    let query = |sql: &str| {
        let run = pitwall_in(copy.path(), &["query", sql]);
        assert!(run.ok(), "{}", run.all());
        run.stdout
    };
    let built = query("select count(*) as n from fastest_pit_stops_by_constructor");
    let teams_2020 = query("select count(distinct constructor_name) as n from pit_stops_joined where race_year = 2020");
    assert_eq!(built, teams_2020);
    let teams_2021 = query("select count(distinct constructor_name) as n from pit_stops_joined where race_year = 2021");
    let expected_rows = common::gunzip(&common::expected_outputs().join("fastest_pit_stops_by_constructor.csv.gz"));
    assert!(teams_2021.contains(&(expected_rows.lines().count() - 1).to_string()), "{teams_2021}");
    let means = query("select mean from fastest_pit_stops_by_constructor order by mean limit 1");
    assert!(!expected_rows.contains(means.lines().nth(3).unwrap_or("").trim_matches(|c| c == '|' || c == ' ')));
}

/// Copies `entries` (files or folders) of `from` into `to`, keeping their paths; Rust
/// sources and build output are left out, as only the project's files matter.
fn copy_tree(from: &Path, to: &Path, entries: &[&str]) {
    for entry in entries {
        let source = from.join(entry);
        if source.is_file() {
            write(to, entry, &std::fs::read_to_string(&source).unwrap());
            continue;
        }
        for file in common::files(&source) {
            let text = file.to_string_lossy();
            if text.contains("/src/") || text.starts_with("src/") || text.contains("target/") || text.ends_with(".rs") {
                continue;
            }
            let target = to.join(entry).join(&file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(source.join(&file), target).unwrap();
        }
    }
}
