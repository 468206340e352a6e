//! Tests of the write-back table.

use super::*;

fn flush_count(wb: &WriteBack) -> usize {
    wb.to_flush(true).len()
}

fn value(n: u32) -> Known {
    Known::Value {
        value: Arc::new(n),
        created_ms: 0,
        expires_ms: 0,
    }
}

fn got(wb: &WriteBack, key: &[u8]) -> Option<Option<u32>> {
    wb.get(key, || 0).map(|k| match k {
        Known::Value { value, .. } => value.downcast_ref::<u32>().copied(),
        Known::Absent => None,
    })
}

#[test]
fn dirty_entries_stay_visible_until_written_and_bounds_hold() {
    let wb = WriteBack::new(WriteBackSettings {
        max_entries: 4,
        max_bytes: 1 << 20,
    });
    for k in 0..10u8 {
        wb.change(&[k], &[k; 32], value(u32::from(k)), Dirty::Remove, 1);
    }
    assert!(wb.stats().entries <= 10);
    for k in 0..10u8 {
        assert_eq!(got(&wb, &[k]), Some(Some(u32::from(k))), "{k}");
    }
    let all = wb.to_flush(true);
    assert_eq!(all.len(), 10);
    assert_eq!(wb.dirty_count(), 10);
    wb.written(&all);
    assert_eq!(wb.dirty_count(), 0);
    let _ = flush_count(&wb);
    // Evicted and written: RAM no longer answers for them.
    let known = (0..10u8).filter(|k| got(&wb, &[*k]).is_some()).count();
    assert!(known <= 4, "{known}");
}

#[test]
fn a_change_after_the_flush_began_stays_dirty() {
    let wb = WriteBack::new(WriteBackSettings {
        max_entries: 100,
        max_bytes: 1 << 20,
    });
    wb.change(b"k", &[1; 32], value(1), Dirty::Remove, 1);
    let batch = wb.to_flush(true);
    wb.change(b"k", &[1; 32], value(2), Dirty::Remove, 1);
    wb.written(&batch);
    assert_eq!(wb.dirty_count(), 1);
    // A clean fill never hides a change.
    wb.fill(b"k", &[1; 32], value(9), 1);
    assert_eq!(got(&wb, b"k"), Some(Some(2)));
}

#[test]
fn expired_values_read_as_absent() {
    let wb = WriteBack::new(WriteBackSettings {
        max_entries: 10,
        max_bytes: 1 << 20,
    });
    let v = Known::Value {
        value: Arc::new(1u32),
        created_ms: 0,
        expires_ms: 100,
    };
    wb.fill(b"k", &[0; 32], v, 1);
    assert!(matches!(wb.get(b"k", || 99), Some(Known::Value { .. })));
    assert!(matches!(wb.get(b"k", || 100), Some(Known::Absent)));
}
