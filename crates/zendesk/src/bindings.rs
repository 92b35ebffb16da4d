//! baton-zendesk's types the UI receives, as `ui/src/lib/bindings/zendesk.ts`: the
//! settings forms. Rendered and checked by `baton_core::bindings`.

use crate::forms::{NewCredentials, NewSunco, NewZendeskAccount};
use baton_core::bindings::{check_or_update, config, render, ui_file};
use ts_rs::TS;

#[test]
fn bindings_are_current() {
    let cfg = config();
    let content = render(
        env!("CARGO_PKG_NAME"),
        &[
            NewZendeskAccount::decl(&cfg),
            NewSunco::decl(&cfg),
            NewCredentials::decl(&cfg),
        ],
    );
    check_or_update(env!("CARGO_PKG_NAME"), &ui_file("zendesk.ts"), &content);
}
