//! The committed `src/eventbus.v1.rs` is what the proto in ../shared/specs makes today.

use std::path::PathBuf;

#[test]
fn generated_code_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let specs = root.join("../../../shared/specs/salesforce/pub-sub-api");
    let fds = protox::compile([specs.join("pubsub_api.proto")], [&specs])
        .expect("the Pub/Sub proto compiles");
    let out = tempfile_dir();
    tonic_prost_build::configure()
        .out_dir(&out)
        .compile_fds(fds)
        .expect("code generation");
    let fresh = std::fs::read_to_string(out.join("eventbus.v1.rs")).expect("generated file");
    let committed_path = root.join("src/eventbus.v1.rs");
    if std::env::var_os("BATON_REGENERATE").is_some() {
        std::fs::write(&committed_path, &fresh).expect("write the generated code");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "src/eventbus.v1.rs is not what the proto makes: run \
         `BATON_REGENERATE=1 cargo test -p baton-pubsub --test generated` and commit it"
    );
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-pubsub-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
