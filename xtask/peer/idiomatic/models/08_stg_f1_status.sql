create table analytics.stg_f1_status as
select
    statusid as status_id,
    status
from raw.status;
