-- Pit stops, each with the number of stops its driver made in that race.
select
    race_id,
    driver_id,
    stop_number,
    lap,
    lap_time_formatted,
    pit_stop_duration_seconds,
    pit_stop_milliseconds,
    max(stop_number) over (partition by race_id, driver_id) as total_pit_stops_per_race
from {{ ref('stg_f1_pit_stops') }}
