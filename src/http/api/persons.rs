//! Registered disabled persons, their 三帮一 contact groups and visits.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::helpers::{HelperOut, HelperRow};
use super::org_units::UnitOut;
use super::{created, ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{
    audit_log, city_settings, contact_group_members, helpers, persons, visits,
};
use crate::domain::pii::PiiCipher;
use crate::domain::resident_id::{DisabilityCategory, DisabilityCertNumber, ResidentId};
use crate::domain::roles::{PersonStatus, Role, UnitKind};
use crate::domain::text::{clean, double_option, phone_ok};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{etag, if_match, path_id, Body, Page, Query};
use crate::http::AppState;

/// Roles that register and look after persons.
pub const CARE_ROLES: &[Role] = &[Role::Admin, Role::VillageStaff, Role::TownStaff];
/// Roles that may reveal an ID number (within their scope).
pub const REVEAL_ROLES: &[Role] = &[Role::Admin, Role::VillageStaff, Role::TownStaff];

/// A person row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = persons)]
pub struct PersonRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Village.
    pub village_id: Uuid,
    /// Name.
    pub name: String,
    /// Sealed ID number.
    pub id_number_enc: Vec<u8>,
    /// Masked ID number.
    pub id_number_masked: String,
    /// Category word.
    pub disability_category: String,
    /// Grade 1–4.
    pub disability_grade: i16,
    /// Birth date (from the ID).
    pub birth_date: NaiveDate,
    /// Gender (from the ID).
    pub gender: String,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Guardian.
    pub guardian_name: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// Status word.
    pub status: String,
    /// Members in the contact group (complete at 3).
    pub group_size: i16,
    /// Last visit.
    pub last_visited_at: Option<DateTime<Utc>>,
    /// Version for `If-Match`.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}

/// A person as the API shows it: the ID and certificate numbers masked unless revealed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Resident ID number, masked (`370883********123X`) unless revealed.
    pub id_number: String,
    /// Disability certificate number (ID + category digit + grade digit), masked unless revealed.
    pub disability_cert_number: String,
    /// `vision`, `hearing`, `speech`, `physical`, `intellectual`, `mental` or `multiple`.
    pub disability_category: String,
    /// 1 (most severe) to 4.
    pub disability_grade: i16,
    /// From the ID number.
    pub birth_date: NaiveDate,
    /// `male` or `female`, from the ID number.
    pub gender: String,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Guardian's name.
    pub guardian_name: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// The person's village.
    pub village_id: Uuid,
    /// The person's town.
    pub town_id: Uuid,
    /// The person's city.
    pub city_id: Uuid,
    /// `active`, `moved_out` or `deceased`.
    pub status: String,
    /// Whether the 三帮一 contact group has all three helpers.
    pub contact_group_complete: bool,
    /// When a helper last visited.
    #[serde(serialize_with = "crate::http::api::ts::utc_opt")]
    pub last_visited_at: Option<DateTime<Utc>>,
    /// Version (also the `ETag`).
    pub version: i32,
    /// Created.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub created_at: DateTime<Utc>,
    /// Updated.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub updated_at: DateTime<Utc>,
}

impl PersonOut {
    /// The masked view.
    pub fn masked(r: PersonRow) -> Self {
        let cat = DisabilityCategory::parse_word(&r.disability_category)
            .map(|c| c.digit())
            .unwrap_or(0);
        let cert = format!("{}{}{}", r.id_number_masked, cat, r.disability_grade);
        Self::with_numbers(r, None, cert)
    }

    /// The revealed view (the clear numbers), for callers allowed to see them.
    pub fn revealed(r: PersonRow, pii: &PiiCipher) -> AppResult<Self> {
        let clear = pii
            .open(r.id, "id_number", &r.id_number_enc)
            .map_err(AppError::internal)?;
        let cat = DisabilityCategory::parse_word(&r.disability_category)
            .map(|c| c.digit())
            .unwrap_or(0);
        let cert = format!("{clear}{cat}{}", r.disability_grade);
        Ok(Self::with_numbers(r, Some(clear), cert))
    }

    fn with_numbers(r: PersonRow, clear: Option<String>, cert: String) -> Self {
        PersonOut {
            id: r.id,
            name: r.name,
            id_number: clear.unwrap_or(r.id_number_masked),
            disability_cert_number: cert,
            disability_category: r.disability_category,
            disability_grade: r.disability_grade,
            birth_date: r.birth_date,
            gender: r.gender,
            phone: r.phone,
            address: r.address,
            guardian_name: r.guardian_name,
            guardian_phone: r.guardian_phone,
            village_id: r.village_id,
            town_id: r.town_id,
            city_id: r.city_id,
            status: r.status,
            contact_group_complete: r.group_size >= 3,
            last_visited_at: r.last_visited_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `POST /persons` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    /// Name.
    pub name: String,
    /// 18-character resident ID number (GB 11643 check digit).
    pub id_number: String,
    /// 20-character certificate number (optional; must agree with ID, category and grade).
    pub disability_cert_number: Option<String>,
    /// Category word (`physical`, ...).
    pub disability_category: String,
    /// Grade 1–4.
    pub disability_grade: i64,
    /// Optional; must agree with the ID number.
    pub birth_date: Option<NaiveDate>,
    /// Optional; must agree with the ID number.
    pub gender: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Guardian's name.
    pub guardian_name: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// The village (village staff may omit it: their own).
    pub village_id: Option<Uuid>,
}

/// `PATCH /persons/{id}` body: only the fields given change (null clears an optional one).
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    /// Name.
    pub name: Option<String>,
    /// Category word.
    pub disability_category: Option<String>,
    /// Grade 1–4.
    pub disability_grade: Option<i64>,
    /// Phone (null clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Address (null clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    /// Guardian's name (null clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub guardian_name: Option<Option<String>>,
    /// Guardian's phone (null clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub guardian_phone: Option<Option<String>>,
    /// `active`, `moved_out` or `deceased`; leaving `active` dissolves the contact group.
    pub status: Option<String>,
    /// Transfer to another village (admin, town staff); a move to another town dissolves the group.
    pub village_id: Option<Uuid>,
}

/// Filters of `GET /persons`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonQuery {
    /// Persons under this unit (city, town or village).
    pub org_unit_id: Option<Uuid>,
    /// Persons of this village.
    pub village_id: Option<Uuid>,
    /// `active`, `moved_out`, `deceased`.
    pub status: Option<String>,
    /// Category word.
    pub disability_category: Option<String>,
    /// Grade 1–4.
    pub disability_grade: Option<i16>,
    /// true: complete contact groups only; false: incomplete only.
    pub contact_group_complete: Option<bool>,
    /// Exact resident ID number (looked up by its keyed hash).
    pub id_number: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `?reveal=` on `GET /persons/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevealQuery {
    /// `id_number` reveals the ID and certificate numbers (audited).
    pub reveal: Option<String>,
}

/// One person in scope, or 404.
pub async fn load_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<PersonRow> {
    Ok(crate::db::queries::scope::persons(caller)
        .filter(persons::id.eq(id))
        .select(PersonRow::as_select())
        .first(conn)
        .await?)
}

fn category(raw: &str, errors: &mut Vec<FieldError>) -> Option<DisabilityCategory> {
    let c = DisabilityCategory::parse_any(raw);
    if c.is_none() {
        errors.push(FieldError::new(
            "disability_category",
            "must be one of vision, hearing, speech, physical, intellectual, mental, multiple",
        ));
    }
    c
}

fn grade(raw: i64, errors: &mut Vec<FieldError>) -> Option<i16> {
    if (1..=4).contains(&raw) {
        Some(raw as i16)
    } else {
        errors.push(FieldError::new("disability_grade", "must be 1, 2, 3 or 4"));
        None
    }
}

fn text(
    field: &str,
    v: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = clean(v);
    if v.as_ref().is_some_and(|s| s.chars().count() > max) {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
    v
}

fn phone(field: &str, v: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = clean(v);
    if v.as_ref().is_some_and(|p| !phone_ok(p)) {
        errors.push(FieldError::new(
            field,
            "must be 5–20 digits (spaces, + and - allowed)",
        ));
    }
    v
}

/// A village in the caller's scope (422 on `field` otherwise).
async fn village_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<UnitOut>> {
    match super::org_units::load_in_scope(conn, caller.scope, id).await {
        Ok(u) if u.kind == UnitKind::Village.as_str() => Ok(Some(u)),
        Ok(_) => {
            errors.push(FieldError::new(field, "must be a village"));
            Ok(None)
        }
        Err(AppError::NotFound) => {
            errors.push(FieldError::new(field, "no such village in your scope"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A validated registration, ready to insert.
pub struct NewPerson {
    /// The new row's id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The ID number.
    pub resident_id: ResidentId,
    /// Category.
    pub category: DisabilityCategory,
    /// Grade.
    pub grade: i16,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Guardian.
    pub guardian_name: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// The village.
    pub village: UnitOut,
}

/// Validates the fields of a registration that do not need the database.
pub fn validate_fields(
    input: &PersonIn,
    errors: &mut Vec<FieldError>,
) -> Option<(String, ResidentId, DisabilityCategory, i16)> {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 100 characters)",
        ));
    }
    let rid = match ResidentId::parse(&input.id_number) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new("id_number", e.to_string()));
            None
        }
    };
    let cat = category(&input.disability_category, errors);
    let grade = grade(input.disability_grade, errors);
    if let Some(r) = &rid {
        if input.birth_date.is_some_and(|b| b != r.birth_date()) {
            errors.push(FieldError::new(
                "birth_date",
                "does not agree with id_number",
            ));
        }
        if let Some(g) = &input.gender {
            match g.as_str() {
                "male" | "female" => {
                    if g != r.gender().as_str() {
                        errors.push(FieldError::new("gender", "does not agree with id_number"));
                    }
                }
                _ => errors.push(FieldError::new("gender", "must be male or female")),
            }
        }
    }
    if let Some(raw) = input
        .disability_cert_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match DisabilityCertNumber::parse(raw) {
            Err(e) => errors.push(FieldError::new("disability_cert_number", e.to_string())),
            Ok(cert) => {
                if let (Some(r), Some(c), Some(g)) = (&rid, cat, grade) {
                    if let Err(e) = cert.check_agrees(r, c, g as u8) {
                        errors.push(FieldError::new("disability_cert_number", e.to_string()));
                    }
                }
            }
        }
    }
    match (rid, cat, grade) {
        (Some(r), Some(c), Some(g)) if !name.is_empty() => Some((name, r, c, g)),
        _ => None,
    }
}

/// Inserts a validated person (the ID number sealed to the row).
pub async fn insert_person(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    p: &NewPerson,
) -> QueryResult<PersonRow> {
    let clear = p.resident_id.expose();
    diesel::insert_into(persons::table)
        .values((
            persons::id.eq(p.id),
            persons::city_id.eq(p.village.city_id),
            persons::town_id.eq(p.village.town_id.unwrap_or(p.village.city_id)),
            persons::village_id.eq(p.village.id),
            persons::name.eq(&p.name),
            persons::id_number_enc.eq(pii.seal(p.id, "id_number", clear)),
            persons::id_number_hash.eq(pii.blind_index(clear)),
            persons::id_number_masked.eq(p.resident_id.masked()),
            persons::disability_category.eq(p.category.as_str()),
            persons::disability_grade.eq(p.grade),
            persons::birth_date.eq(p.resident_id.birth_date()),
            persons::gender.eq(p.resident_id.gender().as_str()),
            persons::phone.eq(&p.phone),
            persons::address.eq(&p.address),
            persons::guardian_name.eq(&p.guardian_name),
            persons::guardian_phone.eq(&p.guardian_phone),
        ))
        .returning(PersonRow::as_returning())
        .get_result(conn)
        .await
}

/// `POST /api/v1/persons`: registers a person in a village of the caller's scope.
#[utoipa::path(post, path = "/api/v1/persons", tag = "persons", request_body = PersonIn, security(("bearer" = [])), responses(
    (status = 201, body = PersonOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "this ID number is already registered (`duplicate`)", body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(CARE_ROLES)?;
    let input: PersonIn = body.json()?;
    let mut errors = Vec::new();
    let fields = validate_fields(&input, &mut errors);
    let phone_v = phone("phone", input.phone.clone(), &mut errors);
    let guardian_phone = phone("guardian_phone", input.guardian_phone.clone(), &mut errors);
    let address = text("address", input.address.clone(), 300, &mut errors);
    let guardian_name = text(
        "guardian_name",
        input.guardian_name.clone(),
        100,
        &mut errors,
    );
    let mut conn = state.conn().await?;
    let village_id = match (input.village_id, caller.scope) {
        (Some(v), _) => Some(v),
        (None, Scope::Village(v)) => Some(v),
        (None, _) => {
            errors.push(FieldError::new("village_id", "is required"));
            None
        }
    };
    let village = match village_id {
        Some(v) => village_in_scope(&mut conn, &caller, v, "village_id", &mut errors).await?,
        None => None,
    };
    AppError::check(errors)?;
    let (Some((name, resident_id, category, grade)), Some(village)) = (fields, village) else {
        return Err(AppError::internal("validated above"));
    };
    let new = NewPerson {
        id: Uuid::now_v7(),
        name,
        resident_id,
        category,
        grade,
        phone: phone_v,
        address,
        guardian_name,
        guardian_phone,
        village,
    };
    let row = insert_person(&mut conn, &state.pii, &new).await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(row.version))
        .json(PersonOut::masked(row)))
}

/// `GET /api/v1/persons`: persons in scope, filtered, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/persons", tag = "persons", params(PersonQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<PersonOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<PersonQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::persons(&caller)
        .select(PersonRow::as_select())
        .order(persons::id)
        .limit(page.limit + 1);
    let mut conn = state.conn().await?;
    if let Some(u) = q.org_unit_id {
        // a unit outside scope simply yields nothing: the scope filter above still applies
        let unit = super::org_units::load_in_scope(&mut conn, Scope::All, u)
            .await
            .ok();
        query = match unit.as_ref().map(|u| u.kind.as_str()) {
            Some("city") => query.filter(persons::city_id.eq(u)),
            Some("town") => query.filter(persons::town_id.eq(u)),
            Some(_) => query.filter(persons::village_id.eq(u)),
            None => query.filter(persons::village_id.eq(Uuid::nil())),
        };
    }
    if let Some(v) = q.village_id {
        query = query.filter(persons::village_id.eq(v));
    }
    if let Some(s) = q.status {
        let s = PersonStatus::parse(&s).ok_or_else(|| {
            AppError::field(
                "status",
                format!("must be one of {}", PersonStatus::words()),
            )
        })?;
        query = query.filter(persons::status.eq(s.as_str()));
    }
    if let Some(c) = q.disability_category {
        let c = DisabilityCategory::parse_any(&c)
            .ok_or_else(|| AppError::field("disability_category", "unknown category"))?;
        query = query.filter(persons::disability_category.eq(c.as_str()));
    }
    if let Some(g) = q.disability_grade {
        query = query.filter(persons::disability_grade.eq(g));
    }
    match q.contact_group_complete {
        Some(true) => query = query.filter(persons::group_size.ge(3)),
        Some(false) => query = query.filter(persons::group_size.lt(3)),
        None => {}
    }
    if let Some(raw) = q.id_number {
        let rid =
            ResidentId::parse(&raw).map_err(|e| AppError::field("id_number", e.to_string()))?;
        query = query.filter(persons::id_number_hash.eq_any(state.pii.blind_indexes(rid.expose())));
    }
    if let Some(n) = clean(q.name) {
        let escaped = n
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(persons::name.like(format!("%{escaped}%")));
    }
    if let Some(after) = page.after {
        query = query.filter(persons::id.gt(after));
    }
    let rows: Vec<PersonRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged {
        items: rows.into_iter().map(PersonOut::masked).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// `GET /api/v1/persons/{id}`: one person, masked; `?reveal=id_number` shows the numbers (audited).
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "persons", params(("id" = Uuid, Path), RevealQuery), security(("bearer" = [])), responses(
    (status = 200, body = PersonOut, headers(("ETag" = String, description = "the version"))),
    (status = 403, description = "your role may not reveal", body = crate::http::error::Problem),
    (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: Query<RevealQuery>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let row = load_in_scope(&mut conn, &caller, id).await?;
    let version = row.version;
    let out = match q.0.reveal.as_deref() {
        None | Some("") => PersonOut::masked(row),
        Some("id_number") => {
            caller.require(REVEAL_ROLES)?;
            let out = PersonOut::revealed(row, &state.pii)?;
            audit(
                &mut conn,
                &caller,
                "reveal",
                Some(id),
                &["id_number", "disability_cert_number"],
            )
            .await?;
            out
        }
        Some(_) => return Err(AppError::field("reveal", "only id_number can be revealed")),
    };
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(out))
}

/// Writes one audit-log row (reveals, exports).
pub async fn audit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action: &str,
    person_id: Option<Uuid>,
    fields: &[&str],
) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(Uuid::now_v7()),
            audit_log::city_id.eq(caller.city_id),
            audit_log::actor_user_id.eq(caller.user_id),
            audit_log::actor.eq(&caller.username),
            audit_log::action.eq(action),
            audit_log::person_id.eq(person_id),
            audit_log::fields.eq(fields.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a person's contact group (left `active`, or moved to another town).
async fn dissolve_group(conn: &mut AsyncPgConnection, person: Uuid) -> QueryResult<()> {
    diesel::delete(
        contact_group_members::table.filter(contact_group_members::person_id.eq(person)),
    )
    .execute(conn)
    .await?;
    diesel::update(persons::table.find(person))
        .set(persons::group_size.eq(0))
        .execute(conn)
        .await?;
    Ok(())
}

/// `PATCH /api/v1/persons/{id}`: updates with `If-Match`; transfers with `village_id`.
#[utoipa::path(patch, path = "/api/v1/persons/{id}", tag = "persons", params(("id" = Uuid, Path),
    ("If-Match" = String, Header, description = "the version from the ETag")), request_body = PersonPatch, security(("bearer" = [])), responses(
    (status = 200, body = PersonOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 412, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem), (status = 428, body = crate::http::error::Problem)))]
pub async fn patch(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let current = load_in_scope(&mut conn, &caller, id).await?;
    caller.require(CARE_ROLES)?;
    let expected = if_match(&req)?;
    if expected != current.version {
        return Err(AppError::PreconditionFailed);
    }
    let input: PersonPatch = body.json()?;
    let mut errors = Vec::new();
    let name = match input.name.as_deref().map(str::trim) {
        Some(n) if n.is_empty() || n.chars().count() > 100 => {
            errors.push(FieldError::new("name", "1–100 characters"));
            None
        }
        other => other.map(str::to_string),
    };
    let cat = input
        .disability_category
        .as_deref()
        .and_then(|c| category(c, &mut errors));
    let grade_v = input.disability_grade.and_then(|g| grade(g, &mut errors));
    let status = match input.status.as_deref() {
        None => None,
        Some(s) => match PersonStatus::parse(s) {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new(
                    "status",
                    format!("must be one of {}", PersonStatus::words()),
                ));
                None
            }
        },
    };
    let phone_v = input.phone.clone().map(|p| phone("phone", p, &mut errors));
    let guardian_phone = input
        .guardian_phone
        .clone()
        .map(|p| phone("guardian_phone", p, &mut errors));
    let address = input
        .address
        .clone()
        .map(|a| text("address", a, 300, &mut errors));
    let guardian_name = input
        .guardian_name
        .clone()
        .map(|a| text("guardian_name", a, 100, &mut errors));
    let village = match input.village_id {
        Some(v) if v != current.village_id => {
            if !caller.is(&[Role::Admin, Role::TownStaff]) {
                return Err(AppError::Forbidden(
                    "only town staff and admins transfer persons",
                ));
            }
            village_in_scope(&mut conn, &caller, v, "village_id", &mut errors).await?
        }
        _ => None,
    };
    AppError::check(errors)?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            // the version check and the write are one statement: a concurrent writer makes this 412
            let updated = diesel::update(
                persons::table
                    .filter(persons::id.eq(id))
                    .filter(persons::version.eq(expected)),
            )
            .set((
                persons::version.eq(persons::version + 1),
                persons::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
            if updated == 0 {
                return Err(AppError::PreconditionFailed);
            }
            if let Some(n) = name {
                diesel::update(persons::table.find(id))
                    .set(persons::name.eq(n))
                    .execute(conn)
                    .await?;
            }
            if let Some(c) = cat {
                diesel::update(persons::table.find(id))
                    .set(persons::disability_category.eq(c.as_str()))
                    .execute(conn)
                    .await?;
            }
            if let Some(g) = grade_v {
                diesel::update(persons::table.find(id))
                    .set(persons::disability_grade.eq(g))
                    .execute(conn)
                    .await?;
            }
            if let Some(p) = phone_v {
                diesel::update(persons::table.find(id))
                    .set(persons::phone.eq(p))
                    .execute(conn)
                    .await?;
            }
            if let Some(p) = guardian_phone {
                diesel::update(persons::table.find(id))
                    .set(persons::guardian_phone.eq(p))
                    .execute(conn)
                    .await?;
            }
            if let Some(a) = address {
                diesel::update(persons::table.find(id))
                    .set(persons::address.eq(a))
                    .execute(conn)
                    .await?;
            }
            if let Some(a) = guardian_name {
                diesel::update(persons::table.find(id))
                    .set(persons::guardian_name.eq(a))
                    .execute(conn)
                    .await?;
            }
            if let Some(s) = status {
                diesel::update(persons::table.find(id))
                    .set(persons::status.eq(s.as_str()))
                    .execute(conn)
                    .await?;
                if s != PersonStatus::Active {
                    dissolve_group(conn, id).await?;
                }
            }
            if let Some(v) = village {
                let new_town = v.town_id.unwrap_or(v.city_id);
                if new_town != current.town_id {
                    dissolve_group(conn, id).await?;
                }
                diesel::update(persons::table.find(id))
                    .set((
                        persons::village_id.eq(v.id),
                        persons::town_id.eq(new_town),
                        persons::city_id.eq(v.city_id),
                    ))
                    .execute(conn)
                    .await?;
            }
            let row: PersonRow = persons::table
                .find(id)
                .select(PersonRow::as_select())
                .first(conn)
                .await?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(row.version))
        .json(PersonOut::masked(row)))
}

/// A person's contact group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    /// The person.
    pub person_id: Uuid,
    /// The helpers, in slot order.
    pub members: Vec<MemberOut>,
    /// True only when all three helpers are in place.
    pub complete: bool,
}

/// One helper of a contact group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// Slot 1–3.
    pub slot: i16,
    /// The helper's id (same as `helper.id`).
    pub helper_id: Uuid,
    /// The helper.
    #[serde(flatten)]
    pub helper: HelperOut,
}

/// `PUT /persons/{id}/contact-group` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupIn {
    /// Exactly three distinct active helpers of the person's town.
    pub helper_ids: Vec<Uuid>,
}

async fn group_of(conn: &mut AsyncPgConnection, person: Uuid) -> AppResult<GroupOut> {
    let rows: Vec<(i16, HelperRow)> = contact_group_members::table
        .inner_join(helpers::table)
        .filter(contact_group_members::person_id.eq(person))
        .order(contact_group_members::slot)
        .select((contact_group_members::slot, HelperRow::as_select()))
        .load(conn)
        .await?;
    let complete = rows.len() == 3 && rows.iter().all(|(_, h)| h.active);
    Ok(GroupOut {
        person_id: person,
        members: rows
            .into_iter()
            .map(|(slot, h)| MemberOut {
                slot,
                helper_id: h.id,
                helper: h.into(),
            })
            .collect(),
        complete,
    })
}

/// `GET /api/v1/persons/{id}/contact-group`: the person's 三帮一 group.
#[utoipa::path(get, path = "/api/v1/persons/{id}/contact-group", tag = "persons", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = GroupOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_group(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    load_in_scope(&mut conn, &caller, id).await?;
    Ok(ok(&group_of(&mut conn, id).await?))
}

/// `PUT /api/v1/persons/{id}/contact-group`: sets all three helpers at once.
#[utoipa::path(put, path = "/api/v1/persons/{id}/contact-group", tag = "persons", params(("id" = Uuid, Path)), request_body = GroupIn, security(("bearer" = [])), responses(
    (status = 200, body = GroupOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "the person is not active", body = crate::http::error::Problem),
    (status = 422, description = "not three distinct active helpers of the town with room", body = crate::http::error::Problem)))]
pub async fn put_group(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let person = load_in_scope(&mut conn, &caller, id).await?;
    caller.require(CARE_ROLES)?;
    let input: GroupIn = body.json()?;
    let ids = input.helper_ids;
    if ids.len() != 3 {
        return Err(AppError::field(
            "helper_ids",
            "must name exactly three helpers",
        ));
    }
    let mut errors = Vec::new();
    for (i, h) in ids.iter().enumerate() {
        if ids[..i].contains(h) {
            errors.push(FieldError::new(
                format!("helper_ids[{i}]"),
                "the three helpers must be distinct",
            ));
        }
    }
    AppError::check(errors)?;
    if person.status != PersonStatus::Active.as_str() {
        return Err(AppError::conflict(
            "conflict",
            "only an active person has a contact group",
        ));
    }
    let out = conn
        .transaction::<_, AppError, _>(async move |conn| {
                // lock the person, then the helpers in a fixed order, so capacity checks serialise
                persons::table.find(id).select(persons::id).for_update().first::<Uuid>(conn).await?;
                let mut sorted = ids.clone();
                sorted.sort();
                let found: Vec<HelperRow> = helpers::table
                    .filter(helpers::id.eq_any(&sorted))
                    .order(helpers::id)
                    .select(HelperRow::as_select())
                    .for_update()
                    .load(conn)
                    .await?;
                let capacity: i32 = city_settings::table
                    .find(person.city_id)
                    .select(city_settings::helper_capacity)
                    .first(conn)
                    .await
                    .optional()?
                    .unwrap_or(10);
                let loads: Vec<(Uuid, i64)> = contact_group_members::table
                    .filter(contact_group_members::helper_id.eq_any(&sorted))
                    .filter(contact_group_members::person_id.ne(id))
                    .group_by(contact_group_members::helper_id)
                    .select((contact_group_members::helper_id, diesel::dsl::count_star()))
                    .load(conn)
                    .await?;
                let mut errors = Vec::new();
                for (i, hid) in ids.iter().enumerate() {
                    let field = format!("helper_ids[{i}]");
                    match found.iter().find(|h| h.id == *hid) {
                        None => errors.push(FieldError::new(field, "no such helper")),
                        Some(h) if h.town_id != person.town_id => {
                            errors.push(FieldError::new(field, "the helper is not of the person's town"))
                        }
                        Some(h) if !h.active => errors.push(FieldError::new(field, "the helper is not active")),
                        Some(_) => {
                            let load = loads.iter().find(|(x, _)| x == hid).map(|(_, n)| *n).unwrap_or(0);
                            if load >= i64::from(capacity) {
                                errors.push(FieldError::new(
                                    field,
                                    format!("the helper already covers {load} persons (capacity {capacity})"),
                                ));
                            }
                        }
                    }
                }
                AppError::check(errors)?;
                diesel::delete(contact_group_members::table.filter(contact_group_members::person_id.eq(id)))
                    .execute(conn)
                    .await?;
                let rows: Vec<_> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        (
                            contact_group_members::person_id.eq(id),
                            contact_group_members::helper_id.eq(*h),
                            contact_group_members::slot.eq(i as i16 + 1),
                            contact_group_members::city_id.eq(person.city_id),
                        )
                    })
                    .collect();
                diesel::insert_into(contact_group_members::table).values(rows).execute(conn).await?;
                diesel::update(persons::table.find(id))
                    .set((persons::group_size.eq(3), persons::updated_at.eq(Utc::now())))
                    .execute(conn)
                    .await?;
                group_of(conn, id).await
            })
        .await?;
    Ok(ok(&out))
}

/// A recorded visit (走访).
#[derive(Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = visits)]
pub struct VisitOut {
    /// Id.
    pub id: Uuid,
    /// The person visited.
    pub person_id: Uuid,
    /// The helper who visited (if recorded).
    pub helper_id: Option<Uuid>,
    /// When.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub visited_at: DateTime<Utc>,
    /// Notes.
    pub notes: String,
    /// The user who recorded it.
    pub recorded_by: Uuid,
    /// When recorded.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub created_at: DateTime<Utc>,
}

/// `POST /persons/{id}/visits` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitIn {
    /// The helper who visited (of the person's town).
    pub helper_id: Option<Uuid>,
    /// When (default now; not in the future).
    pub visited_at: Option<DateTime<Utc>>,
    /// What was seen and said.
    pub notes: Option<String>,
}

/// Page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/persons/{id}/visits`: the person's visits, oldest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/visits", tag = "persons", params(("id" = Uuid, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<VisitOut>), (status = 404, body = crate::http::error::Problem)))]
pub async fn list_visits(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    load_in_scope(&mut conn, &caller, id).await?;
    let mut query = visits::table
        .filter(visits::person_id.eq(id))
        .order(visits::id)
        .limit(page.limit + 1)
        .select(VisitOut::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(visits::id.gt(after));
    }
    let rows: Vec<VisitOut> = query.load(&mut conn).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/persons/{id}/visits`: records a visit.
#[utoipa::path(post, path = "/api/v1/persons/{id}/visits", tag = "persons", params(("id" = Uuid, Path)), request_body = VisitIn, security(("bearer" = [])), responses(
    (status = 201, body = VisitOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn create_visit(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let person = load_in_scope(&mut conn, &caller, id).await?;
    caller.require(CARE_ROLES)?;
    let input: VisitIn = body.json()?;
    let mut errors = Vec::new();
    let now = Utc::now();
    let at = input.visited_at.unwrap_or(now);
    if at > now + chrono::Duration::minutes(5) {
        errors.push(FieldError::new("visited_at", "must not be in the future"));
    }
    let notes = input.notes.unwrap_or_default().trim().to_string();
    if notes.chars().count() > 2000 {
        errors.push(FieldError::new("notes", "at most 2000 characters"));
    }
    if let Some(h) = input.helper_id {
        let town: Option<Uuid> = helpers::table
            .find(h)
            .select(helpers::town_id)
            .first(&mut conn)
            .await
            .optional()?;
        if town != Some(person.town_id) {
            errors.push(FieldError::new(
                "helper_id",
                "no such helper in the person's town",
            ));
        }
    }
    AppError::check(errors)?;
    let visit = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let v: VisitOut = diesel::insert_into(visits::table)
                .values((
                    visits::id.eq(Uuid::now_v7()),
                    visits::person_id.eq(id),
                    visits::helper_id.eq(input.helper_id),
                    visits::city_id.eq(person.city_id),
                    visits::visited_at.eq(at),
                    visits::notes.eq(notes),
                    visits::recorded_by.eq(caller.user_id),
                ))
                .returning(VisitOut::as_returning())
                .get_result(conn)
                .await?;
            diesel::sql_query(
                "UPDATE persons SET last_visited_at = GREATEST(last_visited_at, $2) WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(id)
            .bind::<diesel::sql_types::Timestamptz, _>(at)
            .execute(conn)
            .await?;
            Ok(v)
        })
        .await?;
    Ok(created(&visit))
}
