//! Attachments (附件): certificate scans, forms and delivery photos on needs and persons.
//!
//! Scope is the parent's: an attachment is found only through a need or a person the caller
//! sees (404 otherwise, the same as a missing id). Who may attach: to a need, anyone in its
//! scope but the auditor and a signed-in helper (whose writes are visits, filings and comments);
//! to a person, the roles that look after persons (admin, village and town staff). The object is
//! written before the row that names it, and the row (with the need's `attach` event) in one
//! transaction under the object's lock, so the orphan sweep can never take an object a row is
//! about to name.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use super::events;
use super::page::{Page, Paged};
use super::persons::CARE_ROLES;
use crate::auth::Caller;
use crate::db::models::needs::NewEvent;
use crate::db::queries::attachments as q;

// what the handlers and pages name: the row, its parent, the store and its upload types
pub use crate::db::models::attachments::AttachmentRow;
pub use crate::db::objects::{ObjectError, Objects, Refused, Spool, Spooled, MAX_SIZE};
pub use crate::db::queries::attachments::Parent;
use crate::db::queries::{needs, persons};
use crate::domain::caller::Actor;
use crate::domain::roles::Role;
use crate::error::{Error, Result};

/// The longest file name kept (characters).
pub const MAX_FILENAME: usize = 255;

/// The city of a parent in the caller's scope (404 outside it).
async fn city_of(conn: &mut AsyncPgConnection, caller: &Caller, parent: Parent) -> Result<Uuid> {
    Ok(match parent {
        Parent::Need(id) => needs::find_in_scope(conn, caller, id).await?.city_id,
        Parent::Person(id) => persons::in_scope(conn, caller, id).await?.city_id,
    })
}

/// Whether the caller may attach to this parent: 404 outside its scope, then 403 for a role
/// that may not. Called before the upload is read, so a refused caller sends no file for nothing.
pub async fn may_attach(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    parent: Parent,
) -> Result<()> {
    city_of(conn, caller, parent).await?;
    let allowed = match parent {
        Parent::Need(_) => !caller.is(&[Role::Auditor, Role::Helper]),
        Parent::Person(_) => caller.is(CARE_ROLES),
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden("your role may not attach files here"))
    }
}

/// The name a file is kept under: its last path segment, without control characters, trimmed
/// and at most [`MAX_FILENAME`] characters; a name left empty becomes `附件` with the extension
/// its bytes call for.
pub fn clean_filename(raw: Option<&str>, content_type: &str) -> String {
    let last = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_FILENAME)
        .collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        let ext = match content_type {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            _ => "pdf",
        };
        format!("附件.{ext}")
    } else {
        cleaned
    }
}

/// Keeps a spooled upload as an attachment of `parent` ([`may_attach`] has passed): the object
/// first, then in one transaction the row and, on a need, its `attach` event (version unchanged).
pub async fn attach(
    conn: &mut AsyncPgConnection,
    objects: &Objects,
    caller: &Caller,
    parent: Parent,
    filename: Option<&str>,
    file: Spooled,
) -> Result<AttachmentRow> {
    objects.keep(&file).await?;
    let row = AttachmentRow {
        id: Uuid::now_v7(),
        city_id: Uuid::nil(),
        need_id: match parent {
            Parent::Need(id) => Some(id),
            Parent::Person(_) => None,
        },
        person_id: match parent {
            Parent::Person(id) => Some(id),
            Parent::Need(_) => None,
        },
        filename: clean_filename(filename, file.content_type),
        content_type: file.content_type.to_string(),
        size: file.size as i64,
        sha256: file.sha256.clone(),
        uploaded_by: caller.user_id,
        created_at: Utc::now(),
    };
    let file = &file;
    conn.transaction::<_, Error, _>(async move |conn| {
        let mut row = row;
        // the parent again, inside the transaction (a need locked: its history grows)
        let need = match parent {
            Parent::Need(id) => Some(needs::lock_in_scope(conn, caller, id).await?),
            Parent::Person(_) => None,
        };
        row.city_id = match (&need, parent) {
            (Some(n), _) => n.city_id,
            (None, Parent::Person(id)) | (None, Parent::Need(id)) => {
                persons::in_scope(conn, caller, id).await?.city_id
            }
        };
        q::lock_object(conn, &row.sha256).await?;
        if !objects.exists(&row.sha256).await? {
            // swept between the write and this lock: write it again, under the lock
            objects.keep(file).await?;
        }
        let row = q::insert(conn, &row).await?;
        if let Some(need) = need {
            events::record(
                conn,
                NewEvent {
                    need: &need,
                    action: "attach",
                    from: Some(need.state),
                    actor: &Actor::of(caller),
                    at: row.created_at,
                    payload: json!({
                        "attachment_id": row.id,
                        "filename": row.filename,
                        "content_type": row.content_type,
                        "size": row.size,
                        "sha256": row.sha256,
                    }),
                },
            )
            .await?;
        }
        Ok(row)
    })
    .await
}

/// A parent's attachments in scope, oldest first, keyset-paged.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    parent: Parent,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Paged<AttachmentRow>> {
    let page = Page::new(limit, cursor)?;
    city_of(conn, caller, parent).await?;
    let rows = q::of(conn, parent, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |r| r.id)))
}

/// One attachment whose parent is in scope (404 otherwise), with its bytes as a stream.
pub async fn open(
    conn: &mut AsyncPgConnection,
    objects: &Objects,
    caller: &Caller,
    id: Uuid,
) -> Result<(
    AttachmentRow,
    futures_util::stream::BoxStream<'static, std::result::Result<bytes::Bytes, ObjectError>>,
)> {
    let row = find(conn, caller, id).await?;
    let bytes = objects.read(&row.sha256).await.map_err(|e| match e {
        // a row whose object is gone is damage `zhucan verify` names, not the caller's mistake
        ObjectError::Store(object_store::Error::NotFound { .. }) => Error::internal(format!(
            "attachment {id}: its object {} is missing",
            row.sha256
        )),
        other => other.into(),
    })?;
    Ok((row, bytes))
}

/// One attachment whose parent is in scope (404 otherwise).
pub async fn find(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<AttachmentRow> {
    let row = q::find(conn, id).await?.ok_or(Error::NotFound)?;
    let parent = match (row.need_id, row.person_id) {
        (Some(n), _) => Parent::Need(n),
        (None, Some(p)) => Parent::Person(p),
        (None, None) => return Err(Error::NotFound),
    };
    city_of(conn, caller, parent).await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_keeps_only_its_last_segment_without_control_characters() {
        assert_eq!(
            clean_filename(Some("C:\\扫描\\残疾证.jpg"), "image/jpeg"),
            "残疾证.jpg"
        );
        assert_eq!(
            clean_filename(Some("../../etc/passwd"), "application/pdf"),
            "passwd"
        );
        assert_eq!(
            clean_filename(Some(" 申请表\r\n.pdf "), "application/pdf"),
            "申请表.pdf"
        );
        assert_eq!(clean_filename(None, "image/png"), "附件.png");
        assert_eq!(clean_filename(Some("dir/"), "application/pdf"), "附件.pdf");
        assert_eq!(
            clean_filename(Some(&"长".repeat(300)), "image/png")
                .chars()
                .count(),
            255
        );
    }
}
