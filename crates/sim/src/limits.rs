//! Zendesk-like rate limits (a per-minute account budget and a tighter one for
//! incremental exports) and switchable faults.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per window for the whole account; `None` is unlimited.
    pub account_per_window: Option<u32>,
    /// Incremental export requests per window (Zendesk: 10 per minute).
    pub export_per_window: Option<u32>,
    /// Zendesk counts per minute; tests shorten the window to stay fast.
    #[serde(with = "secs")]
    pub window: Duration,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)?))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            account_per_window: Some(700),
            export_per_window: Some(10),
            window: Duration::from_secs(60),
        }
    }
}

impl Limits {
    pub fn unlimited() -> Self {
        Self {
            account_per_window: None,
            export_per_window: None,
            window: Duration::from_secs(60),
        }
    }
}

/// Faults served to the next requests, each counted down as it is served.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Answer 503 with `Retry-After: 1`.
    pub server_errors: u32,
    /// Answer 500 without any hint.
    pub internal_errors: u32,
    /// Answer 429 with `Retry-After` of this many seconds...
    pub rate_limit_secs: u64,
    /// ...to this many requests.
    pub rate_limits: u32,
    /// Delay this many requests by `slow_ms`.
    pub slow: u32,
    pub slow_ms: u64,
    /// Close the connection before any body byte.
    pub drops: u32,
    /// Send half the body, then close the connection.
    pub truncations: u32,
    /// Answer 404 on the conversation log (an account without it), until switched back.
    pub no_conversation_log: bool,
    /// Corrupt this share (0 to 1) of the fields of the records served (tickets, users,
    /// groups, comments, log events; not the envelopes), until switched back: a string
    /// where a number was, an empty date, a number where text was. Which fields is a
    /// function of the seed and the record, so the same record is broken the same way
    /// on every answer, as a bad record in a real account would be.
    pub corrupt_share: f64,
    /// Tickets this agent may not read: their comments and conversation log answer 403
    /// (a restricted ticket), until switched back.
    pub forbidden_tickets: Vec<u64>,
    /// Tickets whose comments and conversation log answer 200 with a page that is not
    /// the API's shape (a broken proxy, a half-migrated record), until switched back.
    pub garbled_tickets: Vec<u64>,
    /// Do the work, then close the connection without the answer (a timeout after send).
    pub lost_answers: u32,
    /// The service is down: every API request's connection closes, until switched back.
    pub down: bool,
    /// Writes (PUT) are done at once but answered this much later, until switched back:
    /// a client that times out, or a second deliverer, races a write that landed.
    pub write_delay_ms: u64,
    /// Do this many writes, then close the connection without the answer.
    pub lost_write_answers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServerError,
    InternalError,
    RateLimit(u64),
    Slow(u64),
    Drop,
    Truncate,
    LoseAnswer,
}

impl Faults {
    /// The fault for a write, before the general ones: (answer lost, answer delay).
    pub fn take_write(&mut self) -> (bool, u64) {
        let lost = self.lost_write_answers > 0;
        self.lost_write_answers = self.lost_write_answers.saturating_sub(1);
        (lost, self.write_delay_ms)
    }

    pub fn take(&mut self) -> Option<Fault> {
        fn dec(n: &mut u32) -> bool {
            if *n > 0 {
                *n -= 1;
                true
            } else {
                false
            }
        }
        if self.down {
            Some(Fault::Drop)
        } else if dec(&mut self.lost_answers) {
            Some(Fault::LoseAnswer)
        } else if dec(&mut self.rate_limits) {
            Some(Fault::RateLimit(self.rate_limit_secs.max(1)))
        } else if dec(&mut self.server_errors) {
            Some(Fault::ServerError)
        } else if dec(&mut self.internal_errors) {
            Some(Fault::InternalError)
        } else if dec(&mut self.drops) {
            Some(Fault::Drop)
        } else if dec(&mut self.truncations) {
            Some(Fault::Truncate)
        } else if dec(&mut self.slow) {
            Some(Fault::Slow(self.slow_ms))
        } else {
            None
        }
    }
}

pub(crate) struct Limiter {
    limits: Limits,
    started: Instant,
    used: u32,
    export_used: u32,
    /// Requests that arrived in this window, throttled ones included: what the client
    /// sent, as opposed to what the limiter let through.
    received: u32,
    export_received: u32,
}

pub(crate) enum Verdict {
    Allowed {
        limit: Option<u32>,
        remaining: Option<u32>,
    },
    Throttled {
        retry_after_secs: u64,
    },
}

impl Limiter {
    /// Requests received in the current window, and exports among them.
    pub fn received(&self) -> (u32, u32) {
        (self.received, self.export_received)
    }

    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            started: Instant::now(),
            used: 0,
            export_used: 0,
            received: 0,
            export_received: 0,
        }
    }

    /// Counts a request, or says how long until the window resets.
    pub fn check(&mut self, export: bool) -> (Verdict, u32) {
        if self.started.elapsed() >= self.limits.window {
            self.started = Instant::now();
            self.used = 0;
            self.export_used = 0;
            self.received = 0;
            self.export_received = 0;
        }
        self.received += 1;
        self.export_received += u32::from(export);
        let left = self.limits.window.saturating_sub(self.started.elapsed());
        let retry = Verdict::Throttled {
            retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        };
        if let Some(budget) = self.limits.account_per_window {
            if self.used >= budget {
                return (retry, self.used);
            }
        }
        if export {
            if let Some(budget) = self.limits.export_per_window {
                if self.export_used >= budget {
                    return (retry, self.used);
                }
            }
            self.export_used += 1;
        }
        self.used += 1;
        let verdict = Verdict::Allowed {
            limit: self.limits.account_per_window,
            remaining: self.limits.account_per_window.map(|b| b - self.used),
        };
        (verdict, self.used)
    }
}
