//! Attachments: files on needs and persons, named in object storage by their sha256.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::attachments;

/// One attachment (the API's `Attachment`): the row written is the row shown.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = attachments)]
#[schema(as = Attachment, description = "A file attached to a need or a person.")]
pub struct AttachmentRow {
    /// Id.
    pub id: Uuid,
    /// The parent's city (the scope key; not shown).
    #[serde(skip)]
    #[schema(ignore)]
    pub city_id: Uuid,
    /// The need it is attached to (or none).
    pub need_id: Option<Uuid>,
    /// The person it is attached to (or none).
    pub person_id: Option<Uuid>,
    /// The file's name as uploaded (without any directory).
    pub filename: String,
    /// `image/jpeg`, `image/png` or `application/pdf`, recognised from the bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// The sha256 of the bytes, hex: the object's name.
    pub sha256: String,
    /// The user who uploaded it.
    pub uploaded_by: Uuid,
    /// When.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
}
