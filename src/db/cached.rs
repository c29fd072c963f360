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

/// Runs `Q` with its SQL text built once per process rather than on every execution.
///
/// diesel writes a statement's SQL (every quoted column name, every join) before it looks the
/// statement up in the connection's cache, even when it is there; for the caller's row, loaded
/// on every authenticated request, that is about 6% of a person read's instructions. A query
/// whose text does not depend on its values (no boxed, optional filters; binds only) can keep
/// its text in a `static` at its call site:
///
/// ```ignore
/// static SQL: OnceLock<String> = OnceLock::new();
/// SqlOnce::new(query, &SQL).get_result(conn)
/// ```
///
/// Debug builds (the tests) build the text every time anyway and panic if it ever differs.
#[derive(Debug, Clone, Copy)]
pub struct SqlOnce<Q> {
    query: Q,
    sql: &'static std::sync::OnceLock<String>,
}

impl<Q> SqlOnce<Q> {
    /// `query`, whose SQL is kept in `sql` after its first execution.
    pub fn new(query: Q, sql: &'static std::sync::OnceLock<String>) -> Self {
        SqlOnce { query, sql }
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for SqlOnce<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // the binds, and the SQL when diesel walks the tree rather than asking for the text
        self.query.walk_ast(pass)
    }

    fn to_sql(&self, out: &mut diesel::pg::PgQueryBuilder, backend: &Pg) -> QueryResult<()> {
        use diesel::query_builder::QueryBuilder;
        let sql = match self.sql.get() {
            Some(sql) if !cfg!(debug_assertions) => sql,
            _ => {
                let mut built = diesel::pg::PgQueryBuilder::default();
                self.query.to_sql(&mut built, backend)?;
                let built = built.finish();
                let kept = self.sql.get_or_init(|| built.clone());
                assert_eq!(
                    *kept, built,
                    "SqlOnce on a query whose SQL depends on its values"
                );
                kept
            }
        };
        out.push_sql(sql);
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, backend: &Pg) -> QueryResult<bool> {
        self.query.is_safe_to_cache_prepared(backend)
    }
}

impl<Q: QueryId> QueryId for SqlOnce<Q> {
    type QueryId = Q::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for SqlOnce<Q> {
    type SqlType = Q::SqlType;
}

#[cfg(test)]
mod tests {
    use super::SqlOnce;
    use crate::db::schema::users;
    use diesel::pg::Pg;
    use diesel::{ExpressionMethods, QueryDsl};
    use std::sync::OnceLock;

    fn text(q: &impl diesel::query_builder::QueryFragment<Pg>) -> String {
        diesel::debug_query::<Pg, _>(q)
            .to_string()
            .split(" -- binds")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn the_kept_text_is_the_querys_own_for_every_value() {
        static SQL: OnceLock<String> = OnceLock::new();
        for id in [uuid::Uuid::nil(), uuid::Uuid::max()] {
            let q = users::table
                .filter(users::id.eq(id))
                .select(users::username)
                .limit(1);
            assert_eq!(text(&SqlOnce::new(q, &SQL)), text(&q));
        }
        assert!(SQL
            .get()
            .is_some_and(|s| s.contains("\"users\".\"id\" = $1")));
    }

    #[test]
    #[should_panic(expected = "SqlOnce on a query whose SQL depends on its values")]
    fn a_query_whose_text_changes_is_caught_in_the_tests() {
        static SQL: OnceLock<String> = OnceLock::new();
        for name in [None, Some("a")] {
            let mut q = users::table.select(users::id).into_boxed();
            if let Some(n) = name {
                q = q.filter(users::username.eq(n));
            }
            text(&SqlOnce::new(q, &SQL));
        }
    }
}
