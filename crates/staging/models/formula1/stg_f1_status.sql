select
    statusid as status_id,
    status
from {{ source('formula1', 'status') }}
