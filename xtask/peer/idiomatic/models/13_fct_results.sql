-- One row per result with its circuit and the driver's pit stop count in that race;
-- pit stops are brought to the result grain first, so the join cannot fan out.
create table analytics.fct_results as
with pit_stops_per_race as (
    select
        race_id,
        driver_id,
        max(total_pit_stops_per_race) as total_pit_stops_per_race
    from analytics.int_pit_stops
    group by all
)

select
    results.result_id,
    results.race_id,
    results.race_year,
    results.race_round,
    results.circuit_id,
    results.circuit_name,
    circuits.circuit_ref,
    circuits.location,
    circuits.country,
    circuits.latitude,
    circuits.longitude,
    circuits.altitude,
    pit_stops_per_race.total_pit_stops_per_race,
    results.race_date,
    results.race_time,
    results.driver_id,
    results.driver,
    results.driver_number,
    results.drivers_age_years,
    results.driver_nationality,
    results.constructor_id,
    results.constructor_name,
    results.constructor_nationality,
    results.grid,
    results.position,
    results.position_text,
    results.position_order,
    results.points,
    results.laps,
    results.results_time_formatted,
    results.results_milliseconds,
    results.fastest_lap,
    results.results_rank,
    results.fastest_lap_time_formatted,
    results.fastest_lap_speed,
    results.status_id,
    results.status,
    results.dnf_flag
from analytics.int_results as results
left join analytics.stg_f1_circuits as circuits using (circuit_id)
left join pit_stops_per_race using (race_id, driver_id);
