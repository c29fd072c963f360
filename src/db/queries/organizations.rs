//! Organisations: read in scope, listed, created, and the needs one has handled.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::scope;
use crate::db::models::org::{NewOrganization, OrganizationRow};
use crate::db::schema::{need_access, needs, organizations};
use crate::domain::caller::Scope;
use crate::domain::roles::{DepartmentType, OrgKind};

/// Filters of an organisation list.
#[derive(Debug, Default)]
pub struct OrgFilter {
    /// Only this kind.
    pub kind: Option<OrgKind>,
    /// Only organisations of this unit.
    pub org_unit_id: Option<Uuid>,
    /// Only departments of this remit.
    pub department_type: Option<DepartmentType>,
}

/// One organisation in a scope (`NotFound` when absent or outside it).
pub async fn in_scope(
    conn: &mut AsyncPgConnection,
    s: Scope,
    id: Uuid,
) -> QueryResult<OrganizationRow> {
    scope::organizations(s)
        .filter(organizations::id.eq(id))
        .select(OrganizationRow::as_select())
        .first(conn)
        .await
}

/// A page of the organisations in a scope, by id, after `after`; `limit` rows at most.
pub async fn list(
    conn: &mut AsyncPgConnection,
    s: Scope,
    f: OrgFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OrganizationRow>> {
    let mut query = scope::organizations(s)
        .select(OrganizationRow::as_select())
        .order(organizations::id)
        .limit(limit);
    if let Some(k) = f.kind {
        query = query.filter(organizations::kind.eq(k.as_str()));
    }
    if let Some(d) = f.department_type {
        query = query.filter(organizations::department_type.eq(d.as_str()));
    }
    if let Some(u) = f.org_unit_id {
        query = query.filter(organizations::org_unit_id.eq(u));
    }
    if let Some(after) = after {
        query = query.filter(organizations::id.gt(after));
    }
    query.load(conn).await
}

/// Writes an organisation.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    o: &NewOrganization<'_>,
) -> QueryResult<OrganizationRow> {
    diesel::insert_into(organizations::table)
        .values(o)
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
        .await
}

/// How many needs an organisation has ever had (routed to it, held by it, or assigned to it
/// as a site), by their state now.
pub async fn need_counts_by_state(
    conn: &mut AsyncPgConnection,
    org: Uuid,
) -> QueryResult<Vec<(String, i64)>> {
    needs::table
        .filter(
            needs::handler_organization_id
                .eq(org)
                .or(needs::assigned_site_id.eq(org))
                .or(needs::id.eq_any(
                    need_access::table
                        .filter(need_access::organization_id.eq(org))
                        .select(need_access::need_id),
                )),
        )
        .group_by(needs::state)
        .select((needs::state, diesel::dsl::count_star()))
        .load(conn)
        .await
}
