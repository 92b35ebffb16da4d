//! The Zendesk Support API client: auth, retries that honour `Retry-After`, adaptive
//! pacing from `X-Rate-Limit-Remaining`, and a count of every request by endpoint.

use crate::error::ZendeskError;
use crate::wire;
use backon::{BackoffBuilder, ExponentialBuilder};
use baton_core::sync::StatusHandle;
use baton_core::Sensitive;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest wait a `Retry-After` gets: a larger (or absurd) value waits this long and
/// then asks again, rather than parking a sync for days or overflowing a deadline.
pub const MAX_RETRY_AFTER_SECS: u64 = 600;

/// The largest answer read into memory. An export page of 1000 tickets with its
/// sideloads is a few MB; anything near this is a fault, not data.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Error bodies are only mined for a sentence.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Unreserved characters (RFC 3986) stay; everything else in a segment is encoded, so an
/// id cannot add a `/`, a query or a fragment to the path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why `url` may not carry credentials, if it may not: every request carries them, so
/// https only, or plain http to this machine (the simulator) and nowhere else.
pub(crate) fn refused_for_credentials(url: &url::Url) -> Option<&'static str> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    (!(url.scheme() == "https" || url.scheme() == "http" && loopback)).then_some(
        "plain http would send the credentials unencrypted: use https:// \
         (http is only for this machine: 127.0.0.1, ::1 or localhost)",
    )
}

/// One request-path segment made from vendor data (a custom field, a setting): encoded,
/// and refused when it is empty, `.` or `..`, which would make the request reach another
/// path with the same credentials.
pub fn path_segment(what: &str, raw: &str) -> Result<String, ZendeskError> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return Err(ZendeskError::Invalid {
            endpoint: what.to_string(),
            reason: format!("{raw:?} is not a usable id"),
        });
    }
    Ok(utf8_percent_encode(raw, SEGMENT).to_string())
}

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
    /// Answers larger than this are refused ([`ZendeskError::TooLarge`]).
    pub max_body_bytes: usize,
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

/// `Retry-After` in seconds, at most [`MAX_RETRY_AFTER_SECS`] (digits too many for a u64
/// are still "a long time"). The HTTP-date form is not used by Zendesk; it reads as absent.
fn retry_after(resp: &reqwest::Response) -> Option<u64> {
    let raw = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        raw.parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(MAX_RETRY_AFTER_SECS),
    )
}

/// How long to wait before the next request when the budget runs low: the window spread
/// over what remains, at most 5 s. Header values are the server's, so nothing here may
/// overflow or divide by zero whatever they are.
fn pacing(window: Duration, limit: u64, remaining: u64) -> Option<Duration> {
    if remaining.saturating_mul(10) >= limit {
        return None;
    }
    let spread = u32::try_from(remaining).unwrap_or(u32::MAX).max(1);
    Some((window / spread).min(Duration::from_secs(5)))
}

/// Reads a body, refusing it once it passes `limit` bytes (by its declared length when it
/// has one, else as it streams in) instead of holding whatever the server sends.
async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
    endpoint: &str,
) -> Result<Vec<u8>, ZendeskError> {
    let too_large = || ZendeskError::TooLarge {
        endpoint: endpoint.to_string(),
        limit_bytes: limit as u64,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| ZendeskError::Invalid {
        endpoint: endpoint.to_string(),
        reason: "the response body was cut off".into(),
    })? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error answer's JSON, if it has a small one.
async fn error_body(resp: reqwest::Response, endpoint: &str) -> serde_json::Value {
    match read_body(resp, MAX_ERROR_BODY_BYTES, endpoint).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    }
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
        // Checked here too, whatever an older version let an account store.
        if let Some(why) = refused_for_credentials(&parsed) {
            return Err(ZendeskError::Invalid {
                endpoint: base,
                reason: why.into(),
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
            max_body_bytes: MAX_BODY_BYTES,
        })
    }

    /// A 429 comes back to the caller at once instead of being slept out: for callers who
    /// hold something while they wait (a reply's claim, a rep at a form).
    pub fn without_rate_limit_waits(mut self) -> Self {
        self.max_rate_limit_waits = 0;
        self
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
        pacing(self.rate_window, u.rate_limit?, u.rate_limit_remaining?)
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
    /// A list that says `has_more` but hands back a cursor already read would never end:
    /// that is an error, not another lap.
    pub async fn each_page<T: DeserializeOwned + wire::Paged>(
        &self,
        path: &str,
        query: &[(&str, String)],
        size: u32,
        mut after: Option<String>,
        mut each: impl FnMut(T) -> Result<bool, ZendeskError>,
    ) -> Result<Option<String>, ZendeskError> {
        let mut seen: HashSet<String> = after.iter().cloned().collect();
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
            let Some(a) = meta.after_cursor else {
                return Ok(after);
            };
            let go_on = more && meta.has_more;
            if go_on && !seen.insert(a.clone()) {
                return Err(ZendeskError::Invalid {
                    endpoint: endpoint_name(&Method::GET, path),
                    reason: "has_more with a cursor already read: the list would never end".into(),
                });
            }
            after = Some(a);
            if !go_on {
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

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ZendeskError> {
        self.send(Method::POST, path, &[], Some(body)).await
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
            connect_failed: e.is_connect(),
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
                let body = error_body(resp, &endpoint).await;
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
                let body = error_body(resp, &endpoint).await;
                return Err(ZendeskError::Rejected {
                    endpoint,
                    status: s.as_u16(),
                    reason: wire::error_text(&body),
                });
            }
        }
        let bytes = read_body(resp, self.max_body_bytes, &endpoint).await?;
        serde_json::from_slice(&bytes).map_err(|e| ZendeskError::Invalid {
            endpoint,
            reason: format!("malformed JSON: {e}"),
        })
    }
}

/// A one-purpose HTTP server for the client's tests: answers every request with the next
/// canned answer (the last one repeats) and records each request line.
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Answer {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
        /// Send `Content-Length` (otherwise the body ends when the connection closes).
        pub length: bool,
    }

    impl Answer {
        pub fn json(body: &str) -> Self {
            Self {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
                length: true,
            }
        }
    }

    pub struct Server {
        pub url: String,
        pub requests: Arc<Mutex<Vec<String>>>,
    }

    pub async fn serve(answers: Vec<Answer>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(vec![]));
        let seen = requests.clone();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push(line);
                let a = &answers[n.min(answers.len() - 1)];
                n += 1;
                let mut out = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", a.status);
                for (k, v) in &a.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                if a.length {
                    out.push_str(&format!("content-length: {}\r\n", a.body.len()));
                }
                out.push_str("\r\n");
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&a.body).await;
                let _ = sock.shutdown().await;
            }
        });
        Server { url, requests }
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::{serve, Answer};
    use super::*;

    fn client(url: &str) -> Client {
        let mut c = Client::new(
            url,
            "acme",
            Auth::OAuth {
                token: Sensitive::new("t".into()),
            },
        )
        .unwrap();
        c.max_attempts = 1;
        c
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_whether_declared_or_streamed() {
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(4096));
        for length in [true, false] {
            let server = serve(vec![Answer {
                length,
                ..Answer::json(&big)
            }])
            .await;
            let mut c = client(&server.url);
            c.max_body_bytes = 1024;
            let got = c.get::<serde_json::Value>("/api/v2/x", &[]).await;
            assert!(
                matches!(
                    got,
                    Err(ZendeskError::TooLarge {
                        limit_bytes: 1024,
                        ..
                    })
                ),
                "length header {length}: {got:?}"
            );
            c.max_body_bytes = 8192;
            assert!(c.get::<serde_json::Value>("/api/v2/x", &[]).await.is_ok());
        }
    }

    #[tokio::test]
    async fn has_more_with_a_repeated_cursor_ends_with_an_error() {
        let server = serve(vec![Answer::json(
            r#"{"comments":[],"meta":{"has_more":true,"after_cursor":"same"}}"#,
        )])
        .await;
        let c = client(&server.url);
        let walk = c.each_page(
            "/api/v2/tickets/1/comments",
            &[],
            10,
            None,
            |_: wire::RawCommentsPage| Ok(true),
        );
        let got = tokio::time::timeout(Duration::from_secs(10), walk)
            .await
            .expect("the walk ends");
        let Err(ZendeskError::Invalid { reason, .. }) = got else {
            panic!("{got:?}");
        };
        assert!(reason.contains("cursor"), "{reason}");
        assert_eq!(server.requests.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_clamped() {
        for value in ["10000000000", "99999999999999999999999999"] {
            let server = serve(vec![Answer {
                status: 429,
                headers: vec![("retry-after".into(), value.into())],
                ..Answer::json("{}")
            }])
            .await;
            let mut c = client(&server.url);
            c.max_rate_limit_waits = 0;
            let got = c.get::<serde_json::Value>("/api/v2/x", &[]).await;
            assert_eq!(
                got,
                Err(ZendeskError::RateLimited {
                    endpoint: "GET /api/v2/x".into(),
                    retry_after_secs: MAX_RETRY_AFTER_SECS,
                }),
                "{value}"
            );
            // What the sync does with it must not overflow either.
            let status = StatusHandle::new("acme", Arc::new(baton_core::sync::SystemClock));
            status.failed(&got.unwrap_err().into());
            status.rate_limited(Duration::from_secs(MAX_RETRY_AFTER_SECS), "Zendesk");
        }
    }

    #[test]
    fn pacing_survives_any_rate_limit_headers() {
        let c = client("https://acme.zendesk.test");
        for (limit, remaining) in [
            (u64::MAX, 1u64 << 32),
            (u64::MAX, u64::MAX / 5),
            (u64::MAX, 0),
            (0, 0),
        ] {
            {
                let mut u = c.usage.lock().unwrap();
                u.rate_limit = Some(limit);
                u.rate_limit_remaining = Some(remaining);
            }
            let d = c.pacing_delay();
            assert!(d.is_none_or(|d| d <= Duration::from_secs(5)), "{d:?}");
        }
        let mut u = c.usage.lock().unwrap();
        (u.rate_limit, u.rate_limit_remaining) = (Some(700), Some(60));
        drop(u);
        assert_eq!(c.pacing_delay(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn credentials_go_over_plain_http_only_to_this_machine() {
        let client = |url: &str| {
            let auth = Auth::OAuth {
                token: Sensitive::new("t".into()),
            };
            Client::new(url, "acme", auth)
        };
        for ok in [
            "https://acme.zendesk.com",
            "http://127.0.0.1:8089",
            "http://[::1]:1",
            "http://localhost:2",
        ] {
            assert!(client(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.zendesk.com",
            "http://10.0.0.5",
            "ftp://acme.test",
        ] {
            let e = client(bad).err().expect(bad).to_string();
            assert!(e.contains("https://"), "{bad}: {e}");
        }
    }

    #[test]
    fn vendor_ids_are_one_path_segment() {
        assert_eq!(path_segment("id", "abc123").unwrap(), "abc123");
        assert_eq!(
            path_segment("id", "../apps/x?y#z").unwrap(),
            "..%2Fapps%2Fx%3Fy%23z"
        );
        assert_eq!(path_segment("id", "%2e%2e").unwrap(), "%252e%252e");
        for bad in ["", ".", ".."] {
            assert!(path_segment("id", bad).is_err(), "{bad:?}");
        }
    }

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
