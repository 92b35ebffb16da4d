//! `POST /services/oauth2/token`: the OAuth 2.0 JWT bearer flow (an RS256 assertion signed
//! with the key of the connected app's certificate) and the refresh-token flow, answered
//! and refused as Salesforce does; and the access tokens they issue, which expire.

use super::jwt;
use crate::{lock, Shared};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The login hosts an assertion may name as its audience, besides the simulator itself.
pub const LOGIN_URLS: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];
/// How far ahead an assertion's `exp` may be. Salesforce documents "within 3 minutes";
/// how far it really tolerates is unconfirmed, so the simulator allows a little more.
pub const MAX_EXP_AHEAD_SECS: i64 = 300;

/// Access tokens issued, and whose they are.
#[derive(Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, (String, Instant)>,
}

impl Tokens {
    /// A new access token for `user`, valid for `lifetime` (`00D…!…`, as Salesforce's).
    pub fn issue(&mut self, org_id: &str, user: &str, lifetime: Duration) -> String {
        let secret: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(96)
            .map(char::from)
            .collect();
        let token = format!("{}!{secret}", &org_id[..15]);
        self.issued
            .insert(token.clone(), (user.to_string(), Instant::now() + lifetime));
        token
    }

    /// The user a token belongs to, while it is valid.
    pub fn user(&self, token: &str) -> Option<&str> {
        self.issued
            .get(token)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(u, _)| u.as_str())
    }

    /// Ends every session at once (an admin's "revoke", a password change).
    pub fn expire_all(&mut self) {
        self.issued.clear();
    }
}

/// The access token of a request (`Authorization: Bearer …`, or `OAuth …`).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))
        .map(str::trim)
}

fn refuse(s: &Shared, error: &str, description: &str) -> Response {
    *lock(&s.stats)
        .salesforce
        .token_refusals
        .entry(description.to_string())
        .or_default() += 1;
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

type S = State<Arc<Shared>>;

pub(crate) async fn token(State(s): S, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER) => jwt_bearer(&s, form.get("assertion").map(String::as_str)),
        Some("refresh_token") => refresh(&s, &form),
        _ => refuse(&s, "unsupported_grant_type", "grant type not supported"),
    }
}

/// Why an assertion is refused, in Salesforce's words; `None` when it is good.
pub(crate) fn check_assertion(s: &Shared, assertion: &str) -> Option<(&'static str, &'static str)> {
    const INVALID: (&str, &str) = ("invalid_grant", "invalid assertion");
    let config = &s.sf.config;
    let Some(jwt) = jwt::decode(assertion) else {
        return Some(INVALID);
    };
    if jwt.header["alg"] != "RS256" {
        return Some(INVALID);
    }
    if jwt.claims["iss"].as_str() != Some(config.client_id.as_str()) {
        return Some(("invalid_client_id", "client identifier invalid"));
    }
    if !s
        .sf
        .certificate
        .verifies(jwt.signed.as_bytes(), &jwt.signature)
    {
        return Some(INVALID);
    }
    let ours = |aud: &Value| {
        aud.as_str().is_some_and(|a| {
            let a = a.trim_end_matches('/');
            a == s.base_url || LOGIN_URLS.contains(&a)
        })
    };
    let aud = &jwt.claims["aud"];
    let audience_ok = match aud.as_array() {
        Some(list) => list.iter().any(ours),
        None => ours(aud),
    };
    if !audience_ok {
        return Some(("invalid_grant", "audience is invalid"));
    }
    let Some(exp) = jwt.claims["exp"].as_f64() else {
        return Some(INVALID);
    };
    let now = Utc::now().timestamp() as f64;
    if exp <= now {
        return Some(("invalid_grant", "expired authorization code"));
    }
    if exp > now + MAX_EXP_AHEAD_SECS as f64 {
        return Some(INVALID);
    }
    let user = jwt.claims["sub"].as_str().unwrap_or_default();
    if !user.eq_ignore_ascii_case(&config.username) {
        return Some(("invalid_grant", "user hasn't approved this consumer"));
    }
    None
}

fn jwt_bearer(s: &Shared, assertion: Option<&str>) -> Response {
    if let Some((error, description)) = check_assertion(s, assertion.unwrap_or_default()) {
        return refuse(s, error, description);
    }
    let (token, id) = grant(s);
    Json(json!({
        "access_token": token,
        "scope": "api",
        "instance_url": s.base_url,
        "id": id,
        "token_type": "Bearer",
    }))
    .into_response()
}

fn refresh(s: &Shared, form: &HashMap<String, String>) -> Response {
    let config = &s.sf.config;
    let given = |k: &str| form.get(k).map(String::as_str);
    if given("client_id") != Some(config.client_id.as_str()) {
        return refuse(s, "invalid_client_id", "client identifier invalid");
    }
    if given("client_secret") != Some(config.client_secret.as_str()) {
        return refuse(s, "invalid_client", "invalid client credentials");
    }
    if given("refresh_token") != Some(config.refresh_token.as_str()) {
        return refuse(s, "invalid_grant", "expired access/refresh token");
    }
    let (token, id) = grant(s);
    let issued_at = Utc::now().timestamp_millis().to_string();
    // Salesforce signs the identity URL and the time with the consumer secret.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(config.client_secret.as_bytes())
        .expect("HMAC takes any key");
    mac.update(format!("{id}{issued_at}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Json(json!({
        "access_token": token,
        "signature": signature,
        "scope": "api refresh_token",
        "instance_url": s.base_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }))
    .into_response()
}

/// A new session for the rep: the access token and the identity URL.
fn grant(s: &Shared) -> (String, String) {
    let (org_id, me) = {
        let org = lock(&s.sf.org);
        (org.org_id.clone(), org.me.clone())
    };
    let token = lock(&s.sf.tokens).issue(&org_id, &me, s.sf.config.session_lifetime);
    lock(&s.stats).salesforce.tokens_issued += 1;
    (token, format!("{}/id/{org_id}/{me}", s.base_url))
}
