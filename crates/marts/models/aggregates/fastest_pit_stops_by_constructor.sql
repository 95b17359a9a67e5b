-- Which constructor had the fastest pit stops in 2021? The workshop answers with pandas'
-- describe() of pit stop seconds per constructor, and so does this model, exactly:
-- count (of non-null seconds), mean, sample std (n - 1), min, the quartiles by linear
-- interpolation (numpy's formula), max; sorted by mean; every value rounded to 2
-- decimals as numpy rounds (half to even on the binary double).
with stops as (
    select
        constructor_name,
        pit_stop_milliseconds / 1000.0 as pit_stop_seconds
    from {{ ref('pit_stops_joined') }}
    where race_year = 2021
),

summary as (
    select
        constructor_name,
        count(pit_stop_seconds) as n,
        avg(pit_stop_seconds) as mean_seconds,
        stddev_samp(pit_stop_seconds) as std_seconds,
        min(pit_stop_seconds) as min_seconds,
        max(pit_stop_seconds) as max_seconds
    from stops
    group by constructor_name
),

-- Each constructor's non-null stops in order, 0-based.
ranked as (
    select
        constructor_name,
        pit_stop_seconds,
        row_number() over (partition by constructor_name order by pit_stop_seconds) - 1 as idx,
        count(*) over (partition by constructor_name) as n
    from stops
    where pit_stop_seconds is not null
),

-- Quantile q sits at h = q * (n - 1), between the stops at floor(h) and ceil(h).
quantile_points as (
    select
        counts.constructor_name,
        quantiles.q,
        quantiles.q * (counts.n - 1) as h
    from (select distinct constructor_name, n from ranked) as counts
    -- Selects, not VALUES: Ballista 55 hangs on a join over a cross join with VALUES.
    cross join (select 0.25 as q union all select 0.5 union all select 0.75) as quantiles
),

quantile_bounds as (
    select
        p.constructor_name,
        p.q,
        max(case when r.idx = floor(p.h) then r.pit_stop_seconds end) as a,
        max(case when r.idx = ceil(p.h) then r.pit_stop_seconds end) as b,
        max(p.h - floor(p.h)) as t
    from quantile_points as p
    inner join ranked as r
        on r.constructor_name = p.constructor_name
    group by p.constructor_name, p.q
),

-- numpy's lerp, which interpolates from the nearer end for stability.
quantiles as (
    select
        constructor_name,
        q,
        case when t >= 0.5 then b - (b - a) * (1 - t) else a + (b - a) * t end as value
    from quantile_bounds
)

select
    summary.constructor_name,
    round_half_even(cast(summary.n as double), 2) as count,
    round_half_even(summary.mean_seconds, 2) as mean,
    round_half_even(summary.std_seconds, 2) as std,
    round_half_even(summary.min_seconds, 2) as min,
    round_half_even(max(case when quantiles.q = 0.25 then quantiles.value end), 2) as "25%",
    round_half_even(max(case when quantiles.q = 0.5 then quantiles.value end), 2) as "50%",
    round_half_even(max(case when quantiles.q = 0.75 then quantiles.value end), 2) as "75%",
    round_half_even(summary.max_seconds, 2) as max
from summary
left join quantiles
    on quantiles.constructor_name = summary.constructor_name
group by
    summary.constructor_name, summary.n, summary.mean_seconds, summary.std_seconds,
    summary.min_seconds, summary.max_seconds
order by summary.mean_seconds
