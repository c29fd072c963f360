//! Query functions: they take a connection and return `QueryResult<T>`; the service layer
//! owns the transaction around them. Scope lives in [`scope`], once for every read path.

pub mod attachments;
pub mod audit;
pub mod campaigns;
pub mod deadlines;
pub mod duty;
pub mod health;
pub mod helpers;
pub mod idempotency;
pub mod ledger;
pub mod login_limits;
pub mod needs;
pub mod notifications;
pub mod org;
pub mod org_units;
pub mod organizations;
pub mod persons;
pub mod places;
pub mod reports;
pub mod roster;
pub mod scope;
pub mod sessions;
pub mod sla;
pub mod tokens;
pub mod users;
pub mod volunteers;
pub mod webhooks;

use diesel::query_builder::InsertStatement;
use diesel::{Insertable, QueryResult, Table};
use diesel_async::methods::ExecuteDsl;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Rows per multi-row insert or lookup (a person, the widest row, binds 25 values: well under
/// PostgreSQL's 65535 a statement).
pub const CHUNK: usize = 1000;

/// Inserts `rows` into `table`, [`CHUNK`] rows a statement. Callers name `T` and `R`
/// (`insert_chunked::<persons::table, NewPersonRow>`): left to inference, diesel's blanket
/// `Insertable` impls overflow the trait solver.
pub async fn insert_chunked<T, R>(
    conn: &mut AsyncPgConnection,
    table: T,
    rows: &[R],
) -> QueryResult<()>
where
    T: Table + Copy + Send,
    R: Sync,
    for<'a> &'a [R]: Insertable<T>,
    for<'a> InsertStatement<T, <&'a [R] as Insertable<T>>::Values>:
        ExecuteDsl<AsyncPgConnection> + Send,
{
    for chunk in rows.chunks(CHUNK) {
        diesel::insert_into(table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A LIKE pattern matching values that contain `text` literally (its `%`, `_` and `\\` escaped).
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
