select
    constructorid as constructor_id,
    constructorref as constructor_ref,
    name as constructor_name,
    nationality as constructor_nationality
from {{ source('formula1', 'constructors') }}
