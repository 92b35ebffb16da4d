//! `GET /services/data/vXX.X/connect/conversation/{conversationIdentifier}/entries`: a
//! conversation's entries, shaped as a real org's answer (captured: `conversationEntries`
//! of `{clientDuration, clientTimestamp, identifier, messageText, relatedRecords, sender
//! {appType, role, subject}, serverReceivedTimestamp}`, newest first, the text
//! HTML-escaped). Every read marks the conversation active for 30 minutes.

use super::api::{sf_error, S};
use super::org::Entry;
use crate::lock;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How the API escapes message text (`I'm` arrives as `I&#39;m`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn entry_json(base: &str, e: &Entry) -> Value {
    let mut v = json!({
        "clientDuration": 0,
        "clientTimestamp": e.client_timestamp,
        "identifier": e.identifier,
        "messageText": escape_html(&e.text),
        "relatedRecords": e.related_records,
        "sender": {
            "appType": e.role.app_type(),
            "role": e.role.name(),
            "subject": e.subject,
        },
        "serverReceivedTimestamp": e.server_received_timestamp,
    });
    // Files: unconfirmed shape (the captured answer has none); only on entries with files.
    if !e.attachments.is_empty() {
        v["attachments"] = e
            .attachments
            .iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "name": a.name,
                    "mimeType": a.mime_type,
                    "url": format!("{base}{}", a.path),
                })
            })
            .collect();
    }
    v
}

fn bad_input(what: &str) -> Response {
    sf_error(StatusCode::BAD_REQUEST, "INVALID_API_INPUT", what)
}

pub(crate) async fn entries(
    s: S,
    Path((_version, conversation)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // A number parameter, or why it is refused.
    let number = |name: &str| -> Result<Option<i64>, String> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| format!("Invalid value for {name}: {v}. It must be a number."))
            })
            .transpose()
    };
    let limit = match number("recordLimit") {
        Ok(None) => 25,
        Ok(Some(n)) if (1..=1000).contains(&n) => n as usize,
        Ok(Some(n)) => {
            return bad_input(&format!(
                "Invalid value for recordLimit: {n}. Valid values are from 1 to 1000."
            ))
        }
        Err(why) => return bad_input(&why),
    };
    let (start, end) = match (number("startTimestamp"), number("endTimestamp")) {
        (Ok(a), Ok(b)) => (a.unwrap_or(0), b.unwrap_or(i64::MAX)),
        (Err(why), _) | (_, Err(why)) => return bad_input(&why),
    };
    let from_end = match q.get("queryDirection").map(String::as_str) {
        None | Some("FromEnd") => true,
        Some("FromStart") => false,
        Some(other) => {
            return bad_input(&format!(
                "Invalid value for queryDirection: {other}. Valid values are FromEnd and FromStart."
            ))
        }
    };
    let org = lock(&s.sf.org);
    if !org.entries.contains_key(&conversation)
        && !org
            .all(super::org::Object::Conversation)
            .any(|c| c.text("ConversationIdentifier") == Some(conversation.as_str()))
    {
        return sf_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        );
    }
    let window: Vec<&Entry> = org
        .entries_of(&conversation)
        .iter()
        .filter(|e| (start..=end).contains(&e.client_timestamp))
        .collect();
    let page: Vec<Value> = if from_end {
        window
            .iter()
            .rev()
            .take(limit)
            .map(|e| entry_json(&s.base_url, e))
            .collect()
    } else {
        window
            .iter()
            .take(limit)
            .map(|e| entry_json(&s.base_url, e))
            .collect()
    };
    drop(org);
    *lock(&s.stats)
        .salesforce
        .connect_reads
        .entry(conversation)
        .or_default() += 1;
    Json(json!({ "conversationEntries": page })).into_response()
}
