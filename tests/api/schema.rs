//! Schema invariants, checked on a freshly migrated database.

use crate::support::*;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

#[derive(QueryableByName, Debug)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName, Debug)]
struct Col {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[tokio::test]
async fn every_foreign_key_is_indexed() {
    let app = spawn_app().await;
    let mut db = app.db().await;
    // a foreign key is covered when some index starts with its columns
    let missing: Vec<Name> = diesel::sql_query(
        "SELECT c.conrelid::regclass::text || '(' || string_agg(a.attname, ',') || ')' AS name
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
              AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey)
         GROUP BY c.conrelid, c.conname ORDER BY 1",
    )
    .load(&mut db)
    .await
    .expect("query");
    let names: Vec<String> = missing.into_iter().map(|m| m.name).collect();
    // city_id is the tenant key: its lookups go through (city_id, id) indexes on the big tables
    let allowed = |n: &str| n.ends_with("(city_id)") || n.starts_with("city_settings");
    let unindexed: Vec<&String> = names.iter().filter(|n| !allowed(n)).collect();
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
}

#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    let app = spawn_app().await;
    let mut db = app.db().await;
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut db)
    .await
    .expect("columns");
    let schema = include_str!("../../src/db/schema.rs");
    let mut declared: Vec<(String, String)> = Vec::new();
    let mut table: Option<String> = None;
    let mut sql_name: Option<String> = None;
    for line in schema.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{') {
            if let Some((name, _)) = rest.split_once(" (") {
                table = Some(name.trim().to_string());
                continue;
            }
        }
        if line.starts_with('}') {
            table = None;
            continue;
        }
        if let Some(n) = line
            .strip_prefix("#[sql_name = \"")
            .and_then(|r| r.strip_suffix("\"]"))
        {
            sql_name = Some(n.to_string());
            continue;
        }
        if let (Some(t), Some((col, _))) = (&table, line.split_once(" -> ")) {
            declared.push((
                t.clone(),
                sql_name.take().unwrap_or_else(|| col.trim().to_string()),
            ));
        }
    }
    let actual: Vec<(String, String)> = cols
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect();
    let mut a = actual.clone();
    let mut d = declared.clone();
    a.sort();
    d.sort();
    assert_eq!(
        d, a,
        "src/db/schema.rs must list exactly the migrated columns"
    );
}

#[tokio::test]
async fn history_and_audit_rows_cannot_be_changed_or_removed() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let n = w.need("village_v1", p["id"].as_str().unwrap_or("")).await;
    let pid = p["id"].as_str().unwrap_or("");
    w.app
        .get(
            &format!("/persons/{pid}?reveal=id_number"),
            w.tok("village_v1"),
        )
        .await
        .expect(200);
    let mut db = w.app.db().await;
    for sql in [
        "UPDATE need_events SET actor = 'someone else'",
        "DELETE FROM need_events",
        "TRUNCATE need_events CASCADE",
        "UPDATE audit_log SET actor = 'nobody'",
        "DELETE FROM audit_log",
    ] {
        let r = db.batch_execute(sql).await;
        assert!(r.is_err(), "{sql} must be refused");
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM need_events WHERE need_id = '{}'",
        n["id"].as_str().unwrap_or("")
    ))
    .get_result(&mut db)
    .await
    .expect("count");
    assert_eq!(c.n, 1);
}

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn prepared_updates(db: &mut diesel_async::AsyncPgConnection) -> i64 {
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'UPDATE \"needs\"%'",
    )
    .get_result(db)
    .await
    .expect("query");
    c.n
}

/// An action's `UPDATE` stays prepared on its connection (zhucan::db::cached): run three times,
/// it is one prepared statement, where diesel alone prepares it anew and closes it each time.
#[tokio::test]
async fn an_action_update_is_prepared_once_per_connection() {
    use diesel::{ExpressionMethods, QueryDsl};
    use zhucan::db::cached::CachedBySql;
    use zhucan::db::schema::needs;
    let app = spawn_app().await;
    let mut db = app.db().await;
    for version in 1..=3 {
        let updated = diesel::update(needs::table.filter(needs::id.eq(uuid::Uuid::nil())))
            .set(needs::version.eq(version))
            .execute(&mut db)
            .await
            .expect("plain update");
        assert_eq!(updated, 0);
    }
    assert_eq!(
        prepared_updates(&mut db).await,
        0,
        "diesel alone keeps none"
    );
    for version in 1..=3 {
        let updated = CachedBySql(
            diesel::update(needs::table.filter(needs::id.eq(uuid::Uuid::nil())))
                .set(needs::version.eq(version)),
        )
        .execute(&mut db)
        .await
        .expect("cached update");
        assert_eq!(updated, 0);
    }
    assert_eq!(prepared_updates(&mut db).await, 1, "one statement, reused");
}
