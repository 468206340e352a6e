//! What `benches/perf.rs` and the peer comparisons of `bench/benches/peers.rs` (crate
//! `dirkv-bench`) share: the interleaved measuring, the table, the fixtures. Each includes
//! this file as its module `measure`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use dirkv::{Raw, Store};

pub type Bytes = Store<String, Vec<u8>, Raw>;

pub fn bench_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dirkv-bench")
}

// ---------------------------------------------------------------- measuring

/// Target of a line.
#[derive(Clone, Copy)]
pub enum Target {
    /// ratio ≤ this
    AtMost(f64),
    /// ratio ≥ this
    AtLeast(f64),
    /// dirkv's value (an absolute time) ≤ this many ns
    TimeAtMost(f64),
    /// dirkv's value (a factor) ≥ this
    ValueAtLeast(f64),
    /// shown for information
    Info,
}

/// How a line's numbers are shown.
#[derive(Clone, Copy, PartialEq)]
pub enum Unit {
    /// nanoseconds per operation
    PerOp,
    /// a factor
    Speedup,
}

pub struct Line {
    pub name: String,
    pub dirkv: f64,
    pub floor: Option<f64>,
    pub floor_name: &'static str,
    pub ratio: Option<f64>,
    pub spread: Option<(f64, f64)>,
    pub target: Target,
    pub unit: Unit,
}

pub struct Bench {
    pub rounds: usize,
    pub only: Option<String>,
    pub lines: Vec<Line>,
}

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `ops` operations and returns nanoseconds per operation.
pub fn per_op(ops: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..ops {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / ops as f64
}

/// `per_op` over `passes` passes of `n` items: `f` gets the item's index.
pub fn per_op_n(n: usize, passes: usize, mut f: impl FnMut(usize)) -> f64 {
    per_op(n * passes, |i| f(i % n))
}

impl Bench {
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|w| name.contains(w.as_str()))
    }

    /// Interleaves `rounds` rounds of `floor` and `dirkv` (each returns a value for the
    /// round), alternating which goes first, and records the line.
    #[allow(clippy::too_many_arguments)]
    pub fn pair(
        &mut self,
        name: &str,
        floor_name: &'static str,
        rounds: usize,
        target: Target,
        unit: Unit,
        mut floor: impl FnMut() -> f64,
        mut dirkv: impl FnMut() -> f64,
    ) {
        let (mut f, mut d) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if round % 2 == 0 {
                f.push(floor());
                d.push(dirkv());
            } else {
                d.push(dirkv());
                f.push(floor());
            }
        }
        let ratios: Vec<f64> = d.iter().zip(&f).map(|(d, f)| d / f).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        let (dm, fm) = (median(&d), median(&f));
        self.push(Line {
            name: name.to_owned(),
            dirkv: dm,
            floor: Some(fm),
            floor_name,
            ratio: Some(dm / fm),
            spread: Some((lo, hi)),
            target,
            unit,
        });
    }

    pub fn push(&mut self, line: Line) {
        print_line(&line);
        self.lines.push(line);
    }
}

pub fn show(ns: f64, unit: Unit) -> String {
    match unit {
        Unit::Speedup => format!("{ns:.2}×"),
        Unit::PerOp if ns < 1_000.0 => format!("{ns:.0} ns"),
        Unit::PerOp if ns < 1_000_000.0 => format!("{:.2} µs", ns / 1000.0),
        Unit::PerOp => format!("{:.2} ms", ns / 1e6),
    }
}

pub fn met(line: &Line) -> &'static str {
    match (line.target, line.ratio) {
        (Target::AtMost(t), Some(r)) if r <= t => "met",
        (Target::AtLeast(t), Some(r)) if r >= t => "met",
        (Target::TimeAtMost(t), _) if line.dirkv <= t => "met",
        (Target::ValueAtLeast(t), _) if line.dirkv >= t => "met",
        (Target::Info, _) => "-",
        _ => "NOT MET",
    }
}

pub fn target_text(t: Target) -> String {
    match t {
        Target::AtMost(x) => format!("≤ {x:.2}"),
        Target::AtLeast(x) => format!("≥ {x:.2}"),
        Target::TimeAtMost(ns) => format!("≤ {}", show(ns, Unit::PerOp)),
        Target::ValueAtLeast(x) => format!("≥ {x:.2}×"),
        Target::Info => "info".into(),
    }
}

pub fn print_header() {
    println!(
        "| {:<52} | {:>10} | {:>10} | {:<22} | {:>6} | {:<11} | {:>8} | {:<7} |",
        "line", "dirkv", "floor", "floor is", "ratio", "spread", "target", "met"
    );
    println!(
        "| {:-<52} | {:->10} | {:->10} | {:-<22} | {:->6} | {:-<11} | {:->8} | {:-<7} |",
        "", "", "", "", "", "", "", ""
    );
}

pub fn print_line(l: &Line) {
    let floor = l.floor.map_or("-".into(), |f| show(f, l.unit));
    let ratio = l.ratio.map_or("-".into(), |r| format!("{r:.3}"));
    let spread = l
        .spread
        .map_or("-".into(), |(a, b)| format!("{a:.2}–{b:.2}"));
    println!(
        "| {:<52} | {:>10} | {:>10} | {:<22} | {:>6} | {:<11} | {:>8} | {:<7} |",
        l.name,
        show(l.dirkv, l.unit),
        floor,
        l.floor_name,
        ratio,
        spread,
        target_text(l.target),
        met(l)
    );
}

/// The line that ends a run: how many lines, how long, which targets were missed.
pub fn print_summary(b: &Bench, start: Instant) {
    let missed: Vec<&str> = b
        .lines
        .iter()
        .filter(|l| met(l) == "NOT MET")
        .map(|l| l.name.as_str())
        .collect();
    println!(
        "\n{} lines in {:.0} s; ratio = dirkv / floor (medians of {} interleaved rounds), spread = lowest–highest per-round ratio; targets missed: {}",
        b.lines.len(),
        start.elapsed().as_secs_f64(),
        b.rounds,
        if missed.is_empty() {
            "none".to_owned()
        } else {
            missed.join("; ")
        }
    );
}

// ---------------------------------------------------------------- fixtures

pub fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:07}")).collect()
}

pub fn value(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seed * 7) as u8).collect()
}

pub fn fill(store: &Bytes, keys: &[String], len: usize) {
    let values: Vec<Vec<u8>> = (0..keys.len()).map(|i| value(len, i)).collect();
    store
        .set_many(keys.iter().map(String::as_str).zip(values.iter()))
        .unwrap();
}
