//! Signing in to a Salesforce org: the OAuth 2.0 JWT bearer flow (an RS256 assertion
//! with `iss` the consumer key, `sub` the username, `aud` the login host, test host or
//! My Domain, and a short `exp`) or the refresh-token flow; the `instance_url` every
//! other request goes to comes from the token answer. The session is kept in memory
//! only, and renewed once when Salesforce says it ended (`INVALID_SESSION_ID`).
//!
//! The private key, the refresh token and the client secret come from the keychain
//! (see `crate::secrets`) wrapped in [`Sensitive`]; none of them, nor the assertion or
//! the access token, appears in an error, a log line or a `Debug`.

use crate::client::{self, refused_for_credentials};
use crate::error::SalesforceError;
use crate::wire;
use backon::{BackoffBuilder, ExponentialBuilder};
use baton_core::Sensitive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How an account signs in.
#[derive(Clone)]
pub enum Grant {
    /// OAuth 2.0 JWT bearer: no refresh token; every sign-in mints a new assertion.
    JwtBearer {
        /// The connected app's consumer key (`iss`).
        consumer_key: String,
        /// The Salesforce username (`sub`).
        username: String,
        /// `aud`: `https://login.salesforce.com`, `https://test.salesforce.com`, or the
        /// Experience Cloud site / My Domain URL.
        audience: String,
        /// The RSA private key (PEM) whose certificate the connected app holds.
        private_key: Sensitive<String>,
    },
    /// The refresh-token flow: `grant_type=refresh_token&client_id&client_secret&refresh_token`.
    RefreshToken {
        client_id: String,
        client_secret: Option<Sensitive<String>>,
        refresh_token: Sensitive<String>,
    },
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::JwtBearer {
                consumer_key,
                username,
                audience,
                ..
            } => write!(f, "JwtBearer({consumer_key}, {username}, {audience})"),
            Grant::RefreshToken { client_id, .. } => write!(f, "RefreshToken({client_id})"),
        }
    }
}

/// One signed-in session: where the org is and the token for it.
pub struct Session {
    pub access_token: Sensitive<String>,
    /// `https://{my domain}.my.salesforce.com`, from the token answer.
    pub instance_url: String,
    /// The user the session belongs to (from the token answer's identity URL).
    pub user_id: Option<String>,
    pub org_id: Option<String>,
    /// Which sign-in this is: a renewal replaces only the session it was asked about.
    generation: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("instance_url", &self.instance_url)
            .field("user_id", &self.user_id)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Called with a new refresh token when Salesforce rotates it, so the keychain keeps
/// the one that still works.
pub type OnRotated = Arc<dyn Fn(&Sensitive<String>) + Send + Sync>;

/// Signs in and keeps the session; cheap to share (`Arc`) between clients.
pub struct Authenticator {
    http: reqwest::Client,
    login_url: String,
    account: String,
    grant: Mutex<Grant>,
    current: tokio::sync::Mutex<Option<Arc<Session>>>,
    generations: AtomicU64,
    on_rotated: Option<OnRotated>,
    /// How long an assertion is valid: Salesforce takes at most 3 minutes.
    pub jwt_lifetime: Duration,
    /// Attempts for a sign-in that fails on the way (offline, 5xx), not on a refusal.
    pub max_attempts: usize,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("login_url", &self.login_url)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The RS256 assertion for the JWT bearer flow.
pub fn assertion(
    consumer_key: &str,
    username: &str,
    audience: &str,
    private_key: &Sensitive<String>,
    exp: u64,
) -> Result<Sensitive<String>, SalesforceError> {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    // jsonwebtoken's errors name the problem, never the key; say it in our own words.
    let key = EncodingKey::from_rsa_pem(private_key.expose().as_bytes()).map_err(|_| {
        SalesforceError::input(
            "the private key kept for this account is not an RSA private key in PEM form \
             (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----); store the key \
             whose certificate the connected app holds",
        )
    })?;
    let claims = Claims {
        iss: consumer_key,
        sub: username,
        aud: audience,
        exp,
    };
    encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map(Sensitive::new)
        .map_err(|_| {
            SalesforceError::input(
                "the private key kept for this account cannot sign (RS256 needs an RSA key of \
                 2048 bits or more)",
            )
        })
}

/// `https://login.salesforce.com/id/00Dxx/005xx` → (`00Dxx`, `005xx`).
fn ids_from_identity_url(id: &str) -> (Option<String>, Option<String>) {
    let mut parts = id.trim_end_matches('/').rsplit('/');
    let user = parts.next().filter(|s| is_record_id(s)).map(str::to_string);
    let org = parts.next().filter(|s| is_record_id(s)).map(str::to_string);
    (org, user)
}

/// A Salesforce record id: 15 or 18 letters and digits.
pub fn is_record_id(s: &str) -> bool {
    matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Authenticator {
    /// `login_url` is where the token endpoint is: `https://login.salesforce.com`,
    /// `https://test.salesforce.com`, or the org's My Domain.
    pub fn new(login_url: &str, account: &str, grant: Grant) -> Result<Self, SalesforceError> {
        let login_url = login_url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&login_url).map_err(|e| {
            SalesforceError::input(format!("the login URL {login_url:?} is not a URL: {e}"))
        })?;
        if let Some(why) = refused_for_credentials(&parsed) {
            return Err(SalesforceError::input(format!(
                "the login URL {login_url}: {why}"
            )));
        }
        if let Grant::JwtBearer { audience, .. } = &grant {
            if audience.trim().is_empty() {
                return Err(SalesforceError::input(
                    "the JWT audience is empty: use https://login.salesforce.com, \
                     https://test.salesforce.com or the site's URL",
                ));
            }
        }
        Ok(Self {
            http: client::http_client()?,
            login_url,
            account: account.to_string(),
            grant: Mutex::new(grant),
            current: tokio::sync::Mutex::new(None),
            generations: AtomicU64::new(0),
            on_rotated: None,
            jwt_lifetime: Duration::from_secs(120),
            max_attempts: 4,
        })
    }

    /// Keep a rotated refresh token (the keychain): called with each new one.
    pub fn on_rotated(mut self, f: OnRotated) -> Self {
        self.on_rotated = Some(f);
        self
    }

    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// How many times this authenticator has signed in.
    pub fn sign_ins(&self) -> u64 {
        self.generations.load(Ordering::Relaxed)
    }

    /// The current session, signing in first when there is none.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        let mut current = self.current.lock().await;
        if let Some(s) = current.as_ref() {
            return Ok(s.clone());
        }
        let s = Arc::new(self.sign_in().await?);
        *current = Some(s.clone());
        Ok(s)
    }

    /// A new session in place of `stale`, which Salesforce no longer takes. When another
    /// request already renewed it, that session is returned: one sign-in per expiry,
    /// however many requests noticed it.
    pub async fn renew(&self, stale: &Session) -> Result<Arc<Session>, SalesforceError> {
        let mut current = self.current.lock().await;
        if let Some(s) = current.as_ref() {
            if s.generation != stale.generation {
                return Ok(s.clone());
            }
        }
        *current = None;
        let s = Arc::new(self.sign_in().await?);
        *current = Some(s.clone());
        Ok(s)
    }

    /// Forget the session (the next request signs in again).
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }

    /// Asks the token endpoint for a session, retrying failures on the way.
    async fn sign_in(&self) -> Result<Session, SalesforceError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build();
        loop {
            match self.sign_in_once().await {
                Err(e) if e.is_transient() => match backoff.next() {
                    Some(d) => {
                        tracing::debug!(account = %self.account, error = %e, "sign-in failed; retrying");
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    async fn sign_in_once(&self) -> Result<Session, SalesforceError> {
        let endpoint = "POST /services/oauth2/token".to_string();
        let grant = self.grant.lock().expect("grant lock").clone();
        // The form holds secrets: built here, sent, dropped; never logged.
        let form: Vec<(&str, String)> = match &grant {
            Grant::JwtBearer {
                consumer_key,
                username,
                audience,
                private_key,
            } => {
                let exp = now_secs() + self.jwt_lifetime.as_secs();
                let jwt = assertion(consumer_key, username, audience, private_key, exp)?;
                vec![
                    ("grant_type", JWT_BEARER_GRANT.to_string()),
                    ("assertion", jwt.expose().clone()),
                ]
            }
            Grant::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                let mut f = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("client_id", client_id.clone()),
                    ("refresh_token", refresh_token.expose().clone()),
                ];
                if let Some(s) = client_secret {
                    f.push(("client_secret", s.expose().clone()));
                }
                f
            }
        };
        let url = format!("{}/services/oauth2/token", self.login_url);
        let resp = self
            .http
            .post(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| client::unreachable(&self.login_url, &e))?;
        drop(form);
        let status = resp.status();
        if status.is_server_error() {
            return Err(SalesforceError::Server {
                endpoint,
                status: status.as_u16(),
            });
        }
        let body = client::read_body(resp, client::MAX_ERROR_BODY_BYTES * 4, &endpoint).await?;
        if !status.is_success() {
            let e: wire::OAuthError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(SalesforceError::Auth {
                account: self.account.clone(),
                reason: refusal(&grant, &e, status.as_u16()),
            });
        }
        let t: wire::TokenResponse =
            serde_json::from_slice(&body).map_err(|e| SalesforceError::Invalid {
                endpoint: endpoint.clone(),
                reason: format!(
                    "the token answer is not the expected JSON ({})",
                    wire::without_quoted_text(&e.to_string())
                ),
            })?;
        let instance_url = t.instance_url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&instance_url).map_err(|_| SalesforceError::Invalid {
            endpoint: endpoint.clone(),
            reason: format!("instance_url {instance_url:?} is not a URL"),
        })?;
        if let Some(why) = refused_for_credentials(&parsed) {
            return Err(SalesforceError::Invalid {
                endpoint,
                reason: format!("instance_url {instance_url}: {why}"),
            });
        }
        if let (Some(new), Grant::RefreshToken { refresh_token, .. }) = (&t.refresh_token, &grant) {
            if new.expose() != refresh_token.expose() {
                if let Grant::RefreshToken { refresh_token, .. } =
                    &mut *self.grant.lock().expect("grant lock")
                {
                    *refresh_token = new.clone();
                }
                if let Some(f) = &self.on_rotated {
                    f(new);
                }
            }
        }
        let (org_id, user_id) =
            t.id.as_deref()
                .map(ids_from_identity_url)
                .unwrap_or_default();
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(account = %self.account, instance = %instance_url, generation, "signed in to Salesforce");
        Ok(Session {
            access_token: t.access_token,
            instance_url,
            user_id,
            org_id,
            generation,
        })
    }
}

/// What a refusal from the token endpoint means, as a sentence that says what to fix.
/// Salesforce's `error_description` is quoted at the end: it names no secret.
pub fn refusal(grant: &Grant, e: &wire::OAuthError, status: u16) -> String {
    let d = e.error_description.to_ascii_lowercase();
    let code = e.error.as_str();
    let said = if e.error.is_empty() && e.error_description.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("{}: {}", e.error, e.error_description)
    };
    let (who, aud, key) = match grant {
        Grant::JwtBearer {
            username,
            audience,
            consumer_key,
            ..
        } => (username.as_str(), audience.as_str(), consumer_key.as_str()),
        Grant::RefreshToken { client_id, .. } => ("this user", "", client_id.as_str()),
    };
    let jwt = matches!(grant, Grant::JwtBearer { .. });
    let fix = if d.contains("hasn't approved") || d.contains("not approved this consumer") {
        format!(
            "the connected app is not approved for {who}. In Setup, open the app's policies, set \
             Permitted Users to \"Admin approved users are pre-authorized\" and give {who}'s \
             profile or a permission set access to the app"
        )
    } else if d.contains("not admin approved") || code == "invalid_app_access" {
        format!(
            "{who} is not admin-approved for the connected app: add their profile or a \
             permission set of theirs to the app's policies"
        )
    } else if d.contains("audience") {
        format!(
            "the audience {aud:?} is wrong for this org: use https://login.salesforce.com for \
             production, https://test.salesforce.com for a sandbox, or the Experience Cloud \
             site's URL, in the account's settings (audience)"
        )
    } else if jwt && (d.contains("expired") || d.contains("exp ") || d.contains("'exp'")) {
        format!(
            "Salesforce judged the sign-in assertion expired, so this computer's clock is \
             probably wrong (it reads {} UTC). Set the clock to synchronise automatically, \
             then try again",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        )
    } else if d.contains("invalid assertion") || d.contains("signature") || d.contains("jwt") {
        "the assertion's signature did not verify: the certificate uploaded to the connected \
         app does not match the private key kept for this account. Upload the matching \
         certificate, or store the matching key"
            .to_string()
    } else if code == "invalid_client_id" || d.contains("client identifier invalid") {
        format!(
            "Salesforce knows no connected app with the consumer key {key:?} at this login \
             host: copy it from the app's consumer details (a new app takes up to 10 minutes \
             to work), and check the login URL (production or sandbox)"
        )
    } else if code == "invalid_client"
        || d.contains("client secret")
        || d.contains("client credentials")
    {
        "the client secret is wrong: copy it from the connected app's consumer details".to_string()
    } else if d.contains("inactive") {
        format!("{who} is inactive in this org: an admin must reactivate the user")
    } else if d.contains("ip restricted") || d.contains("login hours") {
        format!(
            "{who} may not sign in from this network or at this hour (the profile's login IP \
             ranges or login hours)"
        )
    } else if !jwt
        && (code == "invalid_grant"
            && (d.contains("expired") || d.contains("revoked") || d.contains("refresh")))
    {
        "the refresh token was revoked or has expired: connect the account again".to_string()
    } else if d.contains("user") || d.contains("authentication failure") {
        format!(
            "Salesforce knows no active user {who} at this login host: check the username \
             (sandbox usernames carry a suffix) and the login URL"
        )
    } else {
        "check the connected app, the user and the login URL".to_string()
    };
    format!("{fix} (Salesforce said {said})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt() -> Grant {
        Grant::JwtBearer {
            consumer_key: "3MVG9-demo".into(),
            username: "alex@acme.test".into(),
            audience: "https://login.salesforce.com".into(),
            private_key: Sensitive::new(crate::test_support::KEY.into()),
        }
    }

    fn said(grant: &Grant, error: &str, description: &str) -> String {
        refusal(
            grant,
            &wire::OAuthError {
                error: error.into(),
                error_description: description.into(),
            },
            400,
        )
    }

    #[test]
    fn the_assertion_carries_the_four_claims_and_verifies() {
        use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
        let Grant::JwtBearer { private_key, .. } = jwt() else {
            unreachable!()
        };
        let exp = now_secs() + 120;
        let token = assertion(
            "3MVG9-demo",
            "alex@acme.test",
            "https://test.salesforce.com",
            &private_key,
            exp,
        )
        .unwrap();
        let key = DecodingKey::from_rsa_pem(crate::test_support::PUBLIC_KEY.as_bytes()).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["https://test.salesforce.com"]);
        let got = decode::<serde_json::Value>(token.expose(), &key, &v).unwrap();
        assert_eq!(got.header.alg, Algorithm::RS256);
        assert_eq!(got.claims["iss"], "3MVG9-demo");
        assert_eq!(got.claims["sub"], "alex@acme.test");
        assert_eq!(got.claims["aud"], "https://test.salesforce.com");
        assert_eq!(got.claims["exp"], exp);
    }

    #[test]
    fn a_key_that_is_not_rsa_pem_says_so_without_quoting_it() {
        let canary = "canary-not-a-key-5521";
        let e = assertion("k", "u", "a", &Sensitive::new(canary.into()), 1).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("not an RSA private key"), "{text}");
        assert!(!text.contains(canary));
    }

    #[test]
    fn refusals_become_sentences_that_say_what_to_fix() {
        let g = jwt();
        let t = said(&g, "invalid_grant", "user hasn't approved this consumer");
        assert!(
            t.contains("not approved for alex@acme.test") && t.contains("pre-authorized"),
            "{t}"
        );
        let t = said(&g, "invalid_grant", "audience is invalid");
        assert!(
            t.contains("https://test.salesforce.com for a sandbox"),
            "{t}"
        );
        let t = said(&g, "invalid_grant", "expired authorization code");
        assert!(t.contains("clock"), "{t}");
        let t = said(&g, "invalid_client_id", "client identifier invalid");
        assert!(t.contains("3MVG9-demo"), "{t}");
        let t = said(&g, "invalid_grant", "invalid assertion");
        assert!(t.contains("certificate"), "{t}");
        let t = said(&g, "invalid_grant", "user not found");
        assert!(t.contains("no active user alex@acme.test"), "{t}");
        let refresh = Grant::RefreshToken {
            client_id: "cid".into(),
            client_secret: None,
            refresh_token: Sensitive::new("r".into()),
        };
        let t = said(&refresh, "invalid_grant", "expired access/refresh token");
        assert!(t.contains("connect the account again"), "{t}");
        let t = said(&refresh, "invalid_client", "invalid client credentials");
        assert!(t.contains("client secret"), "{t}");
        // Every sentence ends with what Salesforce said.
        assert!(t.ends_with("(Salesforce said invalid_client: invalid client credentials)"));
    }

    #[tokio::test]
    async fn the_refresh_flow_sends_its_form_and_keeps_a_rotated_token() {
        use crate::client::test_server::{serve_with, Answer};
        let server = serve_with(|_, _| {
            Answer::json(
                r#"{"access_token":"a1","instance_url":"INSTANCE","id":"https://x/id/00D000000000001AAA/005000000000001AAA",
                    "token_type":"Bearer","refresh_token":"r2"}"#,
            )
        })
        .await;
        let kept = Arc::new(Mutex::new(vec![]));
        let seen = kept.clone();
        let auth = Authenticator::new(
            &server.url,
            "acme",
            Grant::RefreshToken {
                client_id: "cid".into(),
                client_secret: Some(Sensitive::new("sec".into())),
                refresh_token: Sensitive::new("r1".into()),
            },
        )
        .unwrap()
        .on_rotated(Arc::new(move |t: &Sensitive<String>| {
            seen.lock().unwrap().push(t.expose().clone())
        }));
        let s = auth.session().await.unwrap();
        assert_eq!(s.instance_url, server.url);
        assert_eq!(s.user_id.as_deref(), Some("005000000000001AAA"));
        // A second caller renewing the same session signs in again; one holding an
        // older session gets the current one without a sign-in.
        let s2 = auth.renew(&s).await.unwrap();
        assert_eq!(auth.renew(&s).await.unwrap().generation, s2.generation);
        assert_eq!(auth.sign_ins(), 2);
        let forms: Vec<String> = server
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|x| x.body.clone())
            .collect();
        assert_eq!(
            forms[0],
            "grant_type=refresh_token&client_id=cid&refresh_token=r1&client_secret=sec"
        );
        assert!(
            forms[1].contains("refresh_token=r2"),
            "the rotated token is used: {}",
            forms[1]
        );
        assert_eq!(*kept.lock().unwrap(), ["r2"]);
    }

    #[test]
    fn the_identity_url_gives_org_and_user() {
        assert_eq!(
            ids_from_identity_url(
                "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA"
            ),
            (
                Some("00D000000000001AAA".into()),
                Some("005000000000001AAA".into())
            )
        );
        assert_eq!(ids_from_identity_url("nonsense"), (None, None));
    }

    #[test]
    fn debug_shows_no_secret() {
        let g = Grant::RefreshToken {
            client_id: "cid".into(),
            client_secret: Some(Sensitive::new("canary-secret-1".into())),
            refresh_token: Sensitive::new("canary-refresh-2".into()),
        };
        let text = format!("{g:?} {:?}", jwt());
        assert!(
            !text.contains("canary") && !text.contains("PRIVATE KEY"),
            "{text}"
        );
    }
}
