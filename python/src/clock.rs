//! `dirkv.ManualClock`: the Rust `ManualClock`, for tests of expiry and eviction that move
//! time by hand instead of sleeping.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A clock that stands still until it is moved, for tests of expiry and eviction.
///
/// Pass it to a store as ``clock=``; the store then takes every time it records or
/// compares (entry times, expiry, access times) from it. ``start`` is seconds since the
/// Unix epoch (default 1,000,000,000, that is 2001-09-09 01:46:40 UTC).
///
/// >>> clock = dirkv.ManualClock()
/// >>> clock.advance(60)
/// >>> clock.now()
/// 1000000060.0
#[pyclass(module = "dirkv", name = "ManualClock", frozen)]
pub struct ManualClock {
    clock: Arc<dirkv::ManualClock>,
}

fn time_at(seconds: f64) -> PyResult<SystemTime> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "a time is seconds since the Unix epoch (finite, not negative), not {seconds}"
            ))
        })
}

impl ManualClock {
    /// The clock to give to the store's options.
    pub fn shared(&self) -> Arc<dyn dirkv::Clock> {
        Arc::clone(&self.clock) as Arc<dyn dirkv::Clock>
    }
}

#[pymethods]
impl ManualClock {
    #[new]
    #[pyo3(signature = (start = None))]
    fn new(start: Option<f64>) -> PyResult<Self> {
        let clock = match start {
            Some(s) => dirkv::ManualClock::at(time_at(s)?),
            None => dirkv::ManualClock::new(),
        };
        Ok(ManualClock {
            clock: Arc::new(clock),
        })
    }

    /// Moves the clock forward by ``seconds`` (an int, a float or a ``datetime.timedelta``).
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        self.clock
            .advance(crate::options::duration("seconds", seconds)?);
        Ok(())
    }

    /// Moves the clock to ``unix_seconds`` (backwards too).
    fn set(&self, unix_seconds: f64) -> PyResult<()> {
        self.clock.set(time_at(unix_seconds)?);
        Ok(())
    }

    /// The clock's time, in seconds since the Unix epoch.
    fn now(&self) -> f64 {
        use dirkv::Clock as _;
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    fn __repr__(&self) -> String {
        format!("dirkv.ManualClock({:?})", self.now())
    }
}
