//! Random operation sequences against a `HashMap` model, reopening the store midway.

use std::collections::HashMap;

use dirkv::{Durability, Exists, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, i64),
    Remove(u8),
    Get(u8),
    Add(u8, i64),
    SetIfAbsent(u8, i64),
    Cas(u8, Option<i64>, Option<i64>),
    SetMany(Vec<(u8, i64)>),
    RemoveMany(Vec<u8>),
    Clear,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..8;
    let val = -3i64..3;
    prop_oneof![
        4 => (key.clone(), val.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => key.clone().prop_map(Op::Remove),
        3 => key.clone().prop_map(Op::Get),
        2 => (key.clone(), val.clone()).prop_map(|(k, v)| Op::Add(k, v)),
        2 => (key.clone(), val.clone()).prop_map(|(k, v)| Op::SetIfAbsent(k, v)),
        2 => (key.clone(), proptest::option::of(val.clone()), proptest::option::of(val.clone()))
            .prop_map(|(k, a, b)| Op::Cas(k, a, b)),
        1 => proptest::collection::vec((key.clone(), val.clone()), 0..5).prop_map(Op::SetMany),
        1 => proptest::collection::vec(key.clone(), 0..5).prop_map(Op::RemoveMany),
        1 => Just(Op::Clear),
        1 => Just(Op::Reopen),
    ]
}

fn name(k: u8) -> String {
    format!("key-{k}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn store_behaves_like_a_hashmap(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let open = || Store::<String, i64>::options().durability(Durability::Fast).open(&path, Exists::OpenOrCreate).unwrap();
        let mut store = open();
        let mut model: HashMap<String, i64> = HashMap::new();
        for op in ops {
            match op {
                Op::Set(k, v) => { store.set(&name(k), &v).unwrap(); model.insert(name(k), v); }
                Op::Remove(k) => prop_assert_eq!(store.remove(&name(k)).unwrap(), model.remove(&name(k)).is_some()),
                Op::Get(k) => prop_assert_eq!(store.get(&name(k)).unwrap(), model.get(&name(k)).copied()),
                Op::Add(k, d) => {
                    let got = store.update(&name(k), |v| Some(v.unwrap_or(0) + d)).unwrap();
                    let want = model.get(&name(k)).copied().unwrap_or(0) + d;
                    model.insert(name(k), want);
                    prop_assert_eq!(got, Some(want));
                }
                Op::SetIfAbsent(k, v) => {
                    let absent = !model.contains_key(&name(k));
                    prop_assert_eq!(store.set_if_absent(&name(k), &v).unwrap(), absent);
                    model.entry(name(k)).or_insert(v);
                }
                Op::Cas(k, cur, new) => {
                    let matches = model.get(&name(k)).copied() == cur;
                    prop_assert_eq!(store.compare_and_swap(&name(k), cur.as_ref(), new.as_ref()).unwrap(), matches);
                    if matches {
                        match new { Some(v) => { model.insert(name(k), v); } None => { model.remove(&name(k)); } }
                    }
                }
                Op::SetMany(items) => {
                    let named: Vec<(String, i64)> = items.iter().map(|(k, v)| (name(*k), *v)).collect();
                    store.set_many(named.iter().map(|(k, v)| (k.as_str(), v))).unwrap();
                    model.extend(named);
                }
                Op::RemoveMany(keys) => {
                    let mut uniq = keys.clone();
                    uniq.sort_unstable();
                    uniq.dedup();
                    let want = uniq.iter().filter(|k| model.remove(&name(**k)).is_some()).count();
                    let named: Vec<String> = keys.iter().map(|k| name(*k)).collect();
                    prop_assert_eq!(store.remove_many(named.iter().map(String::as_str)).unwrap(), want);
                }
                Op::Clear => { store.clear().unwrap(); model.clear(); }
                Op::Reopen => { drop(store); store = open(); }
            }
            prop_assert_eq!(store.len().unwrap(), model.len());
        }
        let mut listed: Vec<(String, i64)> = store.iter().map(Result::unwrap).collect();
        listed.sort();
        let mut want: Vec<(String, i64)> = model.into_iter().collect();
        want.sort();
        prop_assert_eq!(listed, want);
    }
}
