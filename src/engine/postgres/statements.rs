//! What the player sends PostgreSQL: changes applied in bulk (a binary `COPY` into a
//! staging table, then set-based statements layer by layer), one change as its own
//! statement, history rows as parameters, and PostgreSQL's errors with context.

use std::collections::BTreeMap;
use std::time::SystemTime;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::Client;

use super::play::system_time;
use super::sql::{self, TABLE};
use crate::error::{Error, Result};
use crate::row::Column;
use crate::sim::{History, Op};

/// Applies `rows` (lsn order) inside the transaction open on `client`: copied into the
/// session's staging table, then applied layer by layer (a key's first change among them, its
/// second, …), each layer one set-based DELETE and one upsert, so every version is written —
/// and decoded — in turn.
pub(super) fn apply_rows(
    client: &mut Client,
    schema: &str,
    history: &History,
    rows: &[usize],
) -> Result<()> {
    let mut seen: BTreeMap<i64, i32> = BTreeMap::new();
    let layers: Vec<i32> = rows
        .iter()
        .map(|&i| {
            let n = seen.entry(history.id[i]).or_insert(0);
            *n += 1;
            *n
        })
        .collect();
    let max_layer = layers.iter().copied().max().unwrap_or(0);
    client
        .batch_execute(&format!("{}; TRUNCATE incoming;", sql::incoming_table()))
        .map_err(|e| pg_error("preparing the staging table", e))?;
    let copy = format!(
        "COPY incoming (layer, op, {}) FROM STDIN (FORMAT binary)",
        sql::column_list()
    );
    let writer = client
        .copy_in(&copy)
        .map_err(|e| pg_error("starting the staging COPY", e))?;
    let mut types = vec![Type::INT4, Type::INT2];
    types.extend(source_types());
    let mut writer = BinaryCopyInWriter::new(writer, &types);
    for (&i, layer) in rows.iter().zip(&layers) {
        let row = RowParams::of(history, i);
        let op = history.op[i] as u8 as i16;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![layer, &op];
        params.extend(row.params());
        writer
            .write(&params)
            .map_err(|e| pg_error("copying changes into the staging table", e))?;
    }
    writer
        .finish()
        .map_err(|e| pg_error("finishing the staging COPY", e))?;
    let delete = Op::Delete as u8 as i16;
    let columns = sql::column_list();
    let updates: Vec<String> = sql::pg_row()[1..]
        .iter()
        .map(|c| format!("{0} = EXCLUDED.{0}", c.name()))
        .collect();
    for layer in 1..=max_layer {
        client
            .batch_execute(&format!(
                "DELETE FROM {schema}.{TABLE} o USING incoming i
                   WHERE i.layer = {layer} AND i.op = {delete} AND o.id = i.id;
                 INSERT INTO {schema}.{TABLE} ({columns})
                   SELECT {columns} FROM incoming WHERE layer = {layer} AND op <> {delete}
                   ORDER BY lsn
                 ON CONFLICT (id) DO UPDATE SET {};",
                updates.join(", ")
            ))
            .map_err(|e| pg_error(&format!("applying layer {layer} of a bulk apply"), e))?;
    }
    Ok(())
}

/// The binary COPY types of the source row's columns.
pub(super) fn source_types() -> Vec<Type> {
    sql::pg_row()
        .into_iter()
        .map(|c| match sql::pg_type(c) {
            "timestamptz" => Type::TIMESTAMPTZ,
            "integer" => Type::INT4,
            "boolean" => Type::BOOL,
            _ => Type::INT8,
        })
        .collect()
}

/// One history row as statement parameters, in `sql::pg_row` order.
pub(super) struct RowParams {
    /// id, lsn, value.
    ints: [i64; 3],
    times: [SystemTime; 2],
    writer: i32,
    is_deleted: bool,
}

impl RowParams {
    pub(super) fn of(history: &History, i: usize) -> RowParams {
        RowParams {
            ints: [history.id[i], history.lsn(i), history.value[i]],
            times: [
                system_time(history.updated_at_us[i]),
                system_time(history.event_time_us[i]),
            ],
            writer: history.writer[i] as i32,
            is_deleted: history.is_deleted[i],
        }
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        sql::pg_row()
            .into_iter()
            .map(|c| -> &(dyn ToSql + Sync) {
                match c {
                    Column::Id => &self.ints[0],
                    Column::Lsn => &self.ints[1],
                    Column::Value => &self.ints[2],
                    Column::UpdatedAt => &self.times[0],
                    Column::EventTime => &self.times[1],
                    Column::Writer => &self.writer,
                    Column::IsDeleted => &self.is_deleted,
                    Column::Xid => unreachable!("PostgreSQL keeps the xid itself"),
                }
            })
            .collect()
    }
}

/// One change as its own statement, on an open transaction's connection.
pub(super) fn run_statement(
    client: &mut Client,
    schema: &str,
    history: &History,
    i: usize,
) -> Result<()> {
    let row = RowParams::of(history, i);
    let params = row.params();
    let id = history.id[i];
    let (sql, what) = match history.op[i] {
        Op::Insert => (
            format!(
                "INSERT INTO {schema}.{TABLE} ({}) VALUES ({})",
                sql::column_list(),
                (1..=sql::pg_row().len())
                    .map(|k| format!("${k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "inserting",
        ),
        Op::Update => (
            format!(
                "UPDATE {schema}.{TABLE} SET {} WHERE id = $1",
                sql::pg_row()
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(k, c)| format!("{} = ${}", c.name(), k + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "updating",
        ),
        Op::Delete => (
            format!("DELETE FROM {schema}.{TABLE} WHERE id = $1"),
            "deleting",
        ),
    };
    let params: &[&(dyn ToSql + Sync)] = match history.op[i] {
        Op::Delete => &params[..1],
        _ => &params,
    };
    let changed = client
        .execute(&sql, params)
        .map_err(|e| pg_error(&format!("{what} id {id} (lsn {})", history.lsn(i)), e))?;
    if changed != 1 {
        return Err(Error::Postgres(format!(
            "{what} id {id} (lsn {}) changed {changed} rows, not 1: the source does not hold what the simulator holds",
            history.lsn(i)
        )));
    }
    Ok(())
}

/// A PostgreSQL error with what incrlab was doing, and the server's own message when it sent
/// one (the client's text alone says only "db error").
pub(super) fn pg_error(what: &str, e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::Postgres(format!("{what}: {} ({})", db.message(), db.code().code())),
        None => Error::Postgres(format!("{what}: {e}")),
    }
}
