-- A microbatch model: each run replaces the batches (hours of event_time) from `lookback`
-- batches back up to the run's time, which incrlab pins with --event-time-end.
{{ config(
    materialized='incremental',
    incremental_strategy='microbatch',
    event_time='event_time',
    batch_size='hour',
    lookback=1,
    begin='2025-12-31T23:00:00',
    concurrent_batches=false,
) }}

select id, value, updated_at, event_time, version
from {{ source('src', 'orders') }}
where not is_deleted
