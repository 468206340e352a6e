//! No library: this crate holds the bench that compares dirkv with other embedded stores,
//! `benches/peers.rs` (`cargo bench -p dirkv-bench`). It is a crate of its own so that
//! building and testing dirkv never compiles those stores.
