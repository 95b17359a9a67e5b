-- Which constructor had the fastest pit stops in 2021: the workshop's pandas describe()
-- (count, mean, std, min, quartiles, max) as DuckDB's aggregates, the quartiles by
-- quantile_cont (linear interpolation, as pandas), sorted by mean, rounded to 2 decimals
-- by round() (half away from zero; pandas rounds half to even).
create table analytics.fastest_pit_stops_by_constructor as
with stops as (
    select
        constructor_name,
        pit_stop_milliseconds / 1000 as pit_stop_seconds
    from analytics.pit_stops_joined
    where race_year = 2021
)

select
    constructor_name,
    count(pit_stop_seconds)::double as count,
    round(avg(pit_stop_seconds), 2) as mean,
    round(stddev_samp(pit_stop_seconds), 2) as std,
    round(min(pit_stop_seconds), 2) as min,
    round(quantile_cont(pit_stop_seconds, 0.25), 2) as "25%",
    round(quantile_cont(pit_stop_seconds, 0.5), 2) as "50%",
    round(quantile_cont(pit_stop_seconds, 0.75), 2) as "75%",
    round(max(pit_stop_seconds), 2) as max
from stops
group by all
order by avg(pit_stop_seconds);
