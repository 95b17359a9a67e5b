-- Covariate encoding: the 11 covariates of drivers and constructors active in 2020,
-- categorical ones label-encoded, and position simplified to three classes.
--
-- Label encoding is scikit-learn's LabelEncoder fitted on this filtered set: a value's
-- code is its 0-based rank among the sorted distinct values (dense_rank - 1). Strings
-- sort by byte order, as numpy sorts them (code point order = UTF-8 byte order), and
-- total_pit_stops_per_race sorts as the float it is.
--
-- position_label: 1 = podium (position < 4), 3 = no points (position > 10), otherwise
-- 2; a NULL position (did not finish) falls in "otherwise", as in the workshop.
--
-- result_id is carried as an extra column: it is the row key, and the order the
-- train/test split consumes rows in.

with covariates as (
    select
        result_id,
        race_year,
        circuit_name,
        grid,
        constructor_name,
        driver,
        drivers_age_years,
        driver_confidence,
        constructor_relaiblity,
        total_pit_stops_per_race,
        position
    from {{ ref('ml_data_prep') }}
    where active_driver = 1 and active_constructor = 1
)

select
    result_id,
    race_year,
    cast(dense_rank() over (order by circuit_name) - 1 as bigint) as circuit_name,
    grid,
    cast(dense_rank() over (order by constructor_name) - 1 as bigint) as constructor_name,
    cast(dense_rank() over (order by driver) - 1 as bigint) as driver,
    drivers_age_years,
    driver_confidence,
    constructor_relaiblity,
    cast(dense_rank() over (order by total_pit_stops_per_race) - 1 as bigint) as total_pit_stops_per_race,
    case
        when position < 4 then 1
        when position > 10 then 3
        else 2
    end as position_label
from covariates
order by result_id
