//! Readiness: whether the database answers.

use diesel_async::AsyncPgConnection;

use crate::db::queries::health;
use crate::error::{Error, Result};

/// `GET /readyz`: 503 unless the database answers a query.
pub async fn ready(conn: &mut AsyncPgConnection) -> Result<()> {
    health::ping(conn)
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))
}
