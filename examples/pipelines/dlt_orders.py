"""A dlt pipeline as its docs show it: a resource with `dlt.sources.incremental("updated_at")`,
merged on `id` into DuckDB. The resource reads the rows at or above the cursor's last value
(lag-adjusted) from the released source; dlt itself keeps the cursor, and the keys seen at it,
in its pipeline state under $INCRLAB_STATE_DIR.

    ORDERS_LAG_SECONDS   dlt's `lag` (a lookback window on the cursor); unset: no lag
"""

import os
from datetime import datetime, timezone

import dlt
import duckdb

LAG = float(os.environ.get("ORDERS_LAG_SECONDS", "0")) or None


@dlt.resource(name="orders", primary_key="id", write_disposition="merge")
def orders(
    updated_at=dlt.sources.incremental(
        "updated_at",
        initial_value=datetime(1970, 1, 1, tzinfo=timezone.utc),
        lag=LAG,
    ),
):
    con = duckdb.connect(os.environ["INCRLAB_SOURCE"], read_only=True)
    try:
        yield con.sql(
            """SELECT id, value, updated_at, event_time, is_deleted, version
               FROM orders WHERE updated_at >= $1 ORDER BY updated_at, id""",
            params=[updated_at.last_value],
        ).to_arrow_table()
    finally:
        con.close()


def main():
    pipeline = dlt.pipeline(
        pipeline_name="orders",
        destination=dlt.destinations.duckdb(os.environ["INCRLAB_TARGET"]),
        dataset_name="orders_dataset",
        pipelines_dir=os.environ["INCRLAB_STATE_DIR"],
    )
    pipeline.run(orders())


if __name__ == "__main__":
    main()
