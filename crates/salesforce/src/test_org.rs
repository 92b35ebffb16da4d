//! A small fake org for the feed's tests, answering as the recorded shapes do: the
//! token endpoint, SOQL on MessagingSession / GroupMember / Conversation (with
//! `nextRecordsUrl` pages), and Connect conversation entries with `startTimestamp`
//! and `recordLimit`. Until the simulator has a Salesforce org, this is what the
//! feed runs against over real HTTP.

use crate::client::test_server::{serve_with, Answer, Server};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const ME: &str = "005000000000001AAA";
pub const COLLEAGUE: &str = "005000000000002AAA";
pub const MY_QUEUE: &str = "00G000000000007AAA";
pub const OTHER_QUEUE: &str = "00G000000000008AAA";

#[derive(Default)]
pub struct Org {
    pub sessions: Vec<Value>,
    /// Entries by conversation identifier.
    pub entries: HashMap<String, Vec<Value>>,
    /// Custom fields the org does not have.
    pub missing_fields: Vec<String>,
    /// Records per query page.
    pub batch: usize,
    /// Results held for `nextRecordsUrl`, by locator.
    pub results: HashMap<String, Vec<Value>>,
    /// Answer Connect with 503 (its hourly limit).
    pub connect_limited: bool,
    /// Refuse the next this many REST requests with INVALID_SESSION_ID.
    pub expire_sessions: usize,
    pub api_used: u64,
}

pub fn session_id(n: usize) -> String {
    format!("0Mw{n:015}")
}

pub fn conversation_identifier(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A MessagingSession as the REST API returns it.
pub fn session(n: usize, status: &str, owner: &str, modstamp: &str) -> Value {
    json!({
        "attributes": {"type": "MessagingSession", "url": format!("/services/data/v62.0/sobjects/MessagingSession/{}", session_id(n))},
        "Id": session_id(n), "Status": status, "OwnerId": owner,
        "StartTime": "2026-11-22T10:00:00.000+0000", "AcceptTime": null,
        "EndTime": if status == "Ended" { json!(modstamp) } else { Value::Null },
        "EndedByType": if status == "Ended" { json!("EndUser") } else { Value::Null },
        "ConversationId": format!("0dw{n:015}"), "MessagingEndUserId": format!("0PA{n:015}"),
        "CaseId": null, "Origin": "InboundInitiated", "AgentType": "Agent",
        "ChannelType": "EmbeddedMessaging", "SystemModstamp": modstamp,
        "Owner": {"attributes": {"type": "Name"}, "Name": if owner.starts_with("00G") { "Billing queue" } else { "Alex Rep" }},
        "MessagingEndUser": {"attributes": {"type": "MessagingEndUser"}, "Name": format!("Customer {n}")},
        "Conversation": {"attributes": {"type": "Conversation"}, "ConversationIdentifier": conversation_identifier(n)},
        "OpencxSessionId__c": format!("ocx-{n}"), "Chat_Consumer_Type__c": "anonymous"
    })
}

pub fn entry(id: &str, role: &str, text: &str, at: i64) -> Value {
    json!({
        "clientDuration": 0, "clientTimestamp": at - 20, "identifier": id, "messageText": text,
        "relatedRecords": [], "serverReceivedTimestamp": at,
        "sender": {"appType": if role == "EndUser" { "iamessage" } else { "chatbot" }, "role": role, "subject": "x"}
    })
}

fn stamp_of(v: &Value) -> i64 {
    crate::mapping::parse_time("t", v["SystemModstamp"].as_str().unwrap_or("")).unwrap_or(0)
}

fn quoted_after<'a>(soql: &'a str, marker: &str) -> Vec<&'a str> {
    let Some(rest) = soql.split(marker).nth(1) else {
        return vec![];
    };
    let rest = rest.split(')').next().unwrap_or(rest);
    rest.split('\'').skip(1).step_by(2).collect()
}

impl Org {
    fn page(&mut self, all: Vec<Value>, offset: usize, locator: String) -> Value {
        let batch = if self.batch == 0 { 2000 } else { self.batch };
        let end = (offset + batch).min(all.len());
        let records: Vec<Value> = all[offset..end].to_vec();
        let done = end >= all.len();
        let total = all.len();
        if !done {
            self.results.insert(locator.clone(), all);
        }
        json!({
            "totalSize": total, "done": done, "records": records,
            "nextRecordsUrl": if done { Value::Null } else { json!(format!("/services/data/v62.0/query/{locator}-{end}")) }
        })
    }

    fn query(&mut self, soql: &str) -> Answer {
        for f in &self.missing_fields {
            if soql.contains(f.as_str()) {
                return Answer::status(
                    400,
                    &json!([{"errorCode": "INVALID_FIELD",
                             "message": format!("\n{soql}\n^\nERROR at Row:1:Column:1\nNo such column '{f}' on entity 'MessagingSession'.")}])
                    .to_string(),
                );
            }
        }
        if soql.contains("FROM GroupMember") {
            let me = quoted_after(soql, "UserOrGroupId =");
            let rows: Vec<Value> = if me.first() == Some(&ME) {
                vec![json!({"attributes": {"type": "GroupMember"}, "GroupId": MY_QUEUE})]
            } else {
                vec![]
            };
            return Answer::json(
                &json!({"totalSize": rows.len(), "done": true, "records": rows}).to_string(),
            );
        }
        if soql.contains("FROM Conversation ") {
            let ids = quoted_after(soql, "Id =");
            let rows: Vec<Value> = ids
                .iter()
                .filter_map(|id| id.strip_prefix("0dw")?.parse::<usize>().ok())
                .map(|n| json!({"Id": format!("0dw{n:015}"), "ConversationIdentifier": conversation_identifier(n)}))
                .collect();
            return Answer::json(
                &json!({"totalSize": rows.len(), "done": true, "records": rows}).to_string(),
            );
        }
        let mut rows: Vec<Value> = self.sessions.clone();
        if let Some(at) = soql.split("SystemModstamp >= ").nth(1) {
            let at = at.split(' ').next().unwrap_or("");
            let at = crate::mapping::parse_time("t", at).unwrap();
            rows.retain(|s| stamp_of(s) >= at);
        }
        if soql.contains("WHERE Id IN") {
            let ids = quoted_after(soql, "Id IN (");
            rows.retain(|s| ids.contains(&s["Id"].as_str().unwrap_or("")));
        }
        rows.sort_by_key(|s| (stamp_of(s), s["Id"].as_str().unwrap_or("").to_string()));
        if soql.starts_with("SELECT COUNT()") {
            return Answer::json(
                &json!({"totalSize": rows.len(), "done": true, "records": []}).to_string(),
            );
        }
        // A field the org lacks is not in its records either.
        for s in &mut rows {
            for f in &self.missing_fields {
                // A relationship the org refuses takes its parent object with it.
                let key = f.split('.').next().unwrap_or(f);
                s.as_object_mut().unwrap().remove(key);
            }
        }
        let locator = format!("01gL{}", self.results.len() + 1);
        Answer::json(&self.page(rows, 0, locator).to_string())
    }

    fn entries(&self, identifier: &str, query: &HashMap<String, String>) -> Answer {
        if self.connect_limited {
            return Answer::status(503, "");
        }
        let Some(list) = self.entries.get(identifier) else {
            return Answer::status(
                404,
                r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#,
            );
        };
        let start: i64 = query
            .get("startTimestamp")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let limit: usize = query
            .get("recordLimit")
            .and_then(|s| s.parse().ok())
            .unwrap_or(25);
        let mut rows: Vec<Value> = list
            .iter()
            .filter(|e| e["serverReceivedTimestamp"].as_i64().unwrap_or(0) >= start)
            .cloned()
            .collect();
        rows.sort_by_key(|e| e["serverReceivedTimestamp"].as_i64());
        rows.truncate(limit);
        Answer::json(&json!({ "conversationEntries": rows }).to_string())
    }

    fn answer(&mut self, line: &str) -> Answer {
        let target = line.split(' ').nth(1).unwrap_or("");
        let url = url::Url::parse(&format!("http://org{target}")).unwrap();
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let path = url.path().to_string();
        if line.starts_with("POST /services/oauth2/token") {
            return Answer::json(&crate::test_support::token_answer("org-token"));
        }
        if self.expire_sessions > 0 {
            self.expire_sessions -= 1;
            return Answer::status(
                401,
                r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
            );
        }
        self.api_used += 1;
        let limit = format!("api-usage={}/15000", self.api_used);
        let a = if path.ends_with("/query") {
            self.query(query.get("q").map(String::as_str).unwrap_or(""))
        } else if let Some(rest) = path.split("/query/").nth(1) {
            let (locator, offset) = rest.rsplit_once('-').unwrap_or((rest, "0"));
            match self.results.get(locator).cloned() {
                Some(all) => {
                    let page = self.page(all, offset.parse().unwrap_or(0), locator.to_string());
                    Answer::json(&page.to_string())
                }
                None => Answer::status(
                    400,
                    r#"[{"errorCode":"INVALID_QUERY_LOCATOR","message":"invalid query locator"}]"#,
                ),
            }
        } else if let Some(rest) = path.split("/connect/conversation/").nth(1) {
            let id = rest.trim_end_matches("/entries");
            self.entries(id, &query)
        } else {
            Answer::status(
                404,
                r#"[{"errorCode":"NOT_FOUND","message":"no such resource"}]"#,
            )
        };
        a.header("Sforce-Limit-Info", &limit)
    }
}

pub async fn serve(org: Arc<Mutex<Org>>) -> Server {
    serve_with(move |line, _| org.lock().unwrap().answer(line)).await
}
