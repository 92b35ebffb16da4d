//! Zendesk-like rate limits (a per-minute account budget and a tighter one for
//! incremental exports) and switchable faults, for API answers and for webhooks.

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

pub(crate) mod secs {
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
    /// Webhooks: lose the next this-many requests (never sent).
    pub webhook_drops: u32,
    /// Webhooks: lose this share (0 to 1) of requests, until switched back. Which ones is
    /// a function of the seed, the target and the events carried, so the same run loses
    /// the same requests.
    pub webhook_drop_share: f64,
    /// Webhooks: send the next this-many requests twice (two invocations of one event).
    pub webhook_duplicates: u32,
    /// Webhooks: hold the next this-many requests, then send them all in reverse order.
    /// Switching it to 0 before that many arrived sends the held ones, reversed.
    pub webhook_reorders: u32,
    /// Webhooks: send each request this many ms after its event, until switched back.
    pub webhook_delay_ms: u64,
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

/// Whether the reorder fault holds a webhook request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    No,
    Keep,
    /// Keep it, and it is the last one: send everything held, out of order.
    KeepAndRelease,
}

/// What the webhook faults do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WebhookFate {
    pub drop: bool,
    pub duplicate: bool,
    pub hold: Hold,
    pub delay_ms: u64,
}

/// Counts one off `n`, saying whether there was one.
fn dec(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

impl Faults {
    /// The webhook faults for the request known as `key`, counted down. A dropped
    /// request takes no other fault.
    pub(crate) fn take_webhook(&mut self, key: &str, seed: u64) -> WebhookFate {
        let drop = dec(&mut self.webhook_drops)
            || (self.webhook_drop_share > 0.0
                && crate::json::unit(seed, "webhook", key) < self.webhook_drop_share);
        if drop {
            return WebhookFate {
                drop,
                duplicate: false,
                hold: Hold::No,
                delay_ms: 0,
            };
        }
        let hold = match dec(&mut self.webhook_reorders) {
            false => Hold::No,
            true if self.webhook_reorders == 0 => Hold::KeepAndRelease,
            true => Hold::Keep,
        };
        WebhookFate {
            drop,
            duplicate: dec(&mut self.webhook_duplicates),
            hold,
            delay_ms: self.webhook_delay_ms,
        }
    }

    /// The fault for a write, before the general ones: (answer lost, answer delay).
    pub fn take_write(&mut self) -> (bool, u64) {
        let lost = self.lost_write_answers > 0;
        self.lost_write_answers = self.lost_write_answers.saturating_sub(1);
        (lost, self.write_delay_ms)
    }

    pub fn take(&mut self) -> Option<Fault> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_faults_count_down_and_the_drop_share_is_the_seeds() {
        let mut f = Faults {
            webhook_drops: 1,
            webhook_duplicates: 1,
            webhook_reorders: 2,
            webhook_delay_ms: 40,
            ..Default::default()
        };
        let first = f.take_webhook("a", 1);
        assert!(first.drop);
        assert_eq!(
            (first.hold, first.delay_ms),
            (Hold::No, 0),
            "a lost request takes nothing else"
        );
        let second = f.take_webhook("b", 1);
        assert_eq!(
            second,
            WebhookFate {
                drop: false,
                duplicate: true,
                hold: Hold::Keep,
                delay_ms: 40
            }
        );
        assert_eq!(f.take_webhook("c", 1).hold, Hold::KeepAndRelease);
        let rest = f.take_webhook("d", 1);
        assert_eq!(
            (rest.drop, rest.duplicate, rest.hold),
            (false, false, Hold::No)
        );

        let share = |seed: u64| {
            let mut f = Faults {
                webhook_drop_share: 0.3,
                ..Default::default()
            };
            (0..2_000)
                .map(|n| f.take_webhook(&format!("hook:{n}"), seed).drop)
                .collect::<Vec<bool>>()
        };
        let lost = share(9);
        assert_eq!(lost, share(9), "the same seed loses the same requests");
        assert_ne!(lost, share(10));
        let fraction = lost.iter().filter(|d| **d).count() as f64 / lost.len() as f64;
        assert!((0.25..0.35).contains(&fraction), "{fraction}");
    }
}
