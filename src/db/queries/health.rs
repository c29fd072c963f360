//! Whether the database answers.

use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A round trip to the database.
pub async fn ping(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT 1")
        .execute(conn)
        .await
        .map(|_| ())
}
