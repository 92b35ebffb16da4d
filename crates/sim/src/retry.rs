//! When a webhook request is tried again, as each vendor documents it. Pure: the
//! delivery loop reports what an attempt got, this says what comes next, in the vendor's
//! own (unscaled) time.
//!
//! - **Zendesk** ("Webhooks" API introduction, "Webhook retries"): a request times out
//!   after 12 s; a timeout is retried up to 5 times; a 409 is retried up to 3 times; a
//!   429 or 503 is retried when its `Retry-After` is under 60 s, after that wait. Nothing
//!   else is retried (other statuses, refused connections). The docs name no wait for
//!   409s and timeouts and no cap for 429/503: the simulator waits 1 s, 2 s, 3 s… and
//!   caps 429/503 at 3 retries, so a receiver that always throttles still ends.
//!   Zendesk's circuit breaker (a webhook paused after most of its requests fail) is not
//!   simulated.
//! - **Sunshine Conversations** (its OpenAPI, "Retry policy"): up to 5 attempts over a
//!   15-minute window at exponentially growing intervals (1, 2, 4, 8 minutes here);
//!   no answer within 20 s is a failure and is retried; 400, 401, 403, 404 and 406 are
//!   non-recoverable and never retried; anything else but a 2xx is retried.

use std::time::Duration;

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An HTTP answer, with its `Retry-After` in seconds when it had one.
    Answered {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// No answer within the vendor's timeout.
    TimedOut,
    /// No connection (refused, reset before an answer).
    Unreachable,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Delivered,
    /// Given up: not retryable, or out of retries.
    Failed,
    /// Try again after this long (vendor time, before scaling).
    RetryIn(Duration),
}

/// Which vendor's rules a request follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vendor {
    Zendesk,
    Sunco,
}

/// The attempts so far of one request, by why they failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tries {
    pub attempts: u32,
    conflicts: u32,
    throttles: u32,
    timeouts: u32,
}

const ZENDESK_TIMEOUT_RETRIES: u32 = 5;
const ZENDESK_CONFLICT_RETRIES: u32 = 3;
const ZENDESK_THROTTLE_RETRIES: u32 = 3;
const ZENDESK_MAX_RETRY_AFTER_SECS: u64 = 60;
const SUNCO_ATTEMPTS: u32 = 5;
const SUNCO_NON_RECOVERABLE: [u16; 5] = [400, 401, 403, 404, 406];

impl Vendor {
    /// How long an attempt waits for an answer.
    pub fn timeout(self) -> Duration {
        match self {
            Vendor::Zendesk => Duration::from_secs(12),
            Vendor::Sunco => Duration::from_secs(20),
        }
    }

    /// Counts the attempt that got `outcome` and says what comes next.
    pub fn next(self, outcome: Outcome, tries: &mut Tries) -> Next {
        tries.attempts += 1;
        if let Outcome::Answered { status, .. } = outcome {
            if (200..300).contains(&status) {
                return Next::Delivered;
            }
        }
        match self {
            Vendor::Zendesk => zendesk(outcome, tries),
            Vendor::Sunco => sunco(outcome, tries),
        }
    }
}

/// A retry within `budget`, counted in `used`, after `wait`.
fn within(used: &mut u32, budget: u32, wait: Duration) -> Next {
    if *used >= budget {
        return Next::Failed;
    }
    *used += 1;
    Next::RetryIn(wait)
}

fn zendesk(outcome: Outcome, tries: &mut Tries) -> Next {
    let backoff = Duration::from_secs(u64::from(tries.attempts));
    match outcome {
        Outcome::TimedOut => within(&mut tries.timeouts, ZENDESK_TIMEOUT_RETRIES, backoff),
        Outcome::Answered { status: 409, .. } => {
            within(&mut tries.conflicts, ZENDESK_CONFLICT_RETRIES, backoff)
        }
        Outcome::Answered {
            status: 429 | 503,
            retry_after_secs: Some(secs),
        } if secs < ZENDESK_MAX_RETRY_AFTER_SECS => within(
            &mut tries.throttles,
            ZENDESK_THROTTLE_RETRIES,
            Duration::from_secs(secs),
        ),
        _ => Next::Failed,
    }
}

fn sunco(outcome: Outcome, tries: &Tries) -> Next {
    if let Outcome::Answered { status, .. } = outcome {
        if SUNCO_NON_RECOVERABLE.contains(&status) {
            return Next::Failed;
        }
    }
    if tries.attempts >= SUNCO_ATTEMPTS {
        return Next::Failed;
    }
    // 1, 2, 4, 8 minutes: the four waits of five attempts fill the 15-minute window.
    Next::RetryIn(Duration::from_secs(60 << (tries.attempts - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, retry_after_secs: Option<u64>) -> Outcome {
        Outcome::Answered {
            status,
            retry_after_secs,
        }
    }

    /// Runs `outcome` until the rules stop, returning the waits asked for and the end.
    fn run(vendor: Vendor, outcome: Outcome) -> (Vec<u64>, Next) {
        let mut tries = Tries::default();
        let mut waits = vec![];
        loop {
            match vendor.next(outcome, &mut tries) {
                Next::RetryIn(d) => waits.push(d.as_secs()),
                end => return (waits, end),
            }
        }
    }

    #[test]
    fn zendesk_retries_what_its_docs_name_and_nothing_else() {
        assert_eq!(
            run(Vendor::Zendesk, answered(200, None)),
            (vec![], Next::Delivered)
        );
        assert_eq!(
            run(Vendor::Zendesk, answered(204, None)),
            (vec![], Next::Delivered)
        );
        assert_eq!(
            run(Vendor::Zendesk, answered(409, None)),
            (vec![1, 2, 3], Next::Failed),
            "409: three retries"
        );
        assert_eq!(
            run(Vendor::Zendesk, Outcome::TimedOut),
            (vec![1, 2, 3, 4, 5], Next::Failed),
            "timeouts: five retries"
        );
        for status in [429, 503] {
            assert_eq!(
                run(Vendor::Zendesk, answered(status, Some(7))),
                (vec![7, 7, 7], Next::Failed),
                "{status} waits its Retry-After"
            );
            assert_eq!(
                run(Vendor::Zendesk, answered(status, Some(60))).0,
                Vec::<u64>::new()
            );
            assert_eq!(
                run(Vendor::Zendesk, answered(status, None)).0,
                Vec::<u64>::new()
            );
        }
        for status in [400, 401, 404, 500, 502, 504, 301] {
            assert_eq!(
                run(Vendor::Zendesk, answered(status, Some(1))).0,
                Vec::<u64>::new(),
                "{status}"
            );
        }
        assert_eq!(
            run(Vendor::Zendesk, Outcome::Unreachable).0,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn zendesk_counts_each_reason_on_its_own() {
        let mut tries = Tries::default();
        for _ in 0..3 {
            assert!(matches!(
                Vendor::Zendesk.next(answered(409, None), &mut tries),
                Next::RetryIn(_)
            ));
        }
        assert!(matches!(
            Vendor::Zendesk.next(Outcome::TimedOut, &mut tries),
            Next::RetryIn(_)
        ));
        assert_eq!(
            Vendor::Zendesk.next(answered(409, None), &mut tries),
            Next::Failed
        );
    }

    #[test]
    fn sunco_tries_five_times_over_fifteen_minutes_unless_told_not_to() {
        for outcome in [
            answered(500, None),
            answered(503, Some(1)),
            answered(429, None),
            Outcome::TimedOut,
            Outcome::Unreachable,
        ] {
            let (waits, end) = run(Vendor::Sunco, outcome);
            assert_eq!(waits, vec![60, 120, 240, 480], "{outcome:?}");
            assert_eq!(waits.iter().sum::<u64>(), 15 * 60);
            assert_eq!(end, Next::Failed);
        }
        for status in [400, 401, 403, 404, 406] {
            assert_eq!(
                run(Vendor::Sunco, answered(status, None)),
                (vec![], Next::Failed)
            );
        }
        assert_eq!(
            run(Vendor::Sunco, answered(201, None)),
            (vec![], Next::Delivered)
        );
        assert_eq!(Vendor::Sunco.timeout(), Duration::from_secs(20));
        assert_eq!(Vendor::Zendesk.timeout(), Duration::from_secs(12));
    }
}
