create table analytics.stg_f1_drivers as
select
    driverid as driver_id,
    driverref as driver_ref,
    number as driver_number,
    code as driver_code,
    forename,
    surname,
    dob as date_of_birth,
    nationality as driver_nationality
from raw.drivers;
