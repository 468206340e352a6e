//! The on-disk format, as pure functions with no I/O: the entry file ([`entry`]), the
//! manifest ([`manifest`]), the names of a store's files and folders ([`names`]) and the
//! table of key encodings ([`keys`]).
//!
//! Everything a program needs to read or write a store's files without dirkv's I/O layer:
//! the fuzz targets and the format tests use it, and so can tools in other languages as a
//! reference. It follows the store format ([`manifest::FORMAT`]), not the crate's API
//! conventions: fields are public and a new format version may change them.

pub mod entry;
pub mod keys;
pub mod manifest;
pub mod names;
pub mod time;
