//! The TypeScript the desktop UI receives, generated from the Rust types where each is
//! defined: one file per crate in `ui/src/lib/bindings/` (`core.ts` from here,
//! `engine.ts`, `zendesk.ts`, `app.ts` from theirs), re-exported by the hand-written
//! `index.ts`. This module is the one way to render and check such a file; each crate's
//! `bindings_are_current` test uses it, failing when the crate's file is stale, and
//! `UPDATE_BINDINGS=1 cargo test -p <crate> bindings` rewrites it.
//!
//! `decl()` names the types a declaration refers to but writes no imports: a crate's file
//! may only refer to types in the same file (`npm run check` fails otherwise).

use std::path::{Path, PathBuf};
use ts_rs::Config;

/// The options every crate renders with.
pub fn config() -> Config {
    // Ids and millisecond times stay far below 2^53: plain numbers, as serde sends them.
    Config::new().with_large_int("number")
}

/// The generated file `name` (`core.ts`, …) in the UI's bindings folder.
pub fn ui_file(name: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/core sits two levels under the workspace");
    workspace.join("ui/src/lib/bindings").join(name)
}

/// One generated file: a header naming `package`, then each declaration exported.
pub fn render(package: &str, decls: &[String]) -> String {
    let mut out = format!(
        "// Generated from the Rust types of {package}. Do not edit: \
         `UPDATE_BINDINGS=1 cargo test -p {package} bindings` rewrites it.\n\n"
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Rewrites `path` with `content` when `UPDATE_BINDINGS` is set; then fails (the calling
/// test) unless the file holds `content`, saying how `package` regenerates it.
pub fn check_or_update(package: &str, path: &Path, content: &str) {
    let update = std::env::var_os("UPDATE_BINDINGS").is_some();
    if let Err(stale) = compare(package, path, content, update) {
        panic!("{stale}");
    }
}

fn compare(package: &str, path: &Path, content: &str, update: bool) -> Result<(), String> {
    if update {
        std::fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have == content {
        Ok(())
    } else {
        Err(format!(
            "{} is stale: run `UPDATE_BINDINGS=1 cargo test -p {package} bindings`",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::store::{Change, QueueFilter};
    use crate::sync::{AccountStatus, SyncState};
    use ts_rs::TS;

    #[test]
    fn bindings_are_current() {
        let cfg = config();
        let decls = [
            SourceKind::decl(&cfg),
            Channel::decl(&cfg),
            Role::decl(&cfg),
            HandoffMode::decl(&cfg),
            DraftState::decl(&cfg),
            Status::decl(&cfg),
            Scope::decl(&cfg),
            Attachment::decl(&cfg),
            EndedBy::decl(&cfg),
            SessionEnd::decl(&cfg),
            RoutingAttribute::decl(&cfg),
            QueueItem::decl(&cfg),
            HandoffDetails::decl(&cfg),
            Handoff::decl(&cfg),
            RelatedConversation::decl(&cfg),
            Caller::decl(&cfg),
            AssistDraft::decl(&cfg),
            Message::decl(&cfg),
            ConversationDetail::decl(&cfg),
            SearchHit::decl(&cfg),
            QueueFilter::decl(&cfg),
            SyncState::decl(&cfg),
            AccountStatus::decl(&cfg),
            AccountSummary::decl(&cfg),
            Unsent::decl(&cfg),
            UnsentText::decl(&cfg),
            Change::decl(&cfg),
            crate::drafts::DraftReportRow::decl(&cfg),
            crate::drafts::DraftAction::decl(&cfg),
            crate::drafts::Seen::decl(&cfg),
            crate::drafts::ActionResult::decl(&cfg),
            crate::outbox::OutboxState::decl(&cfg),
            crate::drafts::ReplyStatus::decl(&cfg),
            crate::review::RuleKind::decl(&cfg),
            crate::review::Verdict::decl(&cfg),
            crate::review::Bucket::decl(&cfg),
            crate::review::CategoryRule::decl(&cfg),
            crate::review::NewRule::decl(&cfg),
            crate::review::ReviewQuery::decl(&cfg),
            crate::review::CountRow::decl(&cfg),
            crate::review::TrendPoint::decl(&cfg),
            crate::review::ReasonCount::decl(&cfg),
            crate::review::FirstReply::decl(&cfg),
            crate::review::ReviewSummary::decl(&cfg),
            crate::review::CategoryFilter::decl(&cfg),
            crate::review::HandoffFilter::decl(&cfg),
            crate::review::HandoffRow::decl(&cfg),
            crate::store::SharingStatus::decl(&cfg),
        ];
        let content = render(env!("CARGO_PKG_NAME"), &decls);
        check_or_update(env!("CARGO_PKG_NAME"), &ui_file("core.ts"), &content);
    }

    #[test]
    fn a_stale_file_fails_until_it_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ts");
        let content = render("baton-x", &["type X = number;".to_string()]);
        assert_eq!(
            content,
            "// Generated from the Rust types of baton-x. Do not edit: \
             `UPDATE_BINDINGS=1 cargo test -p baton-x bindings` rewrites it.\n\n\
             export type X = number;\n"
        );
        std::fs::write(&path, "export type X = string;\n").unwrap();
        let stale = compare("baton-x", &path, &content, false).unwrap_err();
        assert!(stale.contains("cargo test -p baton-x bindings"), "{stale}");
        compare("baton-x", &path, &content, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
}
