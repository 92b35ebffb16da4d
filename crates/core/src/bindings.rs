//! TypeScript declarations of the types the desktop UI receives, generated from these
//! Rust types and committed as `ui/src/lib/bindings.ts`. A test fails when the
//! committed file is stale; `UPDATE_BINDINGS=1 cargo test -p baton-core bindings` rewrites it.

use crate::model::*;
use crate::store::{Change, QueueFilter};
use crate::sync::{AccountStatus, SyncState};
use ts_rs::{Config, TS};

pub fn typescript() -> String {
    // Ids and millisecond times stay far below 2^53: plain numbers, as serde sends them.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        SourceKind::decl(&cfg),
        Channel::decl(&cfg),
        Role::decl(&cfg),
        HandoffMode::decl(&cfg),
        DraftState::decl(&cfg),
        Status::decl(&cfg),
        Scope::decl(&cfg),
        Attachment::decl(&cfg),
        QueueItem::decl(&cfg),
        Handoff::decl(&cfg),
        AssistDraft::decl(&cfg),
        Message::decl(&cfg),
        ConversationDetail::decl(&cfg),
        SearchHit::decl(&cfg),
        QueueFilter::decl(&cfg),
        SyncState::decl(&cfg),
        AccountStatus::decl(&cfg),
        AppInfo::decl(&cfg),
        AccountSummary::decl(&cfg),
        NewZendeskAccount::decl(&cfg),
        NewSunco::decl(&cfg),
        NewCredentials::decl(&cfg),
        Unsent::decl(&cfg),
        UnsentText::decl(&cfg),
        Change::decl(&cfg),
        crate::drafts::DraftReportRow::decl(&cfg),
        crate::drafts::DraftAction::decl(&cfg),
        crate::drafts::Seen::decl(&cfg),
        crate::drafts::ActionResult::decl(&cfg),
        crate::outbox::OutboxState::decl(&cfg),
        crate::drafts::ReplyStatus::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by crates/core/src/bindings.rs. Do not edit.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
        let want = super::typescript();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `UPDATE_BINDINGS=1 cargo test -p baton-core bindings`",
            path.display()
        );
    }
}
