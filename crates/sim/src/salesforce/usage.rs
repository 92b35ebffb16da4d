//! The org's API allocations: the daily total of REST requests (`Sforce-Limit-Info:
//! api-usage=N/M`, then 403 `REQUEST_LIMIT_EXCEEDED`) and the Connect conversation-entries
//! resource's own hourly limit (503 beyond it).

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfLimits {
    /// REST requests per `day` for the whole org; `None` is unlimited. Salesforce:
    /// 15,000 on Developer Edition, 100,000 + 1,000 per licence on Enterprise.
    pub daily_api_requests: Option<u32>,
    #[serde(with = "crate::limits::secs")]
    pub day: Duration,
    /// Conversation-entries requests per `hour` (per user and connected app in
    /// Salesforce; this org has one of each). The real figure is unpublished.
    pub connect_per_hour: Option<u32>,
    #[serde(with = "crate::limits::secs")]
    pub hour: Duration,
}

impl Default for SfLimits {
    fn default() -> Self {
        Self {
            daily_api_requests: Some(15_000),
            day: Duration::from_secs(86_400),
            connect_per_hour: Some(1_000),
            hour: Duration::from_secs(3_600),
        }
    }
}

impl SfLimits {
    pub fn unlimited() -> Self {
        Self {
            daily_api_requests: None,
            connect_per_hour: None,
            ..Self::default()
        }
    }
}

/// What the header shows as the maximum of an unlimited org.
const SHOWN_WHEN_UNLIMITED: u32 = 5_000_000;

pub(crate) struct Usage {
    limits: SfLimits,
    day_started: Instant,
    used: u32,
    hour_started: Instant,
    connect_used: u32,
}

impl Usage {
    pub fn new(limits: SfLimits) -> Self {
        Self {
            limits,
            day_started: Instant::now(),
            used: 0,
            hour_started: Instant::now(),
            connect_used: 0,
        }
    }

    fn roll(&mut self) {
        if self.day_started.elapsed() >= self.limits.day {
            self.day_started = Instant::now();
            self.used = 0;
        }
        if self.hour_started.elapsed() >= self.limits.hour {
            self.hour_started = Instant::now();
            self.connect_used = 0;
        }
    }

    /// Counts one REST request against the daily allocation; false when it is spent.
    pub fn spend(&mut self) -> bool {
        self.roll();
        if self
            .limits
            .daily_api_requests
            .is_some_and(|max| self.used >= max)
        {
            return false;
        }
        self.used += 1;
        true
    }

    /// Counts one conversation-entries request against its hourly limit; false when spent.
    pub fn spend_connect(&mut self) -> bool {
        self.roll();
        if self
            .limits
            .connect_per_hour
            .is_some_and(|max| self.connect_used >= max)
        {
            return false;
        }
        self.connect_used += 1;
        true
    }

    pub fn used(&self) -> u32 {
        self.used
    }

    /// The `Sforce-Limit-Info` header's value.
    pub fn header(&self) -> String {
        let max = self
            .limits
            .daily_api_requests
            .unwrap_or(SHOWN_WHEN_UNLIMITED);
        format!("api-usage={}/{max}", self.used)
    }
}
