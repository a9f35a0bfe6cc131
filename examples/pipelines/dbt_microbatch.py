"""Runs the dbt microbatch model with its window pinned to incrlab's clock.

dbt takes `--event-time-end` only together with `--event-time-start`, so this passes the start
dbt itself computes from the model's `lookback` (its `build_start_time`: the end rounded up to
the batch, less lookback + 1 batches) — or, on the first run, the model's `begin`.
"""

import os
import subprocess
import sys
from datetime import datetime, timedelta

LOOKBACK = 1  # the model's `lookback`
BEGIN = "2025-12-31T23:00:00"  # the model's `begin`: one batch before time 0, as the built-in `interval+lookback1` reads on its first run


def main():
    now = datetime.fromisoformat(os.environ["INCRLAB_NOW"].replace("Z", "+00:00")).replace(tzinfo=None)
    end = now.replace(minute=0, second=0, microsecond=0)
    if end < now:
        end += timedelta(hours=1)
    first_run = not os.path.exists(os.environ["INCRLAB_TARGET"])
    start = BEGIN if first_run else (end - timedelta(hours=LOOKBACK + 1)).isoformat()
    project = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dbt_orders")
    work = os.getcwd()
    argv = [
        os.path.join(os.path.dirname(sys.executable), "dbt"),
        "run",
        "--select", "orders_microbatch",
        "--project-dir", project,
        "--profiles-dir", project,
        "--target-path", os.path.join(work, "dbt-target"),
        "--log-path", os.path.join(work, "dbt-logs"),
        "--event-time-start", start,
        "--event-time-end", now.isoformat(),
    ]
    sys.exit(subprocess.call(argv))


if __name__ == "__main__":
    main()
