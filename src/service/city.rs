//! The city as a tenant: rows of the city-wide resources (SLA policies, the roster, campaigns,
//! the ledger) belong to one city, and a caller of another city sees none of them.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::queries::org_units;
use crate::domain::caller::Caller;
use crate::error::{Error, Result};

/// 404 unless the city exists.
pub async fn exists(conn: &mut AsyncPgConnection, city: Uuid) -> Result<()> {
    if org_units::city_exists(conn, city).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// 404 unless a row of this city is the caller's (a deployment admin's: every city's).
pub fn visible(caller: &Caller, city: Uuid) -> Result<()> {
    if caller.city_id.is_some_and(|c| c != city) {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}
