//! The shell's security settings, checked: a strict CSP, the smallest capabilities, and
//! a UI that never renders vendor text as HTML. (Building this test also builds the
//! `baton-app` binary the end-to-end tests drive.)

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_csp_allows_only_the_app_itself() {
    let conf = json(&root().join("tauri.conf.json"));
    let csp = conf["app"]["security"]["csp"]
        .as_str()
        .expect("a CSP is set");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} is set"))
            .to_string()
    };
    assert_eq!(
        directive("script-src"),
        "script-src 'self'",
        "no inline or remote scripts, no eval"
    );
    assert_eq!(directive("default-src"), "default-src 'self'");
    assert_eq!(directive("object-src"), "object-src 'none'");
    assert_eq!(directive("frame-src"), "frame-src 'none'");
    assert!(!csp.contains("unsafe-eval"));
    assert!(
        !csp.contains("https:") && !csp.contains("http://*"),
        "no remote origins: {csp}"
    );
}

#[test]
fn the_window_gets_the_smallest_capabilities() {
    let cap = json(&root().join("src-tauri/capabilities/default.json"));
    let allowed = ["core:event:allow-listen", "core:event:allow-unlisten"];
    for p in cap["permissions"].as_array().unwrap() {
        assert!(
            allowed.contains(&p.as_str().unwrap_or("")),
            "unexpected permission {p}"
        );
    }
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
}

#[test]
fn the_ui_never_renders_text_as_html() {
    let mut stack = vec![root().join("ui/src")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("svelte" | "ts")
            ) {
                let text = std::fs::read_to_string(&path).unwrap();
                for banned in [
                    "{@html",
                    "innerHTML",
                    "outerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                ] {
                    assert!(!text.contains(banned), "{} uses {banned}", path.display());
                }
                files += 1;
            }
        }
    }
    assert!(files > 5, "the UI sources were read");
}
