-- Results with their race, driver, constructor and status joined out. DuckDB's
-- datediff('year', ...) counts calendar-year boundaries crossed, as Snowflake's does.
create table analytics.int_results as
select
    results.result_id,
    results.race_id,
    races.race_year,
    races.race_round,
    races.circuit_id,
    races.circuit_name,
    races.race_date,
    races.race_time,
    results.driver_id,
    results.driver_number,
    drivers.forename || ' ' || drivers.surname as driver,
    datediff('year', drivers.date_of_birth, races.race_date) as drivers_age_years,
    drivers.driver_nationality,
    results.constructor_id,
    constructors.constructor_name,
    constructors.constructor_nationality,
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
    status.status,
    (results.position is null)::int as dnf_flag
from analytics.stg_f1_results as results
left join analytics.stg_f1_races as races using (race_id)
left join analytics.stg_f1_drivers as drivers using (driver_id)
left join analytics.stg_f1_constructors as constructors using (constructor_id)
left join analytics.stg_f1_status as status using (status_id);
