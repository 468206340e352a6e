//! A build without the `encryption` feature refuses an encrypted store clearly, rather
//! than reading ciphertext as values.

use crate::common;

use common::store_dir;
use dirkv::{ErrorKind, Exists, Store};

#[test]
fn an_encrypted_store_is_an_incompatible_format_error_naming_the_feature() {
    let (_d, path) = store_dir();
    Store::<String, u32>::open(&path, Exists::OpenOrCreate).unwrap();
    // What a build with the feature writes into the manifest of an encrypted store.
    let manifest = path.join("DIRKV");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "encryption = xchacha20poly1305\nencryption_kdf = none\n\
         encryption_salt = 00112233445566778899aabbccddeeff\n\
         encryption_check = 0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    std::fs::write(&manifest, &text).unwrap();
    for read_only in [false, true] {
        let err = Store::<String, u32>::options()
            .read_only(read_only)
            .open(&path, Exists::Update)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IncompatibleFormat, "{err}");
        assert!(err.to_string().contains("`encryption` feature"), "{err}");
        assert_eq!(err.path(), Some(manifest.as_path()));
    }
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), text);
}
