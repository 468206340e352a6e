//! The store's write lock: an in-process mutex plus an exclusive lock on the `lock` file.
//!
//! The file lock (`File::lock`, flock(2)) excludes other processes and other `Store`
//! handles with their own descriptor, but not threads sharing one descriptor; the mutex
//! excludes those. The lock file is never renamed or deleted while the store exists, so
//! every process locks the same file. It is opened through the store folder's handle
//! without following a link and without blocking, and only a regular file is accepted
//! (see [`Writer::open`](super::writer::Writer::open)), so a FIFO or a link planted at
//! `lock` cannot make an open hang or create a file elsewhere.

use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// The lock of one open store.
#[derive(Debug)]
pub(crate) struct StoreLock {
    mutex: Mutex<()>,
    file: File,
    path: PathBuf,
    timeout: Option<Duration>,
}

/// Holds the store's write lock; dropping it releases the lock.
pub(crate) struct LockGuard<'a> {
    file: &'a File,
    _mutex: MutexGuard<'a, ()>,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Closing the descriptor would release it too; an unlock error leaves nothing to do.
        let _ = self.file.unlock();
    }
}

impl StoreLock {
    /// The lock on the open lock file `file` (whose path, for messages, is `path`). It is
    /// opened read-only: flock does not need write access, so a store in a read-only
    /// folder can still be opened.
    pub(crate) fn new(file: File, path: PathBuf, timeout: Option<Duration>) -> Self {
        StoreLock {
            mutex: Mutex::new(()),
            file,
            path,
            timeout,
        }
    }

    /// Takes the lock, waiting at most the timeout.
    ///
    /// # Errors
    ///
    /// `Locked` when the timeout passes; `Io` when locking fails.
    pub(crate) fn lock(&self) -> Result<LockGuard<'_>> {
        let Some(timeout) = self.timeout else {
            let guard = self.mutex.lock().unwrap_or_else(PoisonError::into_inner);
            self.file
                .lock()
                .map_err(|e| Error::io("cannot lock the store", &self.path, e))?;
            return Ok(LockGuard {
                file: &self.file,
                _mutex: guard,
            });
        };
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(100);
        let guard = loop {
            match self.mutex.try_lock() {
                Ok(g) => break g,
                Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
            self.wait(deadline, &mut pause)?;
        };
        loop {
            match self.file.try_lock() {
                Ok(()) => {
                    return Ok(LockGuard {
                        file: &self.file,
                        _mutex: guard,
                    });
                }
                Err(TryLockError::WouldBlock) => self.wait(deadline, &mut pause)?,
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io("cannot lock the store", &self.path, e));
                }
            }
        }
    }

    /// Takes the lock only if nobody holds it: `Ok(None)` when it is busy.
    ///
    /// # Errors
    ///
    /// `Io` when locking fails.
    pub(crate) fn try_lock(&self) -> Result<Option<LockGuard<'_>>> {
        let guard = match self.mutex.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
        };
        match self.file.try_lock() {
            Ok(()) => Ok(Some(LockGuard {
                file: &self.file,
                _mutex: guard,
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io("cannot lock the store", &self.path, e)),
        }
    }

    fn wait(&self, deadline: Instant, pause: &mut Duration) -> Result<()> {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::new(
                ErrorKind::Locked,
                "timed out waiting for the store's write lock",
            )
            .with_path(&self.path));
        }
        std::thread::sleep((*pause).min(deadline - now));
        *pause = (*pause * 2).min(Duration::from_millis(20));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_handle_times_out_while_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        File::create(&path).unwrap();
        let a = StoreLock::new(File::open(&path).unwrap(), path.clone(), None);
        let b = StoreLock::new(
            File::open(&path).unwrap(),
            path.clone(),
            Some(Duration::from_millis(30)),
        );
        let held = a.lock().unwrap();
        assert_eq!(b.lock().err().map(|e| e.kind()), Some(ErrorKind::Locked));
        assert!(b.try_lock().unwrap().is_none());
        drop(held);
        assert!(b.lock().is_ok());
        assert!(a.try_lock().unwrap().is_some());
    }

    #[test]
    fn threads_sharing_one_handle_are_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        File::create(&path).unwrap();
        let lock = StoreLock::new(File::open(&path).unwrap(), path, None);
        let counter = Mutex::new(0u32);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let _g = lock.lock().unwrap();
                        let v = *counter.lock().unwrap();
                        std::thread::yield_now();
                        *counter.lock().unwrap() = v + 1;
                    }
                });
            }
        });
        assert_eq!(*counter.lock().unwrap(), 800);
    }
}
