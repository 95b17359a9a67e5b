-- ML data prep: one row per 2010-2020 result, cleaned for machine learning the way
-- the workshop's pandas model does it, with two confidence features and flags for the
-- drivers and constructors active in 2020.
--
-- Row order: result_id is kept and the output is sorted by it. The train/test split
-- downstream consumes rows in this order (pandas kept fct_results' order), and
-- train_test_position sorts by result_id again rather than trusting storage order.
--
-- Types follow the workshop's pandas frame: position is cast to float on purpose, and
-- the integer columns that pandas holds as float (because fct_results has NULLs in
-- them) are floats here too; race_date stays a date.

with

-- Constructors that changed their name, old name -> the 2020 name (the workshop's mapping).
constructor_renames (old_name, new_name) as (
    values
        ('Force India', 'Racing Point'),
        ('Sauber', 'Alfa Romeo'),
        ('Lotus F1', 'Renault'),
        ('Toro Rosso', 'AlphaTauri')
),

-- The workshop's lists of constructors and drivers active in 2020.
active_constructors (constructor_name) as (
    values
        ('Renault'), ('Williams'), ('McLaren'), ('Ferrari'), ('Mercedes'),
        ('AlphaTauri'), ('Racing Point'), ('Alfa Romeo'), ('Red Bull'),
        ('Haas F1 Team')
),

active_drivers (driver) as (
    values
        ('Daniel Ricciardo'), ('Kevin Magnussen'), ('Carlos Sainz'),
        ('Valtteri Bottas'), ('Lance Stroll'), ('George Russell'),
        ('Lando Norris'), ('Sebastian Vettel'), ('Kimi Räikkönen'),
        ('Charles Leclerc'), ('Lewis Hamilton'), ('Daniil Kvyat'),
        ('Max Verstappen'), ('Pierre Gasly'), ('Alexander Albon'),
        ('Sergio Pérez'), ('Esteban Ocon'), ('Antonio Giovinazzi'),
        ('Romain Grosjean'), ('Nicholas Latifi')
),

results as (
    select
        fct_results.*,
        coalesce(constructor_renames.new_name, fct_results.constructor_name) as current_constructor_name
    from {{ ref('fct_results') }} as fct_results
    left join constructor_renames
        on fct_results.constructor_name = constructor_renames.old_name
    where fct_results.race_year between 2010 and 2020
),

-- 1 - dnf / entries, per driver name and per (renamed) constructor, over 2010-2020.
confidence as (
    select
        *,
        1.0 - cast(sum(dnf_flag) over (partition by driver) as double)
            / cast(count(dnf_flag) over (partition by driver) as double) as driver_confidence,
        1.0 - cast(sum(dnf_flag) over (partition by current_constructor_name) as double)
            / cast(count(dnf_flag) over (partition by current_constructor_name) as double) as constructor_relaiblity
    from results
)

select
    confidence.result_id,
    confidence.race_id,
    confidence.race_year,
    confidence.race_round,
    confidence.circuit_id,
    confidence.circuit_name,
    confidence.circuit_ref,
    confidence.location,
    confidence.country,
    confidence.latitude,
    confidence.longitude,
    cast(confidence.altitude as double) as altitude,
    coalesce(cast(confidence.total_pit_stops_per_race as double), 0.0) as total_pit_stops_per_race,
    confidence.race_date,
    confidence.race_time,
    confidence.driver_id,
    confidence.driver,
    cast(confidence.driver_number as double) as driver_number,
    confidence.drivers_age_years,
    confidence.driver_nationality,
    confidence.constructor_id,
    confidence.current_constructor_name as constructor_name,
    confidence.constructor_nationality,
    confidence.grid,
    cast(confidence.position as double) as position,
    confidence.position_text,
    confidence.position_order,
    confidence.points,
    confidence.laps,
    confidence.results_time_formatted,
    cast(confidence.results_milliseconds as double) as results_milliseconds,
    cast(confidence.fastest_lap as double) as fastest_lap,
    cast(confidence.results_rank as double) as results_rank,
    confidence.fastest_lap_time_formatted,
    confidence.fastest_lap_speed,
    confidence.status_id,
    confidence.status,
    confidence.dnf_flag,
    confidence.driver_confidence,
    confidence.constructor_relaiblity,
    case when active_drivers.driver is null then 0 else 1 end as active_driver,
    case when active_constructors.constructor_name is null then 0 else 1 end as active_constructor
from confidence
left join active_drivers
    on confidence.driver = active_drivers.driver
left join active_constructors
    on confidence.current_constructor_name = active_constructors.constructor_name
order by confidence.result_id
