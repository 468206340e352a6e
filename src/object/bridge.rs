//! The blocking bridge to the async client: a small tokio runtime owned by one remote
//! store, on threads of its own (`dirkv-io`). A call spawns its future onto that runtime
//! and waits for the result on a std channel, so the calling thread never runs the
//! runtime itself: a caller that is inside another tokio runtime (a `#[tokio::main]`
//! program calling the blocking API) waits on a channel instead of calling `block_on` on
//! its own thread, which would panic. It still blocks that thread while it waits, as any
//! blocking call does; async programs should call the store from `spawn_blocking`.

use std::future::Future;
use std::io;

use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads of a store's runtime: requests are I/O-bound, so two threads keep
/// dozens of requests in flight.
const WORKERS: usize = 2;

/// A store's own runtime.
pub(crate) struct Bridge {
    /// `None` once dropped (taken to shut it down without blocking).
    runtime: Option<Runtime>,
    handle: Handle,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

/// The runtime was shut down (or a task of it panicked) before it answered.
#[derive(Debug)]
pub(crate) struct Stopped;

impl Bridge {
    /// Starts the runtime's threads.
    ///
    /// # Errors
    ///
    /// The threads cannot be started.
    pub(crate) fn new() -> io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .max_blocking_threads(WORKERS)
            .thread_name("dirkv-io")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Bridge {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Runs `fut` on the store's runtime and waits for its output.
    ///
    /// # Errors
    ///
    /// [`Stopped`] when the runtime dropped the task before it finished.
    pub(crate) fn run<T, F>(&self, fut: F) -> Result<T, Stopped>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // The join handle is not needed: the answer comes over the channel, and a task
        // that never answers drops its sender, which ends the wait.
        drop(self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        }));
        rx.recv().map_err(|_| Stopped)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which panics inside another runtime's
        // async context; `shutdown_background` never waits.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_futures_and_answers() {
        let bridge = Bridge::new().unwrap();
        assert_eq!(bridge.run(async { 6 * 7 }).unwrap(), 42);
    }

    #[test]
    fn works_and_drops_inside_another_runtime() {
        let outer = Builder::new_current_thread().enable_all().build().unwrap();
        let answer = outer.block_on(async {
            let bridge = Bridge::new().unwrap();
            let answer = bridge.run(async { 1 + 1 }).unwrap();
            drop(bridge);
            answer
        });
        assert_eq!(answer, 2);
    }
}
