//! The audit log of reveals, exports and imports of personal data: writing a row, reading it.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::Caller;
pub use crate::db::models::audit::AuditRow as AuditOut;
use crate::db::models::audit::NewAudit;
use crate::db::queries::audit::{self as q, AuditFilter};
use crate::domain::roles::Role;
use crate::error::Result;
use crate::service::page::list_query;

list_query! {
    /// Filters of `GET /audit-log`.
    pub struct AuditQuery {
        /// Only rows about this person.
        pub person_id: Option<Uuid>,
        /// Only this action.
        pub action: Option<String>,
    }
}

/// Writes one audit-log row (reveals, exports, imports) as the caller.
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action: &str,
    person_id: Option<Uuid>,
    fields: &[&str],
) -> Result<()> {
    let row = NewAudit {
        id: Uuid::now_v7(),
        city_id: caller.city_id,
        actor_user_id: Some(caller.user_id),
        actor: &caller.username,
        action,
        person_id,
        fields: fields.iter().map(|s| s.to_string()).collect(),
    };
    Ok(q::insert(conn, &row).await?)
}

/// Reveals and exports in scope (admins and auditors). `window` reads the page (rows to fetch,
/// after this id) only after the role check, so a refused role answers 403 before a bad cursor 422.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: AuditQuery,
    window: impl FnOnce() -> Result<(i64, Option<Uuid>)>,
) -> Result<Vec<AuditOut>> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let (limit, after) = window()?;
    let filter = AuditFilter {
        person_id: query.person_id,
        action: query.action,
        after,
        limit,
    };
    Ok(q::list(conn, caller.scope, filter).await?)
}
