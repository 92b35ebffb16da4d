//! The wire form of the world, shaped as the Zendesk Support OpenAPI spec says.

use crate::world::*;
use serde_json::{json, Value};

pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn user(base: &str, u: &User) -> Value {
    let mut v = json!({
        "id": u.id,
        "url": format!("{base}/api/v2/users/{}.json", u.id),
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "active": true,
        "verified": true,
        "locale": "en-US",
        "time_zone": "UTC",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    });
    // A caller OpenCX did not know is a contact with only their number: no email.
    if u.email.is_empty() {
        v.as_object_mut().expect("an object").remove("email");
        v["phone"] = json!(u.name);
    }
    v
}

pub fn group(g: &Group) -> Value {
    json!({ "id": g.id, "name": g.name, "deleted": false, "default": false, "is_public": true,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" })
}

pub fn ticket_field(base: &str, f: &TicketField, position: usize) -> Value {
    json!({
        "id": f.id,
        "url": format!("{base}/api/v2/ticket_fields/{}.json", f.id),
        "type": "text",
        "title": f.title,
        "raw_title": f.title,
        "description": format!("Set by the OpenCX handoff ({})", f.key),
        "active": true,
        "required": false,
        "visible_in_portal": false,
        "editable_in_portal": false,
        "position": position,
        "removable": true,
        "tag": null,
        "regexp_for_validation": null,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    })
}

pub fn ticket(base: &str, t: &Ticket) -> Value {
    let custom: Vec<Value> = t
        .custom_fields
        .iter()
        .map(|(id, v)| json!({ "id": id, "value": v }))
        .collect();
    json!({
        "id": t.id,
        "url": format!("{base}/api/v2/tickets/{}.json", t.id),
        "external_id": null,
        "via": { "channel": t.via_channel, "source": { "from": {}, "to": {}, "rel": null } },
        "created_at": time(t.created_at),
        "updated_at": time(t.updated_at),
        "generated_timestamp": t.updated_at.timestamp(),
        "type": null,
        "subject": t.subject,
        "raw_subject": t.subject,
        "description": t.events.first().map(|e| e.text.as_str()).unwrap_or(""),
        "priority": t.priority,
        "status": t.status,
        "requester_id": t.requester_id,
        "submitter_id": t.requester_id,
        "assignee_id": t.assignee_id,
        "organization_id": null,
        "group_id": t.group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "problem_id": null,
        "has_incidents": false,
        "is_public": true,
        "due_at": null,
        "tags": t.tags,
        "custom_fields": custom,
        "fields": custom,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "ticket_form_id": null,
        "brand_id": null,
        "allow_channelback": false,
        "allow_attachments": true,
        "from_messaging_channel": t.kind.is_messaging(),
    })
}

fn attachment(base: &str, a: &Attachment) -> Value {
    let url = format!("{base}/attachments/token/{}/?name={}", a.id, a.file_name);
    json!({
        "id": a.id,
        "url": format!("{base}/api/v2/attachments/{}.json", a.id),
        "file_name": a.file_name,
        "content_url": url,
        "mapped_content_url": url,
        "content_type": a.content_type,
        "size": a.size,
        "inline": false,
        "deleted": false,
        "thumbnails": [],
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Zendesk renders comments as HTML: paragraphs per blank-line block, `<br>` per line.
pub fn html_body(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape_html).collect();
            format!("<p dir=\"auto\">{}</p>", lines.join("<br>"))
        })
        .collect();
    format!(
        "<div class=\"zd-comment\" dir=\"auto\">{}</div>",
        paragraphs.join("")
    )
}

pub fn comment(base: &str, t: &Ticket, e: &Event) -> Option<Value> {
    let Wire::Comment { author_id, public } = &e.wire else {
        return None;
    };
    Some(json!({
        "id": e.id,
        "type": "Comment",
        "author_id": author_id,
        "body": e.text,
        "html_body": html_body(&e.text),
        "plain_body": e.text,
        "public": public,
        "attachments": e.attachments.iter().map(|a| attachment(base, a)).collect::<Vec<_>>(),
        "audit_id": e.id + 1,
        "via": { "channel": t.via_channel, "source": { "from": {}, "to": {}, "rel": null } },
        "created_at": time(e.created_at),
        "metadata": { "system": {}, "custom": {} },
    }))
}

pub fn log_event(base: &str, w: &World, e: &Event) -> Value {
    let attachments: Vec<Value> = e.attachments.iter().map(|a| attachment(base, a)).collect();
    match &e.wire {
        Wire::Message {
            author,
            author_name,
            author_id,
        } => {
            let mut a = json!({ "type": author, "display_name": author_name });
            if let Some(id) = author_id {
                a["zen:support:user_id"] = json!(id);
            }
            if *author == AuthorType::Bot {
                a["zen:sunco:user_id"] = json!("opencx-ai");
            }
            json!({
                "id": format!("{:024x}", e.id),
                "type": "Messaging::ConversationMessage",
                "reference": format!("zen:sunco:conversation_message:{:024x}", e.id),
                "created_at": time(e.created_at),
                "received_at": time(e.created_at),
                "author": a,
                "content": { "type": "text", "text": e.text },
                "metadata": { "custom": {}, "system": {}, "ticket_version": 0 },
                "attachments": attachments,
            })
        }
        Wire::Activity { kind } => json!({
            "id": format!("{:024x}", e.id),
            "type": "Messaging::ConversationMessage",
            "reference": format!("zen:sunco:conversation_message:{:024x}", e.id),
            "created_at": time(e.created_at),
            "received_at": time(e.created_at),
            "author": { "type": "bot", "display_name": "Zendesk" },
            "content": { "type": "text", "text": e.text, "activity": { "type": kind } },
            "metadata": { "custom": {}, "system": {}, "ticket_version": 0 },
            "attachments": attachments,
        }),
        Wire::Comment { author_id, public } => json!({
            "id": format!("{:024x}", e.id),
            "type": "Comment",
            "reference": format!("zen:ticket_event:{}", e.id),
            "created_at": time(e.created_at),
            "author": {
                // The log calls Support end users `user`, staff `agent`.
                "type": match w.users.get(author_id).map(|u| u.role) {
                    Some("end-user") => "user",
                    _ => "agent",
                },
                "display_name": w.user_name(*author_id),
                "zen:support:user_id": author_id,
            },
            "content": { "type": "html", "body": html_body(&e.text) },
            "metadata": { "custom": {}, "system": {}, "public": public, "ticket_version": 0 },
            "attachments": attachments,
        }),
    }
}

/// A ticket audit that redacted a comment (`ListAuditsForTicket`).
pub fn redaction_audit(t: &Ticket, r: &Redaction, author_id: u64) -> Value {
    json!({
        "id": r.audit_id,
        "ticket_id": t.id,
        "created_at": time(r.created_at),
        "author_id": author_id,
        "via": { "channel": "web", "source": { "from": {}, "to": {}, "rel": null } },
        "metadata": { "system": {}, "custom": {} },
        "events": [{ "id": r.audit_id, "type": "CommentRedactionEvent", "comment_id": r.comment_id }],
    })
}

pub fn error(code: &str, title: &str) -> Value {
    json!({ "errors": [{ "code": code, "title": title }] })
}

/// A Sunshine Conversations message (`message` in the Sunco spec).
pub fn sunco_message(base: &str, e: &Event) -> Option<Value> {
    if let Wire::Activity { kind } = &e.wire {
        return Some(json!({
            "id": format!("{:024x}", e.id),
            "received": e.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "author": { "type": "business", "displayName": "Zendesk", "subtypes": ["activity"] },
            "activity": { "type": kind },
            "content": { "type": "text", "text": e.text },
            "source": { "type": "zd:agentWorkspace" },
        }));
    }
    let Wire::Message {
        author,
        author_name,
        ..
    } = &e.wire
    else {
        return None;
    };
    let author = match author {
        AuthorType::User => {
            json!({ "type": "user", "displayName": author_name, "userId": format!("{:024x}", e.id % 9973) })
        }
        AuthorType::Bot => {
            json!({ "type": "business", "displayName": author_name, "subtypes": ["AI"] })
        }
        AuthorType::Agent => {
            json!({ "type": "business", "displayName": author_name, "subtypes": ["agent"] })
        }
    };
    let content = match e.attachments.first() {
        Some(a) => json!({
            "type": "file",
            "text": e.text,
            "mediaUrl": format!("{base}/sc/attachments/{}/{}", a.id, a.file_name),
            "mediaType": a.content_type,
            "mediaSize": a.size,
            "altText": a.file_name,
        }),
        None => json!({ "type": "text", "text": e.text }),
    };
    Some(json!({
        "id": format!("{:024x}", e.id),
        "received": e.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "author": author,
        "content": content,
        "source": { "type": "api:conversations" },
    }))
}

pub fn group_membership(base: &str, id: u64, user_id: u64, group_id: u64, default: bool) -> Value {
    json!({
        "id": id,
        "url": format!("{base}/api/v2/group_memberships/{id}.json"),
        "user_id": user_id,
        "group_id": group_id,
        "default": default,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    })
}

/// Breaks about `share` of the leaf fields of one record, in place, the same way every
/// time for the same `seed` and `record` key (`ticket:7:3`, `comment:12`): a number
/// becomes a string, a time becomes empty, other text a number, a flag a string. Returns
/// how many fields it broke.
pub fn corrupt(value: &mut Value, share: f64, seed: u64, record: &str) -> u64 {
    fn walk(v: &mut Value, path: &mut String, share: f64, seed: u64, record: &str) -> u64 {
        match v {
            Value::Object(map) => map
                .iter_mut()
                .map(|(k, x)| {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    let n = walk(x, path, share, seed, record);
                    path.truncate(len);
                    n
                })
                .sum(),
            Value::Array(items) => items
                .iter_mut()
                .enumerate()
                .map(|(i, x)| {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let n = walk(x, path, share, seed, record);
                    path.truncate(len);
                    n
                })
                .sum(),
            Value::Null => 0,
            leaf => {
                let roll = unit(seed, record, path);
                if roll >= share {
                    return 0;
                }
                *leaf = match leaf.take() {
                    Value::Number(n) => Value::String(format!("{n}")),
                    Value::String(s) if chrono::DateTime::parse_from_rfc3339(&s).is_ok() => {
                        Value::String(String::new())
                    }
                    Value::String(_) => json!((roll * 1e9) as u64),
                    Value::Bool(b) => Value::String(b.to_string()),
                    other => other,
                };
                1
            }
        }
    }
    if share <= 0.0 {
        return 0;
    }
    walk(value, &mut String::new(), share, seed, record)
}

/// A number in [0, 1) from the seed, the record and the field: FNV-1a, then a
/// splitmix64 finish so nearby paths do not roll alike.
pub(crate) fn unit(seed: u64, record: &str, path: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in record.bytes().chain([0]).chain(path.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_is_a_share_of_the_fields_and_the_same_every_time() {
        let record = json!({ "id": 7, "subject": "Refund", "created_at": "2026-11-01T10:00:00Z",
                             "public": true, "tags": ["a", "b"], "via": { "channel": "web" } });
        let mut changed = 0;
        let mut fields = 0;
        for n in 0..2_000 {
            let key = format!("ticket:{n}");
            let mut a = record.clone();
            let mut b = record.clone();
            let broke = corrupt(&mut a, 0.1, 5, &key);
            assert_eq!(broke, corrupt(&mut b, 0.1, 5, &key));
            assert_eq!(a, b, "deterministic");
            changed += broke;
            fields += 7;
            if a["created_at"] != record["created_at"] {
                assert_eq!(a["created_at"], "", "a time becomes empty");
            }
            if a["id"] != record["id"] {
                assert_eq!(a["id"], "7", "a number becomes a string");
            }
        }
        let share = changed as f64 / fields as f64;
        assert!((0.08..0.12).contains(&share), "{share}");
        let mut untouched = record.clone();
        assert_eq!(corrupt(&mut untouched, 0.0, 5, "ticket:1"), 0);
        assert_eq!(untouched, record);
    }
}
