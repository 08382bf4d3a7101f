//! The read pool: read-only connections used from tokio's blocking pool.
//!
//! A read is one hand-off to a blocking thread and one back, whatever it runs; WAL lets it
//! run beside the writer and see the last committed batch.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use rusqlite::Connection;
use screenhook_store::StoreError;
use tokio::sync::Semaphore;

use crate::{Failure, connect};

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// At most this many reads at once: one per connection.
    permits: Semaphore,
}

impl ReadPool {
    /// Opens `size` read-only connections to `path`.
    pub(crate) fn open(path: PathBuf, size: usize) -> Result<ReadPool, StoreError> {
        let idle = (0..size).map(|_| connect(&path, true)).collect::<Result<Vec<_>, _>>()?;
        Ok(ReadPool { path, idle: Mutex::new(idle), permits: Semaphore::new(size) })
    }

    /// Runs `read` on an idle connection, on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let _permit =
            self.permits.acquire().await.map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            // A connection is missing only if a read panicked while holding it: open another.
            let conn = match pool.idle.lock().expect("not poisoned").pop() {
                Some(conn) => conn,
                None => connect(&pool.path, true)?,
            };
            let result = read(&conn).map_err(StoreError::from);
            pool.idle.lock().expect("not poisoned").push(conn);
            result
        })
        .await
        .map_err(|err| StoreError::Unavailable(format!("a read did not finish: {err}")))?
    }
}
