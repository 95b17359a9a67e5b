{{ config(tags=['train']) }}
-- The 2010-2019 rows the model is trained and tested on (tag: train).
select *
from {{ ref('covariate_encoding') }}
where race_year between 2010 and 2019
order by result_id
