-- The mean lap time per race year and its 5-year rolling mean, NULL until five years
-- are in the window (as pandas' rolling(5)), rounded to 1 decimal by DuckDB's round().
create table analytics.lap_times_moving_avg as
with yearly as (
    select
        race_year,
        avg(lap_time_milliseconds / 1000) as lap_time_seconds
    from analytics.int_lap_times_years
    where race_year is not null
    group by all
)

select
    race_year,
    round(lap_time_seconds, 1) as lap_time_seconds,
    if(count(*) over five_years = 5, round(avg(lap_time_seconds) over five_years, 1), null)
        as lap_moving_avg_5_years
from yearly
window five_years as (order by race_year rows between 4 preceding and current row)
order by race_year;
