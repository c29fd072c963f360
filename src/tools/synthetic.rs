//! `zhucan seed --synthetic`: a realistic deployment for load and scale work, bulk-loaded with
//! COPY, with progress on stderr.
//!
//! How it is fast at province scale (docs/performance.md, "Bulk loading"):
//!
//! - **One transaction.** Everything below happens between one `BEGIN` and one `COMMIT`, so a
//!   failure, an interrupt or a killed process leaves the database exactly as it was: the indexes
//!   and constraints dropped for the load come back with the rollback. Before committing, the
//!   schema's indexes, constraints and triggers are compared with what they were before the load
//!   ([`SCHEMA_FINGERPRINT_SQL`]); any difference aborts (rolls back) the load.
//! - **No secondary indexes while loading.** The person- and need-sized tables ([`BULK_TABLES`])
//!   lose their non-primary-key indexes and their unique constraints that no foreign key depends
//!   on; the exact definitions (`pg_get_indexdef`, `pg_get_constraintdef`) are recreated after the
//!   last row, with `maintenance_work_mem` raised and parallel maintenance workers allowed.
//! - **No per-row trigger work.** As a superuser the session runs with
//!   `session_replication_role = replica`: foreign-key checks (and user triggers, which only
//!   refuse UPDATE/DELETE/TRUNCATE anyway) do not fire for this session's rows. Nothing in the
//!   catalog changes, so there is nothing to restore; the generator keeps every reference valid
//!   by construction (the test checks every foreign key with an anti-join). Without superuser
//!   rights the load runs with the checks on, in FK order, just slower.
//! - **COPY FREEZE.** When the bulk tables (and the tables that reference them) are empty, they
//!   are truncated in the load's transaction, so COPY may write frozen, all-visible rows: no
//!   later hint-bit writes or freeze vacuum over the whole load.
//! - **Pipelined and bounded.** One thread generates the rows (ID numbers sealed and hashed per
//!   row, hash chains per need and per campaign) chunk by chunk, a few thousand persons at a
//!   time, while the previous chunk streams into PostgreSQL; at most two chunks wait in between,
//!   so memory does not grow with the deployment.
//!
//! Every row keeps the model's invariants: contact groups of helpers of the person's own village
//! (90% complete with three, 5% with two, 5% with none), helpers within capacity, needs whose
//! version equals their state-changing events and whose events replay to their state with a valid
//! hash chain, campaigns whose ledger (donations, allocations to open social needs, each with its
//! `allocate` event) is hash-chained and balances.
//!
//! Every synthetic user's password is the demo password (`DEMO_PASSWORD`, default
//! `demo-password`); usernames are listed in docs/performance.md.

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use futures_util::SinkExt;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;
use uuid::Uuid;

use crate::db::models::ledger::LedgerEntry;
use crate::db::models::needs::EventRow;
use crate::domain::chain::event_hash;
use crate::domain::need::{
    decide, Action, Category, Handler, Level, Loop, NeedView, Relation, State, Urgency,
};
use crate::domain::pii::PiiCipher;
use crate::domain::resident_id::{make_valid, DisabilityCategory, ResidentId};
use crate::domain::sla::default_hours;
use crate::service::ledger::entry_hash;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Cities.
    pub cities: usize,
    /// Persons in all.
    pub persons: usize,
    /// Needs per person (the issue's city benchmark uses 5).
    pub needs_per_person: f64,
    /// Persons per village (Zoucheng: about 100).
    pub persons_per_village: usize,
}

/// What was built.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Rows per table, in load order.
    pub rows: Vec<(&'static str, usize)>,
    /// Seconds spent in COPY per table (the generator runs alongside).
    pub copy_seconds: Vec<(&'static str, f64)>,
    /// Seconds spent loading rows (generation and COPY, pipelined).
    pub load_seconds: f64,
    /// Seconds spent recreating the indexes and constraints dropped for the load.
    pub index_seconds: f64,
    /// Seconds spent in VACUUM (ANALYZE) after the commit.
    pub analyze_seconds: f64,
    /// Whether COPY FREEZE was used.
    pub frozen: bool,
    /// Whether foreign-key checks were skipped (superuser, `session_replication_role = replica`).
    pub unchecked: bool,
    /// Seconds in all.
    pub seconds: f64,
    /// `pg_database_size` after the load.
    pub database_bytes: i64,
}

/// The person- and need-sized tables that are loaded without their secondary indexes.
pub const BULK_TABLES: &[&str] = &[
    "helpers",
    "persons",
    "contact_group_members",
    "needs",
    "need_access",
    "need_events",
    "service_records",
];

/// One line per index, constraint and trigger of the `public` schema, sorted: what the load
/// must leave exactly as it found it.
pub const SCHEMA_FINGERPRINT_SQL: &str = "\
SELECT line FROM (
  SELECT 'index ' || indexname || ': ' || indexdef AS line FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid)
         || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname || ': ' || pg_get_triggerdef(oid)
         || ' [' || tgenabled::text || ']'
    FROM pg_trigger
   WHERE NOT tgisinternal
     AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
) s ORDER BY line";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

/// Rows of one table in COPY text format.
struct Copy {
    table: &'static str,
    columns: &'static str,
    buf: String,
    rows: usize,
    line_start: bool,
}

impl Copy {
    fn new(table: &'static str, columns: &'static str) -> Self {
        Copy {
            table,
            columns,
            buf: String::with_capacity(1 << 16),
            rows: 0,
            line_start: true,
        }
    }
    fn sep(&mut self) {
        if !self.line_start {
            self.buf.push('\t');
        }
        self.line_start = false;
    }
    fn field(&mut self, v: &str) {
        self.sep();
        if !v
            .bytes()
            .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            self.buf.push_str(v);
            return;
        }
        for ch in v.chars() {
            match ch {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
    }
    fn uuid(&mut self, id: Uuid) {
        let mut b = [0u8; 36];
        let s = id.as_hyphenated().encode_lower(&mut b);
        self.sep();
        self.buf.push_str(s);
    }
    fn opt_uuid(&mut self, id: Option<Uuid>) {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }
    fn int(&mut self, v: i64) {
        self.sep();
        let _ = write!(self.buf, "{v}");
    }
    fn time(&mut self, t: DateTime<Utc>) {
        self.sep();
        let _ = write!(self.buf, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
    }
    fn null(&mut self) {
        self.sep();
        self.buf.push_str("\\N");
    }
    fn opt(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.field(v),
            None => self.null(),
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.sep();
        self.buf.push_str("\\\\x");
        for x in b {
            let _ = write!(self.buf, "{x:02x}");
        }
    }
    fn end(&mut self) {
        self.buf.push('\n');
        self.rows += 1;
        self.line_start = true;
    }
}

/// What the generator hands to the loader: tables in foreign-key order, and how far it got.
struct Chunk {
    tables: Vec<Copy>,
    persons_done: usize,
}

/// Builds the deployment. The database must be migrated; see the module documentation for how
/// the load stays atomic and fast.
pub async fn run(
    url: &str,
    p: Params,
    pii: &PiiCipher,
    password_hash: &str,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("synthetic: connection: {e}");
        }
    });
    let superuser: bool = client
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await?
        .get(0);
    client
        .batch_execute(
            "SET synchronous_commit = off; SET maintenance_work_mem = '2GB'; \
             SET max_parallel_maintenance_workers = 2; SET statement_timeout = 0; SET lock_timeout = '60s'",
        )
        .await?;
    if superuser {
        client
            .batch_execute("SET session_replication_role = replica")
            .await?;
    }
    client.batch_execute("BEGIN").await?;
    let outcome = load(&client, p, pii, password_hash, superuser).await;
    // the reports' summaries (the SLA events', the needs') are kept by triggers, which a load
    // does not fire: they are recomputed from the rows in the same transaction
    let outcome = match outcome {
        Ok(s) => {
            eprintln!("synthetic: rebuilding the SLA event and needs summaries ...");
            client
                .batch_execute("SELECT sla_event_daily_rebuild(); SELECT needs_daily_rebuild()")
                .await
                .map(|_| s)
                .map_err(anyhow::Error::from)
        }
        Err(e) => Err(e),
    };
    let mut summary = match outcome {
        Ok(s) => s,
        Err(e) => {
            // finally: nothing of the load stays, the dropped indexes and constraints come back
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e);
        }
    };
    client
        .batch_execute("COMMIT; RESET session_replication_role")
        .await?;
    let t = Instant::now();
    eprintln!("synthetic: committed; VACUUM (ANALYZE) ...");
    client.batch_execute("VACUUM (ANALYZE)").await?;
    summary.analyze_seconds = t.elapsed().as_secs_f64();
    summary.database_bytes = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await?
        .get(0);
    summary.seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "synthetic: done in {:.1}s (rows {:.1}s, indexes {:.1}s, vacuum/analyze {:.1}s), database {:.2} GB",
        summary.seconds,
        summary.load_seconds,
        summary.index_seconds,
        summary.analyze_seconds,
        summary.database_bytes as f64 / 1e9
    );
    Ok(summary)
}

/// An index or constraint set aside for the load: how to drop it and how to make it again.
struct Deferred {
    name: String,
    drop: String,
    create: String,
}

async fn load(
    client: &tokio_postgres::Client,
    p: Params,
    pii: &PiiCipher,
    password_hash: &str,
    superuser: bool,
) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        unchecked: superuser,
        ..Summary::default()
    };
    let bulk: Vec<String> = BULK_TABLES.iter().map(|s| s.to_string()).collect();
    let before = fingerprint(client).await?;

    // the bulk tables and everything that references them, transitively
    let mut closure: BTreeSet<String> = bulk.iter().cloned().collect();
    loop {
        let names: Vec<String> = closure.iter().cloned().collect();
        let rows = client
            .query(
                "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint \
                 WHERE contype = 'f' AND confrelid::regclass::text = ANY($1::text[])",
                &[&names],
            )
            .await?;
        let n = closure.len();
        closure.extend(rows.iter().map(|r| r.get::<_, String>(0)));
        if closure.len() == n {
            break;
        }
    }
    let list = closure.iter().cloned().collect::<Vec<_>>().join(", ");
    client
        .batch_execute(&format!("LOCK TABLE {list} IN ACCESS EXCLUSIVE MODE"))
        .await?;
    let mut empty = true;
    for t in &closure {
        let any: bool = client
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {t})"), &[])
            .await?
            .get(0);
        empty &= !any;
    }
    // TRUNCATE of empty tables changes nothing but lets COPY write frozen rows; as a superuser
    // the append-only tables' TRUNCATE triggers do not fire for this session
    let frozen: BTreeSet<String> = if empty && superuser {
        client.batch_execute(&format!("TRUNCATE {list}")).await?;
        closure.clone()
    } else {
        BTreeSet::new()
    };
    summary.frozen = !frozen.is_empty();

    // secondary indexes, and unique constraints no foreign key depends on
    let rows = client
        .query(
            "SELECT ic.relname::text, t.relname::text, pg_get_indexdef(i.indexrelid), k.conname::text, \
                    pg_get_constraintdef(k.oid) \
             FROM pg_index i \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class t ON t.oid = i.indrelid \
             LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid \
                                       AND k.contype IN ('p', 'u', 'x') \
             WHERE t.relnamespace = 'public'::regnamespace AND t.relname::text = ANY($1::text[]) \
               AND (k.oid IS NULL OR (k.contype = 'u' AND NOT EXISTS ( \
                    SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid))) \
             ORDER BY t.relname, ic.relname",
            &[&bulk],
        )
        .await?;
    let mut deferred = Vec::new();
    for r in &rows {
        let (index, table, indexdef): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let constraint: Option<String> = r.get(3);
        let d = match constraint {
            None => Deferred {
                drop: format!("DROP INDEX {}", quote(&index)),
                create: indexdef,
                name: index,
            },
            Some(c) => {
                let def: String = r.get(4);
                Deferred {
                    drop: format!(
                        "ALTER TABLE {} DROP CONSTRAINT {}",
                        quote(&table),
                        quote(&c)
                    ),
                    create: format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} {def}",
                        quote(&table),
                        quote(&c)
                    ),
                    name: c,
                }
            }
        };
        client.batch_execute(&d.drop).await?;
        deferred.push(d);
    }
    eprintln!(
        "synthetic: loading without {} secondary indexes/constraints; foreign-key checks {}; COPY FREEZE {}",
        deferred.len(),
        if superuser { "off for this session" } else { "on (not a superuser)" },
        if summary.frozen { "on" } else { "off (tables not empty, or not a superuser)" },
    );

    // rows: generated on a blocking thread, streamed here chunk by chunk
    let loaded = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let pii = pii.clone();
    let password_hash = password_hash.to_string();
    let generator = tokio::task::spawn_blocking(move || generate(p, &pii, &password_hash, &tx));
    let mut rows: BTreeMap<&'static str, (usize, f64, usize)> = BTreeMap::new();
    let mut order: Vec<&'static str> = Vec::new();
    let mut last_report = Instant::now();
    let mut copy_result: anyhow::Result<()> = Ok(());
    while let Some(chunk) = rx.recv().await {
        for t in chunk.tables {
            if t.rows == 0 {
                continue;
            }
            let stmt = format!(
                "COPY {} ({}) FROM STDIN{}",
                t.table,
                t.columns,
                if frozen.contains(t.table) {
                    " WITH (FREEZE)"
                } else {
                    ""
                }
            );
            let c0 = Instant::now();
            if let Err(e) = copy(client, &stmt, t.buf).await {
                copy_result = Err(e.context(format!("COPY {}", t.table)));
                break;
            }
            let entry = rows.entry(t.table).or_insert_with(|| {
                order.push(t.table);
                (0, 0.0, 0)
            });
            entry.0 += t.rows;
            entry.1 += c0.elapsed().as_secs_f64();
        }
        if copy_result.is_err() {
            break;
        }
        let since = last_report.elapsed().as_secs_f64();
        if since >= 5.0 {
            last_report = Instant::now();
            let secs = loaded.elapsed().as_secs_f64();
            let mut line = format!(
                "  [{secs:>7.1}s] persons {}/{} ({:.0}%)",
                chunk.persons_done,
                p.persons,
                100.0 * chunk.persons_done as f64 / p.persons.max(1) as f64
            );
            for t in ["persons", "needs", "need_events"] {
                if let Some((n, _, last)) = rows.get_mut(t) {
                    let _ = write!(
                        line,
                        " | {t} {n} ({:.0}/s, now {:.0}/s)",
                        *n as f64 / secs,
                        (*n - *last) as f64 / since
                    );
                    *last = *n;
                }
            }
            eprintln!("{line}");
        }
    }
    drop(rx);
    let generated = generator
        .await
        .map_err(|e| anyhow::anyhow!("generator: {e}"))?;
    copy_result?;
    generated?;
    summary.load_seconds = loaded.elapsed().as_secs_f64();
    eprintln!("synthetic: rows loaded in {:.1}s", summary.load_seconds);
    eprintln!(
        "  {:<24} {:>12} {:>9} {:>12}",
        "table", "rows", "COPY s", "rows/s"
    );
    for t in &order {
        let (n, s, _) = rows[t];
        eprintln!(
            "  {t:<24} {n:>12} {s:>9.1} {:>12.0}",
            n as f64 / s.max(1e-9)
        );
        summary.rows.push((t, n));
        summary.copy_seconds.push((t, s));
    }

    // indexes and constraints back, exactly as they were
    let built = Instant::now();
    eprintln!(
        "synthetic: rebuilding {} indexes/constraints",
        deferred.len()
    );
    for d in &deferred {
        let t = Instant::now();
        client
            .batch_execute(&d.create)
            .await
            .map_err(|e| anyhow::anyhow!("recreating {}: {e}", d.name))?;
        eprintln!(
            "  {:<36} {:>6.1}s  [{:>7.1}s]",
            d.name,
            t.elapsed().as_secs_f64(),
            built.elapsed().as_secs_f64()
        );
    }
    summary.index_seconds = built.elapsed().as_secs_f64();
    let after = fingerprint(client).await?;
    if before != after {
        let missing: Vec<_> = before.difference(&after).collect();
        let extra: Vec<_> = after.difference(&before).collect();
        anyhow::bail!(
            "the schema after the load differs from before it (rolled back): missing {missing:?}, extra {extra:?}"
        );
    }
    Ok(summary)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

async fn fingerprint(client: &tokio_postgres::Client) -> anyhow::Result<BTreeSet<String>> {
    Ok(client
        .query(SCHEMA_FINGERPRINT_SQL, &[])
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect())
}

async fn copy(client: &tokio_postgres::Client, stmt: &str, buf: String) -> anyhow::Result<()> {
    let sink = client.copy_in(stmt).await?;
    futures_util::pin_mut!(sink);
    let bytes = Bytes::from(buf);
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + (1 << 20)).min(bytes.len());
        sink.send(bytes.slice(at..end)).await?;
        at = end;
    }
    sink.finish().await?;
    Ok(())
}

struct Unit {
    id: Uuid,
    code: String,
    name: String,
}

struct Campaign {
    id: Uuid,
    seq: i32,
    prev: Option<Vec<u8>>,
    raised: i64,
    allocated: i64,
    material: (&'static str, &'static str, i64, i64),
}

struct City {
    unit: Unit,
    assoc: Uuid,
    admin: Uuid,
    assoc_staff: Uuid,
    presidents: [Uuid; 2],
    campaigns: Vec<Campaign>,
    /// The last case number taken per year of filing (the counters filing continues from).
    case_numbers: BTreeMap<i32, i32>,
}

impl City {
    /// The next case number of this city for a need filed at `at` (the year in Asia/Shanghai,
    /// every synthetic city's time zone).
    fn case_number(&mut self, at: DateTime<Utc>) -> String {
        use chrono::Datelike;
        let year = at.with_timezone(&chrono_tz::Asia::Shanghai).year();
        let seq = self.case_numbers.entry(year).or_insert(0);
        *seq += 1;
        format!("{}-{year}-{:06}", &self.unit.code[..6], *seq)
    }
}

struct Town {
    unit: Unit,
    city: usize,
    centre: Uuid,
    civil: Uuid,
    site: Uuid,
    staff: Uuid,
    officer: Uuid,
    team: Uuid,
}

struct Village {
    unit: Unit,
    town: usize,
    station: Uuid,
    vdpf: Uuid,
    staff: Uuid,
}

const NEED_COLUMNS: &str = "id, city_id, town_id, village_id, person_id, category, description, urgency, state, loop, level, \
     handler_organization_id, assignee_user_id, assigned_site_id, referred_from_handler_id, referred_from_level, filed_by, due_at, \
     overdue, ever_overdue, reopen_count, satisfaction, outcome, version, created_at, updated_at, closed_at, \
     case_number, entered_state_at";

const EVENT_COLUMNS: &str =
    "need_id, seq, city_id, action, from_state, to_state, level, handler_organization_id, actor_user_id, actor, at, payload, prev_hash, hash";

const LEDGER_COLUMNS: &str = "id, campaign_id, seq, city_id, entry, kind, item, unit, amount, value_fen, donation_id, need_id, \
     donor_name, channel, received_on, note, actor_user_id, at, prev_hash, hash";

const PERSON_COLUMNS: &str = "id, city_id, town_id, village_id, name, id_number_enc, id_number_hash, id_number_masked, \
     disability_category, disability_grade, birth_date, gender, phone, address, guardian_name, guardian_phone, status, \
     group_size, last_visited_at, created_at, updated_at, phone_hash, guardian_phone_hash";

/// Appends one ledger row, chained after the campaign's previous one.
#[allow(clippy::too_many_arguments)]
fn ledger_row(
    out: &mut Copy,
    c: &mut Campaign,
    city: Uuid,
    entry: &str,
    kind: &str,
    item: &str,
    unit: &str,
    amount: i64,
    value_fen: Option<i64>,
    need: Option<Uuid>,
    donor: Option<(&str, &str, NaiveDate)>,
    note: Option<&str>,
    actor: Uuid,
    at: DateTime<Utc>,
) -> Uuid {
    c.seq += 1;
    let mut row = LedgerEntry {
        id: Uuid::now_v7(),
        campaign_id: c.id,
        seq: c.seq,
        city_id: city,
        entry: entry.into(),
        kind: kind.into(),
        item: item.into(),
        unit: unit.into(),
        amount,
        value_fen,
        donation_id: donor.map(|_| Uuid::now_v7()),
        need_id: need,
        reverses_id: None,
        donor_name: donor.map(|d| d.0.to_string()),
        channel: donor.map(|d| d.1.to_string()),
        received_on: donor.map(|d| d.2),
        note: note.map(str::to_string),
        actor_user_id: Some(actor),
        at: at.trunc_subsecs(6),
        prev_hash: c.prev.take(),
        hash: Vec::new(),
    };
    row.hash = entry_hash(row.prev_hash.as_deref(), &row);
    out.uuid(row.id);
    out.uuid(row.campaign_id);
    out.int(i64::from(row.seq));
    out.uuid(row.city_id);
    out.field(&row.entry);
    out.field(&row.kind);
    out.field(&row.item);
    out.field(&row.unit);
    out.int(row.amount);
    match row.value_fen {
        Some(v) => out.int(v),
        None => out.null(),
    }
    out.opt_uuid(row.donation_id);
    out.opt_uuid(row.need_id);
    out.opt(row.donor_name.as_deref());
    out.opt(row.channel.as_deref());
    out.opt(row.received_on.map(|d| d.to_string()).as_deref());
    out.opt(row.note.as_deref());
    out.opt_uuid(row.actor_user_id);
    out.time(row.at);
    match &row.prev_hash {
        Some(b) => out.bytes(b),
        None => out.null(),
    }
    out.bytes(&row.hash);
    out.end();
    c.prev = Some(row.hash);
    row.id
}

/// The generator: the tree, organisations, users, teams and campaigns first, then the persons
/// with everything that hangs on them, a chunk of villages at a time, then the balances.
fn generate(
    p: Params,
    pii: &PiiCipher,
    password_hash: &str,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) -> anyhow::Result<()> {
    let send = |c: Chunk| {
        tx.blocking_send(c)
            .map_err(|_| anyhow::anyhow!("the loader stopped"))
    };
    let mut rng = Rng(0x5EED_2026_1128);
    let cities_n = p.cities.max(1);
    let villages_per_town =
        (p.persons / cities_n / 16 / p.persons_per_village.max(1)).clamp(1, 999);
    let now = Utc::now().trunc_subsecs(6);
    let today = now.date_naive();
    eprintln!(
        "synthetic: {} cities x 16 towns x {villages_per_town} villages, {} persons, {:.1} needs per person",
        cities_n, p.persons, p.needs_per_person
    );

    // ---- the tree, organisations, users, teams
    let mut units = Copy::new(
        "org_units",
        "id, kind, name, code, parent_id, city_id, town_id",
    );
    let mut settings = Copy::new("city_settings", "city_id");
    let mut orgs = Copy::new(
        "organizations",
        "id, kind, name, org_unit_id, city_id, department_type, site_type",
    );
    let mut users = Copy::new(
        "users",
        "id, username, display_name, role, organization_id, city_id, password_hash",
    );
    let mut teams = Copy::new("volunteer_teams", "id, name, org_unit_id, city_id, town_id");
    let user =
        |out: &mut Copy, name: &str, display: &str, role: &str, org: Option<(Uuid, Uuid)>| {
            let id = Uuid::now_v7();
            out.uuid(id);
            out.field(name);
            out.field(display);
            out.field(role);
            out.opt_uuid(org.map(|o| o.0));
            out.opt_uuid(org.map(|o| o.1));
            out.field(password_hash);
            out.end();
            id
        };
    let org = |out: &mut Copy,
               kind: &str,
               name: &str,
               unit: Uuid,
               city: Uuid,
               dept: Option<&str>,
               site: Option<&str>| {
        let id = Uuid::now_v7();
        out.uuid(id);
        out.field(kind);
        out.field(name);
        out.uuid(unit);
        out.uuid(city);
        out.opt(dept);
        out.opt(site);
        out.end();
        id
    };
    // the deployment admin: every city
    user(
        &mut users,
        "synthetic_admin",
        "合成部署管理员",
        "admin",
        None,
    );
    let mut cities = Vec::with_capacity(cities_n);
    let mut towns = Vec::with_capacity(cities_n * 16);
    let mut villages = Vec::with_capacity(cities_n * 16 * villages_per_town);
    for c in 0..cities_n {
        let prefix = format!("3{:05}", c + 1);
        let unit = Unit {
            id: Uuid::now_v7(),
            code: format!("{prefix}000000"),
            name: format!("合成市{}", c + 1),
        };
        units.uuid(unit.id);
        units.field("city");
        units.field(&unit.name);
        units.field(&unit.code);
        units.null();
        units.uuid(unit.id);
        units.null();
        units.end();
        settings.uuid(unit.id);
        settings.end();
        let assoc = org(
            &mut orgs,
            "association",
            &format!("{}助残志愿者协会", unit.name),
            unit.id,
            unit.id,
            None,
            None,
        );
        let dpf = org(
            &mut orgs,
            "dpf",
            &format!("{}残联", unit.name),
            unit.id,
            unit.id,
            None,
            None,
        );
        let code = &unit.code;
        let admin = user(
            &mut users,
            &format!("s{code}_admin"),
            "市管理员",
            "admin",
            Some((dpf, unit.id)),
        );
        let assoc_staff = user(
            &mut users,
            &format!("s{code}_assoc"),
            "协会工作人员",
            "association_staff",
            Some((assoc, unit.id)),
        );
        let presidents = [
            user(
                &mut users,
                &format!("s{code}_president0"),
                "轮值会长甲",
                "president",
                Some((assoc, unit.id)),
            ),
            user(
                &mut users,
                &format!("s{code}_president1"),
                "轮值会长乙",
                "president",
                Some((assoc, unit.id)),
            ),
        ];
        user(
            &mut users,
            &format!("s{code}_auditor"),
            "审计员",
            "auditor",
            Some((dpf, unit.id)),
        );
        let city_id = unit.id;
        cities.push(City {
            unit,
            assoc,
            admin,
            assoc_staff,
            presidents,
            campaigns: Vec::new(),
            case_numbers: BTreeMap::new(),
        });
        for t in 0..16 {
            let ti = towns.len();
            let tunit = Unit {
                id: Uuid::now_v7(),
                code: format!("{prefix}{:03}000", t + 1),
                name: format!("合成市{}第{}镇", c + 1, t + 1),
            };
            units.uuid(tunit.id);
            units.field("town");
            units.field(&tunit.name);
            units.field(&tunit.code);
            units.uuid(city_id);
            units.uuid(city_id);
            units.uuid(tunit.id);
            units.end();
            let centre = org(
                &mut orgs,
                "town_centre",
                "镇街助残志愿者服务中心",
                tunit.id,
                city_id,
                None,
                None,
            );
            let civil = org(
                &mut orgs,
                "department",
                "民政办",
                tunit.id,
                city_id,
                Some("civil_affairs"),
                None,
            );
            let site = org(
                &mut orgs,
                "extension_site",
                "如康家园",
                tunit.id,
                city_id,
                None,
                Some("rukang_home"),
            );
            let tcode = &tunit.code[..9];
            let staff = user(
                &mut users,
                &format!("s{tcode}_staff"),
                "镇街中心工作人员",
                "town_staff",
                Some((centre, city_id)),
            );
            let officer = user(
                &mut users,
                &format!("s{tcode}_civil"),
                "民政办经办人",
                "department_officer",
                Some((civil, city_id)),
            );
            user(
                &mut users,
                &format!("s{tcode}_site"),
                "如康家园工作人员",
                "site_staff",
                Some((site, city_id)),
            );
            let team = Uuid::now_v7();
            teams.uuid(team);
            teams.field(&format!("{}志愿服务队", tunit.name));
            teams.uuid(tunit.id);
            teams.uuid(city_id);
            teams.uuid(tunit.id);
            teams.end();
            for v in 0..villages_per_town {
                let vunit = Unit {
                    id: Uuid::now_v7(),
                    code: format!("{prefix}{:03}{:03}", t + 1, v + 1),
                    name: format!("第{}村", v + 1),
                };
                units.uuid(vunit.id);
                units.field("village");
                units.field(&vunit.name);
                units.field(&vunit.code);
                units.uuid(tunit.id);
                units.uuid(city_id);
                units.uuid(tunit.id);
                units.end();
                let station = org(
                    &mut orgs,
                    "village_station",
                    "村助残志愿者服务站",
                    vunit.id,
                    city_id,
                    None,
                    None,
                );
                let vdpf = org(
                    &mut orgs,
                    "village_dpf",
                    "村残协",
                    vunit.id,
                    city_id,
                    None,
                    None,
                );
                let staff = user(
                    &mut users,
                    &format!("s{}", vunit.code),
                    "村站工作人员",
                    "village_staff",
                    Some((station, city_id)),
                );
                villages.push(Village {
                    unit: vunit,
                    town: ti,
                    station,
                    vdpf,
                    staff,
                });
            }
            towns.push(Town {
                unit: tunit,
                city: c,
                centre,
                civil,
                site,
                staff,
                officer,
                team,
            });
        }
    }

    // ---- campaigns with their donations; the roster
    let mut campaigns = Copy::new(
        "campaigns",
        "id, city_id, name, kind, description, starts_on, ends_on, target_categories, goal_fen, created_by",
    );
    let mut ledger = Copy::new("ledger_entries", LEDGER_COLUMNS);
    let mut roster = Copy::new(
        "duty_roster",
        "id, association_id, city_id, user_id, starts_on, ends_on",
    );
    let starts = today - Duration::days(300);
    for city in &mut cities {
        for (i, (name, kind, cat, item, unit)) in [
            ("温暖过冬", "themed", "daily_care", "棉被", "床"),
            (
                "情满中秋·助力如康",
                "themed",
                "rehabilitation",
                "月饼",
                "盒",
            ),
            ("辅具助残", "special", "assistive_device", "轮椅", "台"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = Campaign {
                id: Uuid::now_v7(),
                seq: 0,
                prev: None,
                raised: 0,
                allocated: 0,
                material: (item, unit, 20 + 10 * i as i64, 30_000),
            };
            campaigns.uuid(c.id);
            campaigns.uuid(city.unit.id);
            campaigns.field(name);
            campaigns.field(kind);
            campaigns.field(&format!("{name}爱心助残活动"));
            campaigns.field(&(starts + Duration::days(i as i64 * 30)).to_string());
            campaigns.field(&(today + Duration::days(65)).to_string());
            campaigns.field(&format!("{{{cat}}}"));
            campaigns.int(30_000_000);
            campaigns.uuid(city.admin);
            campaigns.end();
            let day0 = starts + Duration::days(i as i64 * 30);
            // three gifts of funds on the first days, one of materials on the sixth
            let mut gifts = Vec::new();
            for (j, (donor, channel, fen)) in [
                ("腾讯公益99公益日网友", "online_platform", 18_652_000i64),
                ("爱心企业", "transfer", 5_000_000),
                ("爱心志愿服务中心", "offline", 1_200_000),
            ]
            .into_iter()
            .enumerate()
            {
                let amount = fen / (1 + i as i64) + j as i64 * 100;
                c.raised += amount;
                gifts.push((j as i64, donor, channel, ("funds", "", ""), amount, None));
            }
            let (item, unit, qty, price) = c.material;
            let materials = ("materials", item, unit);
            gifts.push((
                5,
                "圆梦微公益服务中心",
                "offline",
                materials,
                qty,
                Some(qty * price),
            ));
            for (day, donor, channel, (kind, item, unit), amount, value_fen) in gifts {
                let on = day0 + Duration::days(day);
                let at = on.and_hms_opt(10, 0, 0).unwrap_or_default().and_utc();
                ledger_row(
                    &mut ledger,
                    &mut c,
                    city.unit.id,
                    "donation",
                    kind,
                    item,
                    unit,
                    amount,
                    value_fen,
                    None,
                    Some((donor, channel, on)),
                    None,
                    city.assoc_staff,
                    at,
                );
            }
            city.campaigns.push(c);
        }
        for (k, (from, to)) in [(-3i64, 3i64), (4, 10)].into_iter().enumerate() {
            roster.uuid(Uuid::now_v7());
            roster.uuid(city.assoc);
            roster.uuid(city.unit.id);
            roster.uuid(city.presidents[k]);
            roster.field(&(today + Duration::days(from)).to_string());
            roster.field(&(today + Duration::days(to)).to_string());
            roster.end();
        }
    }
    send(Chunk {
        tables: vec![
            units, settings, orgs, users, teams, campaigns, ledger, roster,
        ],
        persons_done: 0,
    })?;

    // ---- persons, village by village, with their helpers, groups, needs, events, hours, allocations
    let per_village = p.persons.div_ceil(villages.len().max(1)).max(1);
    let helpers_per_village = (per_village * 3).div_ceil(10) + 2;
    let villages_per_chunk = (20_000.0 / p.needs_per_person.max(1.0) / per_village as f64)
        .ceil()
        .max(1.0) as usize;
    let base = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default();
    let dcats = DisabilityCategory::ALL;
    let cats = Category::ALL;
    let r = p.needs_per_person.max(0.0);
    let needs_of =
        |i: usize| ((i + 1) as f64 * r).floor() as usize - (i as f64 * r).floor() as usize;
    let mut need_k = 0usize;
    let mut va = 0;
    while va < villages.len() {
        let vb = (va + villages_per_chunk).min(villages.len());
        let mut helpers = Copy::new(
            "helpers",
            "id, city_id, town_id, village_id, name, phone, kind, volunteer_team_id",
        );
        let mut persons = Copy::new("persons", PERSON_COLUMNS);
        let mut members = Copy::new(
            "contact_group_members",
            "person_id, helper_id, slot, city_id",
        );
        let mut needs = Copy::new("needs", NEED_COLUMNS);
        let mut access = Copy::new("need_access", "organization_id, need_id");
        let mut events = Copy::new("need_events", EVENT_COLUMNS);
        let mut hours = Copy::new(
            "service_records",
            "id, city_id, helper_id, need_id, team_id, served_on, half_hours, note, recorded_by",
        );
        let mut allocations = Copy::new("ledger_entries", LEDGER_COLUMNS);
        let mut persons_done = 0;
        for vi in va..vb {
            let v = &villages[vi];
            let town = &towns[v.town];
            let ci = town.city;
            let city_id = cities[ci].unit.id;
            // helpers: a quarter of them volunteers in the town's team
            let mut hs = Vec::with_capacity(helpers_per_village);
            for k in 0..helpers_per_village {
                let id = Uuid::now_v7();
                let kind = ["village_cadre", "volunteer", "party_member", "grid_worker"][k % 4];
                helpers.uuid(id);
                helpers.uuid(city_id);
                helpers.uuid(town.unit.id);
                helpers.uuid(v.unit.id);
                helpers.field(&format!("志愿者{k}"));
                helpers.field(&format!("139{:08}", (vi * 1000 + k) % 100_000_000));
                helpers.field(kind);
                helpers.opt_uuid((kind == "volunteer").then_some(town.team));
                helpers.end();
                hs.push(id);
            }
            let first = vi * per_village;
            let last = if vi + 1 == villages.len() {
                p.persons
            } else {
                ((vi + 1) * per_village).min(p.persons)
            };
            let mut in_village = 0usize;
            for i in first..last.max(first) {
                // births spread over 1940-2008; (day, sequence) stays unique below 25 M persons
                let birth = base + Duration::days(((i / 1000) as i64 * 7_919) % 25_000);
                let raw = make_valid("370883", birth, (i % 1000) as u16);
                let rid = ResidentId::parse_at(&raw, today)
                    .map_err(|e| anyhow::anyhow!("synthetic ID number {raw}: {e:?}"))?;
                let pid = Uuid::now_v7();
                let group = match i % 20 {
                    9 => 0,
                    19 => 2,
                    _ => 3,
                };
                let registered = now - Duration::days(400 + (i % 2000) as i64);
                persons.uuid(pid);
                persons.uuid(city_id);
                persons.uuid(town.unit.id);
                persons.uuid(v.unit.id);
                persons.field(&format!("残疾人{i}"));
                persons.bytes(&pii.seal(pid, "id_number", rid.expose()));
                persons.bytes(&pii.blind_index(rid.expose()));
                persons.field(&rid.masked());
                persons.field(dcats[i % 7].as_str());
                persons.int(1 + (i % 4) as i64);
                persons.field(&rid.birth_date().to_string());
                persons.field(rid.gender().as_str());
                let phone = format!("138{:08}", i % 100_000_000);
                persons.field(&phone);
                persons.field(&format!("{}{}号", v.unit.name, i % per_village + 1));
                let guardian_phone = (i % 3 == 0).then(|| format!("137{:08}", i % 100_000_000));
                if let Some(g) = &guardian_phone {
                    persons.field("监护人");
                    persons.field(g);
                } else {
                    persons.null();
                    persons.null();
                }
                persons.field("active");
                persons.int(group);
                if i % 7 == 3 {
                    persons.null();
                } else {
                    persons.time(now - Duration::days((i % 60) as i64));
                }
                persons.time(registered);
                persons.time(registered);
                for hash in [Some(&phone), guardian_phone.as_ref()]
                    .map(|p| p.and_then(|p| pii.phone_index(p)))
                {
                    match hash {
                        Some(h) => persons.bytes(&h),
                        None => persons.null(),
                    }
                }
                persons.end();
                // three (or two) helpers of the village, rotating so no helper exceeds 10
                for slot in 0..group as usize {
                    members.uuid(pid);
                    members.uuid(hs[(in_village * 3 + slot) % hs.len()]);
                    members.int(slot as i64 + 1);
                    members.uuid(city_id);
                    members.end();
                }
                if group > 0 {
                    in_village += 1;
                }
                for _ in 0..needs_of(i) {
                    need(
                        &mut rng,
                        need_k,
                        now,
                        pid,
                        v,
                        town,
                        &mut cities[ci],
                        &hs,
                        cats,
                        &mut Out {
                            needs: &mut needs,
                            access: &mut access,
                            events: &mut events,
                            hours: &mut hours,
                            allocations: &mut allocations,
                        },
                    );
                    need_k += 1;
                }
            }
            persons_done = last.max(persons_done);
        }
        send(Chunk {
            tables: vec![
                helpers,
                persons,
                members,
                needs,
                access,
                events,
                hours,
                allocations,
            ],
            persons_done,
        })?;
        va = vb;
    }

    // ---- balances: what the ledgers sum to
    let mut balances = Copy::new(
        "campaign_balances",
        "campaign_id, kind, item, unit, city_id, raised, allocated, balance, value_fen",
    );
    for city in &cities {
        for c in &city.campaigns {
            balances.uuid(c.id);
            balances.field("funds");
            balances.field("");
            balances.field("");
            balances.uuid(city.unit.id);
            balances.int(c.raised);
            balances.int(c.allocated);
            balances.int(c.raised - c.allocated);
            balances.int(0);
            balances.end();
            let (item, unit, qty, price) = c.material;
            balances.uuid(c.id);
            balances.field("materials");
            balances.field(item);
            balances.field(unit);
            balances.uuid(city.unit.id);
            balances.int(qty);
            balances.int(0);
            balances.int(qty);
            balances.int(qty * price);
            balances.end();
        }
    }
    // filing continues each city's numbering after the synthetic needs'
    let mut counters = Copy::new("case_number_counters", "city_id, year, last_value");
    for city in &cities {
        for (year, last) in &city.case_numbers {
            counters.uuid(city.unit.id);
            counters.int(i64::from(*year));
            counters.int(i64::from(*last));
            counters.end();
        }
    }
    send(Chunk {
        tables: vec![balances, counters],
        persons_done: p.persons,
    })?;
    Ok(())
}

struct Out<'a> {
    needs: &'a mut Copy,
    access: &'a mut Copy,
    events: &'a mut Copy,
    hours: &'a mut Copy,
    allocations: &'a mut Copy,
}

/// One need with its whole history: a path through the dual loop to a target state.
#[allow(clippy::too_many_arguments)]
fn need(
    rng: &mut Rng,
    k: usize,
    now: DateTime<Utc>,
    pid: Uuid,
    v: &Village,
    town: &Town,
    city: &mut City,
    helpers: &[Uuid],
    cats: &[Category],
    out: &mut Out<'_>,
) {
    let city_id = city.unit.id;
    let (vdpf, station, vuser) = (v.vdpf, v.station, v.staff);
    let (centre, civil, site) = (town.centre, town.civil, town.site);
    let (tstaff, officer) = (town.staff, town.officer);
    let president = city.presidents[0];
    let association = city.assoc;
    let id = Uuid::now_v7();
    let created = now - Duration::minutes(rng.below(365 * 24 * 60) as i64 + 60 * 24 * 3);
    let policy = rng.chance(0.5);
    let urgent = rng.chance(0.1);
    let roll = rng.below(100);
    let state_target = match roll {
        0..=4 => State::Reported,
        5..=14 => State::Registered,
        15..=22 => State::Referred,
        23..=29 => State::Escalated,
        30..=49 => State::InProgress,
        50..=59 => State::Resolved,
        60..=94 => State::Closed,
        _ => State::Withdrawn,
    };
    let reopen = state_target == State::Closed && rng.chance(0.1);
    let city_level = !policy && rng.chance(0.3);
    // the steps to the target, each carried out by `decide` itself: the synthetic history can
    // only take paths the state machine allows
    let mut steps: Vec<(Action, Uuid)> = Vec::new();
    if state_target == State::Withdrawn {
        steps.push((Action::Withdraw, vuser));
    } else if state_target != State::Reported {
        if policy {
            steps.push((Action::Register(Loop::Policy), vuser));
            if state_target != State::Registered {
                steps.push((Action::Refer, vuser));
            }
            if state_target == State::Escalated {
                steps.push((Action::Reroute, officer));
            } else if !matches!(state_target, State::Registered | State::Referred) {
                steps.push((Action::Accept, officer));
            }
        } else {
            steps.push((Action::Register(Loop::Social), vuser));
            if state_target != State::Registered {
                steps.push((Action::Escalate, vuser));
                if city_level {
                    steps.push((Action::Accept, tstaff));
                    steps.push((Action::Escalate, tstaff));
                }
                if state_target != State::Escalated {
                    let u = if city_level { president } else { tstaff };
                    steps.push((Action::Accept, u));
                }
            }
        }
        if matches!(state_target, State::Resolved | State::Closed) {
            let u = steps.last().map(|s| s.1).unwrap_or(tstaff);
            steps.push((Action::Resolve, u));
            if state_target == State::Closed {
                if reopen {
                    steps.push((Action::Verify { satisfied: false }, vuser));
                    steps.push((Action::Resolve, u));
                }
                steps.push((Action::Verify { satisfied: true }, vuser));
            }
        }
    }
    // (action, to_state, level, handler, actor user)
    let mut path: Vec<(&str, State, Level, Uuid, Uuid)> =
        vec![("file", State::Reported, Level::Village, vdpf, vuser)];
    let mut view = NeedView {
        state: State::Reported,
        loop_: None,
        level: Level::Village,
    };
    let mut handler = vdpf;
    for (action, actor) in steps {
        let Ok(t) = decide(view, action, Relation::EVERY_ROLE) else {
            // a path the state machine refuses is a bug of this generator: stop the need there
            break;
        };
        handler = match t.handler {
            Handler::Keep => handler,
            Handler::VillageStation => station,
            Handler::Department => civil,
            Handler::BeforeReferral => vdpf,
            Handler::TownCentre => centre,
            Handler::Association => association,
        };
        view = NeedView {
            state: t.to,
            loop_: t.loop_,
            level: t.level,
        };
        path.push((action.kind().as_str(), t.to, t.level, handler, actor));
    }
    let (state, level, loop_) = (view.state, view.level, view.loop_);
    let urgency = if urgent { "urgent" } else { "normal" };
    let mut at = created;
    let mut prev: Option<Vec<u8>> = None;
    let mut seq = 0;
    let mut from: Option<State> = None;
    let mut closed_at = None;
    let mut ever_overdue = false;
    let mut accepted_on = None;
    let mut event = |seq: i32,
                     action: &str,
                     from: Option<State>,
                     to: State,
                     lv: Level,
                     h: Uuid,
                     actor: Uuid,
                     at: DateTime<Utc>,
                     payload: serde_json::Value,
                     prev: &mut Option<Vec<u8>>| {
        let mut e = EventRow {
            need_id: id,
            seq,
            city_id,
            action: action.to_string(),
            from_state: from,
            to_state: to,
            level: lv,
            handler_organization_id: h,
            actor_user_id: Some(actor),
            actor: "synthetic".into(),
            at: at.trunc_subsecs(6),
            payload,
            prev_hash: prev.take(),
            hash: Vec::new(),
        };
        e.hash = event_hash(e.prev_hash.as_deref(), &e.facts());
        let r = &mut *out.events;
        r.uuid(id);
        r.int(i64::from(seq));
        r.uuid(city_id);
        r.field(action);
        r.opt(from.map(State::as_str));
        r.field(to.as_str());
        r.field(lv.as_str());
        r.uuid(h);
        r.uuid(actor);
        r.field("synthetic");
        r.time(e.at);
        r.field(&e.payload.to_string());
        match &e.prev_hash {
            Some(b) => r.bytes(b),
            None => r.null(),
        }
        r.bytes(&e.hash);
        r.end();
        *prev = Some(e.hash);
        e.at
    };
    for (action, to, lv, h, actor) in &path {
        seq += 1;
        at += Duration::minutes(30 + rng.below(60 * 24 * 4) as i64);
        if at > now {
            at = now - Duration::minutes(1);
        }
        if rng.chance(0.04) {
            ever_overdue = true;
        }
        let payload = match *action {
            "register" => {
                json!({"loop": if *h == vdpf { "policy" } else { "social" }})
            }
            "verify" => {
                json!({"satisfied": *to == State::Closed, "satisfaction": if *to == State::Closed { 4 + (k % 2) } else { 2 }})
            }
            "refer" => json!({"department_id": civil}),
            "file" => json!({"category": cats[k % cats.len()].as_str(), "urgency": urgency}),
            "escalate" | "reroute" => json!({"reason": "超出本级能力"}),
            "withdraw" => json!({"reason": "本人撤回"}),
            "resolve" => json!({"outcome": "fulfilled", "resolution": "已办结"}),
            _ => json!({}),
        };
        let t = event(
            seq, action, from, *to, *lv, *h, *actor, at, payload, &mut prev,
        );
        if *action == "accept" {
            accepted_on = Some(t.date_naive());
        }
        from = Some(*to);
        if *to == State::Closed {
            closed_at = Some(t);
        }
    }
    let version = seq;
    let last_change = at;
    if path.iter().any(|s| s.0 == "refer") {
        out.access.uuid(civil);
        out.access.uuid(id);
        out.access.end();
    }
    let (st, lp, lvl) = (state, loop_, level);
    let due = if st.is_final() {
        None
    } else {
        Some(
            at + Duration::hours(i64::from(default_hours(
                st,
                lp,
                lvl,
                if urgent {
                    Urgency::Urgent
                } else {
                    Urgency::Normal
                },
            ))),
        )
    };
    let assigned_site = !policy && state_target == State::InProgress && rng.chance(0.2);
    if assigned_site {
        out.access.uuid(site);
        out.access.uuid(id);
        out.access.end();
    }
    // an open social need may receive funds from one of the city's campaigns, while they last
    if loop_ == Some(Loop::Social) && state == State::InProgress && rng.chance(0.05) {
        let c = &mut city.campaigns[k % 3];
        let amount = 50_000 + rng.below(10) as i64 * 10_000;
        if c.raised - c.allocated >= amount {
            c.allocated += amount;
            at = (at + Duration::hours(2)).min(now - Duration::seconds(30));
            let campaign = c.id;
            let entry = ledger_row(
                out.allocations,
                c,
                city_id,
                "allocation",
                "funds",
                "",
                "",
                -amount,
                None,
                Some(id),
                None,
                Some("资助"),
                city.assoc_staff,
                at,
            );
            seq += 1;
            event(
                seq,
                "allocate",
                Some(state),
                state,
                level,
                handler,
                city.assoc_staff,
                at,
                json!({"campaign_id": campaign, "kind": "funds", "amount_fen": amount, "ledger_entry_id": entry}),
                &mut prev,
            );
        }
    }
    // volunteers' hours on social needs someone took on
    if let (Some(Loop::Social), Some(day)) = (loop_, accepted_on) {
        if rng.chance(0.3) && !helpers.is_empty() {
            let h = (k * 4 + 1) % helpers.len();
            let r = &mut *out.hours;
            r.uuid(Uuid::now_v7());
            r.uuid(city_id);
            r.uuid(helpers[h]);
            r.uuid(id);
            r.opt_uuid((h % 4 == 1).then_some(town.team));
            r.field(&day.to_string());
            r.int(2 + (k % 7) as i64 * 2);
            r.field("上门服务");
            r.uuid(vuser);
            r.end();
        }
    }
    let r = &mut *out.needs;
    r.uuid(id);
    r.uuid(city_id);
    r.uuid(town.unit.id);
    r.uuid(v.unit.id);
    r.uuid(pid);
    r.field(cats[k % cats.len()].as_str());
    r.field("合成诉求");
    r.field(urgency);
    r.field(state.as_str());
    r.opt(loop_.map(Loop::as_str));
    r.field(level.as_str());
    r.uuid(handler);
    r.opt_uuid((level == Level::City && !st.is_final()).then_some(president));
    r.opt_uuid(assigned_site.then_some(site));
    let referred = path.iter().any(|s| s.0 == "refer");
    r.opt_uuid(referred.then_some(vdpf));
    r.opt(referred.then_some("village"));
    r.uuid(vuser);
    match due {
        Some(d) => r.time(d),
        None => r.null(),
    }
    r.field(if due.is_some_and(|d| d < now) {
        "t"
    } else {
        "f"
    });
    r.field(if ever_overdue || due.is_some_and(|d| d < now) {
        "t"
    } else {
        "f"
    });
    r.field(if reopen { "1" } else { "0" });
    r.opt(if state == State::Closed {
        Some(if k.is_multiple_of(2) { "4" } else { "5" })
    } else {
        None
    });
    r.opt(if matches!(state, State::Resolved | State::Closed) {
        Some("fulfilled")
    } else {
        None
    });
    r.int(i64::from(version));
    r.time(created);
    r.time(last_change);
    match closed_at {
        Some(t) => r.time(t),
        None => r.null(),
    }
    r.field(&city.case_number(created));
    r.time(last_change);
    r.end();
}
