//! Manifests: any bytes go to the parser. Never a panic; an `Ok` manifest renders to text
//! that parses back to the same manifest.
#![no_main]

use dirkv::format::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        let text = m.render();
        assert_eq!(Manifest::parse(text.as_bytes()), Ok(m), "{text}");
    }
});
