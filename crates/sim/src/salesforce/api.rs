//! The org's HTTP API on the simulator's router: the token endpoint, SOQL queries and
//! their further pages, sObject reads and Connect conversation entries, behind a gate that
//! counts requests (in their own names), checks the access token, spends the daily
//! allocation (`Sforce-Limit-Info`), and serves the org's faults.

use super::{auth, connect, query, soql};
use crate::limits::Fault;
use crate::{lock, Shared};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) type S = State<Arc<Shared>>;

/// Salesforce's REST error answer: `[{"message": …, "errorCode": …}]`.
pub(crate) fn sf_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!([{ "message": message, "errorCode": code }])),
    )
        .into_response()
}

fn not_found() -> Response {
    sf_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

pub(crate) fn routes(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/services/oauth2/token", post(auth::token))
        .route("/services/data/{version}/query", get(run_query))
        .route("/services/data/{version}/query/", get(run_query))
        .route("/services/data/{version}/query/{locator}", get(more))
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            get(sobject),
        )
        .route(
            "/services/data/{version}/connect/conversation/{conversation}/entries",
            get(connect::entries),
        )
        .route(
            "/services/data/{version}/{*rest}",
            any(|| async { not_found() }),
        )
        .layer(middleware::from_fn_with_state(shared, gate))
}

/// A request's name in the stats: its path with the version, ids, locators and
/// conversation identifiers as placeholders.
fn endpoint(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    let shape: Vec<&str> = match segs.as_slice() {
        ["", "services", "data", _, rest @ ..] => {
            let mut shape = vec!["", "services", "data", "{version}"];
            match rest {
                ["query", locator] if !locator.is_empty() => shape.extend(["query", "{locator}"]),
                ["query", ..] => shape.push("query"),
                ["sobjects", object, _] => shape.extend(["sobjects", object, "{id}"]),
                ["connect", "conversation", _, "entries"] => shape.extend([
                    "connect",
                    "conversation",
                    "{conversationIdentifier}",
                    "entries",
                ]),
                other => shape.extend(other),
            }
            shape
        }
        _ => segs,
    };
    format!("{method} {}", shape.join("/"))
}

/// The API version of a `/services/data/vNN.N/…` path, when it is one Salesforce serves.
fn version(path: &str) -> Option<f64> {
    let v: f64 = path.split('/').nth(3)?.strip_prefix('v')?.parse().ok()?;
    (20.0..=66.0).contains(&v).then_some(v)
}

/// Counts, checks the version and the access token, spends the allocations, serves the
/// org's faults, and stamps `Sforce-Limit-Info` on what the REST API answers.
async fn gate(State(s): S, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    *lock(&s.stats)
        .requests
        .entry(endpoint(req.method(), &path))
        .or_default() += 1;
    let rest = path.starts_with("/services/data/");
    if rest {
        // Connect's conversation entries came with API 51.0.
        let needed = if path.contains("/connect/") {
            51.0
        } else {
            0.0
        };
        if version(&path).is_none_or(|v| v < needed) {
            return not_found();
        }
        let valid =
            auth::bearer(req.headers()).is_some_and(|t| lock(&s.sf.tokens).user(t).is_some());
        if !valid {
            lock(&s.stats).salesforce.invalid_session += 1;
            let mut r = sf_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
            return r;
        }
        let mut usage = lock(&s.sf.usage);
        let refusal = if !usage.spend() {
            Some((StatusCode::FORBIDDEN, "TotalRequests Limit exceeded."))
        } else if path.ends_with("/entries") && !usage.spend_connect() {
            Some((
                StatusCode::SERVICE_UNAVAILABLE,
                "You have reached the Connect API's hourly request limit for this user and application. Please try again later.",
            ))
        } else {
            None
        };
        let (used, limit_info) = (usage.used(), usage.header());
        drop(usage);
        {
            let mut stats = lock(&s.stats);
            stats.salesforce.api_usage = used;
            if refusal.is_some() {
                stats.salesforce.limit_exceeded += 1;
            }
        }
        if let Some((status, message)) = refusal {
            let mut r = sf_error(status, "REQUEST_LIMIT_EXCEEDED", message);
            stamp(&mut r, &limit_info);
            return r;
        }
    }
    let fault = lock(&s.sf.faults).take();
    if fault.is_some() {
        lock(&s.stats).salesforce.faults_served += 1;
    }
    let mut resp = match fault {
        // Salesforce has no 429: a burst of long requests is refused with this.
        Some(Fault::RateLimit(_)) => sf_error(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ),
        Some(Fault::ServerError) => sf_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_UNAVAILABLE",
            "Server temporarily unavailable. Please try again later.",
        ),
        Some(Fault::InternalError) => sf_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1739204112-84217 (-1520349214)",
        ),
        Some(Fault::Slow(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Some(Fault::LoseAnswer) => {
            let _ = next.run(req).await;
            return crate::api::cut("answer lost");
        }
        Some(Fault::Drop) => return crate::api::cut("connection dropped"),
        Some(Fault::Truncate) => return crate::api::truncated(next.run(req).await).await,
        None => next.run(req).await,
    };
    if rest {
        let info = lock(&s.sf.usage).header();
        stamp(&mut resp, &info);
    }
    resp
}

fn stamp(resp: &mut Response, limit_info: &str) {
    if let Ok(v) = HeaderValue::from_str(limit_info) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
}

/// The batch size a query asks for (`Sforce-Query-Options: batchSize=N`, 200 to 2,000;
/// 2,000 by default).
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .unwrap_or(2000)
        .clamp(200, 2000)
}

/// One page of a result, from `offset`: `totalSize`, `done`, `nextRecordsUrl` when
/// there is more, and the `records`.
fn page(version: &str, locator: &str, rows: &[Value], offset: usize, batch: usize) -> Response {
    let end = rows.len().min(offset + batch);
    let mut body = json!({
        "totalSize": rows.len(),
        "done": end >= rows.len(),
        "records": rows.get(offset..end).unwrap_or_default(),
    });
    if end < rows.len() {
        body["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{locator}-{end}"));
    }
    Json(body).into_response()
}

async fn run_query(
    State(s): S,
    Path(version): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(text) = q.get("q").filter(|t| !t.trim().is_empty()) else {
        return sf_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    let rows =
        soql::parse(text).and_then(|parsed| query::run(&lock(&s.sf.org), &parsed, text, &version));
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return sf_error(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    let batch = batch_size(&headers);
    if rows.len() <= batch {
        return page(&version, "", &rows, 0, batch);
    }
    let mut locators = lock(&s.sf.locators);
    let locator = locators.keep(rows, batch);
    let (rows, _) = locators.get(&locator).expect("just kept");
    page(&version, &locator, rows, 0, batch)
}

/// The next page of a result: `/query/{locator}-{offset}`.
async fn more(State(s): S, Path((version, next)): Path<(String, String)>) -> Response {
    let locators = lock(&s.sf.locators);
    let found = next.rsplit_once('-').and_then(|(locator, offset)| {
        let (rows, batch) = locators.get(locator)?;
        let offset: usize = offset.parse().ok().filter(|o| *o <= rows.len())?;
        Some(page(&version, locator, rows, offset, *batch))
    });
    found.unwrap_or_else(|| {
        sf_error(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        )
    })
}

/// `GET /sobjects/{type}/{id}` (`?fields=A,B` for some of them).
async fn sobject(
    State(s): S,
    Path((version, object, id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let org = lock(&s.sf.org);
    let Some(rec) = org
        .record(&id)
        .filter(|r| r.object.name().eq_ignore_ascii_case(&object))
    else {
        return not_found();
    };
    let only: Option<Vec<String>> = q
        .get("fields")
        .map(|f| f.split(',').map(|f| f.trim().to_string()).collect());
    if let Some(unknown) = only.iter().flatten().find(|f| rec.get(f).is_none()) {
        return sf_error(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            &format!(
                "No such column '{unknown}' on sobject of type {}",
                rec.object.name()
            ),
        );
    }
    Json(query::record_json(rec, &version, only.as_deref())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_their_shape() {
        let get = Method::GET;
        assert_eq!(
            endpoint(&get, "/services/data/v62.0/query"),
            "GET /services/data/{version}/query"
        );
        assert_eq!(
            endpoint(&get, "/services/data/v62.0/query/01gSm0000000001AAA-2000"),
            "GET /services/data/{version}/query/{locator}"
        );
        assert_eq!(
            endpoint(
                &get,
                "/services/data/v62.0/sobjects/MessagingSession/0MwSm0000000123AAA"
            ),
            "GET /services/data/{version}/sobjects/MessagingSession/{id}"
        );
        assert_eq!(
            endpoint(
                &get,
                "/services/data/v62.0/connect/conversation/3b1c/entries"
            ),
            "GET /services/data/{version}/connect/conversation/{conversationIdentifier}/entries"
        );
        assert_eq!(
            endpoint(&Method::POST, "/services/oauth2/token"),
            "POST /services/oauth2/token"
        );
        assert_eq!(version("/services/data/v62.0/query"), Some(62.0));
        assert_eq!(version("/services/data/62.0/query"), None);
        assert_eq!(version("/services/data/v99.0/query"), None);
    }
}
