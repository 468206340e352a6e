//! The `dirkv` command on a store on object storage: `init`, `set`, `get`, `ls`, `export`,
//! `verify`, `import`, `path` and `rm` on an `s3://` URL (moto in server mode on 127.0.0.1; the client reads the
//! `AWS_*` variables as for any S3 server). Without moto the tests print why and pass,
//! except in CI.
#![cfg(feature = "object-store")]

mod cli_support;
mod object_store_support;

use cli_support::dirkv_env;
use object_store_support::{BUCKET, Moto, unique_prefix};

fn run(moto: &Moto, args: &[&str]) -> cli_support::Run {
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    dirkv_env(args, &env, None)
}

#[test]
fn ls_get_set_export_and_verify_on_an_s3_url() {
    let Some(moto) = Moto::shared() else { return };
    let url = format!("s3://{BUCKET}/{}", unique_prefix("cli"));
    assert_eq!(run(moto, &["ls", &url]).code, 4, "no store there yet");
    run(moto, &["init", &url]).ok();
    run(
        moto,
        &["set", &url, "home", r#"{"title":"Home","words":120}"#],
    )
    .ok();
    run(moto, &["set", &url, "about", "[1,2,3]"]).ok();
    let got = run(moto, &["get", &url, "home"]).ok();
    assert!(got.contains(r#""title":"Home""#), "{got}");
    assert_eq!(run(moto, &["get", &url, "nope"]).code, 1);
    let listed = run(moto, &["ls", &url]).ok();
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort();
    assert_eq!(keys, ["about", "home"]);
    let exported = run(moto, &["export", &url]).ok();
    assert_eq!(exported.lines().count(), 2, "{exported}");
    assert!(exported.contains(r#""key":"about""#), "{exported}");
    let verified = run(moto, &["verify", &url]).ok();
    assert!(
        verified.contains("checked 2 entries: no problems"),
        "{verified}"
    );

    // The export imports into another prefix; rm and path work there too.
    let copy = format!("s3://{BUCKET}/{}", unique_prefix("cli-copy"));
    run(moto, &["init", &copy]).ok();
    let lines = std::env::temp_dir().join(format!("{}.jsonl", unique_prefix("cli-export")));
    std::fs::write(&lines, &exported).unwrap();
    run(moto, &["import", &copy, "--in", lines.to_str().unwrap()]).ok();
    let _ = std::fs::remove_file(&lines);
    assert_eq!(run(moto, &["get", &copy, "about"]).ok().trim(), "[1,2,3]");
    let path = run(moto, &["path", &copy, "about"]).ok();
    assert!(path.starts_with(&format!("{copy}/")), "{path}");
    run(moto, &["rm", &copy, "about"]).ok();
    assert_eq!(run(moto, &["get", &copy, "about"]).code, 1);

    // A damaged object: verify reports it by URL and exits 3.
    let os = moto.client(BUCKET);
    let prefix = url
        .trim_start_matches(&format!("s3://{BUCKET}/"))
        .to_owned();
    let rel = dirkv::format::names::entry_rel_path(&dirkv::format::names::hash(b"home"));
    let location = dirkv::object_store::path::Path::from(format!("{prefix}/{rel}"));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(dirkv::object_store::ObjectStoreExt::put(
            &*os,
            &location,
            dirkv::object_store::PutPayload::from_static(b"damaged"),
        ))
        .unwrap();
    let bad = run(moto, &["verify", &url]);
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(bad.out().contains(&format!("{url}/{rel}")), "{}", bad.out());
    // Credentials never appear in what the command prints.
    assert!(!bad.out().contains("testing") && !bad.stderr.contains("testing"));
}
