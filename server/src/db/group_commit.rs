//! Group commit: concurrent submissions share one transaction and one flush.
//!
//! Every acknowledged record must survive a power cut, so SQLite runs with
//! `synchronous=FULL` and each commit waits for the disk. One commit per record would cap
//! submissions at the disk's flush rate, and one round of statements per record at the
//! database driver's. Instead one writer task takes every job waiting in its queue into one
//! transaction: it locks and reads the audit chains of the batch's workspaces once, runs the
//! jobs in order — each draws its numbers and claims its unique values, and stages its record
//! and audit entry in a [`Batch`] — then writes the staged rows with multi-row inserts,
//! commits once, and only then answers each job. Nothing is acknowledged before it is on
//! disk, so the durability guarantee is unchanged.
//!
//! A job must leave no trace when it fails: it validates before the writer runs it, claims
//! unique values before drawing numbers (and releases its own claims on a conflict), and
//! anything it staged is dropped. A database error fails the whole batch (nothing of it is
//! committed; every caller gets the error). A job whose caller has gone (the request timed
//! out) is skipped.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use tokio::sync::{mpsc, oneshot};

use crate::access_cache::AccessCache;
use crate::audit::Staged;
use crate::config::Database;
use crate::db::counters::Counters;
use crate::db::entities::{record, workflow};
use crate::db::writes::Write;
use crate::error::ApiError;

type Output = Result<Box<dyn Any + Send>, ApiError>;
type Work = Box<
    dyn for<'t> FnOnce(&'t DatabaseTransaction, &'t mut Batch) -> Pin<Box<dyn Future<Output = Output> + Send + 't>>
        + Send,
>;

struct Job {
    workspace_id: String,
    work: Work,
    reply: oneshot::Sender<Output>,
}

/// How many jobs one transaction takes at most (a bound on the time a batch holds the lock).
const MAX_BATCH: usize = 256;

/// Rows staged by the jobs of one transaction.
#[derive(Default)]
pub struct Batch {
    pub audit: Staged,
    /// Auto-number counters drawn in this transaction (written back on flush).
    pub counters: Counters,
    records: Vec<StagedRecord>,
    /// The published workflows of a form (by workspace and form key), read once per batch.
    workflows: HashMap<(String, String), Arc<Vec<workflow::Model>>>,
    /// The process's access cache, which also keeps published workflows across batches.
    cache: Option<Arc<AccessCache>>,
}

/// A record to insert. Its data is kept as JSON text when the job wrote it out already
/// (a submission does, in its request handler); `row.data` then holds nothing (`null`).
struct StagedRecord {
    row: record::Model,
    text: Option<String>,
}

impl StagedRecord {
    fn is(&self, id: &str) -> bool {
        self.row.id == id
    }

    /// The record as it stands, its data read back from the text if need be.
    fn model(&self) -> Option<record::Model> {
        let mut model = self.row.clone();
        if let Some(text) = &self.text {
            model.data = serde_json::from_str(text).ok()?;
        }
        Some(model)
    }

    /// The values in the order of [`RECORD_COLUMNS`].
    fn values(self, backend: sea_orm::DbBackend) -> [sea_orm::sea_query::Expr; 10] {
        let row = self.row;
        let text = self.text.unwrap_or_else(|| row.data.to_string());
        [
            row.id.into(),
            row.workspace_id.into(),
            row.form_id.into(),
            row.form_version.into(),
            crate::db::writes::json_text(backend, text),
            row.version.into(),
            row.created_by.into(),
            row.created_at.into(),
            row.updated_at.into(),
            row.deleted_at.into(),
        ]
    }
}

const RECORD_COLUMNS: [record::Column; 10] = [
    record::Column::Id,
    record::Column::WorkspaceId,
    record::Column::FormId,
    record::Column::FormVersion,
    record::Column::Data,
    record::Column::Version,
    record::Column::CreatedBy,
    record::Column::CreatedAt,
    record::Column::UpdatedAt,
    record::Column::DeletedAt,
];

/// What a failed job's staged work is taken back to.
struct Mark {
    audit: crate::audit::Mark,
    records: usize,
    counters: crate::db::counters::Mark,
}

impl Batch {
    fn mark(&self) -> Mark {
        Mark { audit: self.audit.mark(), records: self.records.len(), counters: self.counters.mark() }
    }

    fn reset(&mut self, mark: Mark) {
        self.audit.reset(mark.audit);
        self.records.truncate(mark.records);
        self.counters.reset(mark.counters);
    }

    /// The published workflows of form `form_key` in `workspace_id`, read once per batch
    /// (nothing publishes a workflow inside a batch) and kept in the access cache, which a
    /// publication empties (it is not record traffic).
    pub async fn workflows_of(
        &mut self,
        txn: &DatabaseTransaction,
        workspace_id: &str,
        form_key: &str,
    ) -> Result<Arc<Vec<workflow::Model>>, DbErr> {
        let key = (workspace_id.to_owned(), form_key.to_owned());
        if let Some(found) = self.workflows.get(&key) {
            return Ok(found.clone());
        }
        if let Some(cache) = &self.cache
            && let Some(found) = cache.get(&cache.workflows, &key)
        {
            self.workflows.insert(key, found.clone());
            return Ok(found);
        }
        let generation = self.cache.as_ref().map(|cache| cache.generation());
        let found = Arc::new(
            workflow::Entity::find()
                .filter(workflow::Column::WorkspaceId.eq(workspace_id))
                .filter(workflow::Column::FormKey.eq(form_key))
                .filter(workflow::Column::LatestVersion.is_not_null())
                .all(txn)
                .await?,
        );
        if let (Some(cache), Some(generation)) = (&self.cache, generation) {
            cache.put(&cache.workflows, key.clone(), found.clone(), generation);
        }
        self.workflows.insert(key, found.clone());
        Ok(found)
    }

    pub fn stage_record(&mut self, record: record::Model) {
        self.records.push(StagedRecord { row: record, text: None });
    }

    /// Stages a record whose data is already JSON text; `record.data` is not used.
    pub fn stage_record_text(&mut self, record: record::Model, text: String) {
        self.records.push(StagedRecord { row: record, text: Some(text) });
    }

    /// A record staged in this batch (not yet in the database), as it stands.
    pub fn staged_record(&self, id: &str) -> Option<record::Model> {
        self.records.iter().find(|r| r.is(id)).and_then(StagedRecord::model)
    }

    /// Replaces the data of a staged record (a workflow started by its submission wrote it).
    pub fn restage_record_data(&mut self, id: &str, data: serde_json::Value) -> bool {
        match self.records.iter_mut().find(|r| r.is(id)) {
            Some(staged) => {
                staged.row.data = data;
                staged.text = None;
                true
            }
            None => false,
        }
    }

    /// Writes what the jobs staged: counters, records and audit entries together
    /// ([`crate::db::writes`]: one statement on PostgreSQL), then the records' rollup cells,
    /// which read the inserted records.
    pub async fn flush(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        let backend = txn.get_database_backend();
        let added = crate::reports::rollups::Added::of(
            self.records.iter().map(|r| (&r.row.workspace_id, &r.row.form_id, &r.row.id)),
        );
        let mut writes = self.counters.writes();
        let rows = self.records.into_iter().map(|staged| staged.values(backend));
        writes.extend(Write::insert_rows(record::Entity, RECORD_COLUMNS, rows)?);
        writes.extend(self.audit.writes(backend)?);
        crate::db::writes::execute(txn, writes).await?;
        added.apply(txn).await
    }
}

/// Counters for `/metrics` and the benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
    /// Microseconds the writer spent on batches (from its first statement to its answers):
    /// against the wall clock, how busy the one serial part of every write is.
    pub busy_micros: AtomicU64,
    /// Of those, microseconds spent in `COMMIT` (the flush to disk).
    pub commit_micros: AtomicU64,
    /// Microseconds the writer waited for the rest of a wave (see [`Waves`]).
    pub waited_micros: AtomicU64,
    /// SQLite: the frames in the write-ahead log and those copied into the database file,
    /// as the last checkpoint beside the writer found them ([`super::checkpoints`]).
    pub wal_frames: AtomicU64,
    pub wal_checkpointed_frames: AtomicU64,
}

/// The handle to the writer task; cloning shares the writer.
#[derive(Clone)]
pub struct GroupCommit {
    sender: mpsc::Sender<Job>,
    pub stats: Arc<Stats>,
}

impl GroupCommit {
    /// Starts the writer on a thread and runtime of its own, with its own connection to
    /// `database`. It stops when every handle is dropped.
    ///
    /// Not on the server's runtime: every statement of a batch waits for the database and
    /// then for the writer's task to be polled again, and on the server's runtime that poll
    /// (and the socket's readiness, on PostgreSQL) queued behind the HTTP work of every
    /// waiting request — a round trip took half a millisecond or more at 16 clients on two
    /// cores. On its own runtime the writer is woken as soon as the database answers.
    pub fn start(database: Database, cache: Arc<AccessCache>) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        let writer_stats = stats.clone();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match runtime {
            Ok(runtime) => {
                let spawned = std::thread::Builder::new()
                    .name("group-commit".to_owned())
                    .spawn(move || runtime.block_on(writer(database, cache, receiver, writer_stats)));
                if let Err(error) = spawned {
                    tracing::error!(%error, "cannot start the group-commit writer");
                }
            }
            Err(error) => tracing::error!(%error, "cannot start the group-commit writer's runtime"),
        }
        GroupCommit { sender, stats }
    }

    /// Runs `work` for `workspace_id` (whose audit chain is opened for it) in the next group
    /// transaction and returns its result once that transaction is committed.
    pub async fn run<T, F>(&self, workspace_id: &str, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(
                &'t DatabaseTransaction,
                &'t mut Batch,
            ) -> Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 't>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |txn, batch| {
            Box::pin(async move { work(txn, batch).await.map(|value| Box::new(value) as Box<dyn Any + Send>) })
        });
        self.sender
            .send(Job { workspace_id: workspace_id.to_owned(), work, reply })
            .await
            .map_err(|_| ApiError::new("unavailable", "the server is shutting down"))?;
        let value = answer.await.map_err(|_| ApiError::internal("the group-commit writer dropped a job"))??;
        value.downcast::<T>().map(|boxed| *boxed).map_err(|_| ApiError::internal("group commit: wrong result type"))
    }
}

async fn writer(database: Database, cache: Arc<AccessCache>, mut receiver: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    let mut db: Option<DatabaseConnection> = None;
    // Beside the writer, on its runtime: it ends with the writer.
    tokio::spawn(super::checkpoints(database.clone(), stats.clone()));
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut waves = Waves::default();
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let waited = waves.gather(&mut receiver, &mut jobs).await;
        stats.waited_micros.fetch_add(micros_of(waited), Ordering::Relaxed);
        let batch = std::mem::take(&mut jobs);
        let count = batch.len() as u64;
        // Connected on the first batch (and again after a failed attempt), on this runtime.
        if db.is_none() {
            match super::connect_writer(&database).await {
                Ok(connected) => db = Some(connected),
                Err(error) => {
                    let error = ApiError::internal(format!("group commit: cannot connect: {error}"));
                    for job in batch {
                        let _ = job.reply.send(Err(error.clone()));
                    }
                    continue;
                }
            }
        }
        let Some(db) = &db else { continue };
        let started = Instant::now();
        let replies = match run_batch(db, &cache, batch, &stats).await {
            Ok(replies) => replies,
            Err((error, callers)) => {
                let error = ApiError::internal(format!("group commit: {error}"));
                callers.into_iter().map(|reply| (reply, Err(error.clone()))).collect()
            }
        };
        // Counted before anyone is answered, so that a caller who reads the metrics after its
        // answer sees its own job (the writer runs on its own thread).
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(count, Ordering::Relaxed);
        let took = started.elapsed();
        stats.busy_micros.fetch_add(micros_of(took), Ordering::Relaxed);
        // Those still queued arrived while this batch ran: with its own jobs they are the
        // submissions in flight at once.
        waves.note(count as usize + receiver.len(), took);
        for (reply, outcome) in replies {
            let _ = reply.send(outcome);
        }
    }
    if let Some(db) = db {
        let _ = db.close().await;
    }
}

/// The longest the writer waits for the rest of a wave.
const WAVE_WAIT_AT_MOST: Duration = Duration::from_millis(2);

/// Merges waves of submissions into one commit.
///
/// Under steady load, callers that wait for their answer before they submit again (a form
/// filler, an import, a station's client) arrive in waves: while one batch commits, the
/// next wave queues; when it is answered, its callers come back while the queued wave
/// commits. Sixteen callers then commit as two alternating batches of eight, each paying
/// a transaction's fixed cost (its round trips and the flush) for half the work. When the
/// writer has recently seen more submissions in flight than it holds, it waits briefly for
/// the rest — never longer than half its last batch took, nor [`WAVE_WAIT_AT_MOST`] (give or
/// take a tick: tokio's timers count whole milliseconds) — as PostgreSQL's `commit_delay`
/// does when it sees `commit_siblings`. A lone caller never waits: it never saw company.
#[derive(Default)]
struct Waves {
    /// The most submissions seen in flight at once in the current and the previous second.
    peak: usize,
    previous_peak: usize,
    window: Option<Instant>,
    /// How long the last batch took.
    last_batch: Duration,
}

impl Waves {
    fn note(&mut self, in_flight: usize, took: Duration) {
        let now = Instant::now();
        let window = *self.window.get_or_insert(now);
        if now.duration_since(window) >= Duration::from_secs(1) {
            self.previous_peak = self.peak;
            self.peak = 0;
            self.window = Some(now);
        }
        self.peak = self.peak.max(in_flight);
        self.last_batch = took;
    }

    /// Adds to `jobs` what arrives while it is short of the recent peak, for a bounded time;
    /// returns how long it waited.
    async fn gather(&self, receiver: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) -> Duration {
        let expected = self.peak.max(self.previous_peak).min(MAX_BATCH);
        if jobs.len() >= expected {
            return Duration::ZERO;
        }
        let started = tokio::time::Instant::now();
        let deadline = started + (self.last_batch / 2).min(WAVE_WAIT_AT_MOST);
        while jobs.len() < expected {
            let wanted = expected - jobs.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(jobs, wanted)).await {
                Ok(received) if received > 0 => {}
                _ => break,
            }
        }
        started.elapsed()
    }
}

type Replies = Vec<(oneshot::Sender<Output>, Output)>;

/// Runs one batch; on a database error (the transaction rolls back) returns it with every
/// caller of the batch.
async fn run_batch(
    db: &DatabaseConnection,
    cache: &Arc<AccessCache>,
    jobs: Vec<Job>,
    stats: &Stats,
) -> Result<Replies, (String, Vec<oneshot::Sender<Output>>)> {
    let mut replies: Replies = Vec::with_capacity(jobs.len());
    let fail = |error: String, replies: Replies, rest: Vec<Job>| {
        let callers = replies.into_iter().map(|(reply, _)| reply).chain(rest.into_iter().map(|job| job.reply));
        Err((error, callers.collect()))
    };
    let txn = match super::write_txn(db).await {
        Ok(txn) => txn,
        Err(error) => return fail(error.to_string(), replies, jobs),
    };
    let mut batch = Batch { cache: Some(cache.clone()), ..Batch::default() };
    // Chains are locked in one order (sorted), so two processes' writers cannot deadlock.
    let mut workspaces: Vec<&str> = jobs.iter().map(|job| job.workspace_id.as_str()).collect();
    workspaces.sort_unstable();
    workspaces.dedup();
    for workspace in workspaces {
        if let Err(error) = batch.audit.open(&txn, workspace).await {
            return fail(error.to_string(), replies, jobs);
        }
    }
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        // Checked after the locks were taken: a caller that gave up while we waited for them
        // gets nothing done.
        if job.reply.is_closed() {
            continue;
        }
        let mark = batch.mark();
        let outcome = (job.work)(&txn, &mut batch).await;
        if let Err(error) = &outcome {
            // An internal error may have left a write half done: the batch cannot commit.
            if error.code == "internal" {
                let message = error.message.clone();
                replies.push((job.reply, outcome));
                return fail(message, replies, jobs.collect());
            }
            batch.reset(mark);
        }
        replies.push((job.reply, outcome));
    }
    if let Err(error) = batch.flush(&txn).await {
        return fail(error.to_string(), replies, Vec::new());
    }
    let committing = Instant::now();
    let committed = txn.commit().await;
    stats.commit_micros.fetch_add(micros_of(committing.elapsed()), Ordering::Relaxed);
    if let Err(error) = committed {
        return fail(error.to_string(), replies, Vec::new());
    }
    Ok(replies)
}

fn micros_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> (Job, oneshot::Receiver<Output>) {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(|_, _| Box::pin(async { Ok(Box::new(()) as Box<dyn Any + Send>) }));
        (Job { workspace_id: "ws".to_owned(), work, reply }, answer)
    }

    /// Queues one job, takes it as the writer does, then lets `waves` gather; returns the
    /// batch and how long the writer waited.
    async fn gather_after_one(
        waves: &Waves,
        sender: &mpsc::Sender<Job>,
        receiver: &mut mpsc::Receiver<Job>,
    ) -> (Vec<Job>, Duration) {
        let (first, _answer) = job();
        assert!(sender.send(first).await.is_ok());
        let mut jobs = Vec::new();
        receiver.recv_many(&mut jobs, MAX_BATCH).await;
        let waited = waves.gather(receiver, &mut jobs).await;
        (jobs, waited)
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_caller_never_waits_for_a_wave() {
        let (sender, mut receiver) = mpsc::channel(16);
        let mut waves = Waves::default();
        // One submission at a time, each batch slow: nothing ever suggests company.
        for _ in 0..3 {
            waves.note(1, Duration::from_millis(10));
        }
        let (jobs, waited) = gather_after_one(&waves, &sender, &mut receiver).await;
        assert_eq!((jobs.len(), waited), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rest_of_a_wave_joins_the_batch_within_the_bound() {
        let (sender, mut receiver) = mpsc::channel(16);
        let mut waves = Waves::default();
        // Four in flight at once were seen; the last batch took 4 ms, so up to 2 ms is spent
        // waiting (tokio's timers tick in milliseconds).
        waves.note(4, Duration::from_millis(4));
        let late = sender.clone();
        let (more, _answers): (Vec<_>, Vec<_>) = (0..3).map(|_| job()).unzip();
        tokio::spawn(async move {
            for (index, job) in more.into_iter().enumerate() {
                // Two come back at once, the last a millisecond later.
                if index == 2 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                assert!(late.send(job).await.is_ok());
            }
        });
        let (jobs, waited) = gather_after_one(&waves, &sender, &mut receiver).await;
        assert_eq!(jobs.len(), 4, "the whole wave is in the batch");
        assert_eq!(waited, Duration::from_millis(1));

        // A wave that does not come back in time is not waited for longer than half the
        // last batch.
        let (jobs, waited) = gather_after_one(&waves, &sender, &mut receiver).await;
        assert_eq!(jobs.len(), 1);
        assert!(waited >= Duration::from_millis(2) && waited < Duration::from_millis(3), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_bounded_even_after_a_slow_batch() {
        let (sender, mut receiver) = mpsc::channel(16);
        let mut waves = Waves::default();
        waves.note(16, Duration::from_secs(1));
        let (jobs, waited) = gather_after_one(&waves, &sender, &mut receiver).await;
        assert_eq!(jobs.len(), 1);
        assert!(waited >= WAVE_WAIT_AT_MOST && waited < WAVE_WAIT_AT_MOST * 2, "{waited:?}");
    }
}
