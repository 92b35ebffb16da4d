//! The Zendesk Support API client: auth, retries that honour `Retry-After`, adaptive
//! pacing from `X-Rate-Limit-Remaining`, and a count of every request by endpoint.

use crate::error::ZendeskError;
use crate::wire;
use backon::{BackoffBuilder, ExponentialBuilder};
use baton_core::sync::StatusHandle;
use baton_core::Sensitive;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Auth {
    /// `{email}/token:{token}` basic auth.
    ApiToken {
        email: String,
        token: Sensitive<String>,
    },
    OAuth {
        token: Sensitive<String>,
    },
    /// Sunshine Conversations: an app key id and its secret.
    Basic {
        user: String,
        secret: Sensitive<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::ApiToken { email, .. } => write!(f, "ApiToken({email})"),
            Auth::OAuth { .. } => f.write_str("OAuth"),
            Auth::Basic { user, .. } => write!(f, "Basic({user})"),
        }
    }
}

/// Requests sent, by endpoint, and the last rate-limit headers seen.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Usage {
    pub requests: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limited: u64,
    pub rate_limit: Option<u64>,
    pub rate_limit_remaining: Option<u64>,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    account: String,
    auth: Auth,
    usage: Arc<Mutex<Usage>>,
    status: Option<StatusHandle>,
    /// Attempts for transient failures (5xx, timeouts, broken bodies) per request.
    pub max_attempts: usize,
    /// Rate-limit waits per request before giving up to the caller.
    pub max_rate_limit_waits: usize,
    /// The window Zendesk's budget is counted over (a minute).
    pub rate_window: Duration,
}

/// `/api/v2/tickets/123/comments` → `/api/v2/tickets/{id}/comments`, so counts group by endpoint.
fn endpoint_name(method: &Method, path: &str) -> String {
    let shape: Vec<&str> = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

fn retry_after(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

impl Client {
    pub fn new(base_url: &str, account: &str, auth: Auth) -> Result<Self, ZendeskError> {
        let base = base_url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|e| ZendeskError::Invalid {
            endpoint: base.clone(),
            reason: format!("not a URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ZendeskError::Invalid {
                endpoint: base,
                reason: "the URL must start with https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("Baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ZendeskError::Invalid {
                endpoint: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            base,
            account: account.to_string(),
            auth,
            usage: Arc::default(),
            status: None,
            max_attempts: 5,
            max_rate_limit_waits: 20,
            rate_window: Duration::from_secs(60),
        })
    }

    /// Report rate-limit waits to this account's status.
    pub fn with_status(mut self, status: StatusHandle) -> Self {
        self.status = Some(status);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn usage(&self) -> Usage {
        self.usage.lock().expect("usage lock").clone()
    }

    fn host(&self) -> String {
        url::Url::parse(&self.base)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| self.base.clone())
    }

    /// When the account's budget runs low, spread the remaining requests out instead
    /// of spending them in a burst that starves the other reps' copies.
    fn pacing_delay(&self) -> Option<Duration> {
        let u = self.usage.lock().expect("usage lock");
        let (limit, remaining) = (u.rate_limit?, u.rate_limit_remaining?);
        if remaining * 10 >= limit {
            return None;
        }
        Some((self.rate_window / remaining.max(1) as u32).min(Duration::from_secs(5)))
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ZendeskError> {
        self.send(Method::GET, path, query, None).await
    }

    /// Follows a cursor-paged list (`page[size]`, `page[after]`) from `after` on, handing
    /// each page to `each`, until the list ends or `each` answers `false`. Returns the last
    /// `after_cursor` seen (or `after` when none came), where the next read resumes.
    pub async fn each_page<T: DeserializeOwned + wire::Paged>(
        &self,
        path: &str,
        query: &[(&str, String)],
        size: u32,
        mut after: Option<String>,
        mut each: impl FnMut(T) -> Result<bool, ZendeskError>,
    ) -> Result<Option<String>, ZendeskError> {
        loop {
            let mut q = query.to_vec();
            q.push(("page[size]", size.to_string()));
            if let Some(a) = &after {
                q.push(("page[after]", a.clone()));
            }
            let page: T = self.get(path, &q).await?;
            let meta = page.meta().clone();
            let more = each(page)?;
            // Only a new cursor moves on: `has_more` without one would read the same page again.
            match meta.after_cursor {
                Some(a) => after = Some(a),
                None => return Ok(after),
            }
            if !(more && meta.has_more) {
                return Ok(after);
            }
        }
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ZendeskError> {
        self.send(Method::PUT, path, &[], Some(body)).await
    }

    /// One request, retried: transient failures on a jittered exponential backoff,
    /// rate limits after exactly the `Retry-After` the server asked for.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ZendeskError> {
        let endpoint = endpoint_name(&method, path);
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(20))
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut rate_waits = 0;
        loop {
            if let Some(d) = self.pacing_delay() {
                tokio::time::sleep(d).await;
            }
            let err = match self.attempt(&method, path, &endpoint, query, body).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let wait = match &err {
                ZendeskError::RateLimited {
                    retry_after_secs, ..
                } if rate_waits < self.max_rate_limit_waits => {
                    rate_waits += 1;
                    self.usage.lock().expect("usage lock").rate_limited += 1;
                    let d = Duration::from_secs(*retry_after_secs);
                    if let Some(s) = &self.status {
                        s.rate_limited(d, "Zendesk");
                    }
                    d
                }
                // Writes are not retried blindly: the outbox decides (it checks first).
                e if e.is_transient()
                    && method == Method::GET
                    && !matches!(e, ZendeskError::RateLimited { .. }) =>
                {
                    match backoff.next() {
                        Some(d) => d,
                        None => return Err(err),
                    }
                }
                _ => return Err(err),
            };
            tracing::debug!(endpoint, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
            self.usage.lock().expect("usage lock").retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        endpoint: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ZendeskError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.request(method.clone(), &url).query(query);
        req = match &self.auth {
            Auth::ApiToken { email, token } => {
                req.basic_auth(format!("{email}/token"), Some(token.expose()))
            }
            Auth::OAuth { token } => req.bearer_auth(token.expose()),
            Auth::Basic { user, secret } => req.basic_auth(user, Some(secret.expose())),
        };
        if let Some(b) = body {
            req = req.json(b);
        }
        *self
            .usage
            .lock()
            .expect("usage lock")
            .requests
            .entry(endpoint.to_string())
            .or_default() += 1;
        let resp = req.send().await.map_err(|e| ZendeskError::Unreachable {
            host: self.host(),
            // reqwest's text can contain the URL, never the auth header.
            reason: if e.is_timeout() {
                "timed out".into()
            } else if e.is_connect() {
                "connection refused or failed".into()
            } else {
                "connection broken".into()
            },
        })?;
        {
            let mut u = self.usage.lock().expect("usage lock");
            if let Some(l) = header_u64(&resp, "x-rate-limit") {
                u.rate_limit = Some(l);
            }
            if let Some(r) = header_u64(&resp, "x-rate-limit-remaining") {
                u.rate_limit_remaining = Some(r);
            }
        }
        let status = resp.status();
        let endpoint = endpoint.to_string();
        match status {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ZendeskError::Auth {
                    account: self.account.clone(),
                    status: status.as_u16(),
                })
            }
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(ZendeskError::RateLimited {
                    endpoint,
                    retry_after_secs: retry_after(&resp).unwrap_or(60),
                })
            }
            StatusCode::SERVICE_UNAVAILABLE if retry_after(&resp).is_some() => {
                return Err(ZendeskError::RateLimited {
                    endpoint,
                    retry_after_secs: retry_after(&resp).unwrap_or(1),
                })
            }
            StatusCode::NOT_FOUND => return Err(ZendeskError::NotFound { endpoint }),
            StatusCode::CONFLICT => {
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                return Err(ZendeskError::Conflict {
                    current_updated_at: body["details"]["updated_at"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                });
            }
            s if s.is_server_error() => {
                return Err(ZendeskError::Server {
                    endpoint,
                    status: s.as_u16(),
                })
            }
            s => {
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                return Err(ZendeskError::Rejected {
                    endpoint,
                    status: s.as_u16(),
                    reason: wire::error_text(&body),
                });
            }
        }
        let bytes = resp.bytes().await.map_err(|_| ZendeskError::Invalid {
            endpoint: endpoint.clone(),
            reason: "the response body was cut off".into(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ZendeskError::Invalid {
            endpoint,
            reason: format!("malformed JSON: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_group_by_shape_and_auth_debug_hides_the_token() {
        assert_eq!(
            endpoint_name(&Method::GET, "/api/v2/tickets/4812/comments"),
            "GET /api/v2/tickets/{id}/comments"
        );
        let auth = Auth::ApiToken {
            email: "a@b.c".into(),
            token: Sensitive::new("canary-123".into()),
        };
        assert!(!format!("{auth:?}").contains("canary-123"));
    }
}
