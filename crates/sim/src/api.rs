use crate::limits::{Fault, Verdict};
use crate::outgoing::Actor;
use crate::world::{Event, Ticket, Truth, Wire, World};
use crate::{json, lock, Faults, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v2/users/me", get(me))
        .route("/api/v2/ticket_fields", get(ticket_fields))
        .route("/api/v2/tickets/count", get(ticket_count))
        .route("/api/v2/incremental/tickets/cursor", get(export))
        .route("/api/v2/tickets/{id}", get(show_ticket).put(update_ticket))
        .route("/api/v2/tickets/{id}/comments", get(comments))
        .route(
            "/api/v2/users/{id}/group_memberships",
            get(group_memberships),
        )
        .route(
            "/api/v2/tickets/{id}/conversation_log",
            get(conversation_log),
        )
        .route("/api/v2/tickets/{id}/audits", get(redaction_audits))
        .route("/sc/v2/apps/{app}", get(sunco_app))
        .route(
            "/sc/v2/apps/{app}/conversations/{conversation}/messages",
            get(sunco_messages),
        )
        .merge(crate::webhook_api::routes())
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    Router::new()
        .merge(api)
        .merge(crate::salesforce::routes(shared.clone()))
        .route("/__sim/faults", post(set_faults).get(get_faults))
        .route("/__sim/sf/faults", post(set_sf_faults).get(get_sf_faults))
        .route("/__sim/sf/expire_sessions", post(expire_sf_sessions))
        .route("/__sim/sf/expire_changes", post(expire_sf_changes))
        .route("/__sim/sf/stall_pubsub", post(stall_pubsub_streams))
        .route("/__sim/sf/end_session", post(end_sf_session))
        .route("/__sim/zd/end_session", post(end_zd_session))
        .route("/__sim/stats", get(stats))
        .with_state(shared)
}

fn endpoint(method: &Method, path: &str) -> String {
    let mut previous = "";
    let shape: Vec<&str> = path
        .split('/')
        .map(|seg| {
            // Webhook ids are not numbers; the segment after `webhooks` is one.
            let id = (seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty())
                || previous == "webhooks";
            previous = seg;
            if id {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

fn error(status: StatusCode, code: &str, title: &str) -> Response {
    (status, Json(json::error(code, title))).into_response()
}

/// Counts, rate-limits, authenticates and injects faults, in that order.
async fn gate(State(s): S, req: Request, next: Next) -> Response {
    let name = endpoint(req.method(), req.uri().path());
    let export = req.uri().path().starts_with("/api/v2/incremental/");
    *lock(&s.stats).requests.entry(name).or_default() += 1;

    let (verdict, used, (received, exports_received)) = {
        let mut limiter = lock(&s.limiter);
        let (verdict, used) = limiter.check(export);
        (verdict, used, limiter.received())
    };
    {
        let mut stats = lock(&s.stats);
        stats.max_received_in_window = stats.max_received_in_window.max(received);
        stats.max_exports_received_in_window =
            stats.max_exports_received_in_window.max(exports_received);
    }
    let (limit, remaining) = match verdict {
        Verdict::Throttled { retry_after_secs } => {
            lock(&s.stats).throttled += 1;
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "APIRateLimitExceeded",
                "Number of allowed API requests per minute exceeded",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            return r;
        }
        Verdict::Allowed { limit, remaining } => (limit, remaining),
    };
    {
        let mut stats = lock(&s.stats);
        stats.max_served_in_window = stats.max_served_in_window.max(used);
    }

    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // Sunshine Conversations takes its own key; the Support API the agent's token.
    let authorized = if req.uri().path().starts_with("/sc/") {
        auth == Some(s.sunco_auth.as_str())
    } else {
        auth == Some(s.auth_basic.as_str()) || auth == Some(s.auth_bearer.as_str())
    };
    if !authorized {
        lock(&s.stats).unauthorized += 1;
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Couldn't authenticate you",
        );
    }

    if req.method() == axum::http::Method::PUT {
        let (lost, delay_ms) = lock(&s.faults).take_write();
        if lost || delay_ms > 0 {
            lock(&s.stats).faults_served += 1;
            let resp = next.run(req).await;
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            if lost {
                return cut("answer lost");
            }
            return resp;
        }
    }
    let fault = lock(&s.faults).take();
    if fault.is_some() {
        lock(&s.stats).faults_served += 1;
    }
    let mut resp = match fault {
        Some(Fault::RateLimit(secs)) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "APIRateLimitExceeded",
                "Rate limited",
            );
            r.headers_mut().insert(header::RETRY_AFTER, secs.into());
            return r;
        }
        Some(Fault::ServerError) => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Maintenance",
            );
            r.headers_mut().insert(header::RETRY_AFTER, 1.into());
            return r;
        }
        Some(Fault::InternalError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Something went wrong",
            )
        }
        Some(Fault::Slow(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Some(Fault::LoseAnswer) => {
            let _ = next.run(req).await;
            return cut("answer lost");
        }
        Some(Fault::Drop) => return cut("connection dropped"),
        Some(Fault::Truncate) => return truncated(next.run(req).await).await,
        None => next.run(req).await,
    };
    if let (Some(limit), Some(remaining)) = (limit, remaining) {
        resp.headers_mut().insert("x-rate-limit", limit.into());
        resp.headers_mut()
            .insert("x-rate-limit-remaining", remaining.into());
    }
    resp.headers_mut()
        .insert("x-zendesk-api-version", HeaderValue::from_static("v2"));
    resp
}

/// An answer whose connection closes before any body byte (`why` is the I/O error).
pub(crate) fn cut(why: &'static str) -> Response {
    let body = Body::from_stream(futures::stream::once(async move {
        Err::<Bytes, std::io::Error>(std::io::Error::other(why))
    }));
    Response::builder().status(200).body(body).unwrap()
}

/// `resp` with its headers and the first half of its body, then a reset connection.
pub(crate) async fn truncated(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, bytes.len().into());
    // Let the headers and the first half reach the client before the cut.
    let stream = futures::stream::iter([Ok::<Bytes, std::io::Error>(half)]).chain(
        futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            Err(std::io::Error::other("connection reset"))
        }),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn me(State(s): S) -> Response {
    let w = lock(&s.world);
    let mut user = json::user(&s.base_url, &w.users[&w.me]);
    user["authenticity_token"] = json!("sim-csrf-token");
    Json(json!({ "user": user })).into_response()
}

async fn ticket_fields(State(s): S) -> Response {
    let w = lock(&s.world);
    let fields: Vec<Value> = w
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| json::ticket_field(&s.base_url, f, i))
        .collect();
    Json(json!({ "ticket_fields": fields, "next_page": null, "previous_page": null, "count": fields.len() }))
        .into_response()
}

async fn ticket_count(State(s): S) -> Response {
    let n = lock(&s.world)
        .tickets
        .values()
        .filter(|t| t.status != "deleted")
        .count();
    Json(json!({ "count": { "value": n, "refreshed_at": json::time(Utc::now()) } })).into_response()
}

#[derive(Deserialize)]
struct ExportQuery {
    start_time: Option<i64>,
    cursor: Option<String>,
    per_page: Option<usize>,
    include: Option<String>,
}

pub(crate) fn encode_cursor(generation: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("gen:{generation}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<u64> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("gen:")?
        .parse()
        .ok()
}

async fn export(State(s): S, Query(q): Query<ExportQuery>) -> Response {
    let w = lock(&s.world);
    let per_page = q.per_page.unwrap_or(1000).clamp(1, 1000);
    let (after_generation, min_time) = match (&q.cursor, q.start_time) {
        (Some(c), _) => match decode_cursor(c) {
            Some(g) => (g, None),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidCursor",
                    "The cursor is not valid",
                )
            }
        },
        (None, Some(t)) => (0, DateTime::from_timestamp(t, 0)),
        (None, None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidPaginationParameter",
                "start_time or cursor is required",
            )
        }
    };
    let mut changed: Vec<&crate::world::Ticket> = w
        .tickets
        .values()
        .filter(|t| t.generation > after_generation && min_time.is_none_or(|m| t.updated_at >= m))
        .collect();
    changed.sort_by_key(|t| t.generation);
    let end_of_stream = changed.len() <= per_page;
    changed.truncate(per_page);
    let last = changed
        .last()
        .map(|t| t.generation)
        .unwrap_or(if q.cursor.is_some() {
            after_generation
        } else {
            w.generation
        });
    let after = encode_cursor(last);
    let breaker = Breaker::new(&s);
    let tickets: Vec<Value> = changed
        .iter()
        .map(|t| {
            let key = format!("ticket:{}:{}", t.id, t.generation);
            breaker.apply(json::ticket(&s.base_url, t), &key, [t.id])
        })
        .collect();
    let mut body = json!({
        "tickets": tickets,
        "after_cursor": after,
        "after_url": format!("{}/api/v2/incremental/tickets/cursor?cursor={after}", s.base_url),
        "before_cursor": null,
        "before_url": null,
        "end_of_stream": end_of_stream,
    });
    sideload(
        &mut body,
        &w,
        &s.base_url,
        &changed,
        q.include.as_deref(),
        &breaker,
    );
    Json(body).into_response()
}

async fn group_memberships(State(s): S, Path(id): Path<String>) -> Response {
    let w = lock(&s.world);
    let Some(user) = ticket_id(&id).filter(|u| w.users.contains_key(u)) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let list: Vec<Value> = w
        .memberships
        .iter()
        .enumerate()
        .filter(|(_, (u, _))| *u == user)
        .enumerate()
        .map(|(k, (i, (u, g)))| {
            json::group_membership(&s.base_url, 7_000 + i as u64, *u, *g, k == 0)
        })
        .collect();
    Json(json!({ "group_memberships": list, "next_page": null, "previous_page": null, "count": list.len() })).into_response()
}

fn ticket_id(raw: &str) -> Option<u64> {
    raw.trim_end_matches(".json").parse().ok()
}

/// 403 for a ticket the `forbidden_tickets` fault restricts; a page of the wrong shape
/// for one the `garbled_tickets` fault breaks.
fn forbidden(s: &Shared, raw: &str) -> Option<Response> {
    let id = ticket_id(raw)?;
    let faults = lock(&s.faults);
    if faults.garbled_tickets.contains(&id) {
        return Some(
            Json(json!({ "comments": "unavailable", "events": 7, "meta": [] })).into_response(),
        );
    }
    faults.forbidden_tickets.contains(&id).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You do not have access to this page. Please contact the account owner of this help desk for further help.",
        )
    })
}

/// A ticket the API still shows: deleted ones answer 404 everywhere but the export.
fn live_ticket<'w>(w: &'w crate::world::World, raw: &str) -> Option<&'w crate::world::Ticket> {
    ticket_id(raw)
        .and_then(|id| w.tickets.get(&id))
        .filter(|t| t.status != "deleted")
}

/// The `corrupt_share` fault, as one answer applies it to its records.
struct Breaker<'s> {
    shared: &'s Shared,
    share: f64,
}

impl<'s> Breaker<'s> {
    fn new(shared: &'s Shared) -> Self {
        let share = lock(&shared.faults).corrupt_share;
        Self { shared, share }
    }

    /// Corrupts `record` (known as `key`), noting the tickets it belongs to when it did.
    fn apply(&self, mut record: Value, key: &str, tickets: impl IntoIterator<Item = u64>) -> Value {
        let broke = json::corrupt(&mut record, self.share, self.shared.seed, key);
        if broke > 0 {
            let mut stats = lock(&self.shared.stats);
            stats.corrupted_fields += broke;
            stats.corrupted_tickets.extend(tickets);
        }
        record
    }
}

/// Adds the sideloads `include` asks for (`users`, `groups`; a comma-separated list, as
/// the spec's `TicketsInclude` says) to an answer about `tickets`: the users the tickets
/// name (requester and submitter, assignee) and their groups, each once.
fn sideload(
    body: &mut Value,
    w: &World,
    base: &str,
    tickets: &[&Ticket],
    include: Option<&str>,
    breaker: &Breaker,
) {
    let wants = |what: &str| include.unwrap_or("").split(',').any(|i| i.trim() == what);
    if wants("users") {
        let ids: BTreeSet<u64> = tickets
            .iter()
            .flat_map(|t| [Some(t.requester_id), t.assignee_id].into_iter().flatten())
            .collect();
        body["users"] = ids
            .iter()
            .filter_map(|id| w.users.get(id))
            .map(|u| {
                let with = tickets
                    .iter()
                    .filter(|t| t.requester_id == u.id || t.assignee_id == Some(u.id))
                    .map(|t| t.id);
                breaker.apply(json::user(base, u), &format!("user:{}", u.id), with)
            })
            .collect();
    }
    if wants("groups") {
        let ids: BTreeSet<u64> = tickets.iter().filter_map(|t| t.group_id).collect();
        body["groups"] = ids
            .iter()
            .filter_map(|id| w.groups.get(id))
            .map(|g| {
                let with = tickets
                    .iter()
                    .filter(|t| t.group_id == Some(g.id))
                    .map(|t| t.id);
                breaker.apply(json::group(g), &format!("group:{}", g.id), with)
            })
            .collect();
    }
}

/// `ShowTicket`, with `include=users,groups` sideloading as the export does.
async fn show_ticket(
    State(s): S,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let w = lock(&s.world);
    let Some(t) = live_ticket(&w, &id) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let mut body = json!({ "ticket": json::ticket(&s.base_url, t) });
    let breaker = Breaker::new(&s);
    sideload(
        &mut body,
        &w,
        &s.base_url,
        &[t],
        q.get("include").map(String::as_str),
        &breaker,
    );
    Json(body).into_response()
}

/// Cursor paging over a ticket's events: `page[size]` and `page[after]`, as the spec's
/// `CursorPaginationPage` parameter describes.
fn page<'a>(
    events: impl Iterator<Item = &'a Event>,
    q: &HashMap<String, String>,
) -> Result<(Vec<&'a Event>, bool), &'static str> {
    let size = match q.get("page[size]").map(|s| s.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Err("page[size] must be 1 to 100"),
    };
    let after = match q.get("page[after]") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(id) => id,
            None => return Err("page[after] is not a valid cursor"),
        },
    };
    let mut rest: Vec<&Event> = events.filter(|e| e.id > after).collect();
    let has_more = rest.len() > size;
    rest.truncate(size);
    Ok((rest, has_more))
}

fn page_meta(base: &str, path: &str, events: &[&Event], has_more: bool) -> (Value, Value) {
    let mut meta = json!({ "has_more": has_more });
    let mut links = json!({});
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        let after = encode_cursor(last.id);
        let before = encode_cursor(first.id);
        // The spec types these as strings: absent ones are left out, never null.
        if has_more {
            links["next"] = json!(format!("{base}{path}?page%5Bafter%5D={after}"));
        }
        links["prev"] = json!(format!("{base}{path}?page%5Bbefore%5D={before}"));
        meta["after_cursor"] = json!(after);
        meta["before_cursor"] = json!(before);
    }
    (meta, links)
}

/// A ticket's events, one cursor page of them (`comments_only` for the comments API),
/// with the `meta` and `links` of the answer.
fn ticket_page<'w>(
    w: &'w crate::world::World,
    base: &str,
    id: &str,
    endpoint: &str,
    comments_only: bool,
    q: &HashMap<String, String>,
) -> Result<(&'w crate::world::Ticket, Vec<&'w Event>, Value, Value), Box<Response>> {
    let Some(t) = live_ticket(w, id) else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "RecordNotFound",
            "Not found",
        )));
    };
    let all = t
        .events
        .iter()
        .filter(|e| !comments_only || matches!(e.wire, Wire::Comment { .. }));
    let (events, has_more) = page(all, q).map_err(|why| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidPaginationParameter",
            why,
        ))
    })?;
    let path = format!("/api/v2/tickets/{}/{endpoint}", t.id);
    let (meta, links) = page_meta(base, &path, &events, has_more);
    Ok((t, events, meta, links))
}

async fn comments(
    State(s): S,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = forbidden(&s, &id) {
        return r;
    }
    let w = lock(&s.world);
    let (t, events, meta, links) = match ticket_page(&w, &s.base_url, &id, "comments", true, &q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let breaker = Breaker::new(&s);
    let comments: Vec<Value> = events
        .iter()
        .filter_map(|e| json::comment(&s.base_url, t, e))
        .map(|c| {
            let key = format!("comment:{}", c["id"]);
            breaker.apply(c, &key, [t.id])
        })
        .collect();
    let mut body = json!({
        "comments": comments,
        "meta": meta,
        "links": links,
    });
    if q.get("include")
        .is_some_and(|i| i.split(',').any(|i| i == "users"))
    {
        let ids: BTreeSet<u64> = events
            .iter()
            .filter_map(|e| match e.wire {
                Wire::Comment { author_id, .. } => Some(author_id),
                _ => None,
            })
            .collect();
        body["users"] = ids
            .iter()
            .filter_map(|id| w.users.get(id))
            .map(|u| {
                breaker.apply(
                    json::user(&s.base_url, u),
                    &format!("user:{}", u.id),
                    [t.id],
                )
            })
            .collect();
    }
    Json(body).into_response()
}

async fn conversation_log(
    State(s): S,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if lock(&s.faults).no_conversation_log {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    }
    if let Some(r) = forbidden(&s, &id) {
        return r;
    }
    let w = lock(&s.world);
    let (t, events, meta, links) =
        match ticket_page(&w, &s.base_url, &id, "conversation_log", false, &q) {
            Ok(p) => p,
            Err(r) => return *r,
        };
    let breaker = Breaker::new(&s);
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            let key = format!("event:{}", e.id);
            breaker.apply(json::log_event(&s.base_url, &w, e), &key, [t.id])
        })
        .collect();
    Json(json!({
        "events": events,
        "meta": meta,
        "links": links,
    }))
    .into_response()
}

/// `ListAuditsForTicket`, for the only audits this simulator keeps: comment redactions.
/// Honours `filter_events[]`, `sort_order` and `page[size]` (no further pages).
async fn redaction_audits(
    State(s): S,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let w = lock(&s.world);
    let Some(t) = live_ticket(&w, &id) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let wanted = q
        .get("filter_events[]")
        .is_none_or(|f| f == "CommentRedactionEvent");
    let size = q
        .get("page[size]")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let mut audits: Vec<Value> = if wanted {
        t.redactions
            .iter()
            .map(|r| json::redaction_audit(t, r, w.me))
            .collect()
    } else {
        vec![]
    };
    if q.get("sort_order").map(String::as_str) == Some("desc") {
        audits.reverse();
    }
    let count = audits.len();
    audits.truncate(size);
    Json(json!({
        "audits": audits,
        "count": count,
        "next_page": null,
        "previous_page": null,
    }))
    .into_response()
}

/// Sunshine Conversations `GetApp`: the one app this simulator hosts.
async fn sunco_app(State(s): S, Path(app): Path<String>) -> Response {
    if app != s.sunco_app_id {
        return error(StatusCode::NOT_FOUND, "app_not_found", "App not found");
    }
    Json(json!({
        "app": {
            "id": app,
            "displayName": "Acme messaging",
            "subdomain": "acme",
            "settings": {
                "conversationRetentionSeconds": 0,
                "maskCreditCardNumbers": true,
                "useAnimalNames": false,
                "echoPostback": false,
                "ignoreAutoConversationStart": false,
                "multiConvoEnabled": true
            },
            "metadata": null
        }
    }))
    .into_response()
}

/// Sunshine Conversations `listMessages`: newest page first, `page[before]` (or
/// `page[after]`) a message id, 100 messages a page at most.
async fn sunco_messages(
    State(s): S,
    Path((app, conversation)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "conversation_not_found",
            "Conversation not found",
        )
    };
    if app != s.sunco_app_id {
        return not_found();
    }
    let w = lock(&s.world);
    let Some(t) = w.tickets.values().find(|t| {
        t.custom_fields.iter().any(|(f, v)| {
            *f == crate::world::FIELD_SUNCO && v.as_deref() == Some(conversation.as_str())
        })
    }) else {
        return not_found();
    };
    let all: Vec<&Event> = t
        .events
        .iter()
        .filter(|e| matches!(e.wire, Wire::Message { .. } | Wire::Activity { .. }))
        .collect();
    let id_of = |raw: &String| u64::from_str_radix(raw, 16).ok();
    let (page, has_more): (Vec<&Event>, bool) = match (q.get("page[before]"), q.get("page[after]"))
    {
        (Some(b), _) => {
            let Some(before) = id_of(b) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "invalid page[before]",
                );
            };
            let older: Vec<&Event> = all.iter().copied().filter(|e| e.id < before).collect();
            let from = older.len().saturating_sub(100);
            (older[from..].to_vec(), from > 0)
        }
        (None, Some(a)) => {
            let Some(after) = id_of(a) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "invalid page[after]",
                );
            };
            let newer: Vec<&Event> = all.iter().copied().filter(|e| e.id > after).collect();
            (newer.iter().take(100).copied().collect(), newer.len() > 100)
        }
        (None, None) => {
            let from = all.len().saturating_sub(100);
            (all[from..].to_vec(), from > 0)
        }
    };
    let mut meta = json!({ "hasMore": has_more });
    let mut links = json!({});
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        meta["beforeCursor"] = json!(format!("{:024x}", first.id));
        meta["afterCursor"] = json!(format!("{:024x}", last.id));
        if has_more {
            links["prev"] = json!(format!(
                "{}/sc/v2/apps/{app}/conversations/{conversation}/messages?page%5Bbefore%5D={:024x}",
                s.base_url, first.id
            ));
        }
    }
    Json(json!({
        "messages": page.iter().filter_map(|e| json::sunco_message(&s.base_url, e)).collect::<Vec<_>>(),
        "meta": meta,
        "links": links,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct UpdateRequest {
    ticket: TicketUpdate,
}

#[derive(Deserialize)]
struct TicketUpdate {
    comment: Option<CommentInput>,
    status: Option<String>,
    #[serde(default)]
    safe_update: bool,
    updated_stamp: Option<String>,
}

#[derive(Deserialize)]
struct CommentInput {
    body: Option<String>,
    html_body: Option<String>,
    public: Option<bool>,
    author_id: Option<u64>,
}

async fn update_ticket(State(s): S, Path(id): Path<String>, body: Bytes) -> Response {
    let raw: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "InvalidJSON", &e.to_string()),
    };
    lock(&s.stats).ticket_updates.push(raw.clone());
    let req: UpdateRequest = match serde_json::from_value(raw) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "RecordInvalid",
                &e.to_string(),
            )
        }
    };
    let now = Utc::now();
    // The write and its webhooks: announced after the world is released, never awaited.
    s.mutate(Actor::Me, now, |w, _| apply_update(&s, w, &id, req, now))
}

/// Applies a checked update request to the ticket, answering as `UpdateTicket` does.
fn apply_update(
    s: &Shared,
    w: &mut World,
    id: &str,
    req: UpdateRequest,
    now: DateTime<Utc>,
) -> Response {
    let me = w.me;
    let Some(tid) = live_ticket(w, id).map(|t| t.id) else {
        return error(StatusCode::NOT_FOUND, "RecordNotFound", "Not found");
    };
    let current = json::time(w.tickets[&tid].updated_at);
    if req.ticket.safe_update && req.ticket.updated_stamp.as_deref() != Some(current.as_str()) {
        return (
            StatusCode::CONFLICT,
            Json(json!({
                "error": "UpdateConflict",
                "description": "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
                "details": { "updated_at": current },
            })),
        )
            .into_response();
    }
    let event_id = w.next_id();
    let status = match req.ticket.status.as_deref() {
        None => None,
        Some(s @ ("new" | "open" | "pending" | "hold" | "solved" | "closed")) => Some(s),
        Some(_) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "RecordInvalid",
                "unknown status",
            )
        }
    };
    let mut audit_events = vec![];
    let mut new_event = None;
    if let Some(c) = req.ticket.comment {
        let text = c.body.or(c.html_body).unwrap_or_default();
        if text.trim().is_empty() {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "RecordInvalid",
                "Comment: body cannot be blank",
            );
        }
        // Zendesk's default for `public` depends on the ticket; Baton always sends it.
        let public = c.public.unwrap_or(true);
        let author_id = c.author_id.unwrap_or(me);
        let wire = Wire::Comment { author_id, public };
        audit_events.push(json!({ "id": event_id, "type": "Comment", "body": text, "public": public, "author_id": author_id }));
        new_event = Some(Event {
            id: event_id,
            created_at: now,
            text,
            attachments: vec![],
            wire,
            truth: Truth::Turn { role: "agent" },
        });
    }
    let t = w.tickets.get_mut(&tid).expect("checked above");
    if let Some(status) = status {
        t.status = match status {
            "new" => "new",
            "open" => "open",
            "pending" => "pending",
            "hold" => "hold",
            "solved" => "solved",
            _ => "closed",
        };
    }
    t.events.extend(new_event);
    w.touch(tid, now);
    let t = &w.tickets[&tid];
    Json(json!({
        "ticket": json::ticket(&s.base_url, t),
        "audit": { "id": event_id + 1, "ticket_id": tid, "author_id": me, "created_at": json::time(now), "events": audit_events },
    }))
    .into_response()
}

async fn set_faults(State(s): S, Json(f): Json<Faults>) -> Response {
    s.set_faults(f);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(s): S) -> Response {
    Json(lock(&s.faults).clone()).into_response()
}

async fn set_sf_faults(State(s): S, Json(f): Json<Faults>) -> Response {
    *lock(&s.sf.faults) = f;
    StatusCode::NO_CONTENT.into_response()
}

async fn get_sf_faults(State(s): S) -> Response {
    Json(lock(&s.sf.faults).clone()).into_response()
}

async fn expire_sf_sessions(State(s): S) -> Response {
    lock(&s.sf.tokens).expire_all();
    StatusCode::NO_CONTENT.into_response()
}

async fn expire_sf_changes(State(s): S) -> Response {
    s.sf.pubsub.expire(&lock(&s.sf.org));
    StatusCode::NO_CONTENT.into_response()
}

async fn stall_pubsub_streams(State(s): S) -> Response {
    s.sf.pubsub.stall();
    StatusCode::NO_CONTENT.into_response()
}

/// Ends a MessagingSession as someone would in the org (`{"id": "0Mw…", "by": "EndUser"}`;
/// `by` is an `EndedByType`, EndUser by default), its change event following.
async fn end_sf_session(State(s): S, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct End {
        id: String,
        #[serde(default)]
        by: Option<String>,
    }
    let Ok(end) = serde_json::from_slice::<End>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"id\": \"0Mw…\", \"by\": \"EndUser\"}",
        )
            .into_response();
    };
    let now = Utc::now();
    let by = end.by.unwrap_or_else(|| "EndUser".into());
    let ended = s.sf.change_org(|o, _| o.end_session(&end.id, &by, now));
    if ended {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, "no such open session").into_response()
    }
}

/// Ends a Zendesk messaging session: `{"ticket": 123, "by": "end_user"|"agent"|"system"}`.
async fn end_zd_session(State(s): S, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct End {
        ticket: u64,
        #[serde(default)]
        by: Option<String>,
    }
    let activity = |by: Option<&str>| match by.unwrap_or("end_user") {
        "end_user" => Some(crate::world::ACTIVITY_ENDED_BY_USER),
        "agent" => Some(crate::world::ACTIVITY_TRANSFER_TO_EMAIL),
        "system" => Some(crate::world::ACTIVITY_TICKET_CLOSED),
        _ => None,
    };
    let Some((end, activity)) = serde_json::from_slice::<End>(&body)
        .ok()
        .and_then(|e| activity(e.by.as_deref()).map(|a| (e, a)))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"ticket\": 123, \"by\": \"end_user\" | \"agent\" | \"system\"}",
        )
            .into_response();
    };
    let now = Utc::now();
    let ended = s.mutate(Actor::World, now, |w, _| {
        let ended = w.end_session(end.ticket, activity, now);
        // Closing the ticket is what ends the session here.
        if ended && activity == crate::world::ACTIVITY_TICKET_CLOSED {
            if let Some(t) = w.tickets.get_mut(&end.ticket) {
                t.status = "closed";
            }
        }
        ended
    });
    if ended {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            "no such messaging session, or it already ended",
        )
            .into_response()
    }
}

async fn stats(State(s): S) -> Response {
    Json(lock(&s.stats).clone()).into_response()
}
