-- Are lap times trending up or down? The mean lap time per race year and its 5-year
-- rolling mean (pandas' rolling(5): NULL until five years are in the window), both
-- rounded to 1 decimal as numpy rounds.
with yearly as (
    select
        race_year,
        avg(lap_time_milliseconds / 1000.0) as lap_time_seconds
    from {{ ref('int_lap_times_years') }}
    -- pandas' groupby drops a NULL key
    where race_year is not null
    group by race_year
)

select
    race_year,
    round_half_even(lap_time_seconds, 1) as lap_time_seconds,
    round_half_even(
        case
            when count(lap_time_seconds) over (order by race_year rows between 4 preceding and current row) = 5
                then avg(lap_time_seconds) over (order by race_year rows between 4 preceding and current row)
        end,
        1
    ) as lap_moving_avg_5_years
from yearly
order by race_year
