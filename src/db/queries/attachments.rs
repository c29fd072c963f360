//! Attachments: insert, the lists of a parent, one by id, and the object names rows hold.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::attachments::AttachmentRow;
use crate::db::schema::attachments;

/// The parent an attachment hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// A need.
    Need(Uuid),
    /// A person.
    Person(Uuid),
}

/// Writes an attachment row.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &AttachmentRow,
) -> QueryResult<AttachmentRow> {
    diesel::insert_into(attachments::table)
        .values(row)
        .returning(AttachmentRow::as_returning())
        .get_result(conn)
        .await
}

/// A parent's attachments, oldest first, `limit` rows after `after`.
pub async fn of(
    conn: &mut AsyncPgConnection,
    parent: Parent,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AttachmentRow>> {
    let mut q = attachments::table
        .order(attachments::id)
        .limit(limit)
        .select(AttachmentRow::as_select())
        .into_boxed();
    q = match parent {
        Parent::Need(id) => q.filter(attachments::need_id.eq(id)),
        Parent::Person(id) => q.filter(attachments::person_id.eq(id)),
    };
    if let Some(after) = after {
        q = q.filter(attachments::id.gt(after));
    }
    q.load(conn).await
}

/// One attachment, whatever the scope (the caller checks its parent's).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AttachmentRow>> {
    attachments::table
        .find(id)
        .select(AttachmentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Which of these object names some row holds.
pub async fn named(conn: &mut AsyncPgConnection, shas: &[String]) -> QueryResult<Vec<String>> {
    attachments::table
        .filter(attachments::sha256.eq_any(shas))
        .select(attachments::sha256)
        .distinct()
        .load(conn)
        .await
}

/// Every object name rows hold with its size, in name order, `limit` after `after`.
pub async fn objects(
    conn: &mut AsyncPgConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<(String, i64)>> {
    attachments::table
        .filter(attachments::sha256.gt(after))
        .select((attachments::sha256, attachments::size))
        .distinct()
        .order(attachments::sha256)
        .limit(limit)
        .load(conn)
        .await
}

/// Serialises the writes of one object name for the rest of the transaction: an upload that
/// names an object and the sweep that deletes it as an orphan never interleave.
pub async fn lock_object(conn: &mut AsyncPgConnection, sha256: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 16))")
        .bind::<diesel::sql_types::Text, _>(sha256)
        .execute(conn)
        .await
        .map(|_| ())
}
