//! `pitwall lineage` on the workshop's models: each expected tree was derived by reading
//! the models' SQL (staging's `stg_f1.yml`, `int_results.sql`, `int_pit_stops.sql`,
//! `fct_results.sql`, `pit_stops_joined.sql` and the two aggregates), both directions.
//! Lineage plans the project without data, so no build runs first.

use crate::support::pitwall;

/// The printed tree of `pitwall lineage ARGS`, which must succeed.
fn lineage(args: &[&str]) -> String {
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &[&["lineage"], args].concat());
    assert!(run.ok(), "{}", run.all());
    run.stdout
}

/// `int_results.driver` is `forename || ' ' || surname` of the joined driver: both columns,
/// each to its source column; fct_results passes it through.
#[test]
fn a_results_column_is_traced_through_the_join_to_both_driver_name_columns() {
    let tree = lineage(&["fct_results.driver"]);
    let expected = "\
fct_results.driver
  <- int_results.driver
    <- stg_f1_drivers.forename
      <- source formula1.drivers.forename
    <- stg_f1_drivers.surname
      <- source formula1.drivers.surname
";
    assert!(tree.starts_with(expected), "{tree}");
    // The joins' keys decide which rows meet, not the value: said after the tree.
    let rows = tree.lines().last().unwrap();
    assert!(rows.starts_with("Rows of fct_results are joined, filtered or grouped on: "), "{tree}");
    assert!(rows.contains("int_pit_stops.driver_id") && rows.contains("stg_f1_circuits.circuit_id"), "{tree}");
}

/// fct_results aggregates int_pit_stops' windowed `max(stop_number) over (partition by
/// race_id, driver_id)`: the window's argument and partition keys, not the group keys.
#[test]
fn the_pit_stop_count_comes_from_the_window_s_argument_and_partition_keys() {
    let tree = lineage(&["fct_results.total_pit_stops_per_race"]);
    let expected = "\
fct_results.total_pit_stops_per_race
  <- int_pit_stops.total_pit_stops_per_race
    <- stg_f1_pit_stops.driver_id
      <- source formula1.pit_stops.driverid
    <- stg_f1_pit_stops.race_id
      <- source formula1.pit_stops.raceid
    <- stg_f1_pit_stops.stop_number
      <- source formula1.pit_stops.stop
";
    assert!(tree.starts_with(expected), "{tree}");
}

/// The pit stop aggregate: `count` is `count(pit_stop_seconds)`, seconds being
/// `pit_stop_milliseconds / 1000.0`; a quartile interpolates stops ranked within each
/// constructor (`row_number() over (partition by constructor_name order by seconds)`), so
/// it also comes from the constructor; the 0.25 is a constant.
#[test]
fn the_pit_stop_aggregate_s_count_and_quartile_come_from_stop_times_and_the_constructor() {
    let count = lineage(&["fastest_pit_stops_by_constructor.count"]);
    let stop_times = "
  <- pit_stops_joined.pit_stop_milliseconds
    <- int_pit_stops.pit_stop_milliseconds
      <- stg_f1_pit_stops.pit_stop_milliseconds
        <- source formula1.pit_stops.milliseconds
";
    assert!(count.starts_with(&format!("fastest_pit_stops_by_constructor.count{stop_times}")), "{count}");
    // The issue's own example: the mean reaches the raw source column.
    let mean = lineage(&["fastest_pit_stops_by_constructor.mean"]);
    assert!(mean.starts_with(&format!("fastest_pit_stops_by_constructor.mean{stop_times}")), "{mean}");
    let quartile = lineage(&["fastest_pit_stops_by_constructor.25%"]);
    let constructor = "
  <- pit_stops_joined.constructor_name
    <- fct_results.constructor_name
      <- int_results.constructor_name
        <- stg_f1_constructors.constructor_name
          <- source formula1.constructors.name";
    let expected = format!("fastest_pit_stops_by_constructor.25%{constructor}{stop_times}");
    assert!(quartile.starts_with(&expected), "{quartile}");
}

/// The 5-year moving average: `avg(lap_time_seconds) over (order by race_year rows ...)`
/// of the yearly `avg(lap_time_milliseconds / 1000.0)`, grouped by race_year.
#[test]
fn the_lap_time_moving_average_comes_from_lap_times_and_the_year_it_is_ordered_by() {
    let tree = lineage(&["lap_times_moving_avg.lap_moving_avg_5_years"]);
    let expected = "\
lap_times_moving_avg.lap_moving_avg_5_years
  <- int_lap_times_years.lap_time_milliseconds
    <- stg_f1_lap_times.lap_time_milliseconds
      <- source formula1.lap_times.milliseconds
  <- int_lap_times_years.race_year
    <- stg_f1_races.race_year
      <- source formula1.races.year
Rows of lap_times_moving_avg are joined, filtered or grouped on: int_lap_times_years.race_year
";
    assert_eq!(tree, expected);
    // The yearly mean is grouped by the year, not computed from it.
    let yearly = lineage(&["lap_times_moving_avg.lap_time_seconds"]);
    let expected = "\
lap_times_moving_avg.lap_time_seconds
  <- int_lap_times_years.lap_time_milliseconds
    <- stg_f1_lap_times.lap_time_milliseconds
      <- source formula1.lap_times.milliseconds
Rows of lap_times_moving_avg are joined, filtered or grouped on: int_lap_times_years.race_year
";
    assert_eq!(yearly, expected);
}

/// Pit stop duration is only carried through: staging renames it, int_pit_stops and
/// pit_stops_joined select it, and no aggregate reads it (they use milliseconds).
#[test]
fn downstream_a_source_column_reaches_exactly_the_model_columns_computed_from_it() {
    let tree = lineage(&["formula1.pit_stops.duration", "--downstream"]);
    let expected = "\
source formula1.pit_stops.duration
  -> stg_f1_pit_stops.pit_stop_duration_seconds
    -> int_pit_stops.pit_stop_duration_seconds
      -> pit_stops_joined.pit_stop_duration_seconds
";
    assert_eq!(tree, expected);
}

/// The driver name feeds ml_data_prep's driver and its driver confidence (a window
/// partitioned by driver), then the label-encoded driver and the datasets the Rust
/// models read, which are named without column detail.
#[test]
fn downstream_a_results_column_reaches_the_ml_datasets_and_names_the_rust_models_reading_them() {
    let tree = lineage(&["fct_results.driver", "--downstream"]);
    for line in [
        "  -> ml_data_prep.driver\n",
        "    -> covariate_encoding.driver\n",
        "      -> train_test_dataset.driver\n",
        "  -> ml_data_prep.driver_confidence\n",
        "        -> train_test_position (a Rust model reading train_test_dataset; its column use is not traced)\n",
        "        -> predict_position (a Rust model reading hold_out_dataset_for_prediction; its column use is not traced)\n",
    ] {
        assert!(tree.contains(line), "no {line:?} in:\n{tree}");
    }
    assert!(!tree.contains("pit_stops_joined"), "{tree}");
}

#[test]
fn a_rust_model_s_column_is_reported_with_what_the_model_reads() {
    let tree = lineage(&["predict_position.position_predicted"]);
    assert_eq!(
        tree,
        "predict_position.position_predicted\n  computed in Rust from hold_out_dataset_for_prediction, \
         train_test_position: its column-level lineage is not traced\n"
    );
}

#[test]
fn an_unknown_column_or_model_fails_naming_it_and_its_near_candidates() {
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["lineage", "fct_results.drivr"]);
    assert!(!run.ok());
    assert!(run.stderr.contains("model 'fct_results' has no column 'drivr' (did you mean driver?)"), "{}", run.all());
    assert!(run.stderr.contains("its columns: result_id, race_id, race_year,"), "{}", run.all());
    let run = pitwall(target.path(), &["lineage", "fct_result.driver", "--downstream"]);
    assert!(!run.ok());
    assert!(
        run.stderr.contains("'fct_result' is not a model or source table of this project (did you mean fct_results")
    );
}
