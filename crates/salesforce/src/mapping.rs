//! From Salesforce's records to Baton's domain: a MessagingSession (with the org's
//! routing-attribute custom fields) is a queue item, and Connect conversation entries
//! are its transcript. Which custom field means what differs between orgs, so the API
//! names are configuration; the defaults follow the OpenCX widget handoff.

use crate::wire;
use baton_core::model::*;
use baton_core::notes::{Note, NoteMarkers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One routing attribute shown on the card: the MessagingSession field it lands in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingAttribute {
    /// The custom field's API name, e.g. `Chat_Consumer_Type__c`.
    pub field: String,
    /// How the card names it, e.g. `customer`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mapping {
    /// The MessagingSession field holding the `OpencxSessionId` routing attribute: the
    /// trace key back to the OpenCX session. `None`: the org has none.
    pub opencx_session_field: Option<String>,
    pub opencx_org_field: Option<String>,
    pub opencx_contact_field: Option<String>,
    /// A field holding the handoff reason summary, when the org keeps one.
    pub reason_field: Option<String>,
    /// Other routing attributes shown on the card, in this order.
    pub routing_attributes: Vec<RoutingAttribute>,
    /// Where "View in OpenCX" goes; `{session_id}` is replaced.
    pub session_url_template: String,
    /// The console record; `{instance_url}` and `{id}` are replaced.
    pub console_url_template: String,
    /// `AgentType` values that mean an AI handed the session to a human.
    pub handoff_agent_types: Vec<String>,
    /// Take every session as a handoff (an org where only the AI routes to humans).
    pub all_sessions_are_handoffs: bool,
    /// Markers of a handoff summary in a bot's entry.
    pub notes: NoteMarkers,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            opencx_session_field: Some("OpencxSessionId__c".into()),
            opencx_org_field: Some("OpencxOrgId__c".into()),
            opencx_contact_field: Some("OpencxContactId__c".into()),
            reason_field: None,
            routing_attributes: vec![RoutingAttribute {
                field: "Chat_Consumer_Type__c".into(),
                label: "customer".into(),
            }],
            session_url_template: "https://app.opencx.ai/sessions/{session_id}".into(),
            console_url_template: "{instance_url}/lightning/r/MessagingSession/{id}/view".into(),
            handoff_agent_types: vec!["BotToAgent".into()],
            all_sessions_are_handoffs: false,
            notes: NoteMarkers::default(),
        }
    }
}

/// A field API name that may go into SOQL: letters, digits and underscores, starting
/// with a letter, with at most one relationship dot. Anything else (a space, a quote,
/// a comma) could change the query, so settings with it are refused.
pub fn is_field_name(s: &str) -> bool {
    let part = |p: &str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && p.len() <= 80
    };
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|p| part(p))
}

impl Mapping {
    /// Every custom field the mapping reads, each once, in a stable order.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        let named = [
            &self.opencx_session_field,
            &self.opencx_org_field,
            &self.opencx_contact_field,
            &self.reason_field,
        ];
        for f in named.into_iter().flatten() {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(f)) {
                out.push(f.clone());
            }
        }
        for a in &self.routing_attributes {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&a.field)) {
                out.push(a.field.clone());
            }
        }
        out
    }

    /// Refuses a mapping whose names cannot be used in a query.
    pub fn check(&self) -> Result<(), String> {
        for f in self.fields() {
            if !is_field_name(&f) {
                return Err(format!(
                    "{f:?} is not a field API name (letters, digits and underscores, e.g. \
                     Chat_Consumer_Type__c)"
                ));
            }
        }
        Ok(())
    }
}

/// Who ended a session: the domain's, re-exported where the feed has always found it.
pub use baton_core::model::EndedBy;

/// A MessagingSession's `EndedByType` as the domain says it.
pub fn ended_by(ended_by_type: &str) -> EndedBy {
    match ended_by_type {
        "Agent" => EndedBy::Agent,
        "EndUser" => EndedBy::EndUser,
        "Bot" | "Chatbot" => EndedBy::Bot,
        "System" => EndedBy::System,
        other => EndedBy::Other(other.to_string()),
    }
}

/// What Baton knows of a session beyond [`Conversation`]: what the transcript read needs,
/// and the session's facts as Salesforce said them (who ended it and the routing
/// attributes are also in the conversation's `ended` and `routing_attributes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionFacts {
    pub session_id: String,
    /// `Status` as Salesforce sent it (New, Active, Waiting, Ended, …).
    pub status: Option<String>,
    /// Set once `Status` is `Ended`.
    pub ended_by: Option<EndedBy>,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub accepted_at: Option<Millis>,
    pub agent_type: Option<String>,
    pub channel_type: Option<String>,
    pub origin: Option<String>,
    pub case_id: Option<String>,
    pub messaging_end_user_id: Option<String>,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub requester_name: Option<String>,
    /// The Conversation record (`ConversationId`) and its Connect identifier.
    pub conversation_id: Option<String>,
    pub conversation_identifier: Option<String>,
    /// Routing attributes by label, in the mapping's order.
    pub routing: BTreeMap<String, String>,
    /// The reason summary from `reason_field`, when the org keeps one.
    pub reason: Option<String>,
}

impl SessionFacts {
    pub fn is_ended(&self) -> bool {
        matches!(self.status.as_deref(), Some("Ended" | "Error"))
    }
}

/// Salesforce's times: `2026-11-22T10:00:00.000+0000` (REST), or RFC 3339.
pub fn parse_time(field: &str, value: &str) -> Result<Millis, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .or_else(|_| chrono::DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{field} {value:?} is not a time"))
}

/// A SOQL datetime literal for `ms`: `2026-11-22T10:00:00.000Z`.
pub fn soql_time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn channel(channel_type: Option<&str>) -> Channel {
    match channel_type.unwrap_or("").to_ascii_lowercase().as_str() {
        "embeddedmessaging" | "inappmessaging" | "web" | "chat" => Channel::Web,
        "phone" | "voice" => Channel::Phone,
        "text" | "sms" => Channel::Sms,
        "whatsapp" => Channel::Whatsapp,
        "email" => Channel::Email,
        _ => Channel::Other,
    }
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Web => "Web chat",
        Channel::Phone => "Phone",
        Channel::Sms => "SMS",
        Channel::Whatsapp => "WhatsApp",
        Channel::Email => "Email",
        Channel::Other => "Messaging",
    }
}

/// MessagingSession `Status` → the queue's status: ended sessions are closed, so they
/// leave the live queue.
fn status(s: Option<&str>) -> Status {
    match s.unwrap_or("") {
        "New" | "Waiting" => Status::New,
        "Active" | "Consent" => Status::Open,
        "Inactive" => Status::Pending,
        "Paused" => Status::Hold,
        "Ended" | "Error" => Status::Closed,
        _ => Status::Open,
    }
}

/// A field's value as text: strings trimmed, numbers and booleans written out.
fn text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A custom field of the record, found by API name whatever its case.
fn field<'a>(s: &'a wire::MessagingSession, name: &str) -> Option<&'a serde_json::Value> {
    s.other
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Where the time-dependent choices are made: now, and how long after it ended a
/// session's transcript is still worth a Connect read.
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub now: Millis,
    pub ended_transcript_window_ms: Millis,
}

/// One MessagingSession as a queue item, and the facts the domain has no place for.
/// Its `wants_transcript` says only whether the session is a live (or just ended)
/// handoff; the feed narrows it to the rep's own and their queues' sessions.
pub fn session(
    m: &Mapping,
    instance_url: &str,
    s: &wire::MessagingSession,
    when: When,
) -> Result<(Conversation, SessionFacts), String> {
    let id = &s.id;
    let at = |f: &str, v: &Option<String>| -> Result<Option<Millis>, String> {
        v.as_deref()
            .map(|t| parse_time(f, t).map_err(|e| format!("session {id}: {e}")))
            .transpose()
    };
    let updated_at = parse_time("SystemModstamp", &s.system_modstamp)
        .map_err(|e| format!("session {id}: {e}"))?;
    let started = at("StartTime", &s.start_time)?;
    let accepted = at("AcceptTime", &s.accept_time)?;
    let ended = at("EndTime", &s.end_time)?;
    let channel = channel(s.channel_type.as_deref());
    let owner_name = s.owner.as_ref().and_then(|o| o.name.clone());
    // OwnerId is a User (005…) while an agent has it, a queue (00G…) while it waits.
    let (assignee_id, assignee_name, group_id, group_name) = match s.owner_id.as_deref() {
        Some(o) if o.starts_with("00G") => (None, None, Some(o.to_string()), owner_name.clone()),
        Some(o) => (Some(o.to_string()), owner_name.clone(), None, None),
        None => (None, None, None, None),
    };
    let mut facts = SessionFacts {
        session_id: id.clone(),
        status: s.status.clone(),
        ended_by: None,
        started_at: started,
        ended_at: ended,
        accepted_at: accepted,
        agent_type: s.agent_type.clone(),
        channel_type: s.channel_type.clone(),
        origin: s.origin.clone(),
        case_id: s.case_id.clone(),
        messaging_end_user_id: s.messaging_end_user_id.clone(),
        owner_id: s.owner_id.clone(),
        owner_name,
        requester_name: s.messaging_end_user.as_ref().and_then(|u| u.name.clone()),
        conversation_id: s.conversation_id.clone(),
        conversation_identifier: s
            .conversation
            .as_ref()
            .and_then(|c| c.conversation_identifier.clone())
            .filter(|c| !c.trim().is_empty()),
        routing: BTreeMap::new(),
        reason: m.reason_field.as_deref().and_then(|f| text(field(s, f))),
    };
    if facts.is_ended() {
        facts.ended_by = Some(match (s.ended_by_type.as_deref(), s.status.as_deref()) {
            (Some(by), _) if !by.is_empty() => ended_by(by),
            (_, Some("Error")) => EndedBy::Other("error".into()),
            _ => EndedBy::Other("unknown".into()),
        });
    }
    // The card's routing attributes, in the mapping's order; a field the record lacks
    // (or leaves empty) is left out.
    let mut routing_attributes = vec![];
    for a in &m.routing_attributes {
        if let Some(v) = text(field(s, &a.field)) {
            facts.routing.insert(a.label.clone(), v.clone());
            routing_attributes.push(baton_core::model::RoutingAttribute {
                label: a.label.clone(),
                value: v,
            });
        }
    }
    let session_id = m
        .opencx_session_field
        .as_deref()
        .and_then(|f| text(field(s, f)));
    let is_handoff = m.all_sessions_are_handoffs
        || session_id.is_some()
        || s.agent_type
            .as_deref()
            .is_some_and(|t| m.handoff_agent_types.iter().any(|h| h == t));
    let handoff = is_handoff.then(|| HandoffFacts {
        mode: if channel == Channel::Phone {
            HandoffMode::LiveTransfer
        } else {
            HandoffMode::LiveChat
        },
        handed_off_at: started,
    });
    let ended = facts.ended_by.clone().map(|by| SessionEnd {
        by,
        at: facts.ended_at,
    });
    let recently_ended = facts
        .ended_at
        .is_none_or(|e| when.now - e <= when.ended_transcript_window_ms);
    let wants_transcript = handoff.is_some()
        && (!facts.is_ended() || recently_ended)
        && facts.conversation_id.is_some();
    let record_id = crate::client::path_segment("session id", id).ok();
    Ok((
        Conversation {
            external_id: id.clone(),
            source: SourceKind::Salesforce,
            channel,
            status: status(s.status.as_deref()),
            // A session has no subject of its own: its channel, as a rep names it (the
            // customer's name is beside it in the queue and on the card).
            subject: channel_label(channel).to_string(),
            requester_name: facts.requester_name.clone(),
            assignee_id,
            assignee_name,
            group_id,
            group_name,
            priority: None,
            created_at: started.unwrap_or(updated_at),
            updated_at,
            // The console record: Salesforce conversations are answered there.
            ticket_url: record_id.map(|rid| {
                m.console_url_template
                    .replace("{instance_url}", instance_url.trim_end_matches('/'))
                    .replace("{id}", &rid)
            }),
            session_url: session_id.as_ref().and_then(|sid| {
                crate::client::path_segment("session id", sid)
                    .ok()
                    .map(|sid| m.session_url_template.replace("{session_id}", &sid))
            }),
            opencx_org_id: m
                .opencx_org_field
                .as_deref()
                .and_then(|f| text(field(s, f))),
            opencx_contact_id: m
                .opencx_contact_field
                .as_deref()
                .and_then(|f| text(field(s, f))),
            opencx_session_id: session_id,
            assist_skips: vec![],
            handoff,
            version: s.system_modstamp.clone(),
            wants_transcript,
            ended,
            routing_attributes,
        },
        facts,
    ))
}

/// Who wrote an entry, by `sender.role` (and `appType` when the role is missing).
pub fn role(sender: &wire::Sender) -> Role {
    let r = sender.role.as_deref().unwrap_or("").to_ascii_lowercase();
    match r.as_str() {
        "enduser" => return Role::Customer,
        "chatbot" | "bot" => return Role::Ai,
        "agent" | "supervisor" => return Role::Agent,
        "system" | "router" => return Role::System,
        _ => {}
    }
    match sender
        .app_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "chatbot" | "bot" => Role::Ai,
        "agent" => Role::Agent,
        "iamessage" | "enduser" => Role::Customer,
        _ => Role::System,
    }
}

/// Only web links become attachment links: never `javascript:` or `file:`.
fn web_link(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    u.starts_with("https://") || u.starts_with("http://")
}

/// The entry's time: when Salesforce received it, else the client's.
pub fn entry_time(e: &wire::ConversationEntry) -> Option<Millis> {
    e.server_received_timestamp.or(e.client_timestamp)
}

/// Two record ids name the same record: the 15-character form is the 18's first 15.
fn same_record(a: &str, b: &str) -> bool {
    a.len() >= 15 && b.len() >= 15 && a[..15] == b[..15]
}

/// How long after a session's `EndTime` an entry may still be its own (a closing
/// system entry written a moment later).
const END_GRACE_MS: Millis = 5_000;

/// The entries of this session among its conversation's. A Conversation outlives its
/// sessions (a returning visitor continues it), so the entries API answers with the
/// earlier sessions' too. The customer's and agents' entries name their session in
/// `relatedRecords` (the bot's name none): an entry naming another session is not
/// this one's, nor is anything at or before the last such entry from before this
/// session began, nor anything after this session ended.
pub fn session_entries<'a>(
    facts: &SessionFacts,
    list: &'a [wire::ConversationEntry],
) -> Vec<&'a wire::ConversationEntry> {
    let mine = |e: &wire::ConversationEntry| {
        e.related_records
            .iter()
            .any(|r| same_record(r, &facts.session_id))
    };
    let other = |e: &wire::ConversationEntry| {
        !e.related_records.is_empty()
            && !mine(e)
            && e.related_records.iter().any(|r| r.starts_with("0Mw"))
    };
    let floor = list
        .iter()
        .filter(|e| other(e))
        .filter_map(entry_time)
        .filter(|t| facts.started_at.is_none_or(|s| *t < s))
        .max();
    list.iter()
        .filter(|e| {
            if mine(e) {
                return true;
            }
            if other(e) {
                return false;
            }
            let Some(t) = entry_time(e) else {
                return true;
            };
            floor.is_none_or(|f| t > f) && facts.ended_at.is_none_or(|end| t <= end + END_GRACE_MS)
        })
        .collect()
}

/// Connect entries (in any order) to transcript messages, oldest first: text with its
/// HTML entities decoded (`&#39;` → `'`), files as links, and a bot's handoff summary
/// read as the handoff reason. Entries with no time are refused (the caller notes them).
pub fn entries(
    m: &Mapping,
    facts: &SessionFacts,
    page: &mut TranscriptPage,
    list: &[wire::ConversationEntry],
) -> Result<(), String> {
    let mut sorted: Vec<&wire::ConversationEntry> = list.iter().collect();
    sorted.sort_by_key(|e| (entry_time(e), e.identifier.clone()));
    for e in sorted {
        let created_at =
            entry_time(e).ok_or_else(|| format!("entry {} has no time", e.identifier))?;
        let body = html_escape::decode_html_entities(e.message_text.as_deref().unwrap_or(""))
            .replace('\u{a0}', " ")
            .trim()
            .to_string();
        let files: Vec<Attachment> = e
            .attachments
            .iter()
            .filter_map(|a| {
                let url = a.url.clone().filter(|u| web_link(u))?;
                Some(Attachment {
                    name: a.name.clone().unwrap_or_else(|| "attachment".into()),
                    url,
                    content_type: a.content_type.clone(),
                    size: a.size,
                })
            })
            .collect();
        if body.is_empty() && files.is_empty() {
            continue;
        }
        let mut role = role(&e.sender);
        let author_name = match role {
            Role::Customer => facts.requester_name.clone(),
            Role::Agent if e.sender.subject.is_some() && e.sender.subject == facts.owner_id => {
                facts.owner_name.clone()
            }
            _ => None,
        };
        // Only the bot's (or Salesforce's) own entries may carry the handoff summary:
        // a customer typing the heading changes nothing.
        if matches!(role, Role::Ai | Role::System) {
            if let Note::HandoffSummary { reason, details } = m.notes.classify(&body) {
                if reason.is_some() {
                    page.handoff_reason = reason;
                }
                if !details.is_empty() {
                    page.handoff_details = Some(details);
                }
                page.handoff_at = Some(created_at);
                role = Role::System;
            }
        }
        page.messages.push(Message {
            external_id: e.identifier.clone(),
            role,
            author_name,
            body,
            created_at,
            attachments: files,
            internal: false,
        });
    }
    if page.handoff_reason.is_none() {
        page.handoff_reason = facts.reason.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn when() -> When {
        When {
            now: parse_time("t", "2026-11-22T12:00:00Z").unwrap(),
            ended_transcript_window_ms: 24 * 3_600_000,
        }
    }

    fn record(v: serde_json::Value) -> wire::MessagingSession {
        wire::record(&v).unwrap()
    }

    fn queued() -> serde_json::Value {
        json!({
            "attributes": {"type": "MessagingSession"},
            "Id": "0Mw000000000001AAA", "Status": "Waiting", "OwnerId": "00G000000000007AAA",
            "StartTime": "2026-11-22T10:40:00.000+0000", "AcceptTime": null, "EndTime": null,
            "EndedByType": null, "ConversationId": "0dw000000000001AAA",
            "MessagingEndUserId": "0PA000000000001AAA", "CaseId": null, "Origin": "InboundInitiated",
            "AgentType": "Agent", "ChannelType": "EmbeddedMessaging",
            "SystemModstamp": "2026-11-22T10:42:00.000+0000",
            "Owner": {"attributes": {"type": "Name"}, "Name": "Billing queue"},
            "MessagingEndUser": {"Name": "Maria L."},
            "Conversation": {"ConversationIdentifier": "0f2c5a4e-8d7b-4a8e-9a5e-1c2d3e4f5a6b"},
            "OpencxSessionId__c": "8f3c9d", "Chat_Consumer_Type__c": "authenticated"
        })
    }

    #[test]
    fn a_queued_handoff_is_its_queues_with_links_and_routing_attributes() {
        let (c, facts) = session(
            &Mapping::default(),
            "https://acme.my.salesforce.com",
            &record(queued()),
            when(),
        )
        .unwrap();
        assert_eq!(c.source, SourceKind::Salesforce);
        assert_eq!((c.channel, c.status), (Channel::Web, Status::New));
        assert_eq!(c.assignee_id, None);
        assert_eq!(c.group_id.as_deref(), Some("00G000000000007AAA"));
        assert_eq!(c.group_name.as_deref(), Some("Billing queue"));
        assert_eq!(c.requester_name.as_deref(), Some("Maria L."));
        assert_eq!(
            c.ticket_url.as_deref(),
            Some("https://acme.my.salesforce.com/lightning/r/MessagingSession/0Mw000000000001AAA/view")
        );
        assert_eq!(
            c.session_url.as_deref(),
            Some("https://app.opencx.ai/sessions/8f3c9d")
        );
        assert_eq!(c.opencx_session_id.as_deref(), Some("8f3c9d"));
        assert_eq!(c.subject, "Web chat");
        assert_eq!(c.ended, None);
        assert_eq!(
            c.routing_attributes,
            [baton_core::model::RoutingAttribute {
                label: "customer".into(),
                value: "authenticated".into(),
            }]
        );
        let h = c.handoff.unwrap();
        assert_eq!(h.mode, HandoffMode::LiveChat);
        assert_eq!(
            h.handed_off_at,
            Some(parse_time("t", "2026-11-22T10:40:00Z").unwrap())
        );
        assert!(c.wants_transcript);
        assert_eq!(c.version, "2026-11-22T10:42:00.000+0000");
        assert_eq!(
            facts.conversation_identifier.as_deref(),
            Some("0f2c5a4e-8d7b-4a8e-9a5e-1c2d3e4f5a6b")
        );
        assert_eq!(facts.routing["customer"], "authenticated");
    }

    #[test]
    fn an_ended_session_says_who_ended_it_and_leaves_the_live_queue() {
        let mut raw = queued();
        raw["Status"] = json!("Ended");
        raw["OwnerId"] = json!("005000000000001AAA");
        raw["Owner"] = json!({"Name": "Alex Rep"});
        raw["EndTime"] = json!("2026-11-22T11:00:00.000+0000");
        raw["EndedByType"] = json!("EndUser");
        let (c, facts) = session(
            &Mapping::default(),
            "https://x.test",
            &record(raw.clone()),
            when(),
        )
        .unwrap();
        assert_eq!(c.status, Status::Closed);
        assert_eq!(facts.ended_by, Some(EndedBy::EndUser));
        assert_eq!(
            c.ended,
            Some(SessionEnd {
                by: EndedBy::EndUser,
                at: Some(parse_time("t", "2026-11-22T11:00:00Z").unwrap()),
            })
        );
        assert_eq!(
            c.ended.as_ref().map(|e| e.by.sentence()).as_deref(),
            Some("ended by the customer")
        );
        assert_eq!(
            c.subject, "Web chat",
            "who ended it is no longer in the subject"
        );
        assert_eq!(c.routing_attributes[0].value, "authenticated");
        assert_eq!(c.assignee_id.as_deref(), Some("005000000000001AAA"));
        assert_eq!(c.assignee_name.as_deref(), Some("Alex Rep"));
        assert!(
            c.wants_transcript,
            "ended an hour ago: its last entries are still read"
        );
        // Ended long ago (a backfill): no Connect read, which would mark it active again.
        raw["EndTime"] = json!("2026-11-01T11:00:00.000+0000");
        let (c, _) = session(&Mapping::default(), "https://x.test", &record(raw), when()).unwrap();
        assert!(!c.wants_transcript);
    }

    #[test]
    fn who_ended_it_is_read_from_ended_by_type_and_said_in_words() {
        let ended = |by: Option<&str>, status: &str| {
            let mut raw = queued();
            raw["Status"] = json!(status);
            raw["EndTime"] = json!("2026-11-22T11:00:00.000+0000");
            raw["EndedByType"] = json!(by);
            let (c, _) =
                session(&Mapping::default(), "https://x.test", &record(raw), when()).unwrap();
            let end = c.ended.expect("ended");
            assert_eq!(
                end.at,
                Some(parse_time("t", "2026-11-22T11:00:00Z").unwrap())
            );
            end.by.sentence()
        };
        assert_eq!(ended(Some("Agent"), "Ended"), "ended by the agent");
        assert_eq!(ended(Some("EndUser"), "Ended"), "ended by the customer");
        assert_eq!(ended(Some("Chatbot"), "Ended"), "ended by the bot");
        assert_eq!(ended(Some("Bot"), "Ended"), "ended by the bot");
        assert_eq!(ended(Some("System"), "Ended"), "ended by the system");
        assert_eq!(ended(Some("Supervisor"), "Ended"), "ended (Supervisor)");
        assert_eq!(ended(None, "Error"), "ended (error)");
        assert_eq!(ended(None, "Ended"), "ended (unknown)");
        // A live session has not ended, whatever its EndedByType says.
        let mut raw = queued();
        raw["EndedByType"] = json!("Agent");
        let (c, _) = session(&Mapping::default(), "https://x.test", &record(raw), when()).unwrap();
        assert_eq!(c.ended, None);
    }

    #[test]
    fn routing_attributes_keep_the_mappings_order_and_leave_out_empty_fields() {
        let m = Mapping {
            routing_attributes: vec![
                RoutingAttribute {
                    field: "Tier__c".into(),
                    label: "tier".into(),
                },
                RoutingAttribute {
                    field: "chat_consumer_type__c".into(),
                    label: "customer".into(),
                },
                RoutingAttribute {
                    field: "Missing__c".into(),
                    label: "missing".into(),
                },
                RoutingAttribute {
                    field: "Blank__c".into(),
                    label: "blank".into(),
                },
                RoutingAttribute {
                    field: "Score__c".into(),
                    label: "score".into(),
                },
            ],
            ..Default::default()
        };
        let mut raw = queued();
        raw["Tier__c"] = json!("  <b>gold</b> ");
        raw["Blank__c"] = json!(" ");
        raw["Score__c"] = json!(7);
        let (c, _) = session(&m, "https://x.test", &record(raw), when()).unwrap();
        let got: Vec<(&str, &str)> = c
            .routing_attributes
            .iter()
            .map(|a| (a.label.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("tier", "<b>gold</b>"),
                ("customer", "authenticated"),
                ("score", "7")
            ]
        );
        assert_eq!(c.subject, "Web chat");
    }

    #[test]
    fn a_plain_human_session_is_no_handoff_and_needs_no_transcript() {
        let mut raw = queued();
        raw.as_object_mut().unwrap().remove("OpencxSessionId__c");
        let (c, _) = session(
            &Mapping::default(),
            "https://x.test",
            &record(raw.clone()),
            when(),
        )
        .unwrap();
        assert!(c.handoff.is_none() && !c.wants_transcript);
        raw["AgentType"] = json!("BotToAgent");
        let (c, _) = session(&Mapping::default(), "https://x.test", &record(raw), when()).unwrap();
        assert!(c.handoff.is_some());
    }

    #[test]
    fn field_names_that_could_change_a_query_are_refused() {
        for ok in ["Chat_Consumer_Type__c", "Owner.Name", "OpencxSessionId__c"] {
            assert!(is_field_name(ok), "{ok}");
        }
        for bad in [
            "a b",
            "X__c, (SELECT Id FROM User)",
            "",
            "1abc",
            "a.b.c",
            "x'--",
        ] {
            assert!(!is_field_name(bad), "{bad}");
        }
        let m = Mapping {
            reason_field: Some("Reason__c FROM User --".into()),
            ..Default::default()
        };
        assert!(m.check().is_err());
    }

    #[test]
    fn times_in_salesforce_form_and_rfc3339_parse_alike() {
        let a = parse_time("t", "2026-11-22T10:00:00.000+0000").unwrap();
        let b = parse_time("t", "2026-11-22T10:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(soql_time(a), "2026-11-22T10:00:00.000Z");
        assert!(parse_time("t", "yesterday").is_err());
    }

    /// The recorded Connect answer's shape (api-evangelist/salesforce's captured
    /// example): newest first, `&#39;` in the text, relatedRecords on the end user's.
    const ENTRIES: &str = r#"{"conversationEntries":[
      {"clientDuration":0,"clientTimestamp":1736508089610,"identifier":"06a1182e-d932-4178-9864-6de5b7b3d3fd",
       "messageText":"OpenCX handoff summary\nReason: wants to change a booking\nMode: live chat","relatedRecords":[],
       "sender":{"appType":"chatbot","role":"Chatbot","subject":"0XxKj000000xpJh"},"serverReceivedTimestamp":1736508089657},
      {"clientDuration":0,"clientTimestamp":1736508081161,"identifier":"414e8b7b-af09-4349-beee-79806657495c",
       "messageText":"I&#39;d like a human &amp; fast","relatedRecords":["0MwKj000007sdiM"],
       "sender":{"appType":"iamessage","role":"EndUser","subject":"v2/iamessage/UNAUTH/NA/uid:cee38146"},"serverReceivedTimestamp":1736508081203,
       "attachments":[{"name":"receipt.pdf","url":"https://acme.my.salesforce.com/sfc/servlet.shepherd/version/download/068x","mimeType":"application/pdf"},
                      {"name":"x","url":"javascript:alert(1)"}]},
      {"clientDuration":0,"clientTimestamp":1736508015523,"identifier":"e9762707-0b3c-4656-8b91-9f10d04aa313",
       "messageText":"Hi, I&#39;m an AI service assistant. How can I help you?","relatedRecords":[],
       "sender":{"appType":"chatbot","role":"Chatbot","subject":"0XxKj000000xpJh"},"serverReceivedTimestamp":1736508015579},
      {"clientDuration":0,"clientTimestamp":1736508095000,"identifier":"a1","messageText":"Hi Maria, Alex here",
       "relatedRecords":["0MwKj000007sdiM"],"sender":{"appType":"agent","role":"Agent","subject":"005000000000001AAA"},
       "serverReceivedTimestamp":1736508095010}
    ]}"#;

    #[test]
    fn connect_entries_become_the_transcript_oldest_first() {
        let page: wire::EntriesPage = serde_json::from_str(ENTRIES).unwrap();
        let list: Vec<wire::ConversationEntry> = page
            .conversation_entries
            .iter()
            .map(|v| wire::record(v).unwrap())
            .collect();
        let facts = SessionFacts {
            requester_name: Some("Maria L.".into()),
            owner_id: Some("005000000000001AAA".into()),
            owner_name: Some("Alex Rep".into()),
            ..Default::default()
        };
        let mut out = TranscriptPage::default();
        entries(&Mapping::default(), &facts, &mut out, &list).unwrap();
        let got: Vec<(Role, &str, Option<&str>)> = out
            .messages
            .iter()
            .map(|m| (m.role, m.body.as_str(), m.author_name.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Role::Ai,
                    "Hi, I'm an AI service assistant. How can I help you?",
                    None
                ),
                (Role::Customer, "I'd like a human & fast", Some("Maria L.")),
                (
                    Role::System,
                    "OpenCX handoff summary\nReason: wants to change a booking\nMode: live chat",
                    None
                ),
                (Role::Agent, "Hi Maria, Alex here", Some("Alex Rep")),
            ]
        );
        assert_eq!(
            out.handoff_reason.as_deref(),
            Some("wants to change a booking")
        );
        assert_eq!(out.handoff_at, Some(1736508089657));
        let files = &out.messages[1].attachments;
        assert_eq!(files.len(), 1, "only web links");
        assert_eq!(files[0].name, "receipt.pdf");
        assert_eq!(files[0].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(out.messages[0].created_at, 1736508015579);
    }

    #[test]
    fn a_returning_visitors_earlier_session_is_not_this_ones() {
        let e = |id: &str, at: i64, related: &[&str]| -> wire::ConversationEntry {
            wire::record(&json!({
                "identifier": id, "messageText": id, "serverReceivedTimestamp": at,
                "relatedRecords": related, "sender": {"role": "EndUser"}
            }))
            .unwrap()
        };
        let old = "0Mw000000000001";
        let this = "0Mw000000000002AAA";
        let list = vec![
            e("old-bot", 100, &[]),
            e("old-customer", 200, &[old]),
            e("old-bot-bye", 250, &[]),
            e("old-agent", 300, &["0Mw000000000001AAA"]),
            e("new-bot", 1_000, &[]),
            e("new-customer", 1_100, &["0Mw000000000002"]),
            e("new-bot-2", 1_200, &[]),
            e("after-end", 60_000, &[]),
        ];
        let facts = SessionFacts {
            session_id: this.into(),
            started_at: Some(1_050),
            ended_at: Some(1_300),
            ..Default::default()
        };
        let got: Vec<&str> = session_entries(&facts, &list)
            .iter()
            .map(|e| e.identifier.as_str())
            .collect();
        assert_eq!(got, ["new-bot", "new-customer", "new-bot-2"]);
        // A session alone in its conversation keeps every entry up to its end.
        let alone = SessionFacts {
            session_id: "0Mw000000000001AAA".into(),
            started_at: Some(150),
            ..Default::default()
        };
        assert_eq!(session_entries(&alone, &list[..4]).len(), 4);
    }

    #[test]
    fn a_customer_cannot_write_the_handoff_reason() {
        let e: wire::ConversationEntry = wire::record(&json!({
            "identifier": "x", "messageText": "OpenCX handoff summary\nReason: give me a refund",
            "serverReceivedTimestamp": 1, "sender": {"role": "EndUser"}
        }))
        .unwrap();
        let mut out = TranscriptPage::default();
        entries(
            &Mapping::default(),
            &SessionFacts::default(),
            &mut out,
            &[e],
        )
        .unwrap();
        assert_eq!(out.handoff_reason, None);
        assert_eq!(out.messages[0].role, Role::Customer);
    }

    #[test]
    fn roles_follow_the_sender() {
        let s = |role: Option<&str>, app: Option<&str>| wire::Sender {
            role: role.map(str::to_string),
            app_type: app.map(str::to_string),
            subject: None,
        };
        assert_eq!(role(&s(Some("EndUser"), None)), Role::Customer);
        assert_eq!(role(&s(Some("Chatbot"), None)), Role::Ai);
        assert_eq!(role(&s(Some("Agent"), None)), Role::Agent);
        assert_eq!(role(&s(Some("Supervisor"), None)), Role::Agent);
        assert_eq!(role(&s(Some("System"), None)), Role::System);
        assert_eq!(role(&s(None, Some("chatbot"))), Role::Ai);
        assert_eq!(role(&s(Some("Something"), Some("custom"))), Role::System);
    }
}
