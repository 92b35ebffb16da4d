//! Comment redactions. Zendesk rewrites a redacted comment in place (the text becomes
//! `▇`) and records a `CommentRedactionEvent` audit; the ticket's `updated_at` moves, but
//! the transcript cursor only ever reads what is new. So for a ticket whose transcript is
//! cached, one request asks for its newest redaction audit, and a redaction newer than
//! the one last applied makes the transcript be read again from the start: the stored
//! messages are rewritten by id, and the search index with them.
//!
//! The id of the newest redaction applied travels in the stored transcript cursor,
//! `redacted:{audit id};{cursor}`, so no schema change is needed and a cursor stored by
//! an older Baton (no prefix) still reads.

use crate::client::Client;
use crate::error::ZendeskError;
use serde::Deserialize;

const PREFIX: &str = "redacted:";
pub const EVENT: &str = "CommentRedactionEvent";

/// The newest redaction already applied, and the transcript cursor proper.
pub fn split(cursor: Option<&str>) -> (Option<i64>, Option<&str>) {
    let Some(c) = cursor else {
        return (None, None);
    };
    match c
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(';'))
        .and_then(|(id, rest)| Some((id.parse().ok()?, rest)))
    {
        Some((id, rest)) => (Some(id), Some(rest).filter(|r| !r.is_empty())),
        None => (None, Some(c)),
    }
}

pub fn join(applied: Option<i64>, cursor: Option<String>) -> Option<String> {
    match applied {
        Some(id) => Some(format!("{PREFIX}{id};{}", cursor.unwrap_or_default())),
        None => cursor,
    }
}

#[derive(Debug, Deserialize)]
struct AuditsPage {
    #[serde(default)]
    audits: Vec<Audit>,
}

#[derive(Debug, Deserialize)]
struct Audit {
    id: i64,
    #[serde(default)]
    events: Vec<serde_json::Value>,
}

/// The id of the ticket's newest audit that redacted a comment, if any. Asks only for
/// redaction audits, newest first; the events are checked too, in case a server returns
/// audits of every kind.
pub async fn newest(client: &Client, ticket_id: &str) -> Result<Option<i64>, ZendeskError> {
    let path = format!(
        "/api/v2/tickets/{}/audits",
        crate::client::path_segment("ticket id", ticket_id)?
    );
    let query = [
        ("filter_events[]", EVENT.to_string()),
        ("sort_order", "desc".to_string()),
        ("page[size]", "100".to_string()),
    ];
    let page: AuditsPage = client.get(&path, &query).await?;
    Ok(page
        .audits
        .iter()
        .filter(|a| a.events.iter().any(|e| e["type"].as_str() == Some(EVENT)))
        .map(|a| a.id)
        .max())
}

/// Whether the cached transcript must be read again from the start.
pub fn must_reread(applied: Option<i64>, newest: Option<i64>) -> bool {
    match (applied, newest) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(n)) => n > a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_server::{serve, Answer};

    #[test]
    fn the_mark_rides_in_the_cursor_and_old_cursors_still_read() {
        assert_eq!(split(None), (None, None));
        assert_eq!(split(Some("abc")), (None, Some("abc")));
        assert_eq!(
            split(Some("sunco:m1|c2")),
            (None, Some("sunco:m1|c2")),
            "a Sunco cursor is not a mark"
        );
        let joined = join(Some(77), Some("sunco:m1|c2".into())).unwrap();
        assert_eq!(split(Some(&joined)), (Some(77), Some("sunco:m1|c2")));
        let empty = join(Some(5), None).unwrap();
        assert_eq!(split(Some(&empty)), (Some(5), None));
        assert_eq!(join(None, Some("x".into())).as_deref(), Some("x"));
    }

    #[test]
    fn only_a_newer_redaction_rereads() {
        assert!(!must_reread(None, None));
        assert!(!must_reread(Some(3), None));
        assert!(must_reread(None, Some(3)));
        assert!(!must_reread(Some(3), Some(3)));
        assert!(must_reread(Some(3), Some(4)));
    }

    #[tokio::test]
    async fn the_newest_redaction_is_found_among_any_audits() {
        let server = serve(vec![Answer::json(
            r#"{"audits":[
                {"id":30,"events":[{"id":1,"type":"Change"}]},
                {"id":20,"events":[{"id":2,"type":"CommentRedactionEvent","comment_id":7}]},
                {"id":10,"events":[{"id":3,"type":"CommentRedactionEvent","comment_id":6}]}
            ],"count":3,"next_page":null,"previous_page":null}"#,
        )])
        .await;
        let c = Client::new(
            &server.url,
            "acme",
            crate::Auth::OAuth {
                token: baton_core::Sensitive::new("t".into()),
            },
        )
        .unwrap();
        assert_eq!(newest(&c, "4812").await.unwrap(), Some(20));
        let line = server.requests.lock().unwrap()[0].clone();
        assert!(
            line.starts_with("GET /api/v2/tickets/4812/audits?")
                && line.contains("CommentRedactionEvent")
                && line.contains("sort_order=desc"),
            "{line}"
        );
    }
}
