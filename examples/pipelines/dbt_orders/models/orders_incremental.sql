-- The common incremental model: unique_key on id, and the filter most projects start with.
{{ config(materialized='incremental', unique_key='id') }}

select id, value, updated_at, event_time, version
from {{ source('src', 'orders') }}
where not is_deleted
{% if is_incremental() %}
  and updated_at > (select max(updated_at) from {{ this }})
{% endif %}
