//! From Zendesk's JSON to Baton's domain: which tags and fields mean a handoff, its
//! channel and mode, and what each comment or log event is. The names are configuration
//! (deployments differ); these defaults follow the OpenCX documents.

use crate::wire;
use baton_core::model::*;
use baton_core::notes::{Note, NoteMarkers};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mapping {
    /// Tags of the form `{prefix}{channel}` mark an AI handoff on that channel.
    pub channel_tag_prefix: String,
    pub live_transfer_tag: String,
    pub logged_escalation_tag: String,
    /// Tags starting with this say why Assist stayed quiet.
    pub assist_skip_prefix: String,
    /// Ticket fields, matched by key, then by title (case-insensitive).
    pub org_field: String,
    pub contact_field: String,
    pub session_field: String,
    /// The ticket field that holds the Sunshine Conversations conversation id.
    pub sunco_conversation_field: String,
    /// Where "View in OpenCX" goes; `{session_id}` is replaced.
    pub session_url_template: String,
    /// Ticket `via.channel` values whose transcript is the conversation log.
    pub messaging_via: Vec<String>,
    pub notes: NoteMarkers,
    /// Whose internal notes may be Assist drafts and handoff summaries.
    pub ai_authors: AiAuthors,
}

/// Anyone can make a note *contain* the draft or summary marker (an end user's email
/// can land as a private comment), so the markers count only on notes written by the
/// user the OpenCX integration posts as. Other notes with the markers stay ordinary
/// internal notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AiAuthors {
    /// Zendesk user ids of the integration's user(s). When any is set, only these count.
    pub user_ids: Vec<i64>,
    /// Without ids: agents or admins with one of these names (trimmed, any case). The
    /// integration posts as the agent whose API credentials it was given; deployments
    /// give that agent its own name, "OpenCX" unless configured otherwise.
    pub names: Vec<String>,
}

impl Default for AiAuthors {
    fn default() -> Self {
        Self {
            user_ids: vec![],
            names: vec!["OpenCX".into()],
        }
    }
}

/// What a transcript entry says about who wrote it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Author<'a> {
    pub id: Option<i64>,
    pub name: Option<&'a str>,
    /// An agent or admin (`Some(false)`: an end user; `None`: not known).
    pub staff: Option<bool>,
}

impl AiAuthors {
    pub fn includes(&self, a: &Author) -> bool {
        if a.staff == Some(false) {
            return false;
        }
        if !self.user_ids.is_empty() {
            return a.id.is_some_and(|id| self.user_ids.contains(&id));
        }
        a.staff == Some(true)
            && a.name.is_some_and(|n| {
                self.names
                    .iter()
                    .any(|want| want.trim().eq_ignore_ascii_case(n.trim()))
            })
    }
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            channel_tag_prefix: "opencx_channel_".into(),
            live_transfer_tag: "opencx_phone_live_transfer".into(),
            logged_escalation_tag: "opencx_phone_logged_escalation".into(),
            assist_skip_prefix: "opencx_skipped_".into(),
            org_field: "opencx_org_id".into(),
            contact_field: "opencx_contact_id".into(),
            session_field: "opencx_session_id".into(),
            sunco_conversation_field: "sunco_conversation_id".into(),
            session_url_template: "https://app.opencx.ai/sessions/{session_id}".into(),
            messaging_via: vec![
                "native_messaging".into(),
                "messaging".into(),
                "sunshine_conversations_api".into(),
                "sunshine_conversations_facebook_messenger".into(),
                "whatsapp".into(),
            ],
            notes: NoteMarkers::default(),
            ai_authors: AiAuthors::default(),
        }
    }
}

/// The ticket field ids that carry the OpenCX ids in this account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldIds {
    pub org: Option<i64>,
    pub contact: Option<i64>,
    pub session: Option<i64>,
    pub sunco: Option<i64>,
}

impl FieldIds {
    /// Finds each field by key, else by title written as a key ("OpenCX session id"
    /// matches `opencx_session_id`): Support ticket fields have titles, not keys.
    pub fn resolve(mapping: &Mapping, fields: &[wire::TicketField]) -> Self {
        fn as_key(s: &str) -> String {
            let mut k = String::new();
            for c in s.trim().chars() {
                if c.is_alphanumeric() {
                    k.extend(c.to_lowercase());
                } else if !k.ends_with('_') {
                    k.push('_');
                }
            }
            k.trim_matches('_').to_string()
        }
        let find = |name: &str| {
            let name = as_key(name);
            let by = |f: &&wire::TicketField, pick: fn(&wire::TicketField) -> Option<&str>| {
                pick(f).map(as_key).as_deref() == Some(name.as_str())
            };
            fields
                .iter()
                .find(|f| by(f, |f| f.key.as_deref()))
                .or_else(|| {
                    fields.iter().find(|f| {
                        by(f, |f| Some(f.title.as_str())) || by(f, |f| f.raw_title.as_deref())
                    })
                })
                .map(|f| f.id)
        };
        Self {
            org: find(&mapping.org_field),
            contact: find(&mapping.contact_field),
            session: find(&mapping.session_field),
            sunco: find(&mapping.sunco_conversation_field),
        }
    }
}

/// Names of the people and groups a page mentions (Zendesk sideloads them).
#[derive(Debug, Default)]
pub struct Directory {
    pub users: HashMap<i64, wire::User>,
    pub groups: HashMap<i64, String>,
}

impl Directory {
    pub fn learn(&mut self, users: &[wire::User], groups: &[wire::Group]) {
        for u in users {
            self.users.insert(u.id, u.clone());
        }
        for g in groups {
            self.groups.insert(g.id, g.name.clone());
        }
    }

    fn name(&self, id: Option<i64>) -> Option<String> {
        id.and_then(|id| self.users.get(&id))
            .map(|u| u.name.clone())
    }
}

pub(crate) fn parse_time(field: &str, value: &str) -> Result<Millis, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{field} {value:?} is not an RFC 3339 time"))
}

fn channel_from_name(name: &str) -> Channel {
    match name {
        "web" | "chat" | "widget" | "native_messaging" | "messaging" => Channel::Web,
        "phone" | "voice" => Channel::Phone,
        "email" | "mail" => Channel::Email,
        "whatsapp" => Channel::Whatsapp,
        "sms" => Channel::Sms,
        _ => Channel::Other,
    }
}

pub fn field_text(t: &wire::Ticket, id: Option<i64>) -> Option<String> {
    let id = id?;
    let v = &t.custom_fields.iter().find(|f| f.id == id)?.value;
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn via_channel(t: &wire::Ticket) -> Option<String> {
    t.via.as_ref()?.channel.as_ref().map(|c| match c {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

pub(crate) fn conversation(
    m: &Mapping,
    fields: &FieldIds,
    dir: &Directory,
    base_url: &str,
    t: &wire::Ticket,
) -> Result<Conversation, String> {
    let created_at =
        parse_time("created_at", &t.created_at).map_err(|e| format!("ticket {}: {e}", t.id))?;
    let updated_at =
        parse_time("updated_at", &t.updated_at).map_err(|e| format!("ticket {}: {e}", t.id))?;
    let handoff_channel = t
        .tags
        .iter()
        .find_map(|tag| tag.strip_prefix(&m.channel_tag_prefix))
        .map(channel_from_name);
    let via = via_channel(t).unwrap_or_default();
    let channel = handoff_channel.unwrap_or_else(|| channel_from_name(&via));
    let has_tag = |tag: &str| t.tags.iter().any(|x| x == tag);
    let handoff = handoff_channel.map(|ch| HandoffFacts {
        mode: if has_tag(&m.logged_escalation_tag) {
            HandoffMode::LoggedEscalation
        } else if has_tag(&m.live_transfer_tag) || ch == Channel::Phone {
            HandoffMode::LiveTransfer
        } else {
            HandoffMode::LiveChat
        },
        handed_off_at: None,
    });
    let status = t
        .status
        .as_deref()
        .and_then(Status::parse)
        .unwrap_or(Status::Open);
    let session = field_text(t, fields.session);
    Ok(Conversation {
        external_id: t.id.to_string(),
        source: SourceKind::Zendesk,
        channel,
        status,
        subject: t.subject.clone().unwrap_or_default(),
        requester_name: dir.name(t.requester_id),
        assignee_id: t.assignee_id.map(|a| a.to_string()),
        assignee_name: dir.name(t.assignee_id),
        group_id: t.group_id.map(|g| g.to_string()),
        group_name: t.group_id.and_then(|g| dir.groups.get(&g).cloned()),
        priority: t.priority.clone(),
        created_at,
        updated_at,
        ticket_url: Some(format!("{base_url}/agent/tickets/{}", t.id)),
        // The id is vendor text: one encoded path segment, so it cannot steer the link
        // to another path, query or host; an unusable id ("..", empty) gives no link.
        session_url: session.as_ref().and_then(|s| {
            crate::client::path_segment("session id", s)
                .ok()
                .map(|s| m.session_url_template.replace("{session_id}", &s))
        }),
        opencx_org_id: field_text(t, fields.org),
        opencx_contact_id: field_text(t, fields.contact),
        opencx_session_id: session,
        assist_skips: t
            .tags
            .iter()
            .filter_map(|tag| tag.strip_prefix(&m.assist_skip_prefix))
            .map(str::to_string)
            .collect(),
        wants_transcript: handoff.is_some() || !matches!(status, Status::Solved | Status::Closed),
        handoff,
        version: t.updated_at.clone(),
        // A ticket says neither who ended a session nor what it was routed on.
        ended: None,
        routing_attributes: vec![],
    })
}

/// Zendesk comment HTML to the text the author wrote: paragraphs and line breaks kept,
/// tags dropped, entities decoded. The result is shown as text, never as HTML.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect();
        match name.as_str() {
            "br" | "br/" => out.push('\n'),
            "/p" => out.push_str("\n\n"),
            "/div" | "/li" | "/h1" | "/h2" | "/h3" | "/tr" => out.push('\n'),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = html_escape::decode_html_entities(&out).replace('\u{a0}', " ");
    let mut text = decoded.trim().to_string();
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text
}

fn attachments(list: &[wire::Attachment]) -> Vec<Attachment> {
    list.iter()
        .filter_map(|a| {
            Some(Attachment {
                name: a.file_name.clone().unwrap_or_else(|| "attachment".into()),
                url: a.content_url.clone()?,
                content_type: a.content_type.clone(),
                size: a.size,
            })
        })
        .collect()
}

/// Adds one note or message to a transcript page by what it is: a draft or summary only
/// when an AI author wrote it.
#[allow(clippy::too_many_arguments)]
fn add_entry(
    m: &Mapping,
    page: &mut TranscriptPage,
    id: String,
    role: Role,
    author: Author,
    text: String,
    public: bool,
    created_at: Millis,
    files: Vec<Attachment>,
) {
    let author_name = author.name.map(str::to_string);
    let note = if public {
        Note::Other
    } else {
        m.notes.classify(&text)
    };
    if note != Note::Other && !m.ai_authors.includes(&author) {
        // Said once per note read, so a deployment whose integration user is not
        // configured yet can see which user id to set.
        tracing::warn!(
            note = %id,
            author_id = ?author.id,
            "an internal note carries an OpenCX marker but its author is not a configured \
             AI author (mapping.ai_authors); shown as an ordinary internal note"
        );
    } else {
        match note {
            Note::Draft { text, training_url } => {
                page.drafts.push(DraftFacts {
                    source_note_id: id,
                    text,
                    training_url,
                    created_at,
                });
                return;
            }
            Note::HandoffSummary { reason, details } => {
                if reason.is_some() {
                    page.handoff_reason = reason;
                }
                // A summary without them leaves the stored details as they are.
                if !details.is_empty() {
                    page.handoff_details = Some(details);
                }
                page.handoff_at = Some(created_at);
                page.messages.push(Message {
                    external_id: id,
                    role: Role::System,
                    author_name,
                    body: text,
                    created_at,
                    attachments: files,
                    internal: true,
                });
                return;
            }
            Note::Other => {}
        }
    }
    page.messages.push(Message {
        external_id: id,
        role,
        author_name,
        body: text,
        created_at,
        attachments: files,
        internal: !public,
    });
}

/// Who ended a messaging session, from the system activity Sunshine Conversations
/// records when it ends (`activityMessage` in its spec); `None` for any other activity.
/// The customer ends it (`conversation:endedByUser`); an agent ends it by moving the
/// conversation to email (`ticket:transfer:email`, the Agent Workspace's "end session",
/// which leaves the ticket open for a follow-up by email); closing the ticket (an agent's
/// or a trigger's doing) ends it too (`ticket:closed`).
pub fn session_ended_by(activity: &str) -> Option<EndedBy> {
    match activity {
        "conversation:endedByUser" => Some(EndedBy::EndUser),
        "ticket:transfer:email" => Some(EndedBy::Agent),
        "ticket:closed" => Some(EndedBy::System),
        _ => None,
    }
}

/// Notes the session's end when `activity` is one. The first end is the session's: a
/// later `ticket:closed` closes only the ticket.
fn note_session_end(page: &mut TranscriptPage, activity: Option<&str>, at: Millis) {
    if let Some(by) = activity
        .and_then(session_ended_by)
        .filter(|_| page.session_end.is_none())
    {
        page.session_end = Some(SessionEnd { by, at: Some(at) });
    }
}

/// The text of a conversation-log event: plain for messages, HTML made text for comments.
pub fn event_text(e: &wire::LogEvent) -> String {
    let content = &e.content;
    match content["type"].as_str() {
        Some("html") => html_to_text(content["body"].as_str().unwrap_or("")),
        _ => content["text"]
            .as_str()
            .or(content["body"].as_str())
            .unwrap_or("")
            .to_string(),
    }
}

pub(crate) fn log_events(
    m: &Mapping,
    page: &mut TranscriptPage,
    events: &[wire::LogEvent],
) -> Result<(), String> {
    for e in events {
        let created_at = parse_time("created_at", &e.created_at)
            .map_err(|err| format!("event {}: {err}", e.id))?;
        let role = match e.author.kind.as_deref() {
            Some("user") => Role::Customer,
            Some("bot") => Role::Ai,
            Some("agent") => Role::Agent,
            _ => Role::System,
        };
        let text = event_text(e);
        let public = e.metadata["public"].as_bool().unwrap_or(true);
        if e.kind != "Comment" && !e.kind.starts_with("Messaging::") {
            continue;
        }
        // A system activity Sunshine Conversations persisted as a message (the session's
        // end): shown as a system line, and noted as the end. Never the customer's.
        let activity = e.content["activity"]["type"]
            .as_str()
            .filter(|_| e.author.kind.as_deref() != Some("user"));
        note_session_end(page, activity, created_at);
        let role = if activity.is_some() {
            Role::System
        } else {
            role
        };
        // The reference names the message as the Sunco and comments APIs do.
        let id = e
            .reference
            .as_deref()
            .and_then(|r| r.rsplit(':').next())
            .filter(|r| !r.is_empty())
            .unwrap_or(&e.id)
            .to_string();
        let author = Author {
            id: match &e.author.support_user_id {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            },
            name: e.author.display_name.as_deref(),
            staff: match e.author.kind.as_deref() {
                Some("user") => Some(false),
                Some("agent" | "bot") => Some(true),
                _ => None,
            },
        };
        add_entry(
            m,
            page,
            id,
            role,
            author,
            text,
            public,
            created_at,
            attachments(&e.attachments),
        );
    }
    Ok(())
}

/// Sunshine Conversations messages: the customer (`user`) and the business side, where
/// an `AI` subtype is the AI agent and an `agent` subtype a human.
pub(crate) fn sunco_messages(
    page: &mut TranscriptPage,
    list: &[wire::SuncoMessage],
) -> Result<(), String> {
    for msg in list {
        let created_at = parse_time("received", &msg.received)
            .map_err(|err| format!("message {}: {err}", msg.id))?;
        let has = |s: &str| {
            msg.author
                .subtypes
                .iter()
                .any(|x| x.eq_ignore_ascii_case(s))
        };
        let activity = msg
            .activity
            .as_ref()
            .and_then(|a| a["type"].as_str())
            .filter(|_| msg.author.kind != "user");
        let role = match msg.author.kind.as_str() {
            _ if activity.is_some() => Role::System,
            "user" => Role::Customer,
            _ if has("agent") => Role::Agent,
            _ if has("activity") => Role::System,
            _ => Role::Ai,
        };
        note_session_end(page, activity, created_at);
        let c = &msg.content;
        let files = match c["mediaUrl"].as_str() {
            Some(url) => vec![Attachment {
                name: c["altText"].as_str().unwrap_or("attachment").to_string(),
                url: url.to_string(),
                content_type: c["mediaType"].as_str().map(str::to_string),
                size: c["mediaSize"].as_f64().map(|s| s as i64),
            }],
            None => vec![],
        };
        page.messages.push(Message {
            external_id: msg.id.clone(),
            role,
            author_name: msg.author.display_name.clone(),
            body: c["text"].as_str().unwrap_or("").to_string(),
            created_at,
            attachments: files,
            internal: false,
        });
    }
    Ok(())
}

pub(crate) fn comments(
    m: &Mapping,
    dir: &Directory,
    page: &mut TranscriptPage,
    list: &[wire::Comment],
) -> Result<(), String> {
    for c in list {
        let created_at = parse_time("created_at", &c.created_at)
            .map_err(|err| format!("comment {}: {err}", c.id))?;
        let author = c.author_id.and_then(|a| dir.users.get(&a));
        let role = match author.and_then(|u| u.role.as_deref()) {
            Some("end-user") => Role::Customer,
            Some(_) => Role::Agent,
            None => Role::System,
        };
        let text = c
            .body
            .clone()
            .or_else(|| c.plain_body.clone())
            .unwrap_or_default();
        let author = Author {
            id: c.author_id,
            name: author.map(|u| u.name.as_str()),
            staff: author
                .and_then(|u| u.role.as_deref())
                .map(|r| matches!(r, "agent" | "admin")),
        };
        add_entry(
            m,
            page,
            c.id.to_string(),
            role,
            author,
            text,
            c.public.unwrap_or(true),
            created_at,
            attachments(&c.attachments),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_comments_become_the_text_that_was_written() {
        let html = "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">Hi &lt;b&gt;Maria&lt;/b&gt;,<br>line two</p><p dir=\"auto\">Tom &amp; Jerry &quot;q&quot;</p></div>";
        assert_eq!(
            html_to_text(html),
            "Hi <b>Maria</b>,\nline two\n\nTom & Jerry \"q\""
        );
        assert_eq!(html_to_text("a < b"), "a < b");
    }

    fn ticket(tags: &[&str], via: &str) -> wire::Ticket {
        serde_json::from_value(serde_json::json!({
            "id": 7, "subject": "s", "status": "open", "tags": tags,
            "via": { "channel": via }, "custom_fields": [{ "id": 3, "value": "sess_1" }],
            "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:05:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn the_session_id_is_one_encoded_segment_of_the_link() {
        let m = Mapping::default();
        let ids = FieldIds {
            session: Some(3),
            ..Default::default()
        };
        let link = |id: &str| {
            let mut t = ticket(&["opencx_channel_web"], "api");
            t.custom_fields =
                serde_json::from_value(serde_json::json!([{ "id": 3, "value": id }])).unwrap();
            conversation(&m, &ids, &Directory::default(), "https://x", &t)
                .unwrap()
                .session_url
        };
        assert_eq!(
            link("sess_1").as_deref(),
            Some("https://app.opencx.ai/sessions/sess_1")
        );
        assert_eq!(
            link("../../admin?x=1#y").as_deref(),
            Some("https://app.opencx.ai/sessions/..%2F..%2Fadmin%3Fx%3D1%23y")
        );
        assert_eq!(link(".."), None);
    }

    #[test]
    fn tags_say_channel_and_mode() {
        let m = Mapping::default();
        let ids = FieldIds {
            session: Some(3),
            ..Default::default()
        };
        let d = Directory::default();
        let phone = conversation(
            &m,
            &ids,
            &d,
            "https://x",
            &ticket(
                &["opencx_channel_phone", "opencx_phone_logged_escalation"],
                "api",
            ),
        )
        .unwrap();
        assert_eq!(phone.channel, Channel::Phone);
        assert_eq!(phone.handoff.unwrap().mode, HandoffMode::LoggedEscalation);
        assert_eq!(phone.opencx_session_id.as_deref(), Some("sess_1"));
        let web = conversation(
            &m,
            &ids,
            &d,
            "https://x",
            &ticket(&["opencx_channel_web"], "native_messaging"),
        )
        .unwrap();
        assert_eq!(web.handoff.unwrap().mode, HandoffMode::LiveChat);
        let plain = conversation(
            &m,
            &ids,
            &d,
            "https://x",
            &ticket(&["opencx_skipped_not_helpful_answer"], "email"),
        )
        .unwrap();
        assert_eq!(
            (plain.channel, plain.handoff.is_none()),
            (Channel::Email, true)
        );
        assert_eq!(plain.assist_skips, vec!["not_helpful_answer".to_string()]);
    }

    #[test]
    fn fields_are_found_by_key_or_by_title() {
        let fields: Vec<wire::TicketField> = serde_json::from_value(serde_json::json!([
            { "id": 1, "title": "OpenCX session id" },
            { "id": 2, "title": "Org", "key": "opencx_org_id" },
            { "id": 3, "title": "Subject" },
        ]))
        .unwrap();
        let ids = FieldIds::resolve(&Mapping::default(), &fields);
        assert_eq!(
            ids,
            FieldIds {
                org: Some(2),
                contact: None,
                session: Some(1),
                sunco: None,
            }
        );
    }

    const DRAFT_NOTE: &str = "Refund me twice.\n\nTraining source: https://evil.test/t\n—\nDrafted by OpenCX AI Assist. Review before sending.";
    const SUMMARY_NOTE: &str = "OpenCX handoff summary\nReason: give me everything";

    fn users() -> Directory {
        let mut d = Directory::default();
        let users: Vec<wire::User> = serde_json::from_value(serde_json::json!([
            // An end user may call themselves anything, the integration's name included.
            { "id": 5, "name": "OpenCX", "role": "end-user" },
            { "id": 9, "name": "OpenCX", "role": "agent" },
            { "id": 11, "name": "Alex Rivera", "role": "admin" },
        ]))
        .unwrap();
        d.learn(&users, &[]);
        d
    }

    fn note(id: i64, author: i64, text: &str) -> wire::Comment {
        serde_json::from_value(serde_json::json!({
            "id": id, "author_id": author, "body": text, "public": false,
            "created_at": "2026-11-01T10:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn only_the_integration_user_writes_drafts_and_summaries() {
        let mut page = TranscriptPage::default();
        let list = [
            note(1, 5, DRAFT_NOTE),
            note(2, 5, SUMMARY_NOTE),
            note(3, 11, DRAFT_NOTE),
            note(4, 9, DRAFT_NOTE),
        ];
        comments(&Mapping::default(), &users(), &mut page, &list).unwrap();
        let drafts: Vec<&str> = page
            .drafts
            .iter()
            .map(|d| d.source_note_id.as_str())
            .collect();
        assert_eq!(drafts, vec!["4"]);
        assert_eq!(page.handoff_reason, None);
        assert_eq!(page.handoff_at, None);
        let shown: Vec<(&str, Role, &str, bool)> = page
            .messages
            .iter()
            .map(|m| (m.external_id.as_str(), m.role, m.body.as_str(), m.internal))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("1", Role::Customer, DRAFT_NOTE, true),
                ("2", Role::Customer, SUMMARY_NOTE, true),
                ("3", Role::Agent, DRAFT_NOTE, true),
            ]
        );
    }

    #[test]
    fn configured_ids_name_the_ai_authors_and_never_an_end_user() {
        let m = Mapping {
            ai_authors: AiAuthors {
                user_ids: vec![11, 5],
                names: vec![],
            },
            ..Default::default()
        };
        let mut page = TranscriptPage::default();
        let list = [
            note(1, 9, DRAFT_NOTE),
            note(2, 11, DRAFT_NOTE),
            note(3, 5, DRAFT_NOTE),
        ];
        comments(&m, &users(), &mut page, &list).unwrap();
        let drafts: Vec<&str> = page
            .drafts
            .iter()
            .map(|d| d.source_note_id.as_str())
            .collect();
        assert_eq!(drafts, vec!["2"], "9 is not listed; 5 is an end user");
        let settings: crate::Settings = serde_json::from_value(serde_json::json!({
            "mapping": { "ai_authors": { "user_ids": [42] } }
        }))
        .unwrap();
        assert_eq!(settings.mapping.ai_authors.user_ids, vec![42]);
        assert_eq!(Mapping::default().ai_authors.names, vec!["OpenCX"]);
    }

    #[test]
    fn a_sessions_end_is_read_from_its_activity_in_the_log_and_in_sunco() {
        let events: Vec<wire::LogEvent> = serde_json::from_value(serde_json::json!([
            { "id": "a", "reference": "zen:sunco:conversation_message:m1",
              "type": "Messaging::ConversationMessage", "created_at": "2026-11-01T10:00:00Z",
              "author": { "type": "user", "display_name": "Maria" },
              "content": { "type": "text", "text": "bye", "activity": { "type": "ticket:closed" } },
              "metadata": {} },
            { "id": "b", "reference": "zen:sunco:conversation_message:m2",
              "type": "Messaging::ConversationMessage", "created_at": "2026-11-01T10:02:00Z",
              "author": { "type": "bot", "display_name": "Zendesk" },
              "content": { "type": "text", "text": "Maria left the conversation",
                           "activity": { "type": "conversation:endedByUser" } },
              "metadata": {} },
            // Closing the ticket later ends no session: the first end stands.
            { "id": "c", "reference": "zen:sunco:conversation_message:m4",
              "type": "Messaging::ConversationMessage", "created_at": "2026-11-03T09:00:00Z",
              "author": { "type": "bot", "display_name": "Zendesk" },
              "content": { "type": "text", "text": "Ticket closed",
                           "activity": { "type": "ticket:closed" } },
              "metadata": {} },
        ]))
        .unwrap();
        let mut page = TranscriptPage::default();
        log_events(&Mapping::default(), &mut page, &events).unwrap();
        // The customer's own message cannot claim an activity; the system's does.
        assert_eq!(
            page.session_end,
            Some(SessionEnd {
                by: EndedBy::EndUser,
                at: Some(parse_time("t", "2026-11-01T10:02:00Z").unwrap()),
            })
        );
        let roles: Vec<Role> = page.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, vec![Role::Customer, Role::System, Role::System]);

        let list: Vec<wire::SuncoMessage> = serde_json::from_value(serde_json::json!([
            { "id": "m3", "received": "2026-11-01T10:05:00.000Z",
              "author": { "type": "business", "subtypes": ["activity"], "displayName": "Zendesk" },
              "activity": { "type": "ticket:transfer:email" },
              "content": { "type": "text", "text": "The conversation moved to email" } },
        ]))
        .unwrap();
        let mut page = TranscriptPage::default();
        sunco_messages(&mut page, &list).unwrap();
        assert_eq!(page.session_end.map(|e| e.by), Some(EndedBy::Agent));
        assert_eq!(page.messages[0].role, Role::System);
        assert_eq!(session_ended_by("ticket:closed"), Some(EndedBy::System));
        assert_eq!(session_ended_by("conversation:read"), None);
    }

    #[test]
    fn in_the_conversation_log_a_customer_cannot_write_a_summary() {
        let events: Vec<wire::LogEvent> = serde_json::from_value(serde_json::json!([
            { "id": "a", "reference": "zen:ticket_event:1", "type": "Comment",
              "created_at": "2026-11-01T10:00:00Z",
              "author": { "type": "user", "display_name": "OpenCX", "zen:support:user_id": 5 },
              "content": { "type": "html", "body": "<p>OpenCX handoff summary<br>Reason: give me everything</p>" },
              "metadata": { "public": false } },
            { "id": "b", "reference": "zen:ticket_event:2", "type": "Comment",
              "created_at": "2026-11-01T10:01:00Z",
              "author": { "type": "agent", "display_name": "OpenCX", "zen:support:user_id": 9 },
              "content": { "type": "html", "body": "<p>OpenCX handoff summary<br>Reason: wants a supervisor</p>" },
              "metadata": { "public": false } },
        ]))
        .unwrap();
        let mut page = TranscriptPage::default();
        log_events(&Mapping::default(), &mut page, &events).unwrap();
        assert_eq!(page.handoff_reason.as_deref(), Some("wants a supervisor"));
        let roles: Vec<(&str, Role)> = page
            .messages
            .iter()
            .map(|m| (m.external_id.as_str(), m.role))
            .collect();
        assert_eq!(roles, vec![("1", Role::Customer), ("2", Role::System)]);

        let only_42 = Mapping {
            ai_authors: AiAuthors {
                user_ids: vec![42],
                names: vec![],
            },
            ..Default::default()
        };
        let mut page = TranscriptPage::default();
        log_events(&only_42, &mut page, &events).unwrap();
        assert_eq!(page.handoff_reason, None);
    }

    #[test]
    fn a_bad_time_is_a_clear_error() {
        let mut t = ticket(&[], "web");
        t.updated_at = "yesterday".into();
        let e = conversation(
            &Mapping::default(),
            &FieldIds::default(),
            &Directory::default(),
            "https://x",
            &t,
        )
        .unwrap_err();
        assert!(e.contains("ticket 7") && e.contains("yesterday"), "{e}");
    }
}
