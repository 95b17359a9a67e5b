create table analytics.stg_f1_constructors as
select
    constructorid as constructor_id,
    constructorref as constructor_ref,
    name as constructor_name,
    nationality as constructor_nationality
from raw.constructors;
