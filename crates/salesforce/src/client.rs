//! The Salesforce REST client: requests go to the session's `instance_url` with its
//! bearer token; `INVALID_SESSION_ID` signs in again once and retries once; transient
//! failures retry on a jittered backoff; the JSON error array becomes typed errors; and
//! `Sforce-Limit-Info` is kept, so the share of the org's daily API allocation used can
//! be shown.

use crate::auth::{Authenticator, Session};
use crate::error::SalesforceError;
use crate::wire;
use backon::{BackoffBuilder, ExponentialBuilder};
use baton_core::sync::StatusHandle;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The REST API version: MessagingSession's ConversationId needs 55.0, its change
/// events (the later Pub/Sub source) 62.0.
pub const DEFAULT_API_VERSION: &str = "62.0";

/// The longest wait a rate limit asks for before the sync tries again.
pub const MAX_RETRY_AFTER_SECS: u64 = 600;

/// A limit this short (the org's concurrent long requests) is waited out in the client.
pub const SHORT_LIMIT_SECS: u64 = 2;

/// The largest answer read into memory: a query batch of 2,000 sessions or 1,000
/// conversation entries is a few MB.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Error bodies are only mined for a code and a sentence.
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Unreserved characters (RFC 3986) stay; everything else in a segment is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why `url` may not carry credentials, if it may not: https only, or plain http to
/// this machine (the simulator) and nowhere else.
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

/// One request-path segment made from vendor data (a conversation identifier): encoded,
/// and refused when it is empty, `.` or `..`.
pub fn path_segment(what: &str, raw: &str) -> Result<String, SalesforceError> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return Err(SalesforceError::Invalid {
            endpoint: what.to_string(),
            reason: format!("{raw:?} is not a usable id"),
        });
    }
    Ok(utf8_percent_encode(raw, SEGMENT).to_string())
}

pub(crate) fn http_client() -> Result<reqwest::Client, SalesforceError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("Baton/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SalesforceError::input(format!("cannot start an HTTP client: {e}")))
}

fn host_of(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| base.to_string())
}

/// A request that got no answer. reqwest's own text can contain the URL (with a query
/// that may be SOQL), never a header; it is left out anyway.
pub(crate) fn unreachable(base: &str, e: &reqwest::Error) -> SalesforceError {
    SalesforceError::Unreachable {
        host: host_of(base),
        connect_failed: e.is_connect(),
        reason: if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "connection refused or failed".into()
        } else {
            "connection broken".into()
        },
    }
}

/// Reads a body, refusing it once it passes `limit` bytes.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
    endpoint: &str,
) -> Result<Vec<u8>, SalesforceError> {
    let too_large = || SalesforceError::TooLarge {
        endpoint: endpoint.to_string(),
        limit_bytes: limit as u64,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| SalesforceError::Invalid {
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

/// `Retry-After` in seconds, at most [`MAX_RETRY_AFTER_SECS`].
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

/// `Sforce-Limit-Info: api-usage=246/15000` (other parts, e.g. `per-app-api-usage=…`,
/// are skipped) → (used, allocation).
pub fn parse_limit_info(raw: &str) -> Option<(u64, u64)> {
    raw.split(',').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        if name.trim() != "api-usage" {
            return None;
        }
        let (used, max) = value.trim().split_once('/')?;
        Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
    })
}

/// The field an `INVALID_FIELD` message names: `No such column 'Foo__c' on entity …`,
/// or the relationship in `Didn't understand relationship 'Owner' in field path …`.
pub fn field_in_message(message: &str) -> Option<String> {
    for marker in ["No such column '", "Didn't understand relationship '"] {
        if let Some(rest) = message.split(marker).nth(1) {
            if let Some(name) = rest.split('\'').next().filter(|n| !n.is_empty()) {
                return Some(name.to_string());
            }
        }
    }
    None
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Requests sent, by endpoint, and the org's API usage as Salesforce last reported it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Usage {
    pub requests: BTreeMap<String, u64>,
    pub retries: u64,
    pub rate_limited: u64,
    /// Sessions renewed after `INVALID_SESSION_ID`.
    pub reauthentications: u64,
    /// `Sforce-Limit-Info`'s `api-usage`: requests the org made in the last 24 hours,
    /// and its daily allocation.
    pub api_used: Option<u64>,
    pub api_allocation: Option<u64>,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// The share of the org's daily API allocation used, 0.0 to 1.0 (or more).
    pub fn daily_share(&self) -> Option<f64> {
        match (self.api_used?, self.api_allocation?) {
            (_, 0) => None,
            (used, max) => Some(used as f64 / max as f64),
        }
    }

    /// "12 % of the org's daily API requests used (1,800 of 15,000)", for a status line.
    pub fn allocation_sentence(&self) -> Option<String> {
        let share = self.daily_share()?;
        Some(format!(
            "{} % of the org's daily API requests used ({} of {})",
            (share * 100.0).round() as u64,
            thousands(self.api_used?),
            thousands(self.api_allocation?)
        ))
    }
}

/// `/services/data/v62.0/query/01g…-2000` → `/services/data/v62.0/query/{id}`, so counts
/// group by endpoint.
fn endpoint_name(method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let shape: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, s)| {
            let looks_like_id = s.len() >= 15 && s.bytes().any(|b| b.is_ascii_digit());
            // Version segments (`v62.0`) stay.
            if i > 0 && looks_like_id && !s.starts_with('v') {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    auth: Arc<Authenticator>,
    api_version: String,
    usage: Arc<Mutex<Usage>>,
    /// The last allocation share logged (in tenths), so each step is said once.
    logged_share: Arc<Mutex<u64>>,
    status: Option<StatusHandle>,
    /// Attempts for transient failures (5xx, timeouts, broken bodies) per request.
    pub max_attempts: usize,
    /// Answers larger than this are refused ([`SalesforceError::TooLarge`]).
    pub max_body_bytes: usize,
    /// `Sforce-Query-Options: batchSize=N` (200–2,000): records per query page.
    pub query_batch_size: Option<u32>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(auth: Arc<Authenticator>, api_version: &str) -> Result<Self, SalesforceError> {
        let v = api_version.trim().trim_start_matches('v');
        let valid = v.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
        if !valid {
            return Err(SalesforceError::input(format!(
                "the API version {api_version:?} is not a version such as 62.0"
            )));
        }
        Ok(Self {
            http: http_client()?,
            auth,
            api_version: v.to_string(),
            usage: Arc::default(),
            logged_share: Arc::default(),
            status: None,
            max_attempts: 4,
            max_body_bytes: MAX_BODY_BYTES,
            query_batch_size: None,
        })
    }

    /// Report limits to this account's status.
    pub fn with_status(mut self, status: StatusHandle) -> Self {
        self.status = Some(status);
        self
    }

    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub fn usage(&self) -> Usage {
        self.usage.lock().expect("usage lock").clone()
    }

    /// The session requests go out with (signing in when there is none).
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        self.auth.session().await
    }

    /// `/services/data/v62.0{rest}`.
    pub fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}{rest}", self.api_version)
    }

    /// A GET of an instance path (`/services/...`), with the session's token.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SalesforceError> {
        self.send(Method::GET, path, query).await
    }

    /// The first page of a SOQL query.
    pub async fn query(&self, soql: &str) -> Result<wire::QueryPage, SalesforceError> {
        self.get(&self.data_path("/query"), &[("q", soql.to_string())])
            .await
    }

    /// The next page of a query, from the `nextRecordsUrl` Salesforce gave. Only a path
    /// under this instance's query resource is followed: never another host or API.
    pub async fn query_more(&self, next: &str) -> Result<wire::QueryPage, SalesforceError> {
        let ok = next.starts_with("/services/data/v")
            && next.contains("/query/")
            && !next.contains("..")
            && !next.contains('?')
            && !next.contains('#');
        if !ok {
            return Err(SalesforceError::Invalid {
                endpoint: "GET query".into(),
                reason: "nextRecordsUrl is not a query page of this instance".into(),
            });
        }
        self.get(next, &[]).await
    }

    /// Every record of a query, following `nextRecordsUrl` to the end (at most `max`
    /// records: a guard, not a page size).
    pub async fn query_all(
        &self,
        soql: &str,
        max: usize,
    ) -> Result<Vec<serde_json::Value>, SalesforceError> {
        let mut page = self.query(soql).await?;
        let mut records = std::mem::take(&mut page.records);
        let mut seen = std::collections::HashSet::new();
        while let (false, Some(next)) = (page.done, page.next_records_url.clone()) {
            if records.len() >= max {
                break;
            }
            if !seen.insert(next.clone()) {
                return Err(SalesforceError::Invalid {
                    endpoint: "GET query".into(),
                    reason: "nextRecordsUrl came round again: the result would never end".into(),
                });
            }
            page = self.query_more(&next).await?;
            records.append(&mut page.records);
        }
        records.truncate(max);
        Ok(records)
    }

    /// One request, with the session renewed once on `INVALID_SESSION_ID` and transient
    /// failures retried on a jittered backoff. Rate limits go back to the caller: the
    /// sync waits them out, rather than a request holding its place for an hour.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SalesforceError> {
        if !path.starts_with("/services/") {
            return Err(SalesforceError::Invalid {
                endpoint: path.to_string(),
                reason: "not a path of this instance".into(),
            });
        }
        let endpoint = endpoint_name(&method, path);
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(20))
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut renewed = false;
        let mut session = self.auth.session().await?;
        loop {
            let err = match self
                .attempt(&session, &method, path, &endpoint, query)
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match err {
                SalesforceError::SessionExpired { message, .. } => {
                    if renewed {
                        return Err(SalesforceError::SessionExpired {
                            account: self.auth.account().to_string(),
                            message,
                        });
                    }
                    renewed = true;
                    self.usage.lock().expect("usage lock").reauthentications += 1;
                    tracing::info!(account = %self.auth.account(), endpoint, "session ended; signing in again");
                    session = self.auth.renew(&session).await?;
                }
                SalesforceError::RateLimited {
                    retry_after_secs, ..
                } => {
                    self.usage.lock().expect("usage lock").rate_limited += 1;
                    // A short one (the org's concurrent long requests) is waited out
                    // here, a few times; a long one goes back to the sync.
                    let short = retry_after_secs <= SHORT_LIMIT_SECS;
                    match backoff.next().filter(|_| short) {
                        Some(d) => {
                            let wait = d.max(Duration::from_secs(retry_after_secs));
                            tracing::debug!(
                                endpoint,
                                wait_ms = wait.as_millis() as u64,
                                "limited; waiting"
                            );
                            self.usage.lock().expect("usage lock").retries += 1;
                            tokio::time::sleep(wait).await;
                        }
                        None => return Err(err),
                    }
                }
                e if e.is_transient() && method == Method::GET => match backoff.next() {
                    Some(d) => {
                        tracing::debug!(endpoint, error = %e, wait_ms = d.as_millis() as u64, "retrying");
                        self.usage.lock().expect("usage lock").retries += 1;
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(e),
                },
                e => return Err(e),
            }
        }
    }

    fn note_limit_info(&self, resp: &reqwest::Response) {
        let Some((used, max)) = resp
            .headers()
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info)
        else {
            return;
        };
        let usage = {
            let mut u = self.usage.lock().expect("usage lock");
            u.api_used = Some(used);
            u.api_allocation = Some(max);
            u.clone()
        };
        // Said once per tenth of the allocation: in the log, and from 80 % on as a warning.
        let tenth = usage.daily_share().map(|s| (s * 10.0) as u64).unwrap_or(0);
        let mut logged = self.logged_share.lock().expect("share lock");
        if tenth != *logged {
            *logged = tenth;
            let sentence = usage.allocation_sentence().unwrap_or_default();
            if tenth >= 8 {
                tracing::warn!(account = %self.auth.account(), "{sentence}");
            } else {
                tracing::info!(account = %self.auth.account(), "{sentence}");
            }
        }
    }

    /// What a rate limit means and how long to wait.
    fn limit_error(
        &self,
        endpoint: String,
        code: &str,
        message: &str,
        retry: Option<u64>,
    ) -> SalesforceError {
        let usage = self.usage();
        let (reason, wait) = if endpoint.contains("/connect/") && code.is_empty() {
            (
                "Connect's hourly request limit for this user is reached".to_string(),
                retry.unwrap_or(MAX_RETRY_AFTER_SECS),
            )
        } else if usage.daily_share().is_some_and(|s| s >= 1.0) {
            (
                format!(
                    "the org's daily API allocation is used up ({})",
                    usage.allocation_sentence().unwrap_or_default()
                ),
                MAX_RETRY_AFTER_SECS,
            )
        } else if message.contains("Concurrent") {
            (
                format!("too many long requests at once in the org ({message})"),
                retry.unwrap_or(SHORT_LIMIT_SECS),
            )
        } else if code == "REQUEST_LIMIT_EXCEEDED" {
            (
                format!("too many requests in the last 24 hours ({message})"),
                retry.unwrap_or(60),
            )
        } else {
            ("too many requests".to_string(), retry.unwrap_or(60))
        };
        if let Some(s) = &self.status {
            s.rate_limited(Duration::from_secs(wait), "Salesforce");
        }
        SalesforceError::RateLimited {
            endpoint,
            reason,
            retry_after_secs: wait.min(MAX_RETRY_AFTER_SECS),
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        session: &Session,
        method: &Method,
        path: &str,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<T, SalesforceError> {
        let url = format!("{}{path}", session.instance_url);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .query(query)
            .bearer_auth(session.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(n) = self.query_batch_size {
            if path.contains("/query") {
                req = req.header("Sforce-Query-Options", format!("batchSize={n}"));
            }
        }
        *self
            .usage
            .lock()
            .expect("usage lock")
            .requests
            .entry(endpoint.to_string())
            .or_default() += 1;
        let resp = req
            .send()
            .await
            .map_err(|e| unreachable(&session.instance_url, &e))?;
        self.note_limit_info(&resp);
        let status = resp.status();
        let endpoint = endpoint.to_string();
        if status.is_success() {
            let bytes = read_body(resp, self.max_body_bytes, &endpoint).await?;
            return serde_json::from_slice(&bytes).map_err(|e| SalesforceError::Invalid {
                endpoint,
                reason: format!(
                    "malformed JSON: {}",
                    wire::without_quoted_text(&e.to_string())
                ),
            });
        }
        let retry = retry_after(&resp);
        let body: serde_json::Value = match read_body(resp, MAX_ERROR_BODY_BYTES, &endpoint).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        let e = wire::first_error(&body);
        let code = e.error_code.as_str();
        // Connect answers its hourly limit with a 503 (with no code, or a limit code); a
        // 503 that says the server is unavailable is only that.
        let connect_limit = status == StatusCode::SERVICE_UNAVAILABLE
            && path.contains("/connect/")
            && matches!(code, "" | "REQUEST_LIMIT_EXCEEDED");
        if connect_limit {
            return Err(self.limit_error(endpoint, "", &e.message, retry));
        }
        if status.is_server_error() {
            return Err(SalesforceError::Server {
                endpoint,
                status: status.as_u16(),
            });
        }
        if code == "REQUEST_LIMIT_EXCEEDED" || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(self.limit_error(endpoint, code, &e.message, retry));
        }
        if status == StatusCode::UNAUTHORIZED || code == "INVALID_SESSION_ID" {
            return Err(SalesforceError::SessionExpired {
                account: self.auth.account().to_string(),
                message: if e.message.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    e.message
                },
            });
        }
        Err(match (status, code) {
            (_, "MALFORMED_QUERY") => SalesforceError::MalformedQuery {
                endpoint,
                message: e.message,
            },
            (_, "INVALID_FIELD") => SalesforceError::InvalidField {
                endpoint,
                field: field_in_message(&e.message).or_else(|| e.fields.first().cloned()),
                message: e.message,
            },
            (StatusCode::NOT_FOUND, _) | (_, "NOT_FOUND") => SalesforceError::NotFound { endpoint },
            (StatusCode::FORBIDDEN, _) => SalesforceError::Forbidden {
                endpoint,
                code: e.error_code,
                message: e.message,
            },
            _ => SalesforceError::Rejected {
                endpoint,
                status: status.as_u16(),
                code: e.error_code,
                message: e.message,
            },
        })
    }
}

/// A one-purpose HTTP server for the crate's tests: answers each request with the next
/// canned answer (the last one repeats) and records each request line and body.
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Answer {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Answer {
        pub fn json(body: &str) -> Self {
            Self {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
            }
        }

        pub fn status(status: u16, body: &str) -> Self {
            Self {
                status,
                ..Self::json(body)
            }
        }

        pub fn header(mut self, k: &str, v: &str) -> Self {
            self.headers.push((k.into(), v.into()));
            self
        }
    }

    #[derive(Debug, Clone)]
    pub struct Seen {
        pub line: String,
        pub authorization: Option<String>,
        pub body: String,
    }

    pub struct Server {
        pub url: String,
        pub seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        pub fn lines(&self) -> Vec<String> {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .map(|s| s.line.clone())
                .collect()
        }
    }

    /// Answers by request: `route` picks the answer for a request line and its number;
    /// `INSTANCE` in an answer becomes the server's own URL.
    pub async fn serve_with(
        route: impl Fn(&str, usize) -> Answer + Send + Sync + 'static,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(vec![]));
        let log = seen.clone();
        let route = Arc::new(route);
        let own = url.clone();
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
                let head = String::from_utf8_lossy(&head).to_string();
                let line = head.lines().next().unwrap_or("").to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_string())
                    })
                };
                let len: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = sock.read_exact(&mut body).await;
                log.lock().unwrap().push(Seen {
                    line: line.clone(),
                    authorization: header("authorization"),
                    body: String::from_utf8_lossy(&body).to_string(),
                });
                let mut a = route(&line, n);
                n += 1;
                let text = String::from_utf8_lossy(&a.body).replace("INSTANCE", &own);
                a.body = text.into_bytes();
                let mut out = format!(
                    "HTTP/1.1 {} X\r\nconnection: close\r\ncontent-length: {}\r\n",
                    a.status,
                    a.body.len()
                );
                for (k, v) in &a.headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&a.body).await;
                let _ = sock.shutdown().await;
            }
        });
        Server { url, seen }
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::{serve_with, Answer};
    use super::*;
    use crate::test_support::{jwt_auth, token_answer};

    #[test]
    fn limit_info_gives_used_and_allocation() {
        assert_eq!(parse_limit_info("api-usage=246/15000"), Some((246, 15000)));
        assert_eq!(
            parse_limit_info("per-app-api-usage=17/250(appName=x), api-usage=18/5000"),
            Some((18, 5000))
        );
        assert_eq!(parse_limit_info("api-usage=x/1"), None);
        let u = Usage {
            api_used: Some(1800),
            api_allocation: Some(15000),
            ..Default::default()
        };
        assert_eq!(
            u.allocation_sentence().unwrap(),
            "12 % of the org's daily API requests used (1,800 of 15,000)"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn invalid_field_messages_name_the_field() {
        let m = "\nSELECT Id, Chat_Type__c FROM MessagingSession\n           ^\nERROR at Row:1:Column:12\nNo such column 'Chat_Type__c' on entity 'MessagingSession'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.";
        assert_eq!(field_in_message(m).as_deref(), Some("Chat_Type__c"));
        let m = "Didn't understand relationship 'Conversation' in field path.";
        assert_eq!(field_in_message(m).as_deref(), Some("Conversation"));
        assert_eq!(field_in_message("something else"), None);
    }

    #[test]
    fn endpoints_group_by_shape() {
        assert_eq!(
            endpoint_name(
                &Method::GET,
                "/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
            ),
            "GET /services/data/v62.0/query/{id}"
        );
        assert_eq!(
            endpoint_name(
                &Method::GET,
                "/services/data/v62.0/connect/conversation/0f2c5a4e-8d7b-4a8e-9a5e-1c2d3e4f5a6b/entries"
            ),
            "GET /services/data/v62.0/connect/conversation/{id}/entries"
        );
    }

    #[tokio::test]
    async fn an_ended_session_signs_in_again_once_and_retries_once() {
        let server = serve_with(|line, n| {
            if line.starts_with("POST /services/oauth2/token") {
                return Answer::json(&token_answer(&format!("tok{n}")));
            }
            // The first query sees an expired session; the retry, with the new token, works.
            if n == 1 {
                Answer::status(
                    401,
                    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
                )
            } else {
                Answer::json(r#"{"totalSize":0,"done":true,"records":[]}"#)
                    .header("Sforce-Limit-Info", "api-usage=20/15000")
            }
        })
        .await;
        let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        let page = client
            .query("SELECT Id FROM MessagingSession")
            .await
            .unwrap();
        assert!(page.done);
        let seen = server.seen.lock().unwrap().clone();
        let lines: Vec<&str> = seen.iter().map(|s| s.line.as_str()).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("POST /services/oauth2/token"));
        assert!(lines[2].starts_with("POST /services/oauth2/token"));
        assert_eq!(seen[1].authorization.as_deref(), Some("Bearer tok0"));
        assert_eq!(seen[3].authorization.as_deref(), Some("Bearer tok2"));
        let u = client.usage();
        assert_eq!((u.reauthentications, u.api_used), (1, Some(20)));
    }

    #[tokio::test]
    async fn a_session_refused_twice_is_an_auth_error_not_a_loop() {
        let server = serve_with(|line, _| {
            if line.starts_with("POST") {
                Answer::json(&token_answer("t"))
            } else {
                Answer::status(
                    401,
                    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
                )
            }
        })
        .await;
        let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        let got = client.query("SELECT Id FROM User").await;
        assert!(
            matches!(got, Err(SalesforceError::SessionExpired { .. })),
            "{got:?}"
        );
        assert_eq!(server.lines().len(), 4);
        let feed: baton_core::sync::FeedError = got.unwrap_err().into();
        assert!(matches!(feed, baton_core::sync::FeedError::Auth { .. }));
    }

    #[tokio::test]
    async fn the_error_array_becomes_typed_errors() {
        type Case = (u16, &'static str, fn(&SalesforceError) -> bool);
        let cases: Vec<Case> = vec![
            (
                400,
                r#"[{"message":"unexpected token: FORM","errorCode":"MALFORMED_QUERY"}]"#,
                |e| matches!(e, SalesforceError::MalformedQuery { .. }),
            ),
            (
                400,
                r#"[{"message":"No such column 'Nope__c' on entity 'MessagingSession'.","errorCode":"INVALID_FIELD"}]"#,
                |e| matches!(e, SalesforceError::InvalidField { field: Some(f), .. } if f == "Nope__c"),
            ),
            (
                404,
                r#"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#,
                |e| matches!(e, SalesforceError::NotFound { .. }),
            ),
            (
                403,
                r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
                |e| matches!(e, SalesforceError::RateLimited { reason, .. } if reason.contains("used up")),
            ),
            (
                403,
                r#"[{"message":"API is not enabled for this Organization or Partner","errorCode":"API_DISABLED_FOR_ORG"}]"#,
                |e| matches!(e, SalesforceError::Forbidden { code, .. } if code == "API_DISABLED_FOR_ORG"),
            ),
            (
                400,
                r#"[{"message":"sObject type 'MessagingSession' is not supported.","errorCode":"INVALID_TYPE"}]"#,
                |e| matches!(e, SalesforceError::Rejected { code, .. } if code == "INVALID_TYPE"),
            ),
        ];
        for (status, body, check) in cases {
            let body = body.to_string();
            let server = serve_with(move |line, _| {
                if line.starts_with("POST") {
                    Answer::json(&token_answer("t"))
                } else {
                    Answer::status(status, &body)
                        .header("Sforce-Limit-Info", "api-usage=15000/15000")
                }
            })
            .await;
            let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
            let got = client
                .query("SELECT Id FROM MessagingSession")
                .await
                .unwrap_err();
            assert!(check(&got), "{status}: {got:?}");
        }
    }

    #[tokio::test]
    async fn connect_503_is_its_hourly_limit_and_5xx_elsewhere_is_retried() {
        let server = serve_with(|line, n| {
            if line.starts_with("POST") {
                Answer::json(&token_answer("t"))
            } else if line.contains("/connect/") {
                Answer::status(503, "")
            } else if n < 3 {
                Answer::status(500, "")
            } else {
                Answer::json(r#"{"done":true,"records":[]}"#)
            }
        })
        .await;
        let mut client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        client.max_attempts = 4;
        assert!(client.query("SELECT Id FROM User").await.is_ok());
        assert_eq!(client.usage().retries, 2);
        let got = client
            .get::<serde_json::Value>(&client.data_path("/connect/conversation/abc/entries"), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&got, SalesforceError::RateLimited { reason, retry_after_secs: MAX_RETRY_AFTER_SECS, .. } if reason.contains("hourly")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn a_concurrency_limit_is_waited_out_and_an_unavailable_connect_retried() {
        let server = serve_with(|line, n| {
            if line.starts_with("POST") {
                Answer::json(&token_answer("t"))
            } else if n == 1 {
                Answer::status(
                    403,
                    r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
                )
            } else if n == 3 {
                Answer::status(
                    503,
                    r#"[{"message":"Server temporarily unavailable.","errorCode":"SERVER_UNAVAILABLE"}]"#,
                )
            } else {
                Answer::json(r#"{"done":true,"records":[],"conversationEntries":[]}"#)
            }
        })
        .await;
        let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        assert!(client.query("SELECT Id FROM User").await.is_ok());
        let path = client.data_path("/connect/conversation/abc/entries");
        assert!(client.get::<serde_json::Value>(&path, &[]).await.is_ok());
        let u = client.usage();
        assert_eq!((u.rate_limited, u.retries), (1, 2));
    }

    #[tokio::test]
    async fn query_all_follows_next_records_url_and_refuses_to_leave_the_instance() {
        let server = serve_with(|line, _| {
            if line.starts_with("POST") {
                Answer::json(&token_answer("t"))
            } else if line.contains("/query/01g-2") {
                Answer::json(r#"{"totalSize":3,"done":true,"records":[{"Id":"c"}]}"#)
            } else {
                Answer::json(r#"{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01g-2","records":[{"Id":"a"},{"Id":"b"}]}"#)
            }
        })
        .await;
        let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        let all = client.query_all("SELECT Id FROM User", 100).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|r| r["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        for bad in [
            "https://evil.test/services/data/v62.0/query/x",
            "/services/data/v62.0/sobjects/User",
            "/services/data/v62.0/query/../../oauth2/token",
        ] {
            assert!(client.query_more(bad).await.is_err(), "{bad}");
        }
    }
}
