//! The shell's own types on the IPC surface, beside the crates' (which generate their
//! own files): what the window asks of the shell itself. Their TypeScript is
//! `ui/src/lib/bindings/app.ts`, rendered and checked by `baton_core::bindings`.

use serde::Serialize;

/// What the desktop shell tells its UI about itself.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AppInfo {
    /// Showing the embedded simulator's demo data (no account configured).
    pub demo: bool,
    pub demo_url: Option<String>,
    /// The rep's own user id, for "mine first".
    pub me_id: Option<String>,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::bindings::{check_or_update, config, render, ui_file};
    use ts_rs::TS;

    #[test]
    fn bindings_are_current() {
        let content = render(env!("CARGO_PKG_NAME"), &[AppInfo::decl(&config())]);
        check_or_update(env!("CARGO_PKG_NAME"), &ui_file("app.ts"), &content);
    }
}
