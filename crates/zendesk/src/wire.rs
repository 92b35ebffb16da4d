//! Zendesk's JSON, as the Support API spec describes it. Transport types only: they are
//! mapped to the domain model in `mapping` and go no further.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MeResponse {
    pub user: User,
}

/// Sunshine Conversations `GetApp`.
#[derive(Debug, Deserialize)]
pub struct SuncoAppResponse {
    pub app: SuncoApp,
}

#[derive(Debug, Deserialize)]
pub struct SuncoApp {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    pub id: i64,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketField {
    pub id: i64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub raw_title: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TicketFieldsResponse {
    pub ticket_fields: Vec<TicketField>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomFieldValue {
    pub id: i64,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Via {
    #[serde(default)]
    pub channel: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    pub id: i64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub requester_id: Option<i64>,
    #[serde(default)]
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub group_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(default)]
    pub via: Option<Via>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize)]
pub struct TicketResponse {
    pub ticket: Ticket,
}

#[derive(Debug, Deserialize)]
pub struct ExportPage {
    pub tickets: Vec<Ticket>,
    #[serde(default)]
    pub after_cursor: Option<String>,
    #[serde(default)]
    pub end_of_stream: bool,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
pub struct CountResponse {
    pub count: CountValue,
}

#[derive(Debug, Deserialize)]
pub struct CountValue {
    pub value: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub content_url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub author_id: Option<i64>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub plain_body: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageMeta {
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub after_cursor: Option<String>,
}

/// A cursor-paged answer (comments, conversation log).
pub trait Paged {
    fn meta(&self) -> &PageMeta;
}

impl Paged for LogPage {
    fn meta(&self) -> &PageMeta {
        &self.meta
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogAuthor {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The Support user behind the event (an integer by the spec; read leniently).
    #[serde(rename = "zen:support:user_id", default)]
    pub support_user_id: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogEvent {
    pub id: String,
    /// `zen:sunco:conversation_message:<id>` or `zen:ticket_event:<id>`.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub author: LogAuthor,
    #[serde(default)]
    pub content: Value,
    #[serde(default)]
    pub metadata: Value,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
pub struct LogPage {
    pub events: Vec<LogEvent>,
    #[serde(default)]
    pub meta: PageMeta,
}

/// Zendesk error bodies come in several shapes; find the human text in any of them.
pub fn error_text(body: &Value) -> String {
    if let Some(e) = body["errors"].as_array().and_then(|a| a.first()) {
        return e["title"]
            .as_str()
            .or(e["detail"].as_str())
            .unwrap_or("error")
            .to_string();
    }
    body["description"]
        .as_str()
        .or(body["error"].as_str())
        .or(body["error"]["message"].as_str())
        .unwrap_or("no details")
        .to_string()
}

/// Sunshine Conversations `listMessages`.
#[derive(Debug, Deserialize)]
pub struct SuncoPage {
    pub messages: Vec<SuncoMessage>,
    #[serde(default)]
    pub meta: SuncoMeta,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuncoMeta {
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub before_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SuncoMessage {
    pub id: String,
    pub received: String,
    pub author: SuncoAuthor,
    #[serde(default)]
    pub content: Value,
    /// The system activity a message records (`activityMessage`: a session's end).
    #[serde(default)]
    pub activity: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuncoAuthor {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub subtypes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct GroupMembershipsResponse {
    pub group_memberships: Vec<GroupMembership>,
}

#[derive(Debug, Deserialize)]
pub struct GroupMembership {
    pub group_id: i64,
}

/// An export page with its records still unparsed: each ticket, user and group is read
/// on its own, so one record that does not parse costs that record, not the page.
#[derive(Debug, Deserialize)]
pub struct RawExportPage {
    pub tickets: Vec<Value>,
    #[serde(default)]
    pub after_cursor: Option<String>,
    #[serde(default)]
    pub end_of_stream: bool,
    #[serde(default)]
    pub users: Vec<Value>,
    #[serde(default)]
    pub groups: Vec<Value>,
}

/// One ticket (`GET /api/v2/tickets/{id}?include=users,groups`), unparsed as in
/// [`RawExportPage`].
#[derive(Debug, Deserialize)]
pub struct RawShowTicket {
    pub ticket: Value,
    #[serde(default)]
    pub users: Vec<Value>,
    #[serde(default)]
    pub groups: Vec<Value>,
}

/// A comments page with its records unparsed (see [`RawExportPage`]).
#[derive(Debug, Deserialize)]
pub struct RawCommentsPage {
    pub comments: Vec<Value>,
    #[serde(default)]
    pub meta: PageMeta,
    #[serde(default)]
    pub users: Vec<Value>,
}

/// A conversation-log page with its events unparsed (see [`RawExportPage`]).
#[derive(Debug, Deserialize)]
pub struct RawLogPage {
    pub events: Vec<Value>,
    #[serde(default)]
    pub meta: PageMeta,
}

/// The parts of a log event that [`LogEvent`] keeps as JSON, typed. Read beside it, so a
/// wrong type there makes a record that does not parse, not an empty message or a
/// private note shown as public.
#[derive(Debug, Deserialize)]
pub struct LogEventShape {
    #[serde(default)]
    pub content: Option<LogContent>,
    #[serde(default)]
    pub metadata: Option<LogMetadata>,
}

#[derive(Debug, Deserialize)]
pub struct LogContent {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LogMetadata {
    #[serde(default)]
    pub public: Option<bool>,
}

impl Paged for RawCommentsPage {
    fn meta(&self) -> &PageMeta {
        &self.meta
    }
}

impl Paged for RawLogPage {
    fn meta(&self) -> &PageMeta {
        &self.meta
    }
}

/// Why one record did not parse: the field, and what was wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRecord {
    /// The record's own id when that much could be read.
    pub id: Option<String>,
    /// Where in the record, e.g. `custom_fields[2].id`; `.` for the record itself.
    pub field: String,
    pub error: String,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.error)
    }
}

/// Reads one record; on failure says which field and why. The error text leaves out
/// the offending value when it is a string: that is vendor text (a customer's words,
/// maybe), and the reason goes to logs and onto the rep's screen.
pub fn record<T: serde::de::DeserializeOwned>(raw: &Value) -> Result<T, BadRecord> {
    serde_path_to_error::deserialize(raw).map_err(|e| BadRecord {
        id: match &raw["id"] {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() && s.len() <= 64 => Some(s.clone()),
            _ => None,
        },
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
    fn a_bad_record_names_its_id_and_field_and_not_the_text() {
        let raw = json!({ "id": 7, "created_at": "", "updated_at": "x",
                          "tags": ["vip", 12], "subject": "s" });
        let e = record::<Ticket>(&raw).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("7"));
        assert_eq!(e.field, "tags[1]");
        assert!(e.error.contains("expected a string"), "{e}");

        let secret = json!({ "id": 8, "requester_id": "Maria's card 4111", "created_at": "t", "updated_at": "t" });
        let e = record::<Ticket>(&secret).unwrap_err();
        assert_eq!(e.field, "requester_id");
        assert!(!e.to_string().contains("4111"), "{e}");

        let no_id = record::<Ticket>(&json!({ "id": true })).unwrap_err();
        assert_eq!((no_id.id, no_id.field.as_str()), (None, "id"));
        assert!(
            record::<Ticket>(&json!({ "id": 9, "created_at": "t", "updated_at": "t" })).is_ok()
        );
    }
}
