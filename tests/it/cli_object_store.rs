//! The `dirkv` command on a store on object storage: `init`, `set`, `get`, `ls`, `export`,
//! `verify`, `import`, `path` and `rm` on an `s3://` URL (moto in server mode on
//! 127.0.0.1; the client reads the `AWS_*` variables as for any S3 server); the commands
//! for folders only (`stat`, `verify --repair`, `init --encrypt`) refusing a URL; a key in
//! the environment refusing a plain store at a URL, as it does a folder. Without moto the
//! tests print why and pass, except in CI.

use crate::cli_support::{self, dirkv_env};
use crate::common::layout;
use crate::common::moto::{BUCKET, Moto, block, unique_prefix};

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
    let rel = layout::entry_rel_path(&layout::hash(b"home"));
    let location = dirkv::object_store::path::Path::from(format!("{prefix}/{rel}"));
    block(dirkv::object_store::ObjectStoreExt::put(
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

#[test]
fn folder_only_commands_refuse_a_url_and_say_why() {
    // No server needed: these stop before any request.
    let url = "s3://no-such-bucket/p";
    for args in [
        vec!["stat", url],
        vec!["verify", url, "--repair"],
        vec!["init", url, "--encrypt"],
    ] {
        let run = dirkv_env(&args, &[], None);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("local folder only"),
            "{args:?}: {run:?}"
        );
    }
}

#[test]
fn a_key_in_the_environment_refuses_a_plain_store_at_a_url() {
    let Some(moto) = Moto::shared() else { return };
    let url = format!("s3://{BUCKET}/{}", unique_prefix("cli-keyed"));
    run(moto, &["init", &url]).ok();
    run(moto, &["set", &url, "k", "1"]).ok();
    let mut env = moto.env();
    env.push(("DIRKV_KEY", "ab".repeat(32)));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // As for a folder: the variable says the store is encrypted, its manifest says not.
    let refused = dirkv_env(["get", url.as_str(), "k"], &env, None);
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(refused.stderr.contains("not encrypted"), "{refused:?}");
    assert_eq!(run(moto, &["get", &url, "k"]).ok().trim(), "1");
}
