//! The org tree (1+16+N): city → town (街道/镇) → village (社区/村). Listing and reading units in
//! scope, and creating one with the organisations it always has (SPEC: a city its association
//! and 残联, a town its centre, a village its station and 村残协). The JSON API and the seeders
//! both create units here, so that rule exists once.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An org unit as the API shows it: the stored row.
pub use crate::db::models::org::UnitRow as UnitOut;
use crate::db::models::org::{NewOrganization, NewUnit};
use crate::db::queries::org_units::{self as q, UnitFilter};
use crate::db::queries::organizations;
use crate::domain::caller::{Caller, Scope};
use crate::domain::roles::{OrgKind, Role, UnitKind};
use crate::error::{Error, FieldError, Result};
use crate::service::filters::word;
use crate::service::page::{list_query, Page, Paged};

impl UnitOut {
    /// The unit's kind.
    pub fn unit_kind(&self) -> Result<UnitKind> {
        UnitKind::parse(&self.kind).ok_or_else(|| Error::internal("bad unit kind"))
    }
}

/// `POST /org-units` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitIn {
    /// `city`, `town` or `village`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// 12-digit code: a city `dddddd000000`, a town shares the city's first 6 digits and ends in `000`,
    /// a village shares the town's first 9 digits.
    pub code: String,
    /// The parent (required for towns and villages; omitted for a city).
    pub parent_id: Option<Uuid>,
}

list_query! {
    /// Filters of `GET /org-units`.
    pub struct UnitQuery {
        /// Only units of this kind.
        pub kind: Option<String>,
        /// Only children of this unit.
        pub parent_id: Option<Uuid>,
        /// Exact code.
        pub code: Option<String>,
    }
}

/// One unit in the scope, or 404.
pub async fn load_in_scope(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> Result<UnitOut> {
    Ok(q::in_scope(conn, scope, id).await?)
}

/// The units in the caller's scope, filtered, keyset-paginated.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: UnitQuery,
) -> Result<Paged<UnitOut>> {
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let filter = UnitFilter {
        kind: word("kind", query.kind, UnitKind::parse, UnitKind::words())?,
        parent_id: query.parent_id,
        code: query.code,
    };
    let rows = q::list(conn, caller.scope, filter, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |r| r.id)))
}

/// The only rule on a code is the spec's: 12 digits (unique, by the database). The statistical
/// convention (a town extends its city's first 6 digits, a village its town's 9) is not enforced,
/// so that units whose codes were assigned otherwise can still be registered.
fn code_errors(code: &str) -> Option<String> {
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Some("must be 12 digits".into());
    }
    None
}

/// A required name of an org unit or organisation: trimmed, 1–200 characters.
pub fn org_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    name
}

/// A unit the caller names (by `field`) that is not in its scope: `None` and a 422 for the
/// field, so that the other fields are still checked.
pub async fn unit_for_field(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    field: &'static str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<UnitOut>> {
    match load_in_scope(conn, scope, id).await {
        Ok(u) => Ok(Some(u)),
        Err(Error::NotFound) => {
            errors.push(FieldError::new(field, "no such unit in your scope"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `POST /org-units`: a city (deployment admin), a town or a village (admins of the city);
/// the unit's own organisations come with it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: UnitIn,
) -> Result<UnitOut> {
    caller.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let kind = UnitKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", UnitKind::words()),
        ));
    }
    if kind == Some(UnitKind::City) && !caller.is_deployment_admin() {
        return Err(Error::Forbidden("only the deployment admin creates cities"));
    }
    let name = org_name(&input.name, &mut errors);
    let parent = match (kind, input.parent_id) {
        (Some(UnitKind::City), Some(_)) => {
            errors.push(FieldError::new("parent_id", "a city has no parent"));
            None
        }
        (Some(UnitKind::City), None) | (None, _) => None,
        (Some(_), None) => {
            errors.push(FieldError::new("parent_id", "is required"));
            None
        }
        (Some(k), Some(p)) => {
            match unit_for_field(conn, caller.scope, p, "parent_id", &mut errors).await? {
                Some(parent) if parent.unit_kind()?.child() == Some(k) => Some(parent),
                Some(parent) => {
                    errors.push(FieldError::new(
                        "parent_id",
                        format!("a {k} cannot sit under a {}", parent.kind),
                    ));
                    None
                }
                None => None,
            }
        }
    };
    let code = input.code.trim();
    if let (Some(_), Some(problem)) = (kind, code_errors(code)) {
        errors.push(FieldError::new("code", problem));
    }
    Error::check(errors)?;
    let kind = kind.ok_or_else(|| Error::internal("kind checked"))?;
    insert_unit(conn, kind, &name, code, parent.as_ref()).await
}

/// The organisations a unit of a kind always has (SPEC), named after the unit.
fn own_organizations(kind: UnitKind, unit_name: &str) -> Vec<(OrgKind, String)> {
    match kind {
        UnitKind::City => vec![
            (OrgKind::Association, format!("{unit_name}助残志愿者协会")),
            (OrgKind::Dpf, format!("{unit_name}残疾人联合会")),
        ],
        UnitKind::Town => vec![(
            OrgKind::TownCentre,
            format!("{unit_name}助残志愿者服务中心"),
        )],
        UnitKind::Village => vec![
            (
                OrgKind::VillageStation,
                format!("{unit_name}助残志愿者服务站"),
            ),
            (OrgKind::VillageDpf, format!("{unit_name}残疾人协会")),
        ],
    }
}

/// Creates a unit with the organisations it always has (and a city's settings), in one
/// transaction. Checked input only: the seeders call this directly.
pub async fn insert_unit(
    conn: &mut AsyncPgConnection,
    kind: UnitKind,
    name: &str,
    code: &str,
    parent: Option<&UnitOut>,
) -> Result<UnitOut> {
    let id = Uuid::now_v7();
    let (city_id, town_id) = match (kind, parent) {
        (UnitKind::City, _) => (id, None),
        (UnitKind::Town, Some(p)) => (p.city_id, Some(id)),
        (UnitKind::Village, Some(p)) => (p.city_id, Some(p.id)),
        _ => return Err(Error::field("parent_id", "is required")),
    };
    let unit = NewUnit {
        id,
        kind: kind.as_str(),
        name,
        code,
        parent_id: parent.map(|p| p.id),
        city_id,
        town_id,
    };
    conn.transaction::<_, Error, _>(async move |conn| {
        let row = q::insert(conn, &unit).await?;
        if kind == UnitKind::City {
            q::insert_city_settings(conn, id).await?;
        }
        for (k, n) in own_organizations(kind, unit.name) {
            let org = NewOrganization {
                id: Uuid::now_v7(),
                kind: k.as_str(),
                name: &n,
                org_unit_id: id,
                city_id,
                department_type: None,
                site_type: None,
                parent_organization_id: None,
            };
            organizations::insert(conn, &org).await?;
        }
        Ok(row)
    })
    .await
}
