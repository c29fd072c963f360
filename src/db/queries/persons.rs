//! Persons, their contact groups and visits: reads in scope, inserts, the one-statement edit.

use std::collections::HashSet;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::helpers::HelperRow;
use crate::db::models::persons::{
    NewMember, NewPersonRow, NewVisit, PersonChanges, PersonRow, PiiChanges, PiiRow, VisitRow,
};
use crate::db::queries::{contains_pattern, insert_chunked, scope, CHUNK};
use crate::db::schema::{city_settings, contact_group_members, helpers, persons, visits};
use crate::domain::caller::Caller;

/// One person in the caller's scope (not found otherwise).
pub async fn in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<PersonRow> {
    scope::persons(caller)
        .filter(persons::id.eq(id))
        .select(PersonRow::as_select())
        .first(conn)
        .await
}

/// Which part of the tree a list is narrowed to (`Nothing` for a unit that does not exist).
#[derive(Debug, Clone, Copy)]
pub enum Under {
    /// Persons of a city.
    City(Uuid),
    /// Persons of a town.
    Town(Uuid),
    /// Persons of a village.
    Village(Uuid),
    /// No persons at all.
    Nothing,
}

/// What `GET /persons` filters by, already checked.
#[derive(Debug, Default)]
pub struct PersonFilter {
    /// Under a unit.
    pub under: Option<Under>,
    /// Of a village.
    pub village_id: Option<Uuid>,
    /// Status word.
    pub status: Option<&'static str>,
    /// Category word.
    pub category: Option<&'static str>,
    /// Grade.
    pub grade: Option<i16>,
    /// Complete (true) or incomplete (false) contact groups.
    pub group_complete: Option<bool>,
    /// Any of these ID-number hashes.
    pub id_hashes: Option<Vec<Vec<u8>>>,
    /// The name contains this (matched literally).
    pub name_contains: Option<String>,
    /// `?q=`: the name contains the text, or a phone (own or guardian's) hashes to one of these.
    pub search: Option<Search>,
    /// Rows after this id.
    pub after: Option<Uuid>,
    /// How many rows.
    pub limit: i64,
}

/// A search box's text, and the keyed hashes of the phone number it may be.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// What was typed, trimmed.
    pub text: String,
    /// Its phone hashes (current key, and the previous one during a rotation); empty when the
    /// text is no phone number.
    pub phone_hashes: Vec<Vec<u8>>,
}

/// A page of the persons in scope, by id.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: PersonFilter,
) -> QueryResult<Vec<PersonRow>> {
    let mut query = scope::persons(caller)
        .select(PersonRow::as_select())
        .order(persons::id)
        .limit(f.limit);
    query = match f.under {
        None => query,
        Some(Under::City(u)) => query.filter(persons::city_id.eq(u)),
        Some(Under::Town(u)) => query.filter(persons::town_id.eq(u)),
        Some(Under::Village(u)) => query.filter(persons::village_id.eq(u)),
        Some(Under::Nothing) => query.filter(persons::village_id.eq(Uuid::nil())),
    };
    if let Some(v) = f.village_id {
        query = query.filter(persons::village_id.eq(v));
    }
    if let Some(s) = f.status {
        query = query.filter(persons::status.eq(s));
    }
    if let Some(c) = f.category {
        query = query.filter(persons::disability_category.eq(c));
    }
    if let Some(g) = f.grade {
        query = query.filter(persons::disability_grade.eq(g));
    }
    match f.group_complete {
        Some(true) => query = query.filter(persons::group_size.ge(3)),
        Some(false) => query = query.filter(persons::group_size.lt(3)),
        None => {}
    }
    if let Some(hashes) = f.id_hashes {
        query = query.filter(persons::id_number_hash.eq_any(hashes));
    }
    if let Some(n) = f.name_contains {
        query = query.filter(persons::name.like(contains_pattern(&n)));
    }
    if let Some(s) = f.search {
        query = query.filter(
            persons::name
                .ilike(contains_pattern(&s.text))
                .or(persons::phone_hash.eq_any(s.phone_hashes.clone()))
                .or(persons::guardian_phone_hash.eq_any(s.phone_hashes)),
        );
    }
    if let Some(after) = f.after {
        query = query.filter(persons::id.gt(after));
    }
    query.load(conn).await
}

/// Inserts one person.
pub async fn insert(conn: &mut AsyncPgConnection, p: &NewPersonRow) -> QueryResult<PersonRow> {
    diesel::insert_into(persons::table)
        .values(p)
        .returning(PersonRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts many persons, a chunk per statement.
pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[NewPersonRow]) -> QueryResult<()> {
    insert_chunked::<persons::table, NewPersonRow>(conn, persons::table, rows).await
}

/// Applies an edit in one UPDATE, bumping the version, if the version is still `expected`
/// (the check and the write are one statement: a concurrent writer makes this `None`).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: i32,
    changes: &PersonChanges,
) -> QueryResult<Option<PersonRow>> {
    diesel::update(
        persons::table
            .filter(persons::id.eq(id))
            .filter(persons::version.eq(expected)),
    )
    .set((persons::version.eq(persons::version + 1), changes))
    .returning(PersonRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Removes every member of a person's contact group (the caller sets `group_size`).
pub async fn remove_members(conn: &mut AsyncPgConnection, person: Uuid) -> QueryResult<()> {
    diesel::delete(
        contact_group_members::table.filter(contact_group_members::person_id.eq(person)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks a person's row (contact-group capacity checks serialise on it).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    persons::table
        .find(id)
        .select(persons::id)
        .for_update()
        .first::<Uuid>(conn)
        .await?;
    Ok(())
}

/// The contact group's members in slot order.
pub async fn members(
    conn: &mut AsyncPgConnection,
    person: Uuid,
) -> QueryResult<Vec<(i16, HelperRow)>> {
    contact_group_members::table
        .inner_join(helpers::table)
        .filter(contact_group_members::person_id.eq(person))
        .order(contact_group_members::slot)
        .select((contact_group_members::slot, HelperRow::as_select()))
        .load(conn)
        .await
}

/// How many persons a helper may cover in a city (10 unless the city says otherwise).
pub async fn helper_capacity(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<i32> {
    Ok(city_settings::table
        .find(city)
        .select(city_settings::helper_capacity)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(10))
}

/// Replaces a person's contact group by these members (the group is then complete).
pub async fn replace_group(
    conn: &mut AsyncPgConnection,
    person: Uuid,
    rows: &[NewMember],
) -> QueryResult<()> {
    remove_members(conn, person).await?;
    diesel::insert_into(contact_group_members::table)
        .values(rows)
        .execute(conn)
        .await?;
    diesel::update(persons::table.find(person))
        .set((
            persons::group_size.eq(3),
            persons::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A page of a person's visits, oldest first.
pub async fn visits(
    conn: &mut AsyncPgConnection,
    person: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<VisitRow>> {
    let mut query = visits::table
        .filter(visits::person_id.eq(person))
        .order(visits::id)
        .limit(limit)
        .select(VisitRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(visits::id.gt(after));
    }
    query.load(conn).await
}

/// Records a visit and moves the person's `last_visited_at` forward (never back).
pub async fn insert_visit(conn: &mut AsyncPgConnection, v: &NewVisit) -> QueryResult<VisitRow> {
    let row: VisitRow = diesel::insert_into(visits::table)
        .values(v)
        .returning(VisitRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::sql_query(
        "UPDATE persons SET last_visited_at = GREATEST(last_visited_at, $2) WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(v.person_id)
    .bind::<diesel::sql_types::Timestamptz, _>(v.visited_at)
    .execute(conn)
    .await?;
    Ok(row)
}

/// A condition on persons, for boxed queries.
type PersonsWhere = Box<dyn BoxableExpression<persons::table, diesel::pg::Pg, SqlType = Bool>>;

// `column IN (SELECT unnest($1))`: unlike `= ANY($1)`, the planner probes the column's index
// once per element even when the table's statistics are stale (right after a bulk import),
// instead of comparing every row against the whole array.

/// Persons whose ID hash is one of `hashes`.
fn hash_in(hashes: Vec<Vec<u8>>) -> PersonsWhere {
    Box::new(
        diesel::dsl::sql::<Bool>("persons.id_number_hash IN (SELECT unnest(")
            .bind::<Array<Bytea>, _>(hashes)
            .sql("))"),
    )
}

/// Persons whose id is one of `ids`.
fn id_in(ids: Vec<Uuid>) -> PersonsWhere {
    Box::new(
        diesel::dsl::sql::<Bool>("persons.id IN (SELECT unnest(")
            .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
            .sql("))"),
    )
}

/// The persons registered under any of these hashes, whatever the scope:
/// (hash, id, whether the caller sees it).
pub async fn registered(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    hashes: &[&Vec<u8>],
) -> QueryResult<Vec<(Vec<u8>, Uuid, bool)>> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(CHUNK) {
        let found: Vec<(Vec<u8>, Uuid)> = persons::table
            .into_boxed()
            .filter(hash_in(chunk.iter().map(|h| (*h).clone()).collect()))
            .select((persons::id_number_hash, persons::id))
            .load(conn)
            .await?;
        let ids: Vec<Uuid> = found.iter().map(|(_, id)| *id).collect();
        let visible: HashSet<Uuid> = scope::persons(caller)
            .filter(id_in(ids))
            .select(persons::id)
            .load::<Uuid>(conn)
            .await?
            .into_iter()
            .collect();
        out.extend(found.into_iter().map(|(h, id)| {
            let seen = visible.contains(&id);
            (h, id, seen)
        }));
    }
    Ok(out)
}

/// A batch of persons' personal data after `after`, by id; `unhashed` keeps only the rows with a
/// phone whose keyed hash is missing (an index holds exactly those).
pub async fn pii_batch(
    conn: &mut AsyncPgConnection,
    after: Uuid,
    limit: i64,
    unhashed: bool,
) -> QueryResult<Vec<PiiRow>> {
    let mut q = persons::table
        .filter(persons::id.gt(after))
        .order(persons::id)
        .limit(limit)
        .select(PiiRow::as_select())
        .into_boxed();
    if unhashed {
        // the predicate of persons_phone_unhashed_idx, word for word
        q = q.filter(diesel::dsl::sql::<Bool>(
            "((phone IS NOT NULL AND phone_hash IS NULL) \
               OR (guardian_phone IS NOT NULL AND guardian_phone_hash IS NULL))",
        ));
    }
    q.load(conn).await
}

/// Writes re-sealed or re-hashed personal data, if the row still holds what was read (a row
/// changed meanwhile is left for the next run). Returns the rows changed (0 or 1).
pub async fn update_pii(
    conn: &mut AsyncPgConnection,
    read: &PiiRow,
    changes: &PiiChanges,
) -> QueryResult<usize> {
    diesel::update(
        persons::table
            .filter(persons::id.eq(read.id))
            .filter(persons::id_number_enc.eq(&read.id_number_enc))
            .filter(persons::phone.is_not_distinct_from(&read.phone))
            .filter(persons::guardian_phone.is_not_distinct_from(&read.guardian_phone)),
    )
    .set(changes)
    .execute(conn)
    .await
}
