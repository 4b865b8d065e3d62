//! Group commit: concurrent writes share one transaction and one flush.
//!
//! Every acknowledged record must survive a power cut, so SQLite runs with
//! `synchronous=FULL` and each commit waits for the disk (about 3 ms here). One commit per
//! record would cap submissions at a few hundred per second. Instead, one writer task takes
//! every job waiting in its queue, runs each inside its own savepoint of a single
//! transaction, commits once, and only then answers each job. A job that fails rolls back its
//! savepoint alone; if the commit fails, every job of the batch gets the error. Nothing is
//! acknowledged before it is on disk, so the durability guarantee is unchanged.
//!
//! A job whose caller has gone (the request timed out) is skipped, or its savepoint rolled
//! back if the caller left while it ran.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Output = Result<Box<dyn Any + Send>, ApiError>;
type Work =
    Box<dyn for<'t> FnOnce(&'t DatabaseTransaction) -> Pin<Box<dyn Future<Output = Output> + Send + 't>> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<Output>,
}

/// How many jobs one transaction takes at most (a bound on the time a batch holds the lock).
const MAX_BATCH: usize = 256;

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
    /// Starts the writer on the current tokio runtime. It stops when every handle is dropped.
    pub fn start(db: DatabaseConnection) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        tokio::spawn(writer(db, receiver, stats.clone()));
        GroupCommit { sender, stats }
    }

    /// Runs `work` in the next group transaction and returns its result once that
    /// transaction is committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 't>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |txn| {
            Box::pin(async move { work(txn).await.map(|value| Box::new(value) as Box<dyn Any + Send>) })
        });
        self.sender
            .send(Job { work, reply })
            .await
            .map_err(|_| ApiError::new("unavailable", "the server is shutting down"))?;
        let value = answer.await.map_err(|_| ApiError::internal("the group-commit writer dropped a job"))??;
        value.downcast::<T>().map(|boxed| *boxed).map_err(|_| ApiError::internal("group commit: wrong result type"))
    }
}

async fn writer(db: DatabaseConnection, mut receiver: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&db, std::mem::take(&mut batch), &stats).await;
    }
}

async fn run_batch(db: &DatabaseConnection, batch: Vec<Job>, stats: &Stats) {
    let txn = match super::write_txn(db).await {
        Ok(txn) => txn,
        Err(error) => {
            tracing::error!(%error, "group commit: cannot begin");
            for job in batch {
                let _ = job.reply.send(Err(ApiError::internal(format!("group commit begin: {error}"))));
            }
            return;
        }
    };
    let mut done: Vec<(oneshot::Sender<Output>, Output)> = Vec::with_capacity(batch.len());
    for job in batch {
        if job.reply.is_closed() {
            continue;
        }
        let outcome = match txn.begin().await {
            Ok(savepoint) => {
                let outcome = (job.work)(&savepoint).await;
                let keep = outcome.is_ok() && !job.reply.is_closed();
                let ended = if keep { savepoint.commit().await } else { savepoint.rollback().await };
                match ended {
                    Ok(()) => outcome,
                    Err(error) => Err(ApiError::internal(format!("group commit savepoint: {error}"))),
                }
            }
            Err(error) => Err(ApiError::internal(format!("group commit savepoint: {error}"))),
        };
        done.push((job.reply, outcome));
    }
    let jobs = done.len() as u64;
    match txn.commit().await {
        Ok(()) => {
            for (reply, outcome) in done {
                let _ = reply.send(outcome);
            }
        }
        Err(error) => {
            tracing::error!(%error, "group commit: commit failed");
            for (reply, _) in done {
                let _ = reply.send(Err(ApiError::internal(format!("group commit: {error}"))));
            }
        }
    }
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats.jobs.fetch_add(jobs, Ordering::Relaxed);
}
