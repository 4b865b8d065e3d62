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

use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, Iterable, QueryFilter, QueryTrait,
    TryIntoModel,
};
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
    records: Vec<record::ActiveModel>,
    /// The published workflows of a form (by workspace and form key), read once per batch.
    workflows: HashMap<(String, String), Arc<Vec<workflow::Model>>>,
    /// The process's access cache, which also keeps published workflows across batches.
    cache: Option<Arc<AccessCache>>,
}

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

    pub fn stage_record(&mut self, record: record::ActiveModel) {
        self.records.push(record);
    }

    /// A record staged in this batch (not yet in the database), as it stands.
    pub fn staged_record(&self, id: &str) -> Option<record::Model> {
        self.records
            .iter()
            .find(|r| matches!(&r.id, sea_orm::ActiveValue::Set(staged) if staged == id))
            .and_then(|r| r.clone().try_into_model().ok())
    }

    /// Replaces the data of a staged record (a workflow started by its submission wrote it).
    pub fn restage_record_data(&mut self, id: &str, data: serde_json::Value) -> bool {
        match self.records.iter_mut().find(|r| matches!(&r.id, sea_orm::ActiveValue::Set(staged) if staged == id)) {
            Some(staged) => {
                staged.data = sea_orm::ActiveValue::Set(data);
                true
            }
            None => false,
        }
    }

    /// Writes what the jobs staged: counters, records and audit entries together
    /// ([`crate::db::writes`]: one statement on PostgreSQL), then the records' rollup cells,
    /// which read the inserted records.
    pub async fn flush(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        let added = crate::reports::rollups::Added::of(&self.records);
        let mut writes = self.counters.writes();
        // SQLite binds at most 32,766 parameters per statement: 10 columns x 1,000 rows fits.
        let mut records = self.records;
        while !records.is_empty() {
            let rest = records.split_off(records.len().min(1000));
            let rows = records.len();
            writes.push(Write::insert(
                record::Entity::insert_many(records).into_query(),
                rows,
                record::Column::iter().count(),
            ));
            records = rest;
        }
        writes.extend(self.audit.writes());
        crate::db::writes::execute(txn, writes).await?;
        added.apply(txn).await
    }
}

/// Counters for `/metrics` and the benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
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
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let count = batch.len() as u64;
        // Connected on the first batch (and again after a failed attempt), on this runtime.
        if db.is_none() {
            match super::connect(&database).await {
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
        let replies = match run_batch(db, &cache, batch).await {
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
        for (reply, outcome) in replies {
            let _ = reply.send(outcome);
        }
    }
    if let Some(db) = db {
        let _ = db.close().await;
    }
}

type Replies = Vec<(oneshot::Sender<Output>, Output)>;

/// Runs one batch; on a database error (the transaction rolls back) returns it with every
/// caller of the batch.
async fn run_batch(
    db: &DatabaseConnection,
    cache: &Arc<AccessCache>,
    jobs: Vec<Job>,
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
    if let Err(error) = txn.commit().await {
        return fail(error.to_string(), replies, Vec::new());
    }
    Ok(replies)
}
