//! Statements diesel would prepare anew on every execution, kept in the connection's
//! statement cache instead.
//!
//! diesel marks every `UPDATE` as unsafe to cache (a changeset may leave out `None` fields, so
//! one Rust type can stand for several SQL texts) and prepares it again each time: a Parse, a
//! plan and a round trip more per action, and a new server-side statement name every request.
//! [`CachedBySql`] lets such a statement be cached keyed by its SQL text and bind types rather
//! than by its type, which is safe whatever the statement: two different texts are two entries.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// Runs `Q` from the connection's statement cache, keyed by its SQL text.
#[derive(Debug, Clone, Copy)]
pub struct CachedBySql<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for CachedBySql<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        // keyed by the SQL text (no static query id below), so any text is safe to cache
        Ok(true)
    }
}

impl<Q> QueryId for CachedBySql<Q> {
    type QueryId = ();
    // no type-based key: the cache falls back to the SQL text and the bind types
    const HAS_STATIC_QUERY_ID: bool = false;
}
