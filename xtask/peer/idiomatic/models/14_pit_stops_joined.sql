-- One row per pit stop (or per result without pit stops), with race year and constructor.
create table analytics.pit_stops_joined as
select
    results.race_id,
    results.race_year,
    results.driver_id,
    results.constructor_id,
    results.constructor_name,
    pit_stops.stop_number,
    pit_stops.lap,
    pit_stops.lap_time_formatted,
    pit_stops.pit_stop_duration_seconds,
    pit_stops.pit_stop_milliseconds
from analytics.fct_results as results
left join analytics.int_pit_stops as pit_stops using (race_id, driver_id);
