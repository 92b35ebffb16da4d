//! A vendor in memory, for the engine's own tests: conversations it reports, replies it
//! takes. Registered by account id, it stands behind that account in `AccountSync` and
//! `AccountPoster`, so the tests run the very loops the hosts run.

use baton_core::model::{
    Channel, Conversation, DraftFacts, HandoffFacts, HandoffMode, Millis, SourceKind,
    TranscriptPage,
};
use baton_core::outbox::{OutboxItem, PostError, Poster};
use baton_core::sync::{ChangePage, Feed, FeedError, Identity};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Default)]
pub struct MemoryVendor {
    /// Every conversation the vendor has, in the order it changed; a cursor is an index.
    pub conversations: Mutex<Vec<(Conversation, Option<DraftFacts>)>>,
    pub posted: Mutex<Vec<OutboxItem>>,
    /// Answers to the next posts, in order, before they succeed.
    pub refusals: Mutex<Vec<PostError>>,
}

fn registry() -> &'static Mutex<HashMap<String, Arc<MemoryVendor>>> {
    static VENDORS: OnceLock<Mutex<HashMap<String, Arc<MemoryVendor>>>> = OnceLock::new();
    VENDORS.get_or_init(Default::default)
}

/// Puts `vendor` behind the account `id` (account ids are unique per test).
pub fn register(id: &str, vendor: Arc<MemoryVendor>) {
    registry().lock().unwrap().insert(id.to_string(), vendor);
}

pub fn registered(id: &str) -> Option<Arc<MemoryVendor>> {
    registry().lock().unwrap().get(id).cloned()
}

impl MemoryVendor {
    /// A web handoff, with an Assist draft when `draft` is given.
    pub fn hand_off(&self, id: &str, at: Millis, draft: Option<&str>) {
        let c = Conversation {
            subject: format!("Handoff {id}"),
            requester_name: Some("Maria".into()),
            handoff: Some(HandoffFacts {
                mode: HandoffMode::LiveChat,
                handed_off_at: Some(at),
            }),
            version: format!("v{at}"),
            wants_transcript: true,
            ..Conversation::new(id, SourceKind::Zendesk, Channel::Web, at)
        };
        let draft = draft.map(|text| DraftFacts {
            source_note_id: format!("note-{id}"),
            text: text.into(),
            training_url: None,
            created_at: at,
        });
        self.conversations.lock().unwrap().push((c, draft));
    }
}

pub struct MemoryFeed(pub Arc<MemoryVendor>);

impl Feed for MemoryFeed {
    fn stream(&self) -> &str {
        "memory"
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, FeedError> {
        let from: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let all = self.0.conversations.lock().unwrap();
        Ok(ChangePage {
            conversations: all[from.min(all.len())..]
                .iter()
                .map(|(c, _)| c.clone())
                .collect(),
            cursor: all.len().to_string(),
            end_of_stream: true,
            ..Default::default()
        })
    }

    async fn transcript(
        &self,
        conversation: &Conversation,
        _cursor: Option<&str>,
    ) -> Result<TranscriptPage, FeedError> {
        let all = self.0.conversations.lock().unwrap();
        let draft = all
            .iter()
            .find(|(c, _)| c.external_id == conversation.external_id)
            .and_then(|(_, d)| d.clone());
        Ok(TranscriptPage {
            drafts: draft.into_iter().collect(),
            ..Default::default()
        })
    }

    async fn conversation(&self, external_id: &str) -> Result<Option<Conversation>, FeedError> {
        let all = self.0.conversations.lock().unwrap();
        Ok(all
            .iter()
            .rev()
            .find(|(c, _)| c.external_id == external_id)
            .map(|(c, _)| c.clone()))
    }

    async fn estimate_total(&self) -> Result<Option<u64>, FeedError> {
        Ok(None)
    }

    async fn identity(&self) -> Result<Identity, FeedError> {
        Ok(Identity {
            me_id: "7".into(),
            group_ids: vec![],
        })
    }
}

impl Poster for MemoryVendor {
    async fn post(&self, item: &OutboxItem) -> Result<(), PostError> {
        if let Some(e) = self.refusals.lock().unwrap().pop() {
            return Err(e);
        }
        self.posted.lock().unwrap().push(item.clone());
        Ok(())
    }

    async fn already_posted(&self, item: &OutboxItem, _since: Millis) -> Result<bool, PostError> {
        Ok(self
            .posted
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.idempotency_key == item.idempotency_key))
    }
}
