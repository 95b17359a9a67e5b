create table analytics.stg_f1_circuits as
select
    circuitid as circuit_id,
    circuitref as circuit_ref,
    name as circuit_name,
    location,
    country,
    lat as latitude,
    lng as longitude,
    alt as altitude
from raw.circuits;
