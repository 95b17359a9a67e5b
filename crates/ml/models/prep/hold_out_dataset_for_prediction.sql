{{ config(tags=['predict']) }}
-- The 2020 rows held out to predict on, as a deployment would (tag: predict).
select *
from {{ ref('covariate_encoding') }}
where race_year = 2020
order by result_id
