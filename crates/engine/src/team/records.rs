//! What a team's stream carries: domain records (never vendor JSON), one subject per
//! record so the stream keeps the latest value of each, a schema version in each, and a
//! bounded size: a long transcript travels in parts beside its conversation.
//!
//! Subjects, for the account `acme`:
//! - `baton.acme.conv.<id>`: a [`ConversationRecord`] (or its deletion);
//! - `baton.acme.part.<id>.<n>`: part `n` of its transcript, when it did not fit inline.

use baton_core::model::{Conversation, DraftFacts, HandoffDetails, Message};
use baton_core::store::Snapshot;
use serde::{Deserialize, Serialize};

/// The schema these records are written in. A reader refuses a newer one (it would
/// misread it) and says so, rather than guess.
pub const SCHEMA: u32 = 1;

/// Inline messages up to this size; beyond it the transcript goes in parts.
pub const INLINE_BYTES: usize = 256 * 1024;
/// One part's size. With its envelope this stays well under NATS's 1 MiB default payload.
pub const PART_BYTES: usize = 512 * 1024;
/// One message body's most: a body beyond this (far beyond any vendor's comment limit)
/// is cut, and says so, rather than break its transcript's part.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The drafts' most in one record, as JSON: with the inline transcript and the rest of the
/// record, it stays under NATS's 1 MiB payload.
const MAX_DRAFTS_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Conversation(Box<ConversationRecord>),
    Deleted { schema: u32, external_id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    pub schema: u32,
    pub conversation: Conversation,
    pub handoff_reason: Option<String>,
    /// Absent in records of older relays.
    #[serde(default)]
    pub handoff_details: Option<HandoffDetails>,
    pub transcript_version: Option<String>,
    pub transcript_cursor: Option<String>,
    pub sync_problem: Option<String>,
    pub drafts: Vec<DraftFacts>,
    /// The transcript, when it fits here.
    pub messages: Vec<Message>,
    /// How many parts hold the transcript instead (0: it is inline).
    pub parts: u32,
    /// Names this publication: each of its parts carries it, so a reader never joins parts
    /// of two publications.
    pub publication: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRecord {
    pub schema: u32,
    pub external_id: String,
    pub publication: String,
    pub index: u32,
    pub messages: Vec<Message>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    #[error("a record in schema {0}, newer than this Baton reads ({SCHEMA}): update Baton")]
    Newer(u32),
    #[error("a record that does not parse: {0}")]
    Malformed(String),
    #[error("its transcript's parts are missing or from another publication")]
    PartsMissing,
}

/// An id made into one subject token: ids that are already safe tokens stay as they are
/// (Zendesk's numbers, Salesforce's ids); anything else is hex-encoded behind `=`.
pub fn token(id: &str) -> String {
    let safe = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if safe {
        id.to_string()
    } else {
        let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("={hex}")
    }
}

pub fn conversation_subject(account: &str, external_id: &str) -> String {
    format!("baton.{account}.conv.{}", token(external_id))
}

pub fn conversations_filter(account: &str) -> String {
    format!("baton.{account}.conv.*")
}

pub fn part_subject(account: &str, external_id: &str, index: u32) -> String {
    format!("baton.{account}.part.{}.{index}", token(external_id))
}

/// What to publish for one snapshot: its parts (published first) and its record.
pub fn encode(snapshot: &Snapshot, publication: &str) -> (Vec<PartRecord>, ConversationRecord) {
    let messages: Vec<Message> = snapshot.messages.iter().map(bounded).collect();
    let size: usize = messages.iter().map(approx_size).sum();
    let external_id = &snapshot.conversation.external_id;
    let (inline, parts) = if size <= INLINE_BYTES {
        (messages, vec![])
    } else {
        let mut parts: Vec<Vec<Message>> = vec![vec![]];
        let mut filled = 0;
        for m in messages {
            let n = approx_size(&m);
            if filled + n > PART_BYTES && !parts.last().expect("one part").is_empty() {
                parts.push(vec![]);
                filled = 0;
            }
            filled += n;
            parts.last_mut().expect("one part").push(m);
        }
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, messages)| PartRecord {
                schema: SCHEMA,
                external_id: external_id.clone(),
                publication: publication.to_string(),
                index: i as u32,
                messages,
            })
            .collect();
        (vec![], parts)
    };
    let record = ConversationRecord {
        schema: SCHEMA,
        conversation: snapshot.conversation.clone(),
        handoff_reason: snapshot.handoff_reason.clone(),
        handoff_details: snapshot.handoff_details.clone(),
        transcript_version: snapshot.transcript_version.clone(),
        transcript_cursor: snapshot.transcript_cursor.clone(),
        sync_problem: snapshot.sync_problem.clone(),
        drafts: bounded_drafts(&snapshot.drafts),
        messages: inline,
        parts: parts.len() as u32,
        publication: publication.to_string(),
    };
    (parts, record)
}

/// The snapshot again, from a record and its parts (in order).
pub fn decode(record: ConversationRecord, parts: Vec<PartRecord>) -> Result<Snapshot, RecordError> {
    if record.parts as usize != parts.len()
        || parts.iter().enumerate().any(|(i, p)| {
            p.index as usize != i
                || p.publication != record.publication
                || p.external_id != record.conversation.external_id
        })
    {
        return Err(RecordError::PartsMissing);
    }
    let mut messages = record.messages;
    for p in parts {
        messages.extend(p.messages);
    }
    Ok(Snapshot {
        conversation: record.conversation,
        handoff_reason: record.handoff_reason,
        handoff_details: record.handoff_details,
        transcript_version: record.transcript_version,
        transcript_cursor: record.transcript_cursor,
        sync_problem: record.sync_problem,
        messages,
        drafts: record.drafts,
    })
}

pub fn parse_record(bytes: &[u8]) -> Result<Record, RecordError> {
    check_schema(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))
}

pub fn parse_part(bytes: &[u8]) -> Result<PartRecord, RecordError> {
    check_schema(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))
}

/// A newer schema is named as such, before a parse error could hide it.
pub fn check_schema(bytes: &[u8]) -> Result<(), RecordError> {
    #[derive(Deserialize)]
    struct Versioned {
        schema: Option<u32>,
    }
    match serde_json::from_slice::<Versioned>(bytes) {
        Ok(Versioned { schema: Some(v) }) if v > SCHEMA => Err(RecordError::Newer(v)),
        _ => Ok(()),
    }
}

/// A message's size as it travels: JSON escapes (quotes, line ends, control characters)
/// can make it several times its text.
fn approx_size(m: &Message) -> usize {
    serde_json::to_vec(m).map_or(usize::MAX / 4, |v| v.len()) + 1
}

fn bounded(m: &Message) -> Message {
    let Some(cut) = cut_at(&m.body, MAX_BODY_BYTES) else {
        return m.clone();
    };
    Message {
        body: format!(
            "{}\n[… cut by Baton's relay: the message is longer than {} KiB; read it whole in the helpdesk]",
            &m.body[..cut],
            MAX_BODY_BYTES / 1024
        ),
        ..m.clone()
    }
}

/// Drafts newest first while they fit, each bounded like a message: a conversation with
/// hundreds of long drafts still makes a record NATS takes.
fn bounded_drafts(drafts: &[DraftFacts]) -> Vec<DraftFacts> {
    let mut kept = vec![];
    let mut size = 0;
    for d in drafts.iter().rev() {
        let text = match cut_at(&d.text, MAX_BODY_BYTES) {
            None => d.text.clone(),
            Some(cut) => format!("{}\n[… cut by Baton's relay]", &d.text[..cut]),
        };
        let d = DraftFacts { text, ..d.clone() };
        size += serde_json::to_vec(&d).map_or(usize::MAX / 4, |v| v.len());
        if size > MAX_DRAFTS_BYTES && !kept.is_empty() {
            tracing::warn!(
                drafts = drafts.len(),
                kept = kept.len(),
                "a conversation's oldest drafts left out of its record"
            );
            break;
        }
        kept.push(d);
    }
    kept.reverse();
    kept
}

/// Where to cut `text` so that it takes at most `max` bytes as a JSON string (quotes,
/// backslashes and control characters take more than themselves); `None`: it fits.
fn cut_at(text: &str, max: usize) -> Option<usize> {
    let mut size = 0;
    for (i, c) in text.char_indices() {
        size += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if size > max {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::model::{Channel, Role, SourceKind};

    fn snapshot(messages: usize, body: usize) -> Snapshot {
        Snapshot {
            conversation: Conversation {
                subject: "s".into(),
                updated_at: 2,
                version: "v".into(),
                wants_transcript: true,
                ..Conversation::new("42", SourceKind::Zendesk, Channel::Web, 1)
            },
            handoff_reason: None,
            handoff_details: None,
            transcript_version: Some("v".into()),
            transcript_cursor: Some("c".into()),
            sync_problem: None,
            messages: (0..messages)
                .map(|i| Message {
                    external_id: i.to_string(),
                    role: Role::Customer,
                    author_name: None,
                    body: "é".repeat(body / 2),
                    created_at: i as i64,
                    attachments: vec![],
                    internal: false,
                })
                .collect(),
            drafts: vec![],
        }
    }

    #[test]
    fn a_short_transcript_travels_inline_and_comes_back_whole() {
        let s = snapshot(20, 500);
        let (parts, record) = encode(&s, "p1");
        assert!(parts.is_empty());
        let bytes = serde_json::to_vec(&Record::Conversation(Box::new(record))).unwrap();
        let Record::Conversation(back) = parse_record(&bytes).unwrap() else {
            panic!("a conversation")
        };
        assert_eq!(decode(*back, vec![]).unwrap(), s);
    }

    #[test]
    fn how_a_session_ended_and_its_routing_attributes_travel_and_older_records_still_read() {
        use baton_core::model::{EndedBy, RoutingAttribute, SessionEnd};
        let mut s = snapshot(2, 10);
        s.conversation.ended = Some(SessionEnd {
            by: EndedBy::EndUser,
            at: Some(5),
        });
        s.conversation.routing_attributes = vec![RoutingAttribute {
            label: "customer".into(),
            value: "authenticated".into(),
        }];
        let (_, record) = encode(&s, "p1");
        let mut json = serde_json::to_value(Record::Conversation(Box::new(record))).unwrap();
        let bytes = serde_json::to_vec(&json).unwrap();
        let Record::Conversation(back) = parse_record(&bytes).unwrap() else {
            panic!("a conversation")
        };
        assert_eq!(decode(*back, vec![]).unwrap(), s);
        // A relay of an older build publishes neither: same schema, read as not ended.
        let c = json["conversation"].as_object_mut().unwrap();
        c.remove("ended");
        c.remove("routing_attributes");
        let bytes = serde_json::to_vec(&json).unwrap();
        let Record::Conversation(old) = parse_record(&bytes).unwrap() else {
            panic!("a conversation")
        };
        assert_eq!(old.conversation.ended, None);
        assert!(old.conversation.routing_attributes.is_empty());
    }

    #[test]
    fn a_thousand_message_transcript_goes_in_parts_each_under_a_mebibyte() {
        let s = snapshot(1000, 2000);
        let (parts, record) = encode(&s, "p1");
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(serde_json::to_vec(p).unwrap().len() < 1024 * 1024);
        }
        assert!(serde_json::to_vec(&record).unwrap().len() < 64 * 1024);
        let back = decode(record.clone(), parts.clone()).unwrap();
        assert_eq!(back, s);
        // A part of another publication, or one missing, is never joined.
        let mut mixed = parts.clone();
        mixed[0].publication = "p0".into();
        assert_eq!(
            decode(record.clone(), mixed),
            Err(RecordError::PartsMissing)
        );
        assert_eq!(
            decode(record, parts[1..].to_vec()),
            Err(RecordError::PartsMissing)
        );
    }

    #[test]
    fn an_enormous_message_is_cut_and_says_so() {
        let s = snapshot(1, 3 * 1024 * 1024);
        let (parts, _) = encode(&s, "p");
        let body = &parts[0].messages[0].body;
        assert!(body.len() < MAX_BODY_BYTES + 200);
        assert!(body.contains("cut by Baton's relay"));
    }

    #[test]
    fn a_message_that_grows_as_json_and_a_pile_of_drafts_still_make_records_nats_takes() {
        // Quotes and control characters take two to six bytes each as JSON.
        let mut s = snapshot(3, 10);
        s.messages[1].body = "\"\u{1}".repeat(400 * 1024);
        s.drafts = (0..400)
            .map(|i| DraftFacts {
                source_note_id: format!("n{i}"),
                text: "\\".repeat(8 * 1024),
                training_url: None,
                created_at: i,
            })
            .collect();
        let (parts, record) = encode(&s, "p");
        for p in &parts {
            assert!(serde_json::to_vec(p).unwrap().len() < 1024 * 1024);
        }
        let bytes = serde_json::to_vec(&Record::Conversation(Box::new(record.clone()))).unwrap();
        assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
        // The newest drafts are the ones kept.
        assert!(record.drafts.len() < 400 && !record.drafts.is_empty());
        assert_eq!(record.drafts.last().unwrap().source_note_id, "n399");
        let all: Vec<&Message> = parts
            .iter()
            .flat_map(|p| &p.messages)
            .chain(&record.messages)
            .collect();
        assert!(all.iter().any(|m| m.body.contains("cut by Baton's relay")));
        assert_eq!(cut_at("abc", 3), None);
        assert_eq!(cut_at("a\"c", 3), Some(2));
        assert_eq!(cut_at("é", 1), Some(0));
    }

    #[test]
    fn a_newer_schema_is_refused_by_name() {
        let bytes = br#"{"kind":"deleted","schema":7,"external_id":"1","extra":true}"#;
        assert_eq!(parse_record(bytes), Err(RecordError::Newer(7)));
        assert!(matches!(
            parse_record(b"{\"kind\":\"conversation\"}"),
            Err(RecordError::Malformed(_))
        ));
    }

    #[test]
    fn any_id_makes_one_subject_token() {
        assert_eq!(token("12345"), "12345");
        assert_eq!(token("0Mw5e00000ABC"), "0Mw5e00000ABC");
        assert_eq!(token("a.b>*"), "=612e623e2a");
        assert!(!token("x y").contains(' '));
    }
}
