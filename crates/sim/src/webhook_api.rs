//! Zendesk's Webhooks API, the part a setup command needs: create, list, show the
//! signing secret, delete (developer.zendesk.com, "Webhooks" API reference; the Support
//! OpenAPI spec leaves this API out). A webhook created here that subscribes to Zendesk
//! events becomes a delivery target, signed with its own secret.
//!
//! Errors take the Support API's `{"errors": [{"code", "title"}]}` shape with a
//! `detail`; Zendesk's exact codes for this API are unconfirmed.

use crate::api::{decode_cursor, encode_cursor};
use crate::{json, lock, Shared};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::{RngCore, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

type S = State<Arc<Shared>>;

const EVENT_PREFIX: &str = "zen:event-type:";
const TRIGGER_SUBSCRIPTION: &str = "conditional_ticket_events";

/// A webhook created through the API.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    /// Numbers it among the account's webhooks: its id and its list cursor.
    n: u64,
    pub id: String,
    name: String,
    description: Option<String>,
    pub endpoint: String,
    http_method: String,
    request_format: String,
    status: String,
    subscriptions: Vec<String>,
    authentication: Option<Authentication>,
    custom_headers: Map<String, Value>,
    created_at: DateTime<Utc>,
    created_by: String,
    pub secret: String,
}

#[derive(Debug, Clone)]
enum Authentication {
    Basic { username: String, password: String },
    Bearer { token: String },
    ApiKey { name: String, value: String },
}

impl Hook {
    /// Whether Zendesk sends it events of `event_type`: active, subscribed to it, and
    /// (as event subscriptions require) a JSON POST.
    pub fn wants(&self, event_type: &str) -> bool {
        self.status == "active"
            && self.http_method == "POST"
            && self.request_format == "json"
            && self.subscriptions.iter().any(|s| s == event_type)
    }

    /// The headers its requests carry besides Zendesk's own.
    pub fn headers(&self) -> Vec<(String, String)> {
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        let auth = self.authentication.as_ref().map(|a| match a {
            Authentication::Basic { username, password } => (
                "Authorization".to_string(),
                format!("Basic {}", b64(format!("{username}:{password}"))),
            ),
            Authentication::Bearer { token } => {
                ("Authorization".to_string(), format!("Bearer {token}"))
            }
            Authentication::ApiKey { name, value } => (name.clone(), value.clone()),
        });
        let custom = self
            .custom_headers
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())));
        auth.into_iter().chain(custom).collect()
    }

    /// Its JSON form. Neither the signing secret nor the authentication's credentials
    /// are ever shown (the secret has its own endpoint).
    fn json(&self) -> Value {
        let authentication = self.authentication.as_ref().map(|a| {
            let kind = match a {
                Authentication::Basic { .. } => "basic_auth",
                Authentication::Bearer { .. } => "bearer_token",
                Authentication::ApiKey { .. } => "api_key",
            };
            json!({ "type": kind, "add_position": "header" })
        });
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "subscriptions": self.subscriptions,
            "endpoint": self.endpoint,
            "http_method": self.http_method,
            "request_format": self.request_format,
            "custom_headers": self.custom_headers,
            "created_at": json::time(self.created_at),
            "created_by": self.created_by,
            "updated_at": json::time(self.created_at),
            "updated_by": self.created_by,
        });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(a) = authentication {
            v["authentication"] = a;
        }
        v
    }
}

/// The account's API-created webhooks, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    hooks: Vec<Hook>,
    created: u64,
}

impl Registry {
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    pub fn wanting<'r>(&'r self, event_type: &'r str) -> impl Iterator<Item = &'r Hook> {
        self.hooks.iter().filter(move |h| h.wants(event_type))
    }
}

/// The routes; the caller puts them behind the API's gate (auth, limits, faults).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v2/webhooks", get(list).post(create))
        .route("/api/v2/webhooks/{webhook_id}", delete(remove))
        .route(
            "/api/v2/webhooks/{webhook_id}/signing_secret",
            get(signing_secret),
        )
}

fn refuse(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    let mut body = json::error(code, title);
    body["errors"][0]["detail"] = json!(detail);
    (status, Json(body)).into_response()
}

fn invalid(detail: String) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        "Invalid webhook",
        &detail,
    )
}

fn not_found() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "RecordNotFound",
        "Not found",
        "No webhook with that id",
    )
}

/// A webhook's signing secret: 32 bytes, base64, from the seed and the webhook's
/// number, so a run is repeatable.
fn secret_for(seed: u64, n: u64) -> String {
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One of `allowed`, or why not (errors here are the `detail` of a 400).
fn one_of(w: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<String, String> {
    match w.get(field).and_then(Value::as_str) {
        Some(v) if allowed.contains(&v) => Ok(v.to_string()),
        Some(v) => Err(format!("webhook.{field} {v:?} is not one of {allowed:?}")),
        None => Err(format!("webhook.{field} is required")),
    }
}

fn authentication(v: Option<&Value>) -> Result<Option<Authentication>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = |field: &str| {
        v.pointer(&format!("/data/{field}"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("webhook.authentication.data.{field} is required"))
    };
    if v.get("add_position").and_then(Value::as_str) != Some("header") {
        return Err("webhook.authentication.add_position must be \"header\"".into());
    }
    let auth = match v.get("type").and_then(Value::as_str) {
        Some("basic_auth") => Authentication::Basic {
            username: text("username")?,
            password: text("password")?,
        },
        Some("bearer_token") => Authentication::Bearer {
            token: text("token")?,
        },
        Some("api_key") => Authentication::ApiKey {
            name: text("name")?,
            value: text("value")?,
        },
        _ => {
            return Err(
                "webhook.authentication.type must be basic_auth, bearer_token or api_key".into(),
            )
        }
    };
    Ok(Some(auth))
}

/// Reads a create request's webhook, checked as Zendesk checks it: event subscriptions
/// need a JSON POST, and cannot be mixed with the trigger connection.
fn parse(w: &Map<String, Value>) -> Result<Hook, String> {
    let name = match w.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() => n.to_string(),
        _ => return Err("webhook.name is required".into()),
    };
    let endpoint = match w.get("endpoint").and_then(Value::as_str) {
        Some(e) => match reqwest::Url::parse(e) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => e.to_string(),
            _ => return Err(format!("webhook.endpoint {e:?} is not an http(s) URL")),
        },
        None => return Err("webhook.endpoint is required".into()),
    };
    let http_method = one_of(w, "http_method", &["GET", "POST", "PUT", "PATCH", "DELETE"])?;
    let request_format = one_of(w, "request_format", &["json", "xml", "form_encoded"])?;
    let status = one_of(w, "status", &["active", "inactive"])?;
    let subscriptions: Vec<String> = match w.get("subscriptions") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "webhook.subscriptions must be strings".to_string())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("webhook.subscriptions must be an array".into()),
    };
    let events = subscriptions
        .iter()
        .filter(|s| s.starts_with(EVENT_PREFIX))
        .count();
    let trigger = subscriptions.iter().any(|s| s == TRIGGER_SUBSCRIPTION);
    if events + usize::from(trigger) != subscriptions.len() || (trigger && events > 0) {
        return Err(format!(
            "webhook.subscriptions takes event types ({EVENT_PREFIX}…) or only {TRIGGER_SUBSCRIPTION:?}"
        ));
    }
    if events > 0 && (http_method != "POST" || request_format != "json") {
        return Err("a webhook subscribed to events must be a json POST".into());
    }
    let custom_headers = match w.get("custom_headers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => m.clone(),
        Some(_) => return Err("webhook.custom_headers must map names to strings".into()),
    };
    Ok(Hook {
        n: 0,
        id: String::new(),
        name,
        description: w
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        endpoint,
        http_method,
        request_format,
        status,
        subscriptions,
        authentication: authentication(w.get("authentication"))?,
        custom_headers,
        created_at: Utc::now(),
        created_by: String::new(),
        secret: String::new(),
    })
}

/// `POST /api/v2/webhooks` (create; cloning is not simulated).
async fn create(State(s): S, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid(format!("the body is not JSON: {e}")),
    };
    let Some(w) = v.get("webhook").and_then(Value::as_object) else {
        return invalid("webhook is required".into());
    };
    let mut hook = match parse(w) {
        Ok(h) => h,
        Err(detail) => return invalid(detail),
    };
    let me = lock(&s.world).me;
    let mut registry = lock(&s.hooks);
    registry.created += 1;
    hook.n = registry.created;
    hook.id = format!("01SIMWEBHOOK{:014}", hook.n);
    hook.created_by = me.to_string();
    hook.secret = secret_for(s.seed, hook.n);
    let answer = json!({ "webhook": hook.json() });
    registry.hooks.push(hook);
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// `GET /api/v2/webhooks`: cursor paging (`page[size]` up to 100, `page[after]`),
/// `filter[status]`, `filter[name_contains]`; oldest first.
async fn list(State(s): S, Query(q): Query<HashMap<String, String>>) -> Response {
    let size = match q.get("page[size]").map(|n| n.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid("page[size] must be 1 to 100".into()),
    };
    let after = match q.get("page[after]") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(n) => n,
            None => return invalid("page[after] is not a valid cursor".into()),
        },
    };
    let registry = lock(&s.hooks);
    let name = q.get("filter[name_contains]").map(|n| n.to_lowercase());
    let mut rest: Vec<&Hook> = registry
        .hooks
        .iter()
        .filter(|h| h.n > after)
        .filter(|h| q.get("filter[status]").is_none_or(|st| &h.status == st))
        .filter(|h| {
            name.as_ref()
                .is_none_or(|n| h.name.to_lowercase().contains(n))
        })
        .collect();
    let has_more = rest.len() > size;
    rest.truncate(size);
    let mut meta = json!({ "has_more": has_more });
    let mut links = json!({});
    // As elsewhere in the simulator: cursors that do not apply are left out, never null.
    if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
        let (before, after) = (encode_cursor(first.n), encode_cursor(last.n));
        if has_more {
            links["next"] = json!(format!(
                "{}/api/v2/webhooks?page%5Bafter%5D={after}&page%5Bsize%5D={size}",
                s.base_url
            ));
        }
        meta["after_cursor"] = json!(after);
        meta["before_cursor"] = json!(before);
    }
    Json(json!({
        "webhooks": rest.iter().map(|h| h.json()).collect::<Vec<_>>(),
        "meta": meta,
        "links": links,
    }))
    .into_response()
}

/// `GET /api/v2/webhooks/{webhook_id}/signing_secret`.
async fn signing_secret(State(s): S, Path(id): Path<String>) -> Response {
    let registry = lock(&s.hooks);
    match registry.hooks.iter().find(|h| h.id == id) {
        Some(h) => Json(json!({
            "signing_secret": { "algorithm": "sha256", "secret": h.secret }
        }))
        .into_response(),
        None => not_found(),
    }
}

/// `DELETE /api/v2/webhooks/{webhook_id}`: no more deliveries to it (requests already
/// on their way finish).
async fn remove(State(s): S, Path(id): Path<String>) -> Response {
    let mut registry = lock(&s.hooks);
    let before = registry.hooks.len();
    registry.hooks.retain(|h| h.id != id);
    if registry.hooks.len() == before {
        return not_found();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(v: Value) -> Result<Hook, String> {
        parse(v.as_object().unwrap())
    }

    #[test]
    fn a_create_request_is_checked_as_zendesk_checks_it() {
        let good = json!({
            "name": "Baton relay", "status": "active", "endpoint": "http://127.0.0.1:9/hook",
            "http_method": "POST", "request_format": "json",
            "subscriptions": ["zen:event-type:ticket.created"],
        });
        let h = webhook(good.clone()).unwrap();
        assert!(h.wants("zen:event-type:ticket.created"));
        assert!(!h.wants("zen:event-type:ticket.comment_added"));
        assert!(h.headers().is_empty());

        let with = |k: &str, v: Value| {
            let mut w = good.clone();
            w[k] = v;
            webhook(w).map(|_| ()).map_err(|_| StatusCode::BAD_REQUEST)
        };
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(with("name", json!("")), Err(bad));
        assert_eq!(with("endpoint", json!("not a url")), Err(bad));
        assert_eq!(with("endpoint", json!("ftp://host/x")), Err(bad));
        assert_eq!(
            with("http_method", json!("GET")),
            Err(bad),
            "events need POST"
        );
        assert_eq!(
            with("request_format", json!("xml")),
            Err(bad),
            "events need json"
        );
        assert_eq!(with("status", json!("paused")), Err(bad));
        assert_eq!(
            with(
                "subscriptions",
                json!(["zen:event-type:ticket.created", "conditional_ticket_events"])
            ),
            Err(bad)
        );
        assert_eq!(with("subscriptions", json!(["ticket.created"])), Err(bad));
        assert_eq!(
            with("subscriptions", json!(["conditional_ticket_events"])),
            Ok(())
        );
        assert_eq!(with("status", json!("inactive")), Ok(()));

        let mut authed = good.clone();
        authed["authentication"] =
            json!({ "type": "bearer_token", "add_position": "header", "data": { "token": "t0k" } });
        authed["custom_headers"] = json!({ "X-Team": "blue" });
        let h = webhook(authed).unwrap();
        assert_eq!(
            h.headers(),
            vec![
                ("Authorization".to_string(), "Bearer t0k".to_string()),
                ("X-Team".to_string(), "blue".to_string())
            ]
        );
        let shown = h.json().to_string();
        assert!(
            !shown.contains("t0k"),
            "credentials are never shown: {shown}"
        );
        assert_eq!(h.json()["authentication"]["type"], "bearer_token");
        assert_eq!(
            with(
                "authentication",
                json!({ "type": "basic_auth", "add_position": "header", "data": {} })
            ),
            Err(bad)
        );

        let mut inactive = good;
        inactive["status"] = json!("inactive");
        assert!(!webhook(inactive)
            .unwrap()
            .wants("zen:event-type:ticket.created"));
    }

    #[test]
    fn signing_secrets_differ_by_webhook_and_repeat_by_seed() {
        assert_eq!(secret_for(1, 1), secret_for(1, 1));
        assert_ne!(secret_for(1, 1), secret_for(1, 2));
        assert_ne!(secret_for(1, 1), secret_for(2, 1));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(secret_for(1, 1))
            .unwrap();
        assert_eq!(raw.len(), 32);
    }
}
