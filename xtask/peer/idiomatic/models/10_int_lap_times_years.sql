-- Lap times with their race year; laps without a recorded time are dropped.
create table analytics.int_lap_times_years as
select
    lap_times.race_id,
    lap_times.driver_id,
    races.race_year,
    lap_times.lap,
    lap_times.lap_time_milliseconds
from analytics.stg_f1_lap_times as lap_times
left join analytics.stg_f1_races as races using (race_id)
where lap_times.lap_time_milliseconds is not null;
