//! Importing registers from Excel/CSV: persons and helpers, with a per-row report.
//!
//! One row pipeline serves both: read the table (`crate::import`), check every row exactly as
//! `POST /persons` (or `POST /helpers`) would, find repeats within the file and rows already
//! registered, write the new rows together in one transaction, and report what became of each.
//! Each register says only how its rows are checked, keyed, looked up and written ([`Rows`]).

use std::collections::HashMap;
use std::hash::Hash;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::persons::{validate_fields, Contacts, NewPerson, PersonIn, CARE_ROLES};
use super::{audit, fields};
use crate::auth::{Caller, Scope};
use crate::db::models::helpers::HelperRow;
use crate::db::models::persons::NewPersonRow;
use crate::db::models::places::{UnitPlace, Village};
use crate::db::queries::{helpers as helper_q, persons as person_q, places};
use crate::domain::pii::PiiCipher;
use crate::domain::roles::HelperKind;
use crate::error::{Error, FieldError, Result};
use crate::import::columns::{self as col, Register, HELPERS, PERSONS};
use crate::import::sheet::{self, SheetRow, Table};
use crate::import::values::{parse_grade, parse_kind};

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Written.
    Created,
    /// Already registered, or a repeat of an earlier row of the file; not written.
    Duplicate,
    /// Failed validation (see `errors`); not written.
    Invalid,
}

/// One row of a persons import report.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonImportRow {
    /// The spreadsheet row number (the header is row 1 when it is the first row).
    pub row: u32,
    /// `created`, `duplicate` or `invalid`.
    pub status: RowStatus,
    /// The new person; for a duplicate the registered person if in your scope; else null.
    pub person_id: Option<Uuid>,
    /// Why the row is invalid (or which registration it duplicates); empty when created.
    pub errors: Vec<FieldError>,
}

/// The answer of `POST /persons/import`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonImportReport {
    /// Rows written.
    pub created: usize,
    /// Rows already registered or repeated in the file.
    pub duplicates: usize,
    /// Rows that failed validation.
    pub invalid: usize,
    /// Every non-blank data row, in file order.
    pub rows: Vec<PersonImportRow>,
}

/// One row of a helpers import report.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelperImportRow {
    /// The spreadsheet row number (the header is row 1 when it is the first row).
    pub row: u32,
    /// `created`, `duplicate` or `invalid`.
    pub status: RowStatus,
    /// The new helper, or for a duplicate the existing one; null when invalid.
    pub helper_id: Option<Uuid>,
    /// Why the row is invalid (or what it duplicates); empty when created.
    pub errors: Vec<FieldError>,
}

/// The answer of `POST /helpers/import`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelperImportReport {
    /// Rows written.
    pub created: usize,
    /// Rows identical to an existing helper (name, phone, village) or repeated in the file.
    pub duplicates: usize,
    /// Rows that failed validation.
    pub invalid: usize,
    /// Every non-blank data row, in file order.
    pub rows: Vec<HelperImportRow>,
}

/// What became of one row, whichever the register: the report's rows are built from these.
struct Outcome {
    row: u32,
    status: RowStatus,
    id: Option<Uuid>,
    errors: Vec<FieldError>,
}

/// Every row's outcome, counted.
#[derive(Default)]
struct Tally {
    created: usize,
    duplicates: usize,
    invalid: usize,
    rows: Vec<Outcome>,
}

impl Tally {
    fn push(&mut self, o: Outcome) {
        match o.status {
            RowStatus::Created => self.created += 1,
            RowStatus::Duplicate => self.duplicates += 1,
            RowStatus::Invalid => self.invalid += 1,
        }
        self.rows.push(o);
    }
}

impl From<Tally> for PersonImportReport {
    fn from(t: Tally) -> Self {
        PersonImportReport {
            created: t.created,
            duplicates: t.duplicates,
            invalid: t.invalid,
            rows: t
                .rows
                .into_iter()
                .map(|o| PersonImportRow {
                    row: o.row,
                    status: o.status,
                    person_id: o.id,
                    errors: o.errors,
                })
                .collect(),
        }
    }
}

impl From<Tally> for HelperImportReport {
    fn from(t: Tally) -> Self {
        HelperImportReport {
            created: t.created,
            duplicates: t.duplicates,
            invalid: t.invalid,
            rows: t
                .rows
                .into_iter()
                .map(|o| HelperImportRow {
                    row: o.row,
                    status: o.status,
                    helper_id: o.id,
                    errors: o.errors,
                })
                .collect(),
        }
    }
}

/// Who may import. Each import checks it again; the handler asks first so that a refused role
/// is told 403 before its upload is read.
pub fn authorize(caller: &Caller) -> Result<()> {
    caller.require(CARE_ROLES)
}

/// Reads an uploaded register (CSV or XLSX) into rows, off the async workers. The handler calls
/// it before it takes a database connection, so a large upload being parsed holds none.
pub async fn read(caller: &Caller, register: Register, file: Vec<u8>) -> Result<Table> {
    authorize(caller)?;
    let own = matches!(caller.scope, Scope::Village(_));
    blocking(move || sheet::read(&file, register.columns, own)).await
}

/// Imports a persons register read by [`read`] with `PERSONS`.
pub async fn persons(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    table: Table,
) -> Result<PersonImportReport> {
    let rows = Persons { pii: pii.clone() };
    Ok(run(conn, caller, rows, table).await?.into())
}

/// Imports a helpers register read by [`read`] with `HELPERS`.
pub async fn helpers(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    table: Table,
) -> Result<HelperImportReport> {
    Ok(run(conn, caller, Helpers, table).await?.into())
}

// ---------------------------------------------------------------------------------------
// The pipeline

/// A register's part in the pipeline.
trait Rows: Clone + Send + 'static {
    /// A row checked and ready to insert.
    type Ready: Send + 'static;
    /// What makes two rows the same registration.
    type Key: Hash + Eq + Clone;
    /// The register's columns.
    const REGISTER: Register;
    /// The field a duplicate's error names.
    const KEY_FIELD: &'static str;
    /// The error of a row already registered.
    const REGISTERED: &'static str;
    /// The audit row's field (what was imported).
    const AUDIT: &'static str;

    /// Checks one row placed in `village` (none when the village is wrong: already reported);
    /// the row is ready only when every field passes and it has a village.
    fn check(
        &self,
        table: &Table,
        row: &SheetRow,
        village: Option<Village>,
    ) -> (Vec<FieldError>, Option<Self::Ready>);
    /// The row's key.
    fn key(r: &Self::Ready) -> Self::Key;
    /// The id the row will have.
    fn id(r: &Self::Ready) -> Uuid;
    /// The registrations these rows repeat: key → the id to report (none when out of scope).
    async fn registered(
        &self,
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        rows: &[&Self::Ready],
    ) -> Result<HashMap<Self::Key, Option<Uuid>>>;
    /// Writes the new rows (inside the import's transaction, hence `Send`).
    fn insert(
        conn: &mut AsyncPgConnection,
        rows: Vec<Self::Ready>,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// A row after validation.
struct Checked<R> {
    row: u32,
    errors: Vec<FieldError>,
    ready: Option<R>,
}

/// Runs CPU-heavy work (parsing, sealing and hashing thousands of rows) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::internal)?
}

/// Parse → check each row → dedupe in the file → look up what is registered → insert → report.
async fn run<K: Rows>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: K,
    table: Table,
) -> Result<Tally> {
    authorize(caller)?;
    let own = matches!(caller.scope, Scope::Village(_));
    let register = K::REGISTER;
    let mut refs = Vec::with_capacity(table.rows.len());
    let mut ref_errors = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut errors = Vec::new();
        refs.push(village_ref(
            table.text(row, register.village),
            own,
            &mut errors,
        ));
        ref_errors.push(errors);
    }
    let villages = Villages::load(conn, caller, &refs).await?;
    let checker = rows.clone();
    let checked: Vec<Checked<K::Ready>> = blocking(move || {
        let zipped = table.rows.iter().zip(refs.iter().zip(ref_errors));
        Ok(zipped
            .map(|(row, (r, mut village_errors))| {
                let village = villages.resolve(r, &mut village_errors);
                // field errors first, in column order, then the village
                let (mut errors, ready) = checker.check(&table, row, village);
                errors.append(&mut village_errors);
                Checked {
                    row: row.number,
                    errors,
                    ready,
                }
            })
            .collect())
    })
    .await?;
    let ready: Vec<&K::Ready> = checked.iter().filter_map(|c| c.ready.as_ref()).collect();
    let existing = rows.registered(conn, caller, &ready).await?;
    let (tally, new) = decide::<K>(checked, &existing);
    if !new.is_empty() {
        conn.transaction::<_, Error, _>(async move |conn| {
            K::insert(conn, new).await?;
            audit::record(conn, caller, "import", None, &[K::AUDIT]).await
        })
        .await?;
    }
    Ok(tally)
}

/// Decides each row: invalid, a repeat of an earlier row (pointing at it), already registered,
/// or new; answers the tally and the rows to insert.
fn decide<K: Rows>(
    checked: Vec<Checked<K::Ready>>,
    existing: &HashMap<K::Key, Option<Uuid>>,
) -> (Tally, Vec<K::Ready>) {
    let mut first_seen: HashMap<K::Key, (u32, Option<Uuid>)> = HashMap::new();
    let mut new = Vec::new();
    let mut tally = Tally::default();
    for c in checked {
        let Some(r) = c.ready else {
            tally.push(Outcome {
                row: c.row,
                status: RowStatus::Invalid,
                id: None,
                errors: c.errors,
            });
            continue;
        };
        let key = K::key(&r);
        let (status, id, errors) = if let Some((earlier, id)) = first_seen.get(&key) {
            let e = FieldError::new(K::KEY_FIELD, format!("repeats row {earlier} of this file"));
            (RowStatus::Duplicate, *id, vec![e])
        } else if let Some(id) = existing.get(&key) {
            first_seen.insert(key, (c.row, *id));
            let e = FieldError::new(K::KEY_FIELD, K::REGISTERED);
            (RowStatus::Duplicate, *id, vec![e])
        } else {
            let id = K::id(&r);
            first_seen.insert(key, (c.row, Some(id)));
            new.push(r);
            (RowStatus::Created, Some(id), Vec::new())
        };
        tally.push(Outcome {
            row: c.row,
            status,
            id,
            errors,
        });
    }
    (tally, new)
}

// ---------------------------------------------------------------------------------------
// Villages

/// How a row names its village, before the codes are looked up.
enum VillageRef {
    /// The caller's own village (village staff, column blank or absent).
    Own,
    /// A well-formed 12-digit code.
    Code(String),
    /// Nothing usable; the error is already recorded.
    Bad,
}

/// Reads a row's village code (blank: village staff's own village).
fn village_ref(raw: &str, own: bool, errors: &mut Vec<FieldError>) -> VillageRef {
    let code = raw.trim();
    if code.is_empty() {
        if own {
            return VillageRef::Own;
        }
        errors.push(FieldError::new("village_code", "is required"));
        return VillageRef::Bad;
    }
    if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
        VillageRef::Code(code.to_string())
    } else {
        errors.push(FieldError::new(
            "village_code",
            "must be the 12-digit code of a village",
        ));
        VillageRef::Bad
    }
}

/// The villages a file names, resolved with one query, in the caller's scope.
struct Villages {
    own: Option<UnitPlace>,
    by_code: HashMap<String, UnitPlace>,
}

impl Villages {
    /// Looks up every code the rows name (and village staff's own village) in one go.
    async fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        refs: &[VillageRef],
    ) -> Result<Villages> {
        let mut codes: Vec<String> = refs
            .iter()
            .filter_map(|r| match r {
                VillageRef::Code(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        codes.sort();
        codes.dedup();
        let by_code = places::units_by_code(conn, caller.scope, &codes)
            .await?
            .into_iter()
            .map(|u| (u.code.clone(), u))
            .collect();
        let own = match (
            caller.scope,
            refs.iter().any(|r| matches!(r, VillageRef::Own)),
        ) {
            (Scope::Village(v), true) => Some(places::unit_in_scope(conn, caller.scope, v).await?),
            _ => None,
        };
        Ok(Villages { own, by_code })
    }

    /// The village of a row, or an error on `village_code`.
    fn resolve(&self, r: &VillageRef, errors: &mut Vec<FieldError>) -> Option<Village> {
        let unit = match r {
            VillageRef::Bad => return None,
            VillageRef::Own => self.own.as_ref(),
            VillageRef::Code(c) => self.by_code.get(c),
        };
        fields::as_village(unit, "village_code", errors)
    }
}

// ---------------------------------------------------------------------------------------
// Persons

/// The persons register: keyed by the ID number's current hash.
#[derive(Clone)]
struct Persons {
    pii: PiiCipher,
}

/// A person row sealed and ready to insert.
struct PersonReady {
    row: NewPersonRow,
    /// Every hash the number may be stored under (more than one during a key rotation).
    lookup_hashes: Vec<Vec<u8>>,
}

impl Rows for Persons {
    type Ready = PersonReady;
    type Key = Vec<u8>;
    const REGISTER: Register = PERSONS;
    const KEY_FIELD: &'static str = "id_number";
    const REGISTERED: &'static str = "is already registered";
    const AUDIT: &'static str = "persons";

    fn check(
        &self,
        table: &Table,
        row: &SheetRow,
        village: Option<Village>,
    ) -> (Vec<FieldError>, Option<PersonReady>) {
        let input = PersonIn {
            name: table.text(row, col::P_NAME).to_string(),
            id_number: table.text(row, col::P_ID).to_string(),
            disability_cert_number: table.optional(row, col::P_CERT),
            disability_category: table.text(row, col::P_CATEGORY).to_string(),
            // an unreadable grade is reported exactly as an out-of-range one
            disability_grade: parse_grade(table.text(row, col::P_GRADE)).unwrap_or(0),
            birth_date: None,
            gender: None,
            phone: table.optional(row, col::P_PHONE),
            address: table.optional(row, col::P_ADDRESS),
            guardian_name: table.optional(row, col::P_GUARDIAN),
            guardian_phone: table.optional(row, col::P_GUARDIAN_PHONE),
            village_id: None,
        };
        let mut errors = Vec::new();
        let checked = validate_fields(&input, &mut errors);
        for (column, key) in [
            (col::P_ID, "id_number"),
            (col::P_CERT, "disability_cert_number"),
        ] {
            // a number in the cell, or "3.70883E+17" in a CSV that Excel saved
            let as_number = table
                .cell(row, column)
                .is_some_and(|c| c.numeric || c.text.contains("E+") || c.text.contains("e+"));
            if as_number {
                for e in errors.iter_mut().filter(|e| e.field == key) {
                    e.message.push_str(
                        " (the cell holds a number, and Excel keeps only 15 digits: format the column as text)",
                    );
                }
            }
        }
        let contacts = Contacts::check(&input, &mut errors);
        let ready = match (checked, village) {
            (Some(checked), Some(village)) if errors.is_empty() => {
                let lookup_hashes = self.pii.blind_indexes(checked.1.expose());
                let new = NewPerson::new(checked, contacts, village);
                Some(PersonReady {
                    row: new.sealed(&self.pii),
                    lookup_hashes,
                })
            }
            _ => None,
        };
        (errors, ready)
    }

    fn key(r: &PersonReady) -> Vec<u8> {
        r.row.id_number_hash.clone()
    }

    fn id(r: &PersonReady) -> Uuid {
        r.row.person.id
    }

    async fn registered(
        &self,
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        rows: &[&PersonReady],
    ) -> Result<HashMap<Vec<u8>, Option<Uuid>>> {
        // every lookup hash (the previous key's too, during a rotation) → the current one
        let alias: HashMap<&Vec<u8>, &Vec<u8>> = rows
            .iter()
            .flat_map(|p| p.lookup_hashes.iter().map(|h| (h, &p.row.id_number_hash)))
            .collect();
        let hashes: Vec<&Vec<u8>> = alias.keys().copied().collect();
        let found = person_q::registered(conn, caller, &hashes).await?;
        Ok(found
            .into_iter()
            .filter_map(|(h, id, visible)| {
                alias
                    .get(&h)
                    .map(|current| ((*current).clone(), visible.then_some(id)))
            })
            .collect())
    }

    async fn insert(conn: &mut AsyncPgConnection, rows: Vec<PersonReady>) -> Result<()> {
        let rows: Vec<NewPersonRow> = rows.into_iter().map(|r| r.row).collect();
        Ok(person_q::insert_many(conn, &rows).await?)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

/// The helpers register: keyed by (village, name, phone).
#[derive(Clone)]
struct Helpers;

impl Rows for Helpers {
    type Ready = HelperRow;
    type Key = (Uuid, String, Option<String>);
    const REGISTER: Register = HELPERS;
    const KEY_FIELD: &'static str = "name";
    const REGISTERED: &'static str =
        "a helper with this name and phone is already registered in this village";
    const AUDIT: &'static str = "helpers";

    fn check(
        &self,
        table: &Table,
        row: &SheetRow,
        village: Option<Village>,
    ) -> (Vec<FieldError>, Option<HelperRow>) {
        let mut errors = Vec::new();
        let name = fields::name(table.text(row, col::H_NAME), &mut errors);
        let phone = fields::phone("phone", table.optional(row, col::H_PHONE), &mut errors);
        let kind = parse_kind(table.text(row, col::H_KIND));
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                format!(
                    "must be one of {} (or 村干部, 志愿者, 党员, 网格员, 亲属, 其他)",
                    HelperKind::words()
                ),
            ));
        }
        let ready = match (kind, village) {
            (Some(kind), Some(v)) if errors.is_empty() => Some(HelperRow {
                id: Uuid::now_v7(),
                city_id: v.city_id,
                town_id: v.town_id,
                village_id: v.id,
                name,
                phone,
                kind: kind.as_str().to_owned(),
                volunteer_team_id: None,
                user_id: None,
                active: true,
                created_at: Utc::now(),
            }),
            _ => None,
        };
        (errors, ready)
    }

    fn key(h: &HelperRow) -> Self::Key {
        (h.village_id, h.name.clone(), h.phone.clone())
    }

    fn id(h: &HelperRow) -> Uuid {
        h.id
    }

    async fn registered(
        &self,
        conn: &mut AsyncPgConnection,
        _caller: &Caller,
        rows: &[&HelperRow],
    ) -> Result<HashMap<Self::Key, Option<Uuid>>> {
        // the same name in the same villages, matched on phone in memory
        let mut villages: Vec<Uuid> = rows.iter().map(|h| h.village_id).collect();
        villages.sort();
        villages.dedup();
        let mut names: Vec<String> = rows.iter().map(|h| h.name.clone()).collect();
        names.sort();
        names.dedup();
        let mut existing = HashMap::new();
        for (id, v, n, p) in helper_q::named_in(conn, &villages, &names).await? {
            existing.entry((v, n, p)).or_insert(Some(id));
        }
        Ok(existing)
    }

    async fn insert(conn: &mut AsyncPgConnection, rows: Vec<HelperRow>) -> Result<()> {
        Ok(helper_q::insert_many(conn, &rows).await?)
    }
}
