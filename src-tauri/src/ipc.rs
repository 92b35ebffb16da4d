//! The shell's own types on the IPC surface, beside the crates' (which generate their
//! own files): what the window asks of the shell itself. Their TypeScript is
//! `ui/src/lib/bindings/app.ts`, rendered and checked by `baton_core::bindings`.

use baton_engine::team::desk::TeamView;
use baton_engine::EngineError;
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

/// The team this desktop reads from, as Settings shows it. Never the NATS secret.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TeamStatus {
    /// `null`: not in a team. Joined: where and as whom, with the team's accounts when its
    /// NATS answered (none listed when it did not: see `problem`).
    pub team: Option<TeamView>,
    /// Why the team's accounts could not be read just now (offline, login refused, …).
    pub problem: Option<EngineError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::bindings::{check_or_update, config, render, ui_file};
    use ts_rs::TS;

    /// The engine's types this file refers to, imported from their own file.
    const IMPORTS: &str = "import type { EngineError, TeamView } from \"./engine\";\n\n";

    #[test]
    fn bindings_are_current() {
        let cfg = config();
        let rendered = render(
            env!("CARGO_PKG_NAME"),
            &[AppInfo::decl(&cfg), TeamStatus::decl(&cfg)],
        );
        // After the header line, before the declarations.
        let at = rendered.find("\n\n").expect("a header") + 2;
        let content = format!("{}{IMPORTS}{}", &rendered[..at], &rendered[at..]);
        check_or_update(env!("CARGO_PKG_NAME"), &ui_file("app.ts"), &content);
    }
}
