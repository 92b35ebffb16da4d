//! baton-engine's types the UI receives, as `ui/src/lib/bindings/engine.ts`: the error
//! every command answers with, and a team as Settings shows it. Rendered and checked by
//! `baton_core::bindings`.

use crate::error::{EngineError, ErrorKind};
use crate::team::desk::{TeamAccountView, TeamView};
use baton_core::bindings::{check_or_update, config, render, ui_file};
use ts_rs::TS;

#[test]
fn bindings_are_current() {
    let cfg = config();
    let content = render(
        env!("CARGO_PKG_NAME"),
        &[
            ErrorKind::decl(&cfg),
            EngineError::decl(&cfg),
            TeamView::decl(&cfg),
            TeamAccountView::decl(&cfg),
        ],
    );
    check_or_update(env!("CARGO_PKG_NAME"), &ui_file("engine.ts"), &content);
}
