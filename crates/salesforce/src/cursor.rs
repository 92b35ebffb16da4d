//! The change stream's cursor: either a `SystemModstamp` to poll from, or the replay id
//! of the last Pub/Sub event the cache has, with the commit time of what it covers (so
//! polling can take over from there when Pub/Sub is unavailable). Both are stored under
//! the same stream name, each in its own form, so a stored cursor says which wrote it.

use baton_core::model::Millis;

const MODSTAMP: &str = "modstamp:";
const REPLAY: &str = "replay:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Sessions changed at or after `at` (UTC ms), less `ids`: those already delivered
    /// whose `SystemModstamp` is exactly `at` (a query for `>= at` meets them again).
    Modstamp { at: Millis, ids: Vec<String> },
    /// A Pub/Sub replay id (opaque bytes), and the time polling would resume from: every
    /// change committed before it is in the cache.
    Replay { id: Vec<u8>, at: Millis },
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
        let (hex, at) = raw.strip_prefix(REPLAY)?.split_once('|')?;
        Some(Cursor::Replay {
            id: from_hex(hex).filter(|id| !id.is_empty())?,
            at: at.parse().ok()?,
        })
    }

    pub fn format(&self) -> String {
        match self {
            Cursor::Modstamp { at, ids } => format!(
                "{MODSTAMP}{}|{}",
                crate::mapping::soql_time(*at),
                ids.join(",")
            ),
            Cursor::Replay { id, at } => format!("{REPLAY}{}|{at}", to_hex(id)),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
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
        let r = Cursor::Replay {
            id: vec![0, 0, 0, 0, 0, 0, 0x12, 0xab],
            at: 1_795_000_000_123,
        };
        assert_eq!(r.format(), "replay:00000000000012ab|1795000000123");
        assert_eq!(Cursor::parse(&r.format()), Some(r));
        for bad in [
            "replay:",
            "replay:0|1",
            "replay:zz|1",
            "replay:00|x",
            "replay:|5",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
        assert_eq!(Cursor::parse("something else"), None);
        assert_eq!(parse_entries_cursor(&entries_cursor(42)), Some(42));
        assert_eq!(parse_entries_cursor("sunco:x"), None);
    }
}
