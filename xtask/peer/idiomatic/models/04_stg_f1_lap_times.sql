create table analytics.stg_f1_lap_times as
select
    raceid as race_id,
    driverid as driver_id,
    lap,
    position,
    time as lap_time_formatted,
    milliseconds as lap_time_milliseconds
from raw.lap_times;
