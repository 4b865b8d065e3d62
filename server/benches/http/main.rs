//! The server over HTTP on loopback: the release `formwork` binary in its own process, driven
//! by plain HTTP/1.1 keep-alive clients on threads, on SQLite and on PostgreSQL.
//!
//! - Submissions per second of the example IQC record (the whole pipeline: token auth, Cedar,
//!   validation, computed fields, auto-number, audit chain, durable commit) at 1 and 16
//!   clients, with p50/p99 latency — against the baseline: the same processed JSON row
//!   inserted directly through sea-orm, one durable transaction per row, at the same
//!   concurrency, in the same run.
//! - List latency at 100,000 records (first page, a filter, a filter with its total, a nested
//!   filter, a sort) — against the same filtered SELECT run directly through sea-orm.
//! - Workflow instances per second end to end (`workflows.rs`): submit a record that starts a
//!   5-node approval with one condition, then the approver takes each task from the inbox and
//!   approves it, to the end — against plain submissions at the same concurrency.
//! - The supplier quality cockpit (`reports.rs`): 8 report widgets and the dashboard over
//!   1,000,000 records against hand-written SQL over a typed table; exports to CSV and XLSX.
//! - Search and traceability (`search.rs`): indexing and query latency at 1,000,000 records
//!   against SQLite FTS5 / PostgreSQL full-text search, trace latency at depth 5.
//!   `FORMWORK_BENCH_ONLY=server|reports|search` runs one part, `FORMWORK_BENCH_BACKEND=sqlite|postgres`
//!   on one database.
//! - The server's peak resident memory (VmHWM).
//!
//! `cargo xtask bench http` runs it; PostgreSQL at `FORMWORK_BENCH_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) is used through a fresh database
//! `formwork_bench`; without it the PostgreSQL half is skipped, loudly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set, Statement, TransactionTrait};
use serde_json::{Value, json};
use server::config::Database;
use server::db::entities::record;

const PASSWORD: &str = "benchmark-password-1";
const SINGLE: usize = 300;
const PER_CLIENT: usize = 200;
const CLIENTS: usize = 16;
const LIST_RECORDS: usize = 100_000;

mod reports;
mod search;
mod workflows;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let form: Value = read_json(&root.join("examples/forms/iqc.json"));
    let mut input: Value = read_json(&root.join("examples/records/iqc-accept.json"));
    // The example's photo refers to a file id of its own; a submission may only refer to
    // files its caller uploaded and no record links yet, so every record would need an
    // upload first. Uploads are not what this measures: the records go without photos.
    input.as_object_mut().expect("the example record is an object").remove("photos");
    println!("# HTTP benchmark: {} clients x {PER_CLIENT}, single client x {SINGLE}", CLIENTS);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("formwork-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");

    let sqlite = Backend::Sqlite { dir: dir.clone() };
    // FORMWORK_BENCH_ONLY=reports or =search runs that part alone.
    let only = std::env::var("FORMWORK_BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only == name;
    // FORMWORK_BENCH_BACKEND=sqlite or =postgres runs on that database alone.
    let backend = std::env::var("FORMWORK_BENCH_BACKEND").unwrap_or_default();
    let part = |name: &str, db: &str| part(name) && (backend.is_empty() || backend == db);
    if part("server", "sqlite") {
        run_backend(&runtime, &sqlite, &form, &input);
    }
    if part("reports", "sqlite") {
        run_reports(&runtime, &sqlite);
    }
    if part("search", "sqlite") {
        search::run(&runtime, &sqlite);
    }
    let url = std::env::var("FORMWORK_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match runtime.block_on(sea_orm::Database::connect(url.clone())) {
        Ok(admin) => {
            let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base).to_owned();
            let postgres = Backend::Postgres { admin, base, dir: dir.clone() };
            if part("server", "postgres") {
                run_backend(&runtime, &postgres, &form, &input);
            }
            if part("reports", "postgres") {
                run_reports(&runtime, &postgres);
            }
            if part("search", "postgres") {
                search::run(&runtime, &postgres);
            }
        }
        Err(error) => println!("!!! PostgreSQL unreachable ({error}): the PostgreSQL half was SKIPPED"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cockpit on its own database and server (its IQC form differs from the example's).
fn run_reports(runtime: &tokio::runtime::Runtime, backend: &Backend) {
    println!("\n## Reports on {}\n", backend.name());
    let database = backend.fresh(runtime, "formwork_bench_reports");
    let server = Server::start(&database, backend.data_dir());
    let token = server.setup(&reports::form());
    let db = runtime.block_on(server::db::connect(&database)).expect("server database");
    reports::run(runtime, &server, &token, &db);
    runtime.block_on(db.close()).ok();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("example file")).expect("example JSON")
}

enum Backend {
    Sqlite { dir: PathBuf },
    Postgres { admin: DatabaseConnection, base: String, dir: PathBuf },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A fresh database called `name`, as the server's configuration names it.
    fn fresh(&self, runtime: &tokio::runtime::Runtime, name: &str) -> Database {
        match self {
            Backend::Sqlite { dir } => {
                let data_dir = dir.join(name);
                let _ = std::fs::remove_dir_all(&data_dir);
                std::fs::create_dir_all(&data_dir).unwrap();
                Database::Sqlite { path: data_dir.join("formwork.sqlite") }
            }
            Backend::Postgres { admin, base, .. } => {
                runtime.block_on(async {
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
                    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
                });
                Database::Postgres { url: format!("{base}/{name}"), schema: None }
            }
        }
    }

    fn data_dir(&self) -> &Path {
        match self {
            Backend::Sqlite { dir } | Backend::Postgres { dir, .. } => dir,
        }
    }
}

fn run_backend(runtime: &tokio::runtime::Runtime, backend: &Backend, form: &Value, input: &Value) {
    println!("\n## {}\n", backend.name());
    // The baseline first, on its own database: the processed row, inserted directly.
    let base_db = backend.fresh(runtime, "formwork_bench_direct");
    let db = runtime.block_on(server::db::open(&base_db)).expect("baseline database");
    let compiled = engine::form::CompiledForm::compile(form, engine::Lang::En).expect("IQC compiles");
    let processed = compiled.process(input, &engine::form::RecordContext::default()).record;
    let direct_1 = runtime.block_on(direct_inserts(&db, &processed, 1, SINGLE));
    let direct_16 = runtime.block_on(direct_inserts(&db, &processed, CLIENTS, PER_CLIENT));
    runtime.block_on(db.close()).ok();

    let database = backend.fresh(runtime, "formwork_bench");
    let server = Server::start(&database, backend.data_dir());
    let token = server.setup(form);
    let one = submissions(&server, &token, input, 1, SINGLE);
    let cpu_before = server.cpu_seconds();
    let (bench_before, database_before, all_before) = (process_cpu("self"), database_cpu(), machine_cpu());
    let writer_before = WriterStats::read(&server);
    let (steal_before, started) = (machine_steal(), Instant::now());
    let many = submissions(&server, &token, input, CLIENTS, PER_CLIENT);
    let run_seconds = started.elapsed().as_secs_f64();
    let writer = WriterStats::read(&server).since(&writer_before);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let steal = (machine_steal() - steal_before) / (cores * started.elapsed().as_secs_f64()) * 100.0;
    let cpu_per_record = (server.cpu_seconds() - cpu_before) / (CLIENTS * PER_CLIENT) as f64 * 1e3;
    let per_record = |before: f64, after: f64| (after - before) / (CLIENTS * PER_CLIENT) as f64 * 1e3;
    let clients_per_record = per_record(bench_before, process_cpu("self"));
    let database_per_record = per_record(database_before, database_cpu());
    let machine_per_record = per_record(all_before, machine_cpu());
    println!("| submissions | records/s | p50 ms | p99 ms | ratio to the baseline |");
    println!("|---|---|---|---|---|");
    for (label, run, base) in [("1 client", &one, &direct_1), ("16 clients", &many, &direct_16)] {
        println!(
            "| direct sea-orm insert, {label} (**baseline**) | {:.0} | {:.2} | {:.2} | 1.00 |",
            base.rate, base.p50, base.p99
        );
        println!(
            "| HTTP submit, {label} | {:.0} | {:.2} | {:.2} | **{:.2}** |",
            run.rate,
            run.p50,
            run.p99,
            run.rate / base.rate
        );
    }

    println!("\nserver CPU per submission at 16 clients: {cpu_per_record:.2} ms (user + system)");
    println!(
        "CPU per submission at 16 clients, whole machine: {machine_per_record:.2} ms (clients {clients_per_record:.2}, \
         PostgreSQL processes {database_per_record:.2}, server {cpu_per_record:.2}, the rest kernel and others)"
    );
    println!("hypervisor steal during the 16-client run: {steal:.0}% of the machine's CPU time");
    let WriterStats { jobs, commits, busy, commit, waited } = writer;
    println!(
        "group commit at 16 clients: {jobs} submissions in {commits} transactions ({:.1} per commit); the writer \
         busy {:.0}% of the run, {:.2} ms per transaction of which COMMIT {:.2} ms; waiting for waves {:.0}% of \
         the run",
        jobs / commits.max(1.0),
        busy / run_seconds * 100.0,
        busy / commits.max(1.0) * 1e3,
        commit / commits.max(1.0) * 1e3,
        waited / run_seconds * 100.0,
    );

    workflows::run(&server, &token, input, &one, &many);

    // Lists at 100,000 records: seeded directly (the submission path was measured above).
    let db = runtime.block_on(server::db::connect(&database)).expect("server database");
    // FORMWORK_BENCH_LIST_RECORDS shortens the list phase when profiling submissions.
    let list_records = std::env::var("FORMWORK_BENCH_LIST_RECORDS").ok().and_then(|v| v.parse().ok());
    let list_records = list_records.unwrap_or(LIST_RECORDS);
    runtime.block_on(seed(&db, &processed, list_records));
    let direct = runtime.block_on(direct_list(&db, list_records >= 10_000));
    println!("\n| list at {list_records} records | p50 ms | p99 ms |");
    println!("|---|---|---|");
    println!(
        "| direct sea-orm SELECT, supplier filter, 50 rows (**baseline**) | {:.2} | {:.2} |",
        direct.p50, direct.p99
    );
    for (label, query) in [
        ("first page, 50 rows", "limit=50"),
        ("supplier filter, 50 rows", "f.supplier=sup-0007&limit=50"),
        ("supplier filter with total", "f.supplier=sup-0007&limit=50&total=true"),
        ("nested: a row's characteristic", "f.items.characteristic=Width&f.supplier=sup-0011&limit=50"),
        ("sorted by lot size, descending", "sort=-lot_size&limit=50"),
    ] {
        let timing = lists(&server, &token, query);
        println!("| HTTP {label} | {:.2} | {:.2} |", timing.p50, timing.p99);
    }
    runtime.block_on(db.close()).ok();
    println!("\npeak server memory (VmHWM): {:.1} MiB", server.peak_memory_kib() as f64 / 1024.0);
}

/// The group-commit writer's counters from `/metrics`.
struct WriterStats {
    jobs: f64,
    commits: f64,
    busy: f64,
    commit: f64,
    waited: f64,
}

impl WriterStats {
    fn read(server: &Server) -> WriterStats {
        let (_, metrics) = Http::connect(server.port).send("GET", "/metrics", Some("bench-metrics"), None);
        let metric = |name: &str| -> f64 {
            let value = metrics.lines().find_map(|l| l.strip_prefix(&format!("{name} ")));
            value.and_then(|v| v.parse().ok()).unwrap_or(0.0)
        };
        WriterStats {
            jobs: metric("formwork_group_commit_jobs_total"),
            commits: metric("formwork_group_commits_total"),
            busy: metric("formwork_group_commit_busy_seconds_total"),
            commit: metric("formwork_group_commit_commit_seconds_total"),
            waited: metric("formwork_group_commit_wave_wait_seconds_total"),
        }
    }

    fn since(&self, before: &WriterStats) -> WriterStats {
        WriterStats {
            jobs: self.jobs - before.jobs,
            commits: self.commits - before.commits,
            busy: self.busy - before.busy,
            commit: self.commit - before.commit,
            waited: self.waited - before.waited,
        }
    }
}

/// User + system CPU seconds of process `pid` ("self" for this one), all threads.
fn process_cpu(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name (in parentheses): state, then numbers; utime and stime are the
    // 12th and 13th of those.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}

/// CPU seconds of every process called `postgres` on this machine (the database's backends).
fn database_cpu() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|pid| process_cpu(&pid))
        .sum()
}

/// Busy CPU seconds of the whole machine (user, nice, system, irq, softirq).
fn machine_cpu() -> f64 {
    machine_ticks([0, 1, 2, 5, 6])
}

/// CPU seconds the hypervisor gave to other guests while this one wanted to run (steal);
/// on a shared virtual machine this varies from run to run and slows everything measured.
fn machine_steal() -> f64 {
    machine_ticks([7])
}

fn machine_ticks<const N: usize>(columns: [usize; N]) -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    columns.iter().filter_map(|&i| ticks.get(i)).sum::<u64>() as f64 / 100.0
}

pub(crate) struct Timing {
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

pub(crate) fn timing(mut latencies: Vec<Duration>, elapsed: Duration) -> Timing {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    Timing { rate: latencies.len() as f64 / elapsed.as_secs_f64(), p50: at(0.5), p99: at(0.99) }
}

/// `runs` timed runs of `work` after one warm-up (caches, the planner: as on a dashboard or a
/// search box in daily use).
pub(crate) fn measure(runs: usize, mut work: impl FnMut()) -> Timing {
    work();
    let started = Instant::now();
    let latencies: Vec<Duration> = (0..runs)
        .map(|_| {
            let begun = Instant::now();
            work();
            begun.elapsed()
        })
        .collect();
    timing(latencies, started.elapsed())
}

/// `count` rows per task, each in its own transaction (so each waits for its flush).
async fn direct_inserts(db: &DatabaseConnection, data: &Value, tasks: usize, count: usize) -> Timing {
    let (workspace, form, user) = fixtures(db).await;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (db, data, workspace, form, user) =
            (db.clone(), data.clone(), workspace.clone(), form.clone(), user.clone());
        set.spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for _ in 0..count {
                let begun = Instant::now();
                let txn = server::db::write_txn(&db).await.unwrap();
                row(&workspace, &form, &user, data.clone()).insert(&txn).await.unwrap();
                txn.commit().await.unwrap();
                latencies.push(begun.elapsed());
            }
            latencies
        });
    }
    let latencies: Vec<Duration> = set.join_all().await.into_iter().flatten().collect();
    timing(latencies, started.elapsed())
}

fn row(workspace: &str, form: &str, user: &str, data: Value) -> record::ActiveModel {
    let now = server::identity::now_ms();
    record::ActiveModel {
        id: Set(server::identity::new_id()),
        workspace_id: Set(workspace.to_owned()),
        form_id: Set(form.to_owned()),
        form_version: Set(1),
        data: Set(data),
        version: Set(1),
        created_by: Set(user.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
}

/// The baseline's workspace, form and user rows (records reference them).
async fn fixtures(db: &DatabaseConnection) -> (String, String, String) {
    let backend = db.get_database_backend();
    let (workspace, form) = (server::identity::new_id(), server::identity::new_id());
    let p = |n: usize| if backend == sea_orm::DbBackend::Postgres { format!("${n}") } else { "?".to_owned() };
    let now = server::identity::now_ms();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("INSERT INTO workspaces (id, slug, name, created_at) VALUES ({}, {}, {}, {})", p(1), p(2), p(3), p(4)),
        [
            workspace.clone().into(),
            format!("w{}", &workspace[workspace.len() - 12..]).into(),
            "bench".into(),
            now.into(),
        ],
    ))
    .await
    .unwrap();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO forms (id, workspace_id, key, draft, latest_version, created_at, updated_at) \
             VALUES ({}, {}, {}, {}, 1, {}, {})",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        ),
        [form.clone().into(), workspace.clone().into(), "iqc".into(), json!({}).into(), now.into(), now.into()],
    ))
    .await
    .unwrap();
    let name = format!("u{}", &workspace[workspace.len() - 12..]);
    let user = server::identity::users::create(db, &name, "", PASSWORD, false).await.unwrap();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO form_versions (form_id, version, definition, published_by, published_at)              VALUES ({}, 1, {}, {}, {})",
            p(1),
            p(2),
            p(3),
            p(4)
        ),
        [form.clone().into(), json!({}).into(), user.id.clone().into(), now.into()],
    ))
    .await
    .unwrap();
    (workspace, form, user.id)
}

/// The server's IQC form, its workspace and the admin user, whom seeded records belong to.
pub(crate) async fn seeding_ids(db: &DatabaseConnection) -> (String, String, String) {
    let found = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT forms.id, forms.workspace_id, users.id FROM forms, users WHERE key = 'iqc' AND username = 'admin'",
        ))
        .await
        .unwrap()
        .unwrap();
    (found.try_get_by_index(0).unwrap(), found.try_get_by_index(1).unwrap(), found.try_get_by_index(2).unwrap())
}

/// Adds records to the server's IQC form until it holds `total`, varying the supplier and the
/// characteristics so that filters select a part.
async fn seed(db: &DatabaseConnection, data: &Value, total: usize) {
    let backend = db.get_database_backend();
    let (form, workspace, user) = seeding_ids(db).await;
    let existing = db
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) FROM records"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap() as usize;
    let mut added = existing;
    while added < total {
        let txn = db.begin().await.unwrap();
        let batch: Vec<record::ActiveModel> = (added..(added + 500).min(total))
            .map(|i| {
                let mut data = data.clone();
                data["supplier"] = json!(format!("sup-{:04}", i % 20));
                data["lot_size"] = json!(100 + (i * 7919) % 5000);
                if i % 3 == 0 {
                    data["items"][1]["characteristic"] = json!("Depth");
                }
                row(&workspace, &form, &user, data)
            })
            .collect();
        added += batch.len();
        record::Entity::insert_many(batch).exec(&txn).await.unwrap();
        txn.commit().await.unwrap();
    }
    // Planner statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` would keep them.
    db.execute_unprepared("ANALYZE").await.unwrap();
}

/// `full`: the data set is large enough that the page must be full.
async fn direct_list(db: &DatabaseConnection, full: bool) -> Timing {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT * FROM records WHERE form_id = (SELECT id FROM forms WHERE key = 'iqc') AND deleted_at IS NULL \
             AND (data -> 'supplier') = '\"sup-0007\"'::jsonb ORDER BY id LIMIT 50"
        }
        _ => {
            "SELECT * FROM records WHERE form_id = (SELECT id FROM forms WHERE key = 'iqc') AND deleted_at IS NULL \
             AND json_extract(data, '$.supplier') = 'sup-0007' ORDER BY id LIMIT 50"
        }
    };
    let mut latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..40 {
        let begun = Instant::now();
        let rows = record::Entity::find().from_raw_sql(Statement::from_string(backend, sql)).all(db).await.unwrap();
        assert!(rows.len() == 50 || !full, "{} rows", rows.len());
        latencies.push(begun.elapsed());
    }
    timing(latencies, started.elapsed())
}

/// Runs `clients` keep-alive clients on threads, each doing `work` `each` times; the timing
/// holds one latency per piece of work.
pub(crate) fn drive(server: &Server, clients: usize, each: usize, work: impl Fn(&mut Http) + Sync) -> Timing {
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut http = Http::connect(server.port);
                    let mut latencies = Vec::with_capacity(each);
                    for _ in 0..each {
                        let begun = Instant::now();
                        work(&mut http);
                        latencies.push(begun.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    timing(latencies, started.elapsed())
}

fn submissions(server: &Server, token: &str, input: &Value, clients: usize, each: usize) -> Timing {
    let body = input.to_string();
    drive(server, clients, each, |http| {
        let (status, answer) =
            http.send("POST", "/api/v1/workspaces/bench/forms/iqc/records", Some(token), Some(&body));
        assert_eq!(status, 201, "{answer}");
    })
}

fn lists(server: &Server, token: &str, query: &str) -> Timing {
    let mut http = Http::connect(server.port);
    let path = format!("/api/v1/workspaces/bench/forms/iqc/records?{query}");
    let mut latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..30 {
        let begun = Instant::now();
        let (status, answer) = http.send("GET", &path, Some(token), None);
        assert_eq!(status, 200, "{answer}");
        latencies.push(begun.elapsed());
    }
    timing(latencies, started.elapsed())
}

/// The release `formwork` binary serving one database.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    fn start(database: &Database, data_dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_formwork"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-password", PASSWORD])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .env("FORMWORK_METRICS_TOKEN", "bench-metrics")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match database {
            Database::Sqlite { path } => {
                command.args(["--data-dir", &path.parent().unwrap().display().to_string()]);
            }
            Database::Postgres { url, .. } => {
                command.env("DATABASE_URL", url).args(["--data-dir", &data_dir.join("pg").display().to_string()]);
            }
        }
        let child = command.spawn().expect("formwork starts");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                drop(stream);
                let (status, _) = Http::connect(port).send("GET", "/healthz", None, None);
                if status == 200 {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            std::thread::yield_now();
        }
    }

    /// A workspace `bench` with the IQC form published; returns an API token for it.
    fn setup(&self, form: &Value) -> String {
        let mut http = Http::connect(self.port);
        let (status, login) = http.send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": "admin", "password": PASSWORD}).to_string()),
        );
        assert_eq!(status, 200, "{login}");
        let login: Value = serde_json::from_str(&login).unwrap();
        http.csrf = login["csrf_token"].as_str().map(str::to_owned);
        let (status, body) =
            http.send("POST", "/api/v1/workspaces", None, Some(&json!({"slug": "bench", "name": "Bench"}).to_string()));
        assert_eq!(status, 201, "{body}");
        let (status, body) = http.send(
            "POST",
            "/api/v1/auth/tokens",
            None,
            Some(&json!({"workspace": "bench", "name": "bench"}).to_string()),
        );
        assert_eq!(status, 201, "{body}");
        let token = serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
        let mut http = Http::connect(self.port);
        let (status, body) = http.send("POST", "/api/v1/workspaces/bench/forms", Some(&token), Some(&form.to_string()));
        assert_eq!(status, 201, "{body}");
        let (status, body) = http.send("POST", "/api/v1/workspaces/bench/forms/iqc/publish", Some(&token), Some("{}"));
        assert_eq!(status, 200, "{body}");
        token
    }

    /// User + system CPU time of the server process so far (clock ticks of 10 ms).
    fn cpu_seconds(&self) -> f64 {
        process_cpu(&self.child.id().to_string())
    }

    fn peak_memory_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 keep-alive client (no client crate in the build for this alone).
pub(crate) struct Http {
    reader: BufReader<TcpStream>,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Http {
    pub(crate) fn connect(port: u16) -> Http {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).unwrap();
        Http { reader: BufReader::new(stream), cookie: None, csrf: None }
    }

    /// POSTs `body` and reads the whole answer (streamed or not) without keeping it; returns
    /// the status and the body's length.
    pub(crate) fn download(&mut self, path: &str, token: &str, body: &str) -> (u16, u64) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
        let (mut length, mut chunked) = (0u64, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if header.starts_with("transfer-encoding:") && header.contains("chunked") {
                chunked = true;
            }
        }
        let mut sink = std::io::sink();
        if !chunked {
            std::io::copy(&mut (&mut self.reader).take(length), &mut sink).unwrap();
            return (status, length);
        }
        let mut total = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let size = u64::from_str_radix(line.trim_end().split(';').next().unwrap_or("0"), 16).unwrap();
            if size == 0 {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                return (status, total);
            }
            std::io::copy(&mut (&mut self.reader).take(size), &mut sink).unwrap();
            total += size;
            line.clear();
            self.reader.read_line(&mut line).unwrap();
        }
    }

    pub(crate) fn send(&mut self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(csrf) = &self.csrf {
            head.push_str(&format!("x-csrf-token: {csrf}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "set-cookie" => self.cookie = value.trim().split(';').next().map(str::to_owned),
                _ => {}
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer).unwrap();
        (status, String::from_utf8_lossy(&answer).into_owned())
    }
}
