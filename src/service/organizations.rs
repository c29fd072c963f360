//! Organisations acting inside units: association, branches, 残联, town centres, departments,
//! village stations, 村残协 and extension sites. Listing and reading them in scope, an admin
//! adding a department, a branch or a site, and what an organisation has handled.

use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::org_units::{org_name, unit_for_field, UnitOut};
use crate::db::models::org::NewOrganization;
/// An organisation as the API shows it (`OrgRow`): the stored row.
pub use crate::db::models::org::OrganizationRow as OrgRow;
use crate::db::queries::org;
use crate::db::queries::organizations::{self as q, OrgFilter};
use crate::domain::caller::Caller;
use crate::domain::roles::{DepartmentType, OrgKind, Role, SiteType, UnitKind};
use crate::error::{Error, FieldError, Result};
use crate::service::filters::word;
use crate::service::page::{list_query, Page, Paged};

/// `POST /organizations` body: departments, association branches and extension sites.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    /// `department`, `association_branch` or `extension_site` (the others come with their unit).
    pub kind: String,
    /// Name.
    pub name: String,
    /// The unit: a town for a department, the city for a branch, any unit for a site.
    pub org_unit_id: Uuid,
    /// Required for departments.
    pub department_type: Option<String>,
    /// Required for extension sites.
    pub site_type: Option<String>,
    /// For a branch: its association (defaults to the city's).
    pub parent_organization_id: Option<Uuid>,
}

list_query! {
    /// Filters of `GET /organizations`.
    pub struct OrgQuery {
        /// Only this kind.
        pub kind: Option<String>,
        /// Only organisations of this unit.
        pub org_unit_id: Option<Uuid>,
        /// Only departments of this remit.
        pub department_type: Option<String>,
    }
}

/// What an organisation has handled: the needs routed to it, held by it, or assigned to it (sites).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordOut {
    /// The organisation.
    pub organization_id: Uuid,
    /// Every need it has ever had, by state now.
    pub by_state: std::collections::BTreeMap<String, i64>,
    /// All of them.
    pub total: i64,
    /// Still open (not resolved, closed or withdrawn).
    pub open: i64,
    /// Resolved or closed.
    pub handled: i64,
}

/// One organisation in the caller's scope, or 404.
pub async fn load_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<OrgRow> {
    Ok(q::in_scope(conn, caller.scope, id).await?)
}

/// The organisations in the caller's scope, filtered, keyset-paginated.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: OrgQuery,
) -> Result<Paged<OrgRow>> {
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let filter = OrgFilter {
        kind: word("kind", query.kind, OrgKind::parse, OrgKind::words())?,
        department_type: word(
            "department_type",
            query.department_type,
            DepartmentType::parse,
            DepartmentType::words(),
        )?,
        org_unit_id: query.org_unit_id,
    };
    let rows = q::list(conn, caller.scope, filter, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |r| r.id)))
}

/// `POST /organizations`: an admin adds a department, a branch or an extension site.
pub async fn create(conn: &mut AsyncPgConnection, caller: &Caller, input: OrgIn) -> Result<OrgRow> {
    caller.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let kind = OrgKind::parse(&input.kind);
    match kind {
        None => errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", OrgKind::words()),
        )),
        Some(k) if k.is_singleton() => errors.push(FieldError::new(
            "kind",
            "created with its unit; use department, association_branch or extension_site",
        )),
        _ => {}
    }
    let name = org_name(&input.name, &mut errors);
    let unit = unit_for_field(
        conn,
        caller.scope,
        input.org_unit_id,
        "org_unit_id",
        &mut errors,
    )
    .await?;
    let dept = input.department_type.as_deref().map(DepartmentType::parse);
    let site = input.site_type.as_deref().map(SiteType::parse);
    let mut parent = input.parent_organization_id;
    if let (Some(k), Some(u)) = (kind, unit.as_ref()) {
        parent = check_kind(conn, k, u, dept, site, parent, &mut errors).await?;
    }
    Error::check(errors)?;
    let (kind, unit) = match (kind, unit) {
        (Some(k), Some(u)) => (k, u),
        _ => return Err(Error::internal("checked above")),
    };
    let row = NewOrganization {
        id: Uuid::now_v7(),
        kind: kind.as_str(),
        name: &name,
        org_unit_id: unit.id,
        city_id: unit.city_id,
        department_type: dept.flatten().map(|d| d.as_str()),
        site_type: site.flatten().map(|s| s.as_str()),
        parent_organization_id: parent,
    };
    Ok(q::insert(conn, &row).await?)
}

/// What a kind of organisation needs where it sits: a department a town and a remit, a site
/// its type, a branch the city and its association (the default parent). Answers the parent.
async fn check_kind(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    unit: &UnitOut,
    dept: Option<Option<DepartmentType>>,
    site: Option<Option<SiteType>>,
    mut parent: Option<Uuid>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Uuid>> {
    let given_parent = parent.is_some();
    let ukind = unit.unit_kind()?;
    match kind {
        OrgKind::Department => {
            if ukind != UnitKind::Town {
                errors.push(FieldError::new(
                    "org_unit_id",
                    "a department sits at a town",
                ));
            }
            if !matches!(dept, Some(Some(_))) {
                errors.push(FieldError::new(
                    "department_type",
                    format!("is required: one of {}", DepartmentType::words()),
                ));
            }
        }
        OrgKind::ExtensionSite if !matches!(site, Some(Some(_))) => {
            errors.push(FieldError::new(
                "site_type",
                format!("is required: one of {}", SiteType::words()),
            ));
        }
        OrgKind::AssociationBranch => {
            if ukind != UnitKind::City {
                errors.push(FieldError::new("org_unit_id", "a branch sits at the city"));
            } else {
                let assoc = org::org_at(conn, unit.id, OrgKind::Association)
                    .await?
                    .ok_or(Error::NotFound)?;
                match parent {
                    None => parent = Some(assoc),
                    Some(p) if p == assoc => {}
                    Some(_) => errors.push(FieldError::new(
                        "parent_organization_id",
                        "must be the city's association",
                    )),
                }
            }
        }
        _ => {}
    }
    if kind != OrgKind::Department && dept.is_some() {
        errors.push(FieldError::new(
            "department_type",
            "only departments have one",
        ));
    }
    if kind != OrgKind::ExtensionSite && site.is_some() {
        errors.push(FieldError::new(
            "site_type",
            "only extension sites have one",
        ));
    }
    if kind != OrgKind::AssociationBranch && given_parent {
        errors.push(FieldError::new(
            "parent_organization_id",
            "only branches have a parent organisation",
        ));
    }
    Ok(parent)
}

/// The needs an organisation handled (an extension site's record): narrow roles only their
/// own organisation's, others any in scope.
pub async fn record(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<RecordOut> {
    if caller.is_narrow() {
        if caller.organization_id != Some(id) {
            return Err(Error::NotFound);
        }
    } else {
        load_in_scope(conn, caller, id).await?;
    }
    let by_state: std::collections::BTreeMap<String, i64> = q::need_counts_by_state(conn, id)
        .await?
        .into_iter()
        .collect();
    let total = by_state.values().sum();
    let handled = by_state.get("resolved").copied().unwrap_or(0)
        + by_state.get("closed").copied().unwrap_or(0);
    let open = total - handled - by_state.get("withdrawn").copied().unwrap_or(0);
    Ok(RecordOut {
        organization_id: id,
        by_state,
        total,
        open,
        handled,
    })
}
