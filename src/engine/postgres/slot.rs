//! `cdc` on a real logical replication slot (`test_decoding`).
//!
//! A read peeks every change the slot still holds, confirms (consumes) the transactions whose
//! changes all lie at or below the strategy's persisted position — the consumer confirms only
//! what it wrote and committed state for — and returns the changes past that position. So a
//! crash before the state commit replays exactly what PostgreSQL redelivers (at least once),
//! and a lagging persisted offset (`offset_flush_every`) replays more.
//!
//! A change's position is the `lsn` column of the row it wrote (the simulator's commit order,
//! which the player keeps). A decoded `DELETE` carries only the key (replica identity: the
//! primary key); its position and last values are those of the delete the player ran on that
//! key (a key is deleted at most once).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use postgres::Client;

use super::play::DeleteRow;
use super::read::{ReadRow, ReadRows};
use super::sql::TABLE;
use super::statements::pg_error;
use crate::error::{Error, Result};
use crate::row::EPOCH_US;

/// Creates a `test_decoding` slot (before any change it must see).
pub(super) fn create(client: &mut Client, slot: &str) -> Result<()> {
    client
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
            &[&slot],
        )
        .map_err(|e| pg_error(&format!("creating replication slot {slot}"), e))?;
    Ok(())
}

/// One decoded change of the source table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Decoded {
    pub op: String,
    /// `(column name, value as text)`, quotes removed.
    pub fields: Vec<(String, String)>,
}

/// What a read of the slot returned: the changes past the position, and how many changes
/// (and bytes of decoded text) the read decoded in all.
pub(super) struct SlotRead {
    pub rows: ReadRows,
    pub decoded_changes: u64,
    pub decoded_bytes: u64,
}

/// Confirms what lies at or below `after_lsn` and returns the changes past it.
pub(super) fn read_after(
    client: &mut Client,
    slot: &str,
    schema: &str,
    after_lsn: i64,
    deletes: &BTreeMap<i64, DeleteRow>,
) -> Result<SlotRead> {
    let what = || format!("reading replication slot {slot}");
    let decoded = client
        .query(
            "SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, NULL, NULL, 'skip-empty-xacts', '1')",
            &[&slot],
        )
        .map_err(|e| pg_error(&what(), e))?;
    let prefix = format!("table {schema}.{TABLE}: ");
    let mut rows = ReadRows::default();
    let mut decoded_changes = 0u64;
    let mut decoded_bytes = 0u64;
    // The commit position up to which every transaction lies at or below `after_lsn`.
    let mut confirm_upto: Option<String> = None;
    let mut confirmable = true;
    let mut in_tx_all_below = true;
    for row in &decoded {
        let wal_lsn: String = row.get(0);
        let data: String = row.get(1);
        if data.starts_with("BEGIN") {
            in_tx_all_below = true;
            continue;
        }
        if data.starts_with("COMMIT") {
            if confirmable && in_tx_all_below {
                confirm_upto = Some(wal_lsn);
            } else {
                confirmable = false;
            }
            continue;
        }
        let Some(change) = data.strip_prefix(&prefix) else {
            continue;
        };
        decoded_changes += 1;
        decoded_bytes += data.len() as u64;
        let change =
            parse(change).map_err(|e| Error::Postgres(format!("{}: {e}: {data}", what())))?;
        let row = row_of(&change, deletes)
            .map_err(|e| Error::Postgres(format!("{}: {e}: {data}", what())))?;
        // At or below the position: already consumed, not part of this read.
        if row.lsn > after_lsn {
            in_tx_all_below = false;
            rows.push(row);
        }
    }
    if let Some(upto) = confirm_upto {
        client
            .execute(
                &format!(
                    "SELECT count(*) FROM pg_logical_slot_get_changes($1, '{upto}'::pg_lsn, NULL, 'skip-empty-xacts', '1')"
                ),
                &[&slot],
            )
            .map_err(|e| pg_error(&format!("confirming slot {slot} up to {upto}"), e))?;
    }
    Ok(SlotRead {
        rows: rows.sort_by_lsn(),
        decoded_changes,
        decoded_bytes,
    })
}

/// One decoded change as a staged row; its `lsn` is its position.
fn row_of(
    change: &Decoded,
    deletes: &BTreeMap<i64, DeleteRow>,
) -> std::result::Result<ReadRow, String> {
    let field = |name: &str| -> std::result::Result<&str, String> {
        change
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("no {name} in the decoded change"))
    };
    let int = |name: &str| -> std::result::Result<i64, String> {
        field(name)?
            .parse()
            .map_err(|e| format!("{name} is not an integer: {e}"))
    };
    let time = |name: &str| -> std::result::Result<i64, String> { timestamp_us(field(name)?) };
    let id = int("id")?;
    match change.op.as_str() {
        "INSERT" | "UPDATE" => Ok(ReadRow {
            id,
            lsn: int("lsn")?,
            updated_at: time("updated_at")?,
            writer: int("writer")? as i32,
            value: int("value")?,
            event_time: time("event_time")?,
            gone: match field("is_deleted")? {
                "true" => true,
                "false" => false,
                other => return Err(format!("is_deleted is not a boolean: {other}")),
            },
        }),
        "DELETE" => {
            let d = deletes
                .get(&id)
                .ok_or_else(|| format!("a delete of id {id}, which the player never deleted"))?;
            Ok(ReadRow {
                id,
                lsn: d.lsn,
                updated_at: d.updated_at_us,
                writer: d.writer,
                value: d.value,
                event_time: d.event_time_us,
                gone: true,
            })
        }
        other => Err(format!("unknown operation {other}")),
    }
}

/// A `timestamptz` as `test_decoding` prints it in a UTC session
/// (`2026-01-01 00:00:01.5+00`), in simulated microseconds.
pub(super) fn timestamp_us(text: &str) -> std::result::Result<i64, String> {
    let naive = text
        .strip_suffix("+00")
        .ok_or_else(|| format!("timestamp {text} is not in UTC"))?;
    let t = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|e| format!("timestamp {text}: {e}"))?;
    Ok(t.and_utc().timestamp_micros() - EPOCH_US)
}

/// Parses `test_decoding`'s text for one change, after the table prefix:
/// `INSERT: id[bigint]:1 updated_at[timestamp with time zone]:'2026-…+00' …`.
pub(super) fn parse(text: &str) -> std::result::Result<Decoded, String> {
    let (op, mut rest) = text
        .split_once(": ")
        .ok_or_else(|| "no operation".to_string())?;
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let open = rest.find('[').ok_or("a field without a type")?;
        let name = rest[..open].to_string();
        let close = rest[open..]
            .find("]:")
            .ok_or("a field type without its end")?
            + open;
        rest = &rest[close + 2..];
        let value;
        if let Some(quoted) = rest.strip_prefix('\'') {
            // A quoted value ends at a quote not doubled.
            let mut out = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((k, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().map(|&(_, n)| n) == Some('\'') {
                        out.push('\'');
                        chars.next();
                    } else {
                        end = Some(k);
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            let end = end.ok_or("an unterminated quoted value")?;
            value = out;
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_string();
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(' ').unwrap_or(rest);
        fields.push((name, value));
    }
    Ok(Decoded {
        op: op.to_string(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoded_update_gives_every_column_with_quoted_timestamps() {
        let d = parse("UPDATE: id[bigint]:7 lsn[bigint]:12 updated_at[timestamp with time zone]:'2026-01-01 00:00:01.5+00' writer[integer]:-2 value[bigint]:5 event_time[timestamp with time zone]:'2025-12-31 23:00:00+00' is_deleted[boolean]:false").unwrap();
        assert_eq!(d.op, "UPDATE");
        let names: Vec<&str> = d.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "lsn",
                "updated_at",
                "writer",
                "value",
                "event_time",
                "is_deleted"
            ]
        );
        assert_eq!(d.fields[2].1, "2026-01-01 00:00:01.5+00");
        assert_eq!(d.fields[3].1, "-2");
        assert_eq!(timestamp_us(&d.fields[2].1), Ok(1_500_000));
        assert_eq!(timestamp_us(&d.fields[5].1), Ok(-3_600_000_000));
    }

    #[test]
    fn a_decoded_delete_has_only_its_key_and_quotes_may_be_doubled() {
        let d = parse("DELETE: id[bigint]:5").unwrap();
        assert_eq!(d.fields, [("id".to_string(), "5".to_string())]);
        let q = parse("INSERT: t[text]:'it''s' n[bigint]:1").unwrap();
        assert_eq!(q.fields[0].1, "it's");
        assert_eq!(q.fields[1].1, "1");
    }

    #[test]
    fn a_timestamp_outside_utc_is_refused() {
        assert!(timestamp_us("2026-01-01 01:00:00+01").is_err());
    }
}
