-- Pit stops, each with the number of stops its driver made in that race.
create table analytics.int_pit_stops as
select
    *,
    max(stop_number) over (partition by race_id, driver_id) as total_pit_stops_per_race
from analytics.stg_f1_pit_stops;
