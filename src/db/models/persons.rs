//! Registered persons, their contact groups and visits, as stored, and the forms that write them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{contact_group_members, persons, visits};

/// A person row (written inside a [`NewPersonRow`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
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

/// A new person as written: its row (the ID number already sealed and masked) and the keyed
/// hashes that are written but not read back with it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = persons)]
pub struct NewPersonRow {
    /// The row.
    #[diesel(embed)]
    pub person: PersonRow,
    /// Keyed hash of the ID number (current key).
    pub id_number_hash: Vec<u8>,
    /// Keyed hash of the phone (current key).
    pub phone_hash: Option<Vec<u8>>,
    /// Keyed hash of the guardian's phone (current key).
    pub guardian_phone_hash: Option<Vec<u8>>,
}

/// A person's personal data as a key rotation or the phone-hash fill reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = persons)]
pub struct PiiRow {
    /// Id.
    pub id: Uuid,
    /// Sealed ID number.
    pub id_number_enc: Vec<u8>,
    /// Phone.
    pub phone: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// Keyed hash of the phone.
    pub phone_hash: Option<Vec<u8>>,
    /// Keyed hash of the guardian's phone.
    pub guardian_phone_hash: Option<Vec<u8>>,
}

/// What a key rotation or the phone-hash fill writes (`None`: left as it is).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PiiChanges {
    /// The ID number sealed anew.
    pub id_number_enc: Option<Vec<u8>>,
    /// Its keyed hash under the current key.
    pub id_number_hash: Option<Vec<u8>>,
    /// The phone's keyed hash under the current key.
    pub phone_hash: Option<Option<Vec<u8>>>,
    /// The guardian's phone's keyed hash under the current key.
    pub guardian_phone_hash: Option<Option<Vec<u8>>>,
}

/// The columns a `PATCH /persons/{id}` changes (`None`: left as it is; `Some(None)`: cleared).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PersonChanges {
    /// Name.
    pub name: Option<String>,
    /// Category word.
    pub disability_category: Option<&'static str>,
    /// Grade 1–4.
    pub disability_grade: Option<i16>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Address.
    pub address: Option<Option<String>>,
    /// Guardian.
    pub guardian_name: Option<Option<String>>,
    /// Guardian's phone.
    pub guardian_phone: Option<Option<String>>,
    /// The phone's keyed hash (changes with the phone).
    pub phone_hash: Option<Option<Vec<u8>>>,
    /// The guardian's phone's keyed hash (changes with it).
    pub guardian_phone_hash: Option<Option<Vec<u8>>>,
    /// Status word.
    pub status: Option<&'static str>,
    /// Village (a transfer).
    pub village_id: Option<Uuid>,
    /// Town (a transfer).
    pub town_id: Option<Uuid>,
    /// City (a transfer).
    pub city_id: Option<Uuid>,
    /// 0 when the contact group is dissolved.
    pub group_size: Option<i16>,
    /// Always set: the change's time.
    pub updated_at: DateTime<Utc>,
}

/// One member of a contact group.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = contact_group_members)]
pub struct NewMember {
    /// The person.
    pub person_id: Uuid,
    /// The helper.
    pub helper_id: Uuid,
    /// Slot 1–3.
    pub slot: i16,
    /// The person's city.
    pub city_id: Uuid,
}

/// A recorded visit (走访).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    /// Id.
    pub id: Uuid,
    /// The person visited.
    pub person_id: Uuid,
    /// The helper who visited (if recorded).
    pub helper_id: Option<Uuid>,
    /// When.
    pub visited_at: DateTime<Utc>,
    /// Notes.
    pub notes: String,
    /// The user who recorded it.
    pub recorded_by: Uuid,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

/// A new visit.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = visits)]
pub struct NewVisit {
    /// Id.
    pub id: Uuid,
    /// The person visited.
    pub person_id: Uuid,
    /// The helper who visited.
    pub helper_id: Option<Uuid>,
    /// The person's city.
    pub city_id: Uuid,
    /// When.
    pub visited_at: DateTime<Utc>,
    /// Notes.
    pub notes: String,
    /// The user who records it.
    pub recorded_by: Uuid,
}
