//! Registered disabled persons: registering, listing, reading (and revealing the ID number,
//! audited), editing with `If-Match`, and transferring between villages.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{audit, fields, moves};
use crate::auth::Caller;
use crate::db::models::persons::{NewPersonRow, PersonChanges, PersonRow};
use crate::db::models::places::Village;
use crate::db::queries::persons::{self as q, PersonFilter, Search, Under};
use crate::db::queries::places;
use crate::domain::caller::{Actor, Scope};
use crate::domain::pii::PiiCipher;
use crate::domain::resident_id::{DisabilityCategory, DisabilityCertNumber, ResidentId};
use crate::domain::roles::{PersonStatus, Role};
use crate::domain::text::clean;
use crate::error::{Error, FieldError, Result};
use crate::service::page::list_query;

/// Roles that register and look after persons.
pub const CARE_ROLES: &[Role] = &[Role::Admin, Role::VillageStaff, Role::TownStaff];
/// Roles that may reveal an ID number (within their scope).
pub const REVEAL_ROLES: &[Role] = &[Role::Admin, Role::VillageStaff, Role::TownStaff];

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
    #[serde(serialize_with = "crate::domain::ts::utc_opt")]
    pub last_visited_at: Option<DateTime<Utc>>,
    /// Version (also the `ETag`).
    pub version: i32,
    /// Created.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
    /// Updated.
    #[serde(serialize_with = "crate::domain::ts::utc")]
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
    pub fn revealed(r: PersonRow, pii: &PiiCipher) -> Result<Self> {
        let clear = pii
            .open(r.id, "id_number", &r.id_number_enc)
            .map_err(Error::internal)?;
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
    #[serde(default, deserialize_with = "crate::domain::text::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Address (null clears).
    #[serde(default, deserialize_with = "crate::domain::text::double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    /// Guardian's name (null clears).
    #[serde(default, deserialize_with = "crate::domain::text::double_option")]
    #[schema(value_type = Option<String>)]
    pub guardian_name: Option<Option<String>>,
    /// Guardian's phone (null clears).
    #[serde(default, deserialize_with = "crate::domain::text::double_option")]
    #[schema(value_type = Option<String>)]
    pub guardian_phone: Option<Option<String>>,
    /// `active`, `moved_out` or `deceased`; leaving `active` dissolves the contact group.
    pub status: Option<String>,
    /// Transfer to another village (admin, town staff); a move to another town dissolves the group.
    pub village_id: Option<Uuid>,
}

list_query! {
    /// Filters of `GET /persons`.
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
        /// Search: the name contains it, or it is the exact phone number (the person's or the
        /// guardian's; matched by its keyed hash).
        pub q: Option<String>,
    }
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
) -> Result<PersonRow> {
    Ok(q::in_scope(conn, caller, id).await?)
}

/// A person's optional contact fields, checked as a registration checks them.
pub struct Contacts {
    /// Phone.
    pub phone: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Guardian.
    pub guardian_name: Option<String>,
}

impl Contacts {
    /// Checks the contact fields of a registration (errors in this order).
    pub fn check(input: &PersonIn, errors: &mut Vec<FieldError>) -> Contacts {
        Contacts {
            phone: fields::phone("phone", input.phone.clone(), errors),
            guardian_phone: fields::phone("guardian_phone", input.guardian_phone.clone(), errors),
            address: fields::text("address", input.address.clone(), 300, errors),
            guardian_name: fields::text("guardian_name", input.guardian_name.clone(), 100, errors),
        }
    }
}

/// A validated registration, ready to seal and insert.
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
    pub village: Village,
}

/// The fields of a registration that passed [`validate_fields`]: name, ID, category, grade.
pub type Checked = (String, ResidentId, DisabilityCategory, i16);

impl NewPerson {
    /// A registration with a new id, from its checked fields, contacts and village.
    pub fn new(checked: Checked, contacts: Contacts, village: Village) -> Self {
        let (name, resident_id, category, grade) = checked;
        NewPerson {
            id: Uuid::now_v7(),
            name,
            resident_id,
            category,
            grade,
            phone: contacts.phone,
            address: contacts.address,
            guardian_name: contacts.guardian_name,
            guardian_phone: contacts.guardian_phone,
            village,
        }
    }

    /// The row to insert: the ID number sealed to the row, hashed under the current key, masked.
    pub fn sealed(self, pii: &PiiCipher) -> NewPersonRow {
        let clear = self.resident_id.expose();
        let hash = |p: &Option<String>| p.as_deref().and_then(|p| pii.phone_index(p));
        let now = Utc::now();
        NewPersonRow {
            phone_hash: hash(&self.phone),
            guardian_phone_hash: hash(&self.guardian_phone),
            id_number_hash: pii.blind_index(clear),
            person: PersonRow {
                id: self.id,
                city_id: self.village.city_id,
                town_id: self.village.town_id,
                village_id: self.village.id,
                name: self.name,
                id_number_enc: pii.seal(self.id, "id_number", clear),
                id_number_masked: self.resident_id.masked(),
                disability_category: self.category.as_str().to_owned(),
                disability_grade: self.grade,
                birth_date: self.resident_id.birth_date(),
                gender: self.resident_id.gender().as_str().to_owned(),
                phone: self.phone,
                address: self.address,
                guardian_name: self.guardian_name,
                guardian_phone: self.guardian_phone,
                status: PersonStatus::Active.as_str().to_owned(),
                group_size: 0,
                last_visited_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        }
    }
}

/// Validates the fields of a registration that do not need the database.
pub fn validate_fields(input: &PersonIn, errors: &mut Vec<FieldError>) -> Option<Checked> {
    let name = fields::name(&input.name, errors);
    let rid = match ResidentId::parse(&input.id_number) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new("id_number", e.to_string()));
            None
        }
    };
    let cat = fields::category(&input.disability_category, errors);
    let grade = fields::grade(input.disability_grade, errors);
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

/// Registers a person in a village of the caller's scope; `body` is read after the role check.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    body: impl FnOnce() -> Result<PersonIn>,
) -> Result<PersonOut> {
    caller.require(CARE_ROLES)?;
    let input = body()?;
    let mut errors = Vec::new();
    let checked = validate_fields(&input, &mut errors);
    let contacts = Contacts::check(&input, &mut errors);
    let village = fields::village(conn, caller, input.village_id, &mut errors).await?;
    Error::check(errors)?;
    let (Some(checked), Some(village)) = (checked, village) else {
        return Err(fields::validated());
    };
    let new = NewPerson::new(checked, contacts, village);
    Ok(PersonOut::masked(q::insert(conn, &new.sealed(pii)).await?))
}

/// Persons in scope, filtered: `fetch` rows after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    query: PersonQuery,
    fetch: i64,
    after: Option<Uuid>,
) -> Result<Vec<PersonOut>> {
    let under = match query.org_unit_id {
        None => None,
        // a unit outside scope simply yields nothing: the scope filter still applies
        Some(u) => Some(
            match places::unit_in_scope(conn, Scope::All, u).await.ok() {
                Some(unit) if unit.kind == "city" => Under::City(u),
                Some(unit) if unit.kind == "town" => Under::Town(u),
                Some(_) => Under::Village(u),
                None => Under::Nothing,
            },
        ),
    };
    let status = match query.status {
        None => None,
        Some(s) => Some(PersonStatus::parse(&s).ok_or_else(|| {
            Error::field(
                "status",
                format!("must be one of {}", PersonStatus::words()),
            )
        })?),
    };
    let category = match query.disability_category {
        None => None,
        Some(c) => Some(
            DisabilityCategory::parse_any(&c)
                .ok_or_else(|| Error::field("disability_category", "unknown category"))?,
        ),
    };
    let id_hashes = match query.id_number {
        None => None,
        Some(raw) => {
            let rid =
                ResidentId::parse(&raw).map_err(|e| Error::field("id_number", e.to_string()))?;
            Some(pii.blind_indexes(rid.expose()))
        }
    };
    let filter = PersonFilter {
        under,
        village_id: query.village_id,
        status: status.map(PersonStatus::as_str),
        category: category.map(DisabilityCategory::as_str),
        grade: query.disability_grade,
        group_complete: query.contact_group_complete,
        id_hashes,
        name_contains: clean(query.name),
        search: search(pii, query.q),
        after,
        limit: fetch,
    };
    let rows = q::list(conn, caller, filter).await?;
    Ok(rows.into_iter().map(PersonOut::masked).collect())
}

/// A search box's text with the keyed hashes of the phone number it may be (`None` when blank).
pub fn search(pii: &PiiCipher, q: Option<String>) -> Option<Search> {
    clean(q).map(|text| Search {
        phone_hashes: pii.phone_indexes(&text),
        text,
    })
}

/// One person, masked; `reveal` = `id_number` shows the numbers (reveal roles only, audited).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    id: Uuid,
    reveal: Option<&str>,
) -> Result<PersonOut> {
    let row = load_in_scope(conn, caller, id).await?;
    match reveal {
        None | Some("") => Ok(PersonOut::masked(row)),
        Some("id_number") => {
            caller.require(REVEAL_ROLES)?;
            let out = PersonOut::revealed(row, pii)?;
            let shown = ["id_number", "disability_cert_number"];
            audit::record(conn, caller, "reveal", Some(id), &shown).await?;
            Ok(out)
        }
        Some(_) => Err(Error::field("reveal", "only id_number can be revealed")),
    }
}

/// Edits a person in one UPDATE, if `expected` (the `If-Match` version, passed unread so that
/// 404 and 403 come first) is still current; a transfer moves it to another village. Leaving
/// `active`, or moving to another town, dissolves the contact group.
pub async fn patch(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    id: Uuid,
    expected: Result<i32>,
    body: impl FnOnce() -> Result<PersonPatch>,
) -> Result<PersonOut> {
    let current = load_in_scope(conn, caller, id).await?;
    caller.require(CARE_ROLES)?;
    let expected = expected?;
    if expected != current.version {
        return Err(Error::PreconditionFailed);
    }
    let input = body()?;
    let changes = changes(conn, caller, pii, &current, input).await?;
    // a person who dies or moves out takes no open need along; one who moves village takes them all
    let leaving = changes
        .status
        .and_then(PersonStatus::parse)
        .filter(|s| *s != PersonStatus::Active);
    let moved_to = match (changes.village_id, changes.town_id, changes.city_id) {
        (Some(id), Some(town_id), Some(city_id)) => Some(Village {
            id,
            town_id,
            city_id,
        }),
        _ => None,
    };
    let actor = Actor::of(caller);
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            let row = q::update(conn, id, expected, &changes)
                .await?
                .ok_or(Error::PreconditionFailed)?;
            if changes.group_size == Some(0) {
                q::remove_members(conn, id).await?;
            }
            if let Some(status) = leaving {
                moves::withdraw_open(conn, &actor, id, status).await?;
            } else if let Some(to) = moved_to {
                moves::carry(conn, &actor, id, to, changes.updated_at).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(PersonOut::masked(row))
}

/// Checks a PATCH body against the current row and turns it into the one UPDATE's columns.
async fn changes(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    current: &PersonRow,
    input: PersonPatch,
) -> Result<PersonChanges> {
    let mut errors = Vec::new();
    let name = match input.name.as_deref().map(str::trim) {
        Some(n) if n.is_empty() || n.chars().count() > 100 => {
            errors.push(FieldError::new("name", "1–100 characters"));
            None
        }
        other => other.map(str::to_string),
    };
    let category = input
        .disability_category
        .as_deref()
        .and_then(|c| fields::category(c, &mut errors));
    let grade = input
        .disability_grade
        .and_then(|g| fields::grade(g, &mut errors));
    let status = input.status.as_deref().and_then(|s| {
        let parsed = PersonStatus::parse(s);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "status",
                format!("must be one of {}", PersonStatus::words()),
            ));
        }
        parsed
    });
    let phone = input.phone.map(|p| fields::phone("phone", p, &mut errors));
    let guardian_phone = input
        .guardian_phone
        .map(|p| fields::phone("guardian_phone", p, &mut errors));
    let address = input
        .address
        .map(|a| fields::text("address", a, 300, &mut errors));
    let guardian_name = input
        .guardian_name
        .map(|a| fields::text("guardian_name", a, 100, &mut errors));
    let village = match input.village_id {
        Some(v) if v != current.village_id => {
            if !caller.is(&[Role::Admin, Role::TownStaff]) {
                return Err(Error::Forbidden(
                    "only town staff and admins transfer persons",
                ));
            }
            fields::village_in_scope(conn, caller, v, &mut errors).await?
        }
        _ => None,
    };
    Error::check(errors)?;
    let dissolve = status.is_some_and(|s| s != PersonStatus::Active)
        || village.is_some_and(|v| v.town_id != current.town_id);
    // a phone's keyed hash changes with it (and is cleared with it)
    let hash = |p: &Option<Option<String>>| {
        p.as_ref()
            .map(|p| p.as_deref().and_then(|p| pii.phone_index(p)))
    };
    Ok(PersonChanges {
        phone_hash: hash(&phone),
        guardian_phone_hash: hash(&guardian_phone),
        name,
        disability_category: category.map(DisabilityCategory::as_str),
        disability_grade: grade,
        phone,
        address,
        guardian_name,
        guardian_phone,
        status: status.map(PersonStatus::as_str),
        village_id: village.map(|v| v.id),
        town_id: village.map(|v| v.town_id),
        city_id: village.map(|v| v.city_id),
        group_size: dissolve.then_some(0),
        updated_at: Utc::now(),
    })
}
