//! Keyset pagination: `limit` and `cursor` checked, one extra row fetched, the next cursor.

use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A page of a list: the rows and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null when this is the last.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// A finished page ([`Page::finish`], [`SeqPage::finish`]), each row as the API shows it.
    pub fn of<R: Into<T>>((rows, next_cursor): (Vec<R>, Option<String>)) -> Self {
        Paged {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }
    }
}

/// Declares the query-string parameters of a list: the filters written out, then `limit` and
/// `cursor`, parsed strictly (an unknown parameter is 422) and documented once here.
macro_rules! list_query {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Page size (1–200, default 50).
            #[param(minimum = 1)]
            pub limit: Option<i64>,
            /// Cursor from the previous page.
            pub cursor: Option<String>,
        }
    };
}
pub(crate) use list_query;

list_query! {
    /// `limit` and `cursor` of a list with no other parameters.
    pub struct PageQuery {}
}

/// Default and largest page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page any list answers.
pub const MAX_LIMIT: i64 = 200;

/// `limit` and `cursor` of a list request, checked.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// How many rows to answer.
    pub limit: i64,
    /// Rows strictly after this id (keyset).
    pub after: Option<Uuid>,
}

/// A page size checked: 1..=200 (larger is capped), `default` when absent.
pub fn checked_limit(limit: Option<i64>, default: i64) -> Result<i64> {
    match limit {
        None => Ok(default),
        Some(n) if n < 1 => Err(Error::field("limit", "must be at least 1")),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

impl Page {
    /// Validates the raw values: limit 1..=200 (larger is capped), a cursor we issued.
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<Page> {
        let limit = checked_limit(limit, DEFAULT_LIMIT)?;
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(
                decode_cursor(c)
                    .ok_or_else(|| Error::field("cursor", "is not a cursor this API issued"))?,
            ),
        };
        Ok(Page { limit, after })
    }

    /// Trims the one-extra row fetched and returns the next cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = if more {
            rows.last().map(|r| encode_cursor(id(r)))
        } else {
            None
        };
        (rows, next)
    }
}

/// A cursor is the last id seen, opaque to clients.
pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a cursor back.
pub fn decode_cursor(c: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// `limit` and `cursor` of a list ordered by a per-parent sequence (a need's events, a
/// campaign's ledger): the cursor is the last `seq` seen.
#[derive(Debug, Clone, Copy)]
pub struct SeqPage {
    /// How many rows to answer.
    pub limit: i64,
    /// Rows with a `seq` strictly after this.
    pub after: i32,
}

impl SeqPage {
    /// Validates the raw values: limit 1..=200 (larger is capped, `default` when absent), a cursor we issued.
    pub fn new(limit: Option<i64>, cursor: Option<&str>, default: i64) -> Result<SeqPage> {
        let limit = checked_limit(limit, default)?;
        let after = match cursor {
            None | Some("") => 0,
            Some(c) => c
                .parse()
                .map_err(|_| Error::field("cursor", "is not a cursor this API issued"))?,
        };
        Ok(SeqPage { limit, after })
    }

    /// Trims the one-extra row fetched and returns the next cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, seq: impl Fn(&T) -> i32) -> (Vec<T>, Option<String>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = if more {
            rows.last().map(|r| seq(r).to_string())
        } else {
            None
        };
        (rows, next)
    }
}

/// A page of a list ordered by id, as the use cases read it: a list is trimmed before its rows
/// are dressed, so no query is spent on the extra row that is not shown.
pub trait Keyset {
    /// How many rows to answer.
    fn limit(&self) -> i64;
    /// Rows strictly after this id.
    fn after(&self) -> Option<Uuid>;
    /// Trims the one extra row fetched and returns the next page's cursor, if there is one.
    fn finish<T>(&self, rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>);
}

impl Keyset for Page {
    fn limit(&self) -> i64 {
        self.limit
    }

    fn after(&self) -> Option<Uuid> {
        self.after
    }

    fn finish<T>(&self, rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>) {
        Page::finish(self, rows, id)
    }
}
