//! The audit log of reveals, exports and imports of personal data: writing a row, reading it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::models::audit::{AuditRow, NewAudit};
use crate::db::queries::audit::{self as q, AuditFilter};
use crate::domain::roles::Role;
use crate::error::Result;

/// One audit-log row.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user id).
    pub actor_user_id: Option<Uuid>,
    /// Who (username).
    pub actor: String,
    /// `reveal` or `export`.
    pub action: String,
    /// The person concerned.
    pub person_id: Option<Uuid>,
    /// Which fields were shown.
    pub fields: Vec<String>,
}

impl From<AuditRow> for AuditOut {
    fn from(r: AuditRow) -> Self {
        AuditOut {
            id: r.id,
            at: r.at,
            actor_user_id: r.actor_user_id,
            actor: r.actor,
            action: r.action,
            person_id: r.person_id,
            fields: r.fields,
        }
    }
}

/// Filters of `GET /audit-log`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only rows about this person.
    pub person_id: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
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
    let rows = q::list(conn, caller.scope, filter).await?;
    Ok(rows.into_iter().map(AuditOut::from).collect())
}
