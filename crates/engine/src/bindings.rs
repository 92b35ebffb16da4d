//! baton-engine's types the UI receives, as `ui/src/lib/bindings/engine.ts`: the error
//! every command answers with. Rendered and checked by `baton_core::bindings`.

use crate::error::{EngineError, ErrorKind};
use baton_core::bindings::{check_or_update, config, render, ui_file};
use ts_rs::TS;

#[test]
fn bindings_are_current() {
    let cfg = config();
    let content = render(
        env!("CARGO_PKG_NAME"),
        &[ErrorKind::decl(&cfg), EngineError::decl(&cfg)],
    );
    check_or_update(env!("CARGO_PKG_NAME"), &ui_file("engine.ts"), &content);
}
