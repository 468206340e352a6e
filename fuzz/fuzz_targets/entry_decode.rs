//! Entry files: any bytes go to the header parser, the key reader and the full decoder.
//! Never a panic; an `Ok` decode agrees with the header and key readers and re-encodes
//! to the same entry (byte for byte when the header has this version's length).
#![no_main]

use dirkv::format::entry::{self, Damage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = entry::parse_header(data);
    let prefix = entry::key_of(data);
    // Every prefix a reader might hold while reading the file in pieces.
    for cut in [0, 1, 7, 8, entry::HEADER_LEN - 1, entry::HEADER_LEN, data.len() / 2] {
        if let Some(part) = data.get(..cut) {
            let _ = entry::key_of(part);
            let _ = entry::parse_header(part);
        }
    }
    match entry::decode(data) {
        Ok(e) => {
            assert_eq!(header, Ok(e.header));
            assert_eq!(prefix, Ok(Some((e.header, e.key))));
            assert_eq!(e.header.total_len(), data.len() as u64);
            let mut again = Vec::new();
            entry::begin(&mut again, e.key);
            again.extend_from_slice(e.value);
            entry::finish(&mut again, e.key.len(), &e.header.meta);
            if e.header.header_len == entry::HEADER_LEN {
                assert_eq!(again, data);
            }
            let e2 = entry::decode(&again).expect("a re-encoded entry decodes");
            assert_eq!((e2.key, e2.value, e2.header.meta), (e.key, e.value, e.header.meta));
        }
        Err(d) => {
            let _ = d.to_string();
            if let Damage::Length { expected, actual } = d {
                assert_ne!(expected, actual);
            }
        }
    }
});
