//! A keyset page as the use cases read it: how many rows, strictly after which id, and how the
//! one extra row fetched is trimmed. Reading `limit`/`cursor` and writing the cursor is the
//! API's (`http::extract::Page` implements this), so a list is trimmed before its rows are
//! dressed (no query spent on the row that is not shown).

use uuid::Uuid;

/// A page of a list ordered by id.
pub trait Keyset {
    /// How many rows to answer.
    fn limit(&self) -> i64;
    /// Rows strictly after this id.
    fn after(&self) -> Option<Uuid>;
    /// Trims the one extra row fetched and returns the next page's cursor, if there is one.
    fn finish<T>(&self, rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>);
}
