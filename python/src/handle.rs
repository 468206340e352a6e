//! Open stores across `fork()`: a child process must not use, or drop, the store handles it
//! inherited.
//!
//! A handle holds what the store locks (its shard folders, the `lock` file) open, and its
//! writer marker. After a fork, parent and child share those open files, and a `flock`
//! belongs to the open file, not the process: the child's writes would not exclude the
//! parent's, and dropping the handle in the child would unlock and delete the parent's
//! marker. So `dirkv/__init__.py` registers
//! [`after_fork_in_child`] with `os.register_at_fork`, which moves the fork generation on;
//! a handle of an older generation is never used again (the store reopens itself) and
//! never dropped ([`ForkSafe`] leaks it instead, once per fork).

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: how many forks this process is from the one that imported
/// the module.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Called in the child after every `os.fork()`.
#[pyo3::pyfunction]
pub fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// A value that belongs to the process (fork generation) that made it: dropped normally
/// there, leaked in a forked child.
#[derive(Debug)]
pub struct ForkSafe<T> {
    value: Option<T>,
    generation: u64,
}

impl<T> ForkSafe<T> {
    /// `value`, owned by the current process.
    pub fn new(value: T) -> Self {
        ForkSafe {
            value: Some(value),
            generation: generation(),
        }
    }

    /// The value, when it belongs to this process.
    pub fn get(&self) -> Option<&T> {
        self.value
            .as_ref()
            .filter(|_| self.generation == generation())
    }

    /// The value mutably, when it belongs to this process.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.generation == generation() {
            self.value.as_mut()
        } else {
            None
        }
    }
}

impl<T> Drop for ForkSafe<T> {
    fn drop(&mut self) {
        if self.generation != generation()
            && let Some(inherited) = self.value.take()
        {
            std::mem::forget(inherited);
        }
    }
}
