//! The city as a tenant: rows of the city-wide resources (SLA policies, the roster, campaigns,
//! the ledger) belong to one city, and a caller of another city sees none of them.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::queries::{org, org_units};
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

/// The time zone the caller's city keeps (a deployment admin's: Asia/Shanghai), for showing
/// times as the people of the city read them.
pub async fn time_zone(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<chrono_tz::Tz> {
    match caller.city_id {
        Some(city) => Ok(org::city_tz(conn, city).await?),
        None => Ok(chrono_tz::Asia::Shanghai),
    }
}
