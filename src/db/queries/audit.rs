//! The audit log: writing a row, reading a page in scope.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::audit::{AuditRow, NewAudit};
use crate::db::queries::scope;
use crate::db::schema::audit_log;
use crate::domain::caller::Scope;

/// Writes one audit-log row.
pub async fn insert(conn: &mut AsyncPgConnection, row: &NewAudit<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a page of the audit log is filtered by.
#[derive(Debug, Default)]
pub struct AuditFilter {
    /// Only rows about this person.
    pub person_id: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
    /// Rows after this id.
    pub after: Option<Uuid>,
    /// How many rows (the caller asks for one more than it shows).
    pub limit: i64,
}

/// A page of the audit log within a scope, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    within: Scope,
    f: AuditFilter,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = scope::audit_log(within)
        .select(AuditRow::as_select())
        .order(audit_log::id)
        .limit(f.limit);
    if let Some(p) = f.person_id {
        query = query.filter(audit_log::person_id.eq(p));
    }
    if let Some(a) = f.action {
        query = query.filter(audit_log::action.eq(a));
    }
    if let Some(after) = f.after {
        query = query.filter(audit_log::id.gt(after));
    }
    query.load(conn).await
}
