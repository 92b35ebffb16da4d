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

impl Paged for CommentsPage {
    fn meta(&self) -> &PageMeta {
        &self.meta
    }
}

impl Paged for LogPage {
    fn meta(&self) -> &PageMeta {
        &self.meta
    }
}

#[derive(Debug, Deserialize)]
pub struct CommentsPage {
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub meta: PageMeta,
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogAuthor {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
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
