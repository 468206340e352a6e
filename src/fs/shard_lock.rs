//! Per-shard write locks: an in-process mutex per shard plus an exclusive `flock` on the
//! shard folder's own handle.
//!
//! A writer of one key excludes only the writers of its shard, so a slow `update` of one
//! key holds up 1/256 of the store, not all of it. `flock` on a folder's handle excludes
//! other processes and other handles with their own descriptor exactly as on a file; the
//! mutex excludes threads that share a handle. Where a file system refuses `flock` on a
//! folder (some network file systems), the lock falls back to the store-wide `lock` file.
//! Operations on the whole store (`clear`, `Replace`) take the shard locks one at a time.

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use super::folder::{Folder, ShardFd};
use super::lock::{LockGuard, StoreLock};
use crate::error::{Error, ErrorKind, Result};
use crate::format::names;

/// The shard locks of one open store.
#[derive(Debug)]
pub(crate) struct ShardLocks {
    mutexes: Box<[Mutex<()>]>,
    timeout: Option<Duration>,
    /// Every shard's `flock`, held from [`own_all`](ShardLocks::own_all) on.
    owned: std::sync::OnceLock<Vec<std::sync::Arc<std::os::fd::OwnedFd>>>,
}

/// Holds one shard's write lock (or, as a fallback, the store's); dropping it releases it.
pub(crate) enum ShardGuard<'a> {
    Shard {
        fd: ShardFd,
        _mutex: MutexGuard<'a, ()>,
    },
    Store {
        _guard: LockGuard<'a>,
        _mutex: MutexGuard<'a, ()>,
    },
    /// The `flock` is held for the store's whole life (write-back mode): only the mutex.
    Held { _mutex: MutexGuard<'a, ()> },
}

impl Drop for ShardGuard<'_> {
    fn drop(&mut self) {
        if let ShardGuard::Shard { fd, .. } = self {
            // Closing the descriptor would release it too; an unlock error leaves nothing
            // to do.
            let _ = rustix::fs::flock(fd.fd(), FlockOperation::Unlock);
        }
    }
}

/// Whether `flock` on a folder is refused by the file system (rather than busy or failing).
fn unsupported(e: &rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    [Errno::BADF, Errno::INVAL, Errno::NOLCK, Errno::OPNOTSUPP].contains(e)
}

impl ShardLocks {
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        ShardLocks {
            mutexes: (0..names::SHARDS).map(|_| Mutex::new(())).collect(),
            timeout,
            owned: std::sync::OnceLock::new(),
        }
    }

    /// Takes every shard's `flock` and keeps it until the store is closed (write-back mode),
    /// waiting at most the lock timeout for each.
    ///
    /// # Errors
    ///
    /// `Locked` when another writer holds one past the timeout (the ones taken are
    /// released); the shards' errors; `Io`.
    pub(crate) fn own_all(&self, folder: &Folder) -> Result<()> {
        let fds = folder.keep_all()?;
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut pause = Duration::from_micros(100);
        for (shard, fd) in fds.iter().enumerate() {
            loop {
                let op = if deadline.is_some() {
                    FlockOperation::NonBlockingLockExclusive
                } else {
                    FlockOperation::LockExclusive
                };
                match rustix::fs::flock(&**fd, op) {
                    Ok(()) => break,
                    Err(rustix::io::Errno::INTR) => {}
                    Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                        if let Some(deadline) = deadline
                            && let Err(err) = wait(folder, deadline, &mut pause)
                        {
                            release(&fds[..shard]);
                            return Err(err);
                        }
                    }
                    Err(e) => {
                        release(&fds[..shard]);
                        return Err(Error::io(
                            "cannot lock the shard folder",
                            &folder.shard_path(shard as u8),
                            io::Error::from(e),
                        ));
                    }
                }
            }
        }
        let _ = self.owned.set(fds);
        Ok(())
    }

    /// Takes shard `shard`'s write lock, waiting at most the lock timeout.
    ///
    /// # Errors
    ///
    /// `Locked` when the timeout passes; the shard's errors (`Corrupt` for a link in its
    /// place); `Io` when locking fails.
    pub(crate) fn lock<'a>(
        &'a self,
        folder: &Folder,
        store: &'a StoreLock,
        shard: u8,
    ) -> Result<ShardGuard<'a>> {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut pause = Duration::from_micros(100);
        let mutex = &self.mutexes[usize::from(shard)];
        let guard = match deadline {
            None => mutex.lock().unwrap_or_else(PoisonError::into_inner),
            Some(deadline) => loop {
                match mutex.try_lock() {
                    Ok(g) => break g,
                    Err(TryLockError::Poisoned(p)) => break p.into_inner(),
                    Err(TryLockError::WouldBlock) => wait(folder, deadline, &mut pause)?,
                }
            },
        };
        if self.owned.get().is_some() {
            return Ok(ShardGuard::Held { _mutex: guard });
        }
        let fd = folder.shard(shard)?;
        loop {
            let op = if deadline.is_some() {
                FlockOperation::NonBlockingLockExclusive
            } else {
                FlockOperation::LockExclusive
            };
            match rustix::fs::flock(fd.fd(), op) {
                Ok(()) => return Ok(ShardGuard::Shard { fd, _mutex: guard }),
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    if let Some(deadline) = deadline {
                        wait(folder, deadline, &mut pause)?;
                    }
                }
                Err(e) if e == rustix::io::Errno::INTR => {}
                Err(e) if unsupported(&e) => {
                    return Ok(ShardGuard::Store {
                        _guard: store.lock()?,
                        _mutex: guard,
                    });
                }
                Err(e) => {
                    return Err(Error::io(
                        "cannot lock the shard folder",
                        &folder.shard_path(shard),
                        io::Error::from(e),
                    ));
                }
            }
        }
    }

    /// Takes shard `shard`'s write lock only if nobody holds it: `Ok(None)` when it is busy.
    ///
    /// # Errors
    ///
    /// As [`lock`](ShardLocks::lock), but never `Locked`.
    pub(crate) fn try_lock<'a>(
        &'a self,
        folder: &Folder,
        store: &'a StoreLock,
        shard: u8,
    ) -> Result<Option<ShardGuard<'a>>> {
        let guard = match self.mutexes[usize::from(shard)].try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(None),
        };
        if self.owned.get().is_some() {
            return Ok(Some(ShardGuard::Held { _mutex: guard }));
        }
        let fd = folder.shard(shard)?;
        match rustix::fs::flock(fd.fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(ShardGuard::Shard { fd, _mutex: guard })),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
            Err(e) if unsupported(&e) => Ok(store.try_lock()?.map(|g| ShardGuard::Store {
                _guard: g,
                _mutex: guard,
            })),
            Err(e) => Err(Error::io(
                "cannot lock the shard folder",
                &folder.shard_path(shard),
                io::Error::from(e),
            )),
        }
    }
}

/// Releases the `flock`s of `fds` (after a failed [`ShardLocks::own_all`]).
fn release(fds: &[std::sync::Arc<std::os::fd::OwnedFd>]) {
    for fd in fds {
        let _ = rustix::fs::flock(&**fd, FlockOperation::Unlock);
    }
}

fn wait(folder: &Folder, deadline: Instant, pause: &mut Duration) -> Result<()> {
    let now = Instant::now();
    if now >= deadline {
        return Err(Error::new(
            ErrorKind::Locked,
            "timed out waiting for the store's write lock",
        )
        .with_path(folder.path_of(names::LOCK)));
    }
    std::thread::sleep((*pause).min(deadline - now));
    *pause = (*pause * 2).min(Duration::from_millis(20));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::sys;

    fn store(dir: &std::path::Path) -> (Folder, StoreLock) {
        for i in 0..=255u8 {
            std::fs::create_dir(dir.join(names::shard_name(i))).unwrap();
        }
        std::fs::File::create(dir.join("lock")).unwrap();
        let lock = StoreLock::new(
            std::fs::File::open(dir.join("lock")).unwrap(),
            dir.join("lock"),
            None,
        );
        (
            Folder::new(dir.to_owned(), sys::open_root(dir).unwrap()),
            lock,
        )
    }

    #[test]
    fn a_shard_lock_excludes_other_handles_of_that_shard_only() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_store) = store(dir.path());
        let b = Folder::new(dir.path().to_owned(), sys::open_root(dir.path()).unwrap());
        let b_store = StoreLock::new(
            std::fs::File::open(dir.path().join("lock")).unwrap(),
            dir.path().join("lock"),
            None,
        );
        let la = ShardLocks::new(None);
        let lb = ShardLocks::new(Some(Duration::from_millis(30)));
        let held = la.lock(&a, &a_store, 7).unwrap();
        assert!(matches!(held, ShardGuard::Shard { .. }));
        let err = lb.lock(&b, &b_store, 7).err().map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::Locked));
        assert!(lb.try_lock(&b, &b_store, 7).unwrap().is_none());
        // Another shard is free.
        assert!(lb.lock(&b, &b_store, 8).is_ok());
        drop(held);
        assert!(lb.lock(&b, &b_store, 7).is_ok());
    }
}
