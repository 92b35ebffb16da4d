//! The change stream's cursor. Today the feed polls MessagingSession by
//! `SystemModstamp`; the Pub/Sub subscription to `MessagingSessionChangeEvent` will
//! replace it with the replay id of the last event. Both are stored under the same
//! stream name, each in its own form, so a stored cursor says which source wrote it.

use baton_core::model::Millis;

const MODSTAMP: &str = "modstamp:";
const REPLAY: &str = "replay:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Sessions changed at or after `at` (UTC ms), less `ids`: those already delivered
    /// whose `SystemModstamp` is exactly `at` (a query for `>= at` meets them again).
    Modstamp { at: Millis, ids: Vec<String> },
    /// A Pub/Sub replay id (opaque bytes, base64 as the API's JSON gives them).
    Replay(String),
}

impl Cursor {
    pub fn parse(raw: &str) -> Option<Cursor> {
        if let Some(rest) = raw.strip_prefix(MODSTAMP) {
            let (at, ids) = rest.split_once('|').unwrap_or((rest, ""));
            let at = crate::mapping::parse_time("cursor", at).ok()?;
            let ids = ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            return Some(Cursor::Modstamp { at, ids });
        }
        raw.strip_prefix(REPLAY)
            .filter(|r| !r.is_empty())
            .map(|r| Cursor::Replay(r.to_string()))
    }

    pub fn format(&self) -> String {
        match self {
            Cursor::Modstamp { at, ids } => format!(
                "{MODSTAMP}{}|{}",
                crate::mapping::soql_time(*at),
                ids.join(",")
            ),
            Cursor::Replay(r) => format!("{REPLAY}{r}"),
        }
    }
}

/// The transcript cursor: where the next Connect read starts (`startTimestamp`, UTC ms).
pub fn entries_cursor(at: Millis) -> String {
    format!("entries:{at}")
}

pub fn parse_entries_cursor(raw: &str) -> Option<Millis> {
    raw.strip_prefix("entries:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor::Modstamp {
            at: 1_795_000_000_123,
            ids: vec!["0Mw1".into(), "0Mw2".into()],
        };
        assert_eq!(Cursor::parse(&c.format()), Some(c));
        let empty = Cursor::Modstamp { at: 0, ids: vec![] };
        assert_eq!(empty.format(), "modstamp:1970-01-01T00:00:00.000Z|");
        assert_eq!(Cursor::parse(&empty.format()), Some(empty));
        let r = Cursor::Replay("AAAAAAAABCE=".into());
        assert_eq!(Cursor::parse(&r.format()), Some(r));
        assert_eq!(Cursor::parse("something else"), None);
        assert_eq!(parse_entries_cursor(&entries_cursor(42)), Some(42));
        assert_eq!(parse_entries_cursor("sunco:x"), None);
    }
}
