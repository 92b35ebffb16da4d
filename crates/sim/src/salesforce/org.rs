//! The simulated Salesforce org: the records of the objects Baton reads (MIAW messaging
//! sessions, their conversations and end users, the agents, the queues and who is in them),
//! each conversation's entries as the Connect API serves them, and the history of changes
//! to MessagingSession records, from which a change-event stream can be made.

use super::ids;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The objects this org serves (sObject reads and SOQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Object {
    MessagingSession,
    Conversation,
    MessagingEndUser,
    User,
    Group,
    GroupMember,
}

impl Object {
    pub const ALL: [Object; 6] = [
        Object::MessagingSession,
        Object::Conversation,
        Object::MessagingEndUser,
        Object::User,
        Object::Group,
        Object::GroupMember,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Object::MessagingSession => "MessagingSession",
            Object::Conversation => "Conversation",
            Object::MessagingEndUser => "MessagingEndUser",
            Object::User => "User",
            Object::Group => "Group",
            Object::GroupMember => "GroupMember",
        }
    }

    /// The key prefix of its ids.
    pub fn prefix(self) -> &'static str {
        match self {
            Object::MessagingSession => "0Mw",
            Object::Conversation => "0dw",
            Object::MessagingEndUser => "0PA",
            Object::User => "005",
            Object::Group => "00G",
            Object::GroupMember => "011",
        }
    }

    /// The object an API name names, in any case.
    pub fn parse(name: &str) -> Option<Object> {
        Object::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// The lookups a SOQL field path may follow one level (`Conversation.ConversationIdentifier`):
    /// (relationship name, the id field it follows). `Owner` is polymorphic (User or Group).
    pub fn relationships(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Object::MessagingSession => &[
                ("Owner", "OwnerId"),
                ("Conversation", "ConversationId"),
                ("MessagingEndUser", "MessagingEndUserId"),
            ],
            Object::GroupMember => &[("Group", "GroupId")],
            _ => &[],
        }
    }
}

/// What a field holds, for SOQL's type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The record's own id, or a lookup to another record's.
    Id,
    Text,
    Picklist,
    DateTime,
    Bool,
    Int,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub name: String,
    pub kind: Kind,
}

/// The org-defined custom fields the MIAW routing attributes land in (the widget's
/// `OpencxSessionId`, `Chat_Consumer_Type`, …): which field holds which, by API name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingFields {
    pub session_id: String,
    pub consumer_type: String,
    pub contact_id: String,
    pub org_id: String,
}

impl Default for RoutingFields {
    fn default() -> Self {
        Self {
            session_id: "OpencxSessionId__c".into(),
            consumer_type: "Chat_Consumer_Type__c".into(),
            contact_id: "OpencxContactId__c".into(),
            org_id: "OpencxOrgId__c".into(),
        }
    }
}

impl RoutingFields {
    pub fn names(&self) -> [&str; 4] {
        [
            &self.session_id,
            &self.consumer_type,
            &self.contact_id,
            &self.org_id,
        ]
    }
}

/// The fields of `object` in this org, standard ones first, as the API names them.
pub fn schema(object: Object, routing: &RoutingFields) -> Vec<FieldDef> {
    use Kind::*;
    let standard: &[(&str, Kind)] = match object {
        Object::MessagingSession => &[
            ("Id", Id),
            ("Name", Text),
            ("Status", Picklist),
            ("OwnerId", Id),
            ("StartTime", DateTime),
            ("AcceptTime", DateTime),
            ("EndTime", DateTime),
            ("EndedByType", Picklist),
            ("ConversationId", Id),
            ("MessagingEndUserId", Id),
            ("MessagingChannelId", Id),
            ("EndUserAccountId", Id),
            ("EndUserContactId", Id),
            ("CaseId", Id),
            ("Origin", Picklist),
            ("AgentType", Picklist),
            ("ChannelType", Picklist),
            ("SessionKey", Text),
            ("TargetUserId", Id),
            ("IsDeleted", Bool),
            ("CreatedDate", DateTime),
            ("CreatedById", Id),
            ("LastModifiedDate", DateTime),
            ("LastModifiedById", Id),
            ("SystemModstamp", DateTime),
        ],
        Object::Conversation => &[
            ("Id", Id),
            ("Name", Text),
            ("ConversationIdentifier", Text),
            ("ConversationChannelId", Id),
            ("StartTime", DateTime),
            ("EndTime", DateTime),
            ("IsDeleted", Bool),
            ("CreatedDate", DateTime),
            ("LastModifiedDate", DateTime),
            ("SystemModstamp", DateTime),
        ],
        Object::MessagingEndUser => &[
            ("Id", Id),
            ("Name", Text),
            ("MessagingPlatformKey", Text),
            ("MessageType", Picklist),
            ("MessagingChannelId", Id),
            ("ContactId", Id),
            ("AccountId", Id),
            ("MessagingConsentStatus", Picklist),
            ("IsFullyOptedIn", Bool),
            ("IsDeleted", Bool),
            ("CreatedDate", DateTime),
            ("LastModifiedDate", DateTime),
            ("SystemModstamp", DateTime),
        ],
        Object::User => &[
            ("Id", Id),
            ("Username", Text),
            ("Name", Text),
            ("FirstName", Text),
            ("LastName", Text),
            ("Email", Text),
            ("IsActive", Bool),
            ("UserType", Picklist),
            ("CreatedDate", DateTime),
            ("LastModifiedDate", DateTime),
            ("SystemModstamp", DateTime),
        ],
        Object::Group => &[
            ("Id", Id),
            ("Name", Text),
            ("DeveloperName", Text),
            ("Type", Picklist),
            ("CreatedDate", DateTime),
            ("LastModifiedDate", DateTime),
            ("SystemModstamp", DateTime),
        ],
        Object::GroupMember => &[
            ("Id", Id),
            ("GroupId", Id),
            ("UserOrGroupId", Id),
            ("SystemModstamp", DateTime),
        ],
    };
    let mut fields: Vec<FieldDef> = standard
        .iter()
        .map(|(name, kind)| FieldDef {
            name: name.to_string(),
            kind: *kind,
        })
        .collect();
    if object == Object::MessagingSession {
        fields.extend(routing.names().iter().map(|name| FieldDef {
            name: name.to_string(),
            kind: Text,
        }));
    }
    fields
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Val {
    Null,
    Str(String),
    Time(DateTime<Utc>),
    Bool(bool),
    Int(i64),
}

impl Val {
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(s.into())
    }

    /// A text value, or null for `None`.
    pub fn opt(s: Option<impl Into<String>>) -> Val {
        s.map_or(Val::Null, |s| Val::Str(s.into()))
    }

    /// A time as Salesforce keeps record times: to the second.
    pub fn time(t: DateTime<Utc>) -> Val {
        Val::Time(t.trunc_subsecs(0))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Val::Time(t) => Some(*t),
            _ => None,
        }
    }

    /// The value in the REST API's JSON: times as `2026-11-22T10:04:00.000+0000`.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Str(s) => s.clone().into(),
            Val::Time(t) => time(*t).into(),
            Val::Bool(b) => (*b).into(),
            Val::Int(n) => (*n).into(),
        }
    }
}

/// A time as the REST API writes it.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// One record: every field of its object's schema, in schema order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub object: Object,
    pub fields: Vec<(String, Val)>,
}

impl Record {
    pub fn id(&self) -> &str {
        self.get("Id").and_then(Val::as_str).unwrap_or_default()
    }

    /// A field by its API name, in any case.
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Val::as_str)
    }

    pub fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        self.get(name).and_then(Val::as_time)
    }
}

/// Who sent a conversation entry: the Connect API's `sender`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    EndUser,
    Chatbot,
    Agent,
    System,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::EndUser => "EndUser",
            Role::Chatbot => "Chatbot",
            Role::Agent => "Agent",
            Role::System => "System",
        }
    }

    /// `sender.appType`. The end user's and the bot's are as captured from a real org;
    /// `agent` and `system` are unconfirmed.
    pub fn app_type(self) -> &'static str {
        match self {
            Role::EndUser => "iamessage",
            Role::Chatbot => "chatbot",
            Role::Agent => "agent",
            Role::System => "system",
        }
    }
}

/// A file the end user sent with a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryAttachment {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    /// Where the file is downloaded, relative to the instance URL (not served).
    pub path: String,
}

/// One entry of a conversation, as `/connect/conversation/{id}/entries` serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub identifier: String,
    pub role: Role,
    /// `sender.subject`: the end user's platform key, the bot's or the agent's id.
    pub subject: String,
    /// The text as written; the API serves it HTML-escaped.
    pub text: String,
    /// Unix milliseconds.
    pub client_timestamp: i64,
    pub server_received_timestamp: i64,
    /// The MessagingSession the entry belongs to (empty for the bot's, as a real org has it).
    pub related_records: Vec<String>,
    pub attachments: Vec<EntryAttachment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeType {
    Create,
    Update,
}

/// One committed change to a MessagingSession, what a change event reports: the fields it
/// changed and their new values (every non-null field on CREATE), with a replay id that
/// only grows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub replay_id: u64,
    pub entity: &'static str,
    pub record_id: String,
    pub change_type: ChangeType,
    pub changed_fields: Vec<String>,
    pub values: Vec<(String, Val)>,
    /// To the millisecond.
    pub commit_timestamp: DateTime<Utc>,
    pub commit_user: String,
    pub transaction_key: String,
    pub sequence_number: u32,
}

/// The org: its records by 18-character id, conversation entries by
/// ConversationIdentifier, and the MessagingSession change history.
#[derive(Debug, Clone, Serialize)]
pub struct Org {
    /// `00D…`, the org (tenant) id.
    pub org_id: String,
    /// The agent the configured username belongs to (the rep).
    pub me: String,
    pub routing: RoutingFields,
    pub records: BTreeMap<String, Record>,
    /// Oldest first.
    pub entries: BTreeMap<String, Vec<Entry>>,
    /// Oldest first; replay ids ascending.
    pub changes: Vec<Change>,
    next_id: u64,
    next_replay: u64,
}

impl Org {
    pub fn new(routing: RoutingFields) -> Self {
        Self {
            org_id: ids::id("00D", 1),
            me: String::new(),
            routing,
            records: BTreeMap::new(),
            entries: BTreeMap::new(),
            changes: vec![],
            next_id: 100,
            next_replay: 0,
        }
    }

    /// A new id for `prefix` (objects this org does not serve have ids too: cases,
    /// contacts, channels).
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        ids::id(prefix, self.next_id)
    }

    /// A record by id, 15 or 18 characters.
    pub fn record(&self, id: &str) -> Option<&Record> {
        self.records.get(&ids::long(id)?)
    }

    pub fn all(&self, object: Object) -> impl Iterator<Item = &Record> {
        self.records.values().filter(move |r| r.object == object)
    }

    pub fn sessions(&self) -> impl Iterator<Item = &Record> {
        self.all(Object::MessagingSession)
    }

    /// The queues `user` is a member of.
    pub fn queues_of(&self, user: &str) -> Vec<String> {
        self.all(Object::GroupMember)
            .filter(|m| m.text("UserOrGroupId") == Some(user))
            .filter_map(|m| m.text("GroupId"))
            .filter(|g| self.record(g).and_then(|g| g.text("Type")) == Some("Queue"))
            .map(str::to_string)
            .collect()
    }

    /// The entries of a conversation, oldest first.
    pub fn entries_of(&self, conversation_identifier: &str) -> &[Entry] {
        self.entries
            .get(conversation_identifier)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The ConversationIdentifier of a session's conversation.
    pub fn conversation_identifier(&self, session: &Record) -> Option<&str> {
        self.record(session.text("ConversationId")?)?
            .text("ConversationIdentifier")
    }

    /// Changes after `replay_id` (all of them for 0).
    pub fn changes_after(&self, replay_id: u64) -> &[Change] {
        let from = self.changes.partition_point(|c| c.replay_id <= replay_id);
        &self.changes[from..]
    }

    /// Adds a record made `at` by `by`; fields not given are null. Returns its id.
    pub fn insert(
        &mut self,
        object: Object,
        given: Vec<(&str, Val)>,
        at: DateTime<Utc>,
        by: &str,
    ) -> String {
        let id = self.new_id(object.prefix());
        let stamp = Val::time(at);
        let mut fields: Vec<(String, Val)> = schema(object, &self.routing)
            .into_iter()
            .map(|f| {
                let v = match f.name.as_str() {
                    "Id" => Val::str(&id),
                    "IsDeleted" => Val::Bool(false),
                    "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => stamp.clone(),
                    "CreatedById" | "LastModifiedById" => Val::str(by),
                    _ => Val::Null,
                };
                (f.name, v)
            })
            .collect();
        for (name, v) in given {
            let slot = fields
                .iter_mut()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{} has no field {name}", object.name()));
            slot.1 = v;
        }
        if object == Object::MessagingSession {
            let values: Vec<(String, Val)> = fields
                .iter()
                .filter(|(_, v)| *v != Val::Null)
                .cloned()
                .collect();
            self.record_change(&id, ChangeType::Create, values, at, by);
        }
        self.records.insert(id.clone(), Record { object, fields });
        id
    }

    /// Changes a record `at` as `by` would (its LastModifiedDate and SystemModstamp move);
    /// a MessagingSession's change is recorded with the fields that changed. Returns false
    /// for an unknown record or when nothing changed.
    pub fn update(&mut self, id: &str, set: &[(&str, Val)], at: DateTime<Utc>, by: &str) -> bool {
        let Some(key) = ids::long(id).filter(|k| self.records.contains_key(k)) else {
            return false;
        };
        let stamp = Val::time(at);
        let record = self.records.get_mut(&key).expect("checked above");
        let mut changed: Vec<(String, Val)> = vec![];
        for (name, v) in set {
            let slot = record
                .fields
                .iter_mut()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{} has no field {name}", record.object.name()));
            if slot.1 != *v {
                slot.1 = v.clone();
                changed.push((slot.0.clone(), v.clone()));
            }
        }
        if changed.is_empty() {
            return false;
        }
        for (name, v) in [
            ("LastModifiedDate", stamp.clone()),
            ("LastModifiedById", Val::str(by)),
            ("SystemModstamp", stamp),
        ] {
            if let Some(slot) = record.fields.iter_mut().find(|(n, _)| n == name) {
                if slot.1 != v {
                    slot.1 = v.clone();
                    changed.push((name.to_string(), v));
                }
            }
        }
        if record.object == Object::MessagingSession {
            self.record_change(&key, ChangeType::Update, changed, at, by);
        }
        true
    }

    fn record_change(
        &mut self,
        id: &str,
        change_type: ChangeType,
        values: Vec<(String, Val)>,
        at: DateTime<Utc>,
        by: &str,
    ) {
        self.next_replay += 1;
        let replay_id = self.next_replay;
        self.changes.push(Change {
            replay_id,
            entity: Object::MessagingSession.name(),
            record_id: id.to_string(),
            change_type,
            changed_fields: values.iter().map(|(n, _)| n.clone()).collect(),
            values,
            commit_timestamp: at.trunc_subsecs(3),
            commit_user: by.to_string(),
            transaction_key: format!("{:08x}-0000-4000-8000-{:012x}", replay_id, replay_id),
            sequence_number: 1,
        });
    }

    /// Puts the change history in commit order and numbers it again from 1 (for a seeded
    /// history, whose sessions were written one after another).
    pub(crate) fn renumber_changes(&mut self) {
        self.changes.sort_by_key(|c| c.commit_timestamp);
        for (i, c) in self.changes.iter_mut().enumerate() {
            c.replay_id = i as u64 + 1;
            c.transaction_key = format!("{:08x}-0000-4000-8000-{:012x}", c.replay_id, c.replay_id);
        }
        self.next_replay = self.changes.len() as u64;
    }

    /// Ends a session `at` as `by` (an `EndedByType`: Agent, EndUser, Bot, System) would;
    /// false for an unknown session or one that had ended so already.
    pub fn end_session(&mut self, id: &str, by: &str, at: DateTime<Utc>) -> bool {
        self.update(
            id,
            &[
                ("Status", Val::str("Ended")),
                ("EndTime", Val::time(at)),
                ("EndedByType", Val::str(by)),
            ],
            at,
            "005",
        )
    }

    /// Appends an entry to a conversation (kept in time order).
    pub fn add_entry(&mut self, conversation_identifier: &str, entry: Entry) {
        let list = self
            .entries
            .entry(conversation_identifier.to_string())
            .or_default();
        let at = list.partition_point(|e| e.client_timestamp <= entry.client_timestamp);
        list.insert(at, entry);
    }
}
