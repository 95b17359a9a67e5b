-- One row per pit stop (or per result without pit stops), with race year and constructor.
with base_results as (
    select * from {{ ref('fct_results') }}
),

pit_stops as (
    select * from {{ ref('int_pit_stops') }}
)

select
    base_results.race_id,
    base_results.race_year,
    base_results.driver_id,
    base_results.constructor_id,
    base_results.constructor_name,
    pit_stops.stop_number,
    pit_stops.lap,
    pit_stops.lap_time_formatted,
    pit_stops.pit_stop_duration_seconds,
    pit_stops.pit_stop_milliseconds
from base_results
left join pit_stops
    on base_results.race_id = pit_stops.race_id
    and base_results.driver_id = pit_stops.driver_id
