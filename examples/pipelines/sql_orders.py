"""A plain SQL pipeline over the released source: an id watermark, a merge (or an append) into
its target, and points announced so incrlab can kill it at each of them.

    --state target       the watermark lives in the target, committed with the data (safe)
    --state file-after   the watermark is a JSON file in $INCRLAB_STATE_DIR, saved after the write
    --state file-before  ... saved before the write: the classic bug
    --write merge|append how the batch lands (append duplicates whatever a rerun reads again)
    --points stderr|fifo where points are announced: stderr, or the fifo in $INCRLAB_POINTS
"""

import argparse
import json
import os
import sys

import duckdb


POINTS_FIFO = None


def point(name):
    """Announce a point of the run; incrlab answers `continue` or kills us right here."""
    if POINTS_FIFO is not None:
        POINTS_FIFO.write(f"INCRLAB_POINT {name}\n")
        POINTS_FIFO.flush()
    else:
        print(f"INCRLAB_POINT {name}", file=sys.stderr, flush=True)
    if os.environ.get("INCRLAB_POINT_REPLY") == "stdin":
        sys.stdin.readline()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", choices=["target", "file-after", "file-before"], default="target")
    parser.add_argument("--write", choices=["merge", "append"], default="merge")
    parser.add_argument("--points", choices=["stderr", "fifo"], default="stderr")
    args = parser.parse_args()
    if args.points == "fifo":
        global POINTS_FIFO
        POINTS_FIFO = open(os.environ["INCRLAB_POINTS"], "w")

    state_file = os.path.join(os.environ["INCRLAB_STATE_DIR"], "watermark.json")
    con = duckdb.connect(os.environ["INCRLAB_TARGET"])
    con.execute("ATTACH ? AS src (READ_ONLY)", [os.environ["INCRLAB_SOURCE"]])
    con.execute(
        """CREATE TABLE IF NOT EXISTS orders (id BIGINT, value BIGINT, updated_at TIMESTAMPTZ,
               event_time TIMESTAMPTZ, version BIGINT)"""
    )
    con.execute("CREATE TABLE IF NOT EXISTS watermark (max_id BIGINT)")

    if args.state == "target":
        row = con.execute("SELECT max(max_id) FROM watermark").fetchone()
        watermark = row[0] if row[0] is not None else 0
    elif os.path.exists(state_file):
        with open(state_file) as f:
            watermark = json.load(f)["max_id"]
    else:
        watermark = 0

    def save_file(max_id):
        tmp = state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"max_id": max_id}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, state_file)

    point("before_read")
    con.execute(
        """CREATE TEMP TABLE batch AS
           SELECT id, value, updated_at, event_time, version FROM src.orders
           WHERE id > ? AND NOT is_deleted""",
        [watermark],
    )
    new_watermark = con.execute("SELECT coalesce(max(id), ?) FROM batch", [watermark]).fetchone()[0]
    point("after_read")

    if args.state == "file-before":
        save_file(new_watermark)
        point("after_state_commit")

    con.execute("BEGIN")
    if args.write == "merge":
        con.execute("DELETE FROM orders WHERE id IN (SELECT id FROM batch)")
    con.execute("INSERT INTO orders SELECT * FROM batch")
    if args.state == "target":
        con.execute("DELETE FROM watermark")
        con.execute("INSERT INTO watermark VALUES (?)", [new_watermark])
    con.execute("COMMIT")
    point("after_write")

    if args.state == "file-after":
        save_file(new_watermark)
        point("after_state_commit")
    con.close()


if __name__ == "__main__":
    main()
