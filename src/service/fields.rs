//! Field checks shared by registrations, edits and imports: each pushes a 422 field error and
//! answers the cleaned value, so one form reports every bad field at once.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::places::{UnitPlace, Village};
use crate::db::queries::places;
use crate::domain::caller::{Caller, Scope};
use crate::domain::resident_id::DisabilityCategory;
use crate::domain::roles::UnitKind;
use crate::domain::text::{clean, phone_ok};
use crate::error::{Error, FieldError, Result};

/// A required name: trimmed, 1–100 characters.
pub fn name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 100 characters)",
        ));
    }
    name
}

/// A disability category, as a word or in Chinese.
pub fn category(raw: &str, errors: &mut Vec<FieldError>) -> Option<DisabilityCategory> {
    let c = DisabilityCategory::parse_any(raw);
    if c.is_none() {
        errors.push(FieldError::new(
            "disability_category",
            "must be one of vision, hearing, speech, physical, intellectual, mental, multiple",
        ));
    }
    c
}

/// A disability grade, 1–4.
pub fn grade(raw: i64, errors: &mut Vec<FieldError>) -> Option<i16> {
    if (1..=4).contains(&raw) {
        Some(raw as i16)
    } else {
        errors.push(FieldError::new("disability_grade", "must be 1, 2, 3 or 4"));
        None
    }
}

/// Optional free text of at most `max` characters (blank is absent).
pub fn text(
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

/// An optional phone number (blank is absent).
pub fn phone(field: &str, v: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = clean(v);
    if v.as_ref().is_some_and(|p| !phone_ok(p)) {
        errors.push(phone_error(field));
    }
    v
}

/// The 422 of a bad phone number.
pub fn phone_error(field: &str) -> FieldError {
    FieldError::new(field, "must be 5–20 digits (spaces, + and - allowed)")
}

/// A unit found (or not) in the caller's scope, accepted only when it is a village.
pub fn as_village(
    unit: Option<&UnitPlace>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Village> {
    match unit {
        Some(u) if u.kind == UnitKind::Village.as_str() => Some(Village::from(u)),
        Some(_) => {
            errors.push(FieldError::new(field, "must be a village"));
            None
        }
        None => {
            errors.push(FieldError::new(field, "no such village in your scope"));
            None
        }
    }
}

/// A village of the caller's scope, named by `village_id`.
pub async fn village_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Village>> {
    let unit = match places::unit_in_scope(conn, caller.scope, id).await {
        Ok(u) => Some(u),
        Err(diesel::result::Error::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(as_village(unit.as_ref(), "village_id", errors))
}

/// The village a new person or helper goes to: the one given, or village staff's own.
pub async fn village(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    given: Option<Uuid>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Village>> {
    match (given, caller.scope) {
        (Some(v), _) | (None, Scope::Village(v)) => village_in_scope(conn, caller, v, errors).await,
        (None, _) => {
            errors.push(FieldError::new("village_id", "is required"));
            Ok(None)
        }
    }
}

/// The 500 of a form whose checks passed but left a value unset (a bug, never a user's doing).
pub fn validated() -> Error {
    Error::internal("validated above")
}
