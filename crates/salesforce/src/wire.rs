//! Salesforce's JSON, as the REST API, the OAuth endpoints and the Connect REST API
//! answer it. Transport types only: `mapping` turns them into the domain model and they
//! go no further.

use baton_core::Sensitive;
use serde::Deserialize;
use serde_json::{Map, Value};

/// `POST /services/oauth2/token`: `{access_token, scope, instance_url, id, token_type}`,
/// with a `refresh_token` only from flows that issue one (never the JWT bearer flow).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: Sensitive<String>,
    pub instance_url: String,
    /// The identity URL, `https://login.salesforce.com/id/{orgId}/{userId}`.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// A rotated refresh token (refresh-token flow with rotation on).
    #[serde(default)]
    pub refresh_token: Option<Sensitive<String>>,
}

/// The token endpoint's refusal: `{"error":"invalid_grant","error_description":"…"}`.
#[derive(Debug, Default, Deserialize)]
pub struct OAuthError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// One element of the REST API's error array: `[{"message","errorCode","fields"}]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The first error of an error answer, whatever its shape (the array, or one object).
pub fn first_error(body: &Value) -> ApiError {
    let one = match body {
        Value::Array(list) => list.first().cloned().unwrap_or_default(),
        other => other.clone(),
    };
    let mut e: ApiError = serde_json::from_value(one.clone()).unwrap_or_default();
    if e.error_code.is_empty() {
        e.error_code = one["error"].as_str().unwrap_or_default().to_string();
    }
    if e.message.is_empty() {
        e.message = one["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    e
}

/// `GET /services/data/vXX.X/query?q=…` and its `nextRecordsUrl` pages. Records stay
/// unparsed: each is read on its own, so one that does not parse costs that record only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    #[serde(default)]
    pub total_size: u64,
    #[serde(default = "yes")]
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    #[serde(default)]
    pub records: Vec<Value>,
}

fn yes() -> bool {
    true
}

/// A parent record reached through a relationship (`Owner.Name`, `MessagingEndUser.Name`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Named {
    #[serde(default)]
    pub name: Option<String>,
}

/// `Conversation.ConversationIdentifier`: the id the Connect API knows a conversation by.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConversationRef {
    #[serde(default)]
    pub conversation_identifier: Option<String>,
}

/// A MessagingSession record (Object Reference, MessagingSession), with the parents it
/// was queried with and every other field (the org's routing-attribute custom fields).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessagingSession {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub accept_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub ended_by_type: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub messaging_end_user_id: Option<String>,
    #[serde(default)]
    pub case_id: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub agent_type: Option<String>,
    #[serde(default)]
    pub channel_type: Option<String>,
    pub system_modstamp: String,
    #[serde(default)]
    pub owner: Option<Named>,
    #[serde(default)]
    pub messaging_end_user: Option<Named>,
    #[serde(default)]
    pub conversation: Option<ConversationRef>,
    /// Everything else the query asked for: routing attributes by API name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `SELECT Id, ConversationIdentifier FROM Conversation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConversationRecord {
    pub id: String,
    #[serde(default)]
    pub conversation_identifier: Option<String>,
}

/// `SELECT GroupId FROM GroupMember`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMember {
    pub group_id: String,
}

/// `GET /services/data/vXX.X/sobjects/User/{id}?fields=Id,Name,Username`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// `GET /services/data/vXX.X/connect/conversation/{id}/entries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntriesPage {
    #[serde(default)]
    pub conversation_entries: Vec<Value>,
}

/// One Connect conversation entry (Connect REST API, "Conversation Entries").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntry {
    pub identifier: String,
    #[serde(default)]
    pub message_text: Option<String>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub client_timestamp: Option<i64>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub server_received_timestamp: Option<i64>,
    #[serde(default)]
    pub client_duration: Option<i64>,
    /// The MessagingSession ids (`0Mw…`) the entry belongs to.
    #[serde(default)]
    pub related_records: Vec<String>,
    pub sender: Sender,
    /// Files sent with the entry. The entries resource documents none; read when an org
    /// (or a later API version) sends them, in the shapes below.
    #[serde(default)]
    pub attachments: Vec<EntryAttachment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    /// e.g. `chatbot`, `iamessage`, `agent`.
    #[serde(default)]
    pub app_type: Option<String>,
    /// `EndUser`, `Chatbot`, `Agent`, `System`, …
    #[serde(default)]
    pub role: Option<String>,
    /// Who: a User or bot id, or the end user's platform key.
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryAttachment {
    #[serde(default, alias = "title", alias = "fileName")]
    pub name: Option<String>,
    #[serde(default, alias = "contentUrl", alias = "downloadUrl")]
    pub url: Option<String>,
    #[serde(default, alias = "mimeType")]
    pub content_type: Option<String>,
    #[serde(default, alias = "contentSize")]
    pub size: Option<i64>,
}

/// Why one record did not parse: the field, and what was wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    /// The record's own id when that much could be read.
    pub id: Option<String>,
    /// Where in the record, e.g. `Status`; `.` for the record itself.
    pub field: String,
    pub error: String,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.error)
    }
}

/// Reads one record; on failure says which field and why, leaving out the offending
/// value when it is a string (vendor text: a customer's words, maybe).
pub fn record<T: serde::de::DeserializeOwned>(raw: &Value) -> Result<T, BadRecord> {
    serde_path_to_error::deserialize(raw).map_err(|e| BadRecord {
        id: ["Id", "identifier"]
            .iter()
            .find_map(|k| raw[*k].as_str())
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .map(str::to_string),
        field: e.path().to_string(),
        error: without_quoted_text(&e.inner().to_string()),
    })
}

/// `invalid type: string "Maria's card…", expected i64` → `invalid type: string "…", expected i64`.
pub(crate) fn without_quoted_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quoted = false;
    for c in s.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"…");
                quoted = true;
            }
            ('"', true) => {
                out.push('"');
                quoted = false;
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_answers_of_either_shape_give_their_code_and_message() {
        let array =
            json!([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]);
        let e = first_error(&array);
        assert_eq!(e.error_code, "INVALID_SESSION_ID");
        assert_eq!(e.message, "Session expired or invalid");
        let oauth = json!({"error":"invalid_grant","error_description":"audience is invalid"});
        let e = first_error(&oauth);
        assert_eq!(
            (e.error_code.as_str(), e.message.as_str()),
            ("invalid_grant", "audience is invalid")
        );
        assert_eq!(first_error(&Value::Null).error_code, "");
    }

    #[test]
    fn a_session_keeps_its_custom_fields_and_parents() {
        let raw = json!({
            "attributes": {"type": "MessagingSession", "url": "/services/data/v62.0/sobjects/MessagingSession/0Mw1"},
            "Id": "0Mw000000000001AAA", "Status": "Active", "SystemModstamp": "2026-11-22T10:00:00.000+0000",
            "Owner": {"attributes": {"type": "Name"}, "Name": "Alex Rep"},
            "Conversation": null,
            "OpencxSessionId__c": "8f3c", "Chat_Consumer_Type__c": "authenticated"
        });
        let s: MessagingSession = record(&raw).unwrap();
        assert_eq!(s.owner.unwrap().name.as_deref(), Some("Alex Rep"));
        assert!(s.conversation.is_none());
        assert_eq!(s.other["OpencxSessionId__c"], "8f3c");
        let bad =
            record::<MessagingSession>(&json!({"Id": "0Mw2", "SystemModstamp": 7})).unwrap_err();
        assert_eq!(
            (bad.id.as_deref(), bad.field.as_str()),
            (Some("0Mw2"), "SystemModstamp")
        );
    }
}
