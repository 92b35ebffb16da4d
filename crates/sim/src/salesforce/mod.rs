//! The Salesforce org `baton-sim` serves beside its Zendesk account, on the same port:
//!
//! - `POST /services/oauth2/token`: the JWT bearer flow (an RS256 assertion checked against
//!   the connected app's certificate: `iss` the consumer key, `sub` the username, `aud` the
//!   simulator's URL or `https://login.salesforce.com` / `https://test.salesforce.com`,
//!   `exp` a few minutes ahead) and the refresh-token flow;
//! - `GET /services/data/vXX.X/query?q=…` and `…/query/{locator}-{offset}`: SOQL over the
//!   org (see `soql`), 2,000 records a page (`Sforce-Query-Options: batchSize=N`);
//! - `GET /services/data/vXX.X/sobjects/{Type}/{Id}`;
//! - `GET /services/data/vXX.X/connect/conversation/{conversationIdentifier}/entries`.
//!
//! Every REST answer carries `Sforce-Limit-Info: api-usage=N/M`; access tokens expire.
//! The org is seeded from the simulator's seed and lives on when it runs live; changes to
//! MessagingSession records are kept with replay ids, and served as Avro change events by
//! the Pub/Sub API (`pubsub`: gRPC on a port of its own).

mod api;
mod auth;
mod avro;
mod connect;
mod ids;
pub mod jwt;
pub mod org;
pub mod pubsub;
mod query;
mod seed;
mod soql;
pub(crate) mod usage;

pub(crate) use api::routes;
pub use auth::{JWT_BEARER, LOGIN_URLS, MAX_EXP_AHEAD_SECS};
pub use connect::escape_html;
pub use org::{
    Change, ChangeType, Entry, EntryAttachment, Object, Org, Record, Role, RoutingFields, Val,
};
pub use seed::OrgGenerator;
pub use usage::SfLimits;

use crate::Faults;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The certificate of the demo connected app: the org trusts assertions signed with
/// [`DEMO_KEY_PEM`] unless another certificate is configured (`--sf-cert`).
pub const DEMO_CERT_PEM: &str = include_str!("../../salesforce-demo/demo-cert.pem");
/// The demo private key. PUBLIC: it is in this source and `baton-sim --write-sf-demo-key`
/// writes it out, so it protects nothing; it exists so anyone can sign a JWT the
/// simulator accepts. Never trust it anywhere else.
pub const DEMO_KEY_PEM: &str = include_str!("../../salesforce-demo/demo-key.pem");

#[derive(Debug, Clone)]
pub struct SfConfig {
    /// The connected app's consumer key (the JWT's `iss`, the refresh flow's `client_id`).
    pub client_id: String,
    /// The consumer secret (the refresh-token flow).
    pub client_secret: String,
    /// The rep's username (the JWT's `sub`): the only user who approved the app.
    pub username: String,
    /// The connected app's certificate (PEM): assertions must be signed with its key.
    pub cert_pem: String,
    /// The refresh token the rep was given (as if by an earlier web-server flow).
    pub refresh_token: String,
    /// How long an access token lasts.
    pub session_lifetime: Duration,
    /// Seeded MessagingSessions.
    pub sessions: usize,
    pub limits: SfLimits,
    /// The custom fields the routing attributes land in.
    pub routing: RoutingFields,
    /// The Pub/Sub API's port on 127.0.0.1 (0: any free one).
    pub pubsub_port: u16,
    /// How long a Subscribe stream stays quiet before an empty batch (Salesforce: 270 s).
    pub pubsub_keepalive: Duration,
}

impl Default for SfConfig {
    fn default() -> Self {
        Self {
            client_id: "baton-demo-client".into(),
            client_secret: "baton-demo-secret".into(),
            username: "alex@acme.test".into(),
            cert_pem: DEMO_CERT_PEM.into(),
            refresh_token: "baton-demo-refresh-token".into(),
            // Salesforce's default session timeout.
            session_lifetime: Duration::from_secs(2 * 3600),
            sessions: 60,
            limits: SfLimits::default(),
            routing: RoutingFields::default(),
            pubsub_port: 0,
            pubsub_keepalive: Duration::from_secs(270),
        }
    }
}

/// What the org has seen, beside the request counts in [`crate::Stats::requests`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct SfStats {
    /// REST requests counted against the daily allocation in the current day.
    pub api_usage: u32,
    pub tokens_issued: u64,
    /// Token requests refused, by `error_description`.
    pub token_refusals: BTreeMap<String, u64>,
    /// REST requests refused with `INVALID_SESSION_ID`.
    pub invalid_session: u64,
    /// REST requests refused with `REQUEST_LIMIT_EXCEEDED` (daily or Connect's hourly).
    pub limit_exceeded: u64,
    pub faults_served: u64,
    /// Conversation-entries reads by ConversationIdentifier (each marks the conversation
    /// active for 30 minutes in a real org).
    pub connect_reads: BTreeMap<String, u64>,
    /// Every step of the live scenario: (MessagingSession id, when, in Unix milliseconds).
    pub live_changed: Vec<(String, i64)>,
    /// Pub/Sub API: Subscribe streams started (credentials, topic and replay id good).
    pub pubsub_subscribes: u64,
    /// Change events sent, over all streams.
    pub pubsub_events_sent: u64,
    /// Empty batches sent to quiet streams.
    pub pubsub_keepalives: u64,
    pub pubsub_schema_reads: u64,
    /// Calls (or streams) refused with a status.
    pub pubsub_refused: u64,
}

/// The org and everything its API keeps.
pub(crate) struct SfState {
    pub org: Mutex<Org>,
    pub generator: Mutex<OrgGenerator>,
    pub config: SfConfig,
    pub certificate: jwt::Certificate,
    pub tokens: Mutex<auth::Tokens>,
    pub usage: Mutex<usage::Usage>,
    pub locators: Mutex<query::Locators>,
    pub faults: Mutex<Faults>,
    pub pubsub: pubsub::Feed,
}

impl SfState {
    /// The seeded org; an error when the certificate cannot be read.
    pub fn new(
        config: SfConfig,
        seed: u64,
        base: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, String> {
        let certificate = jwt::Certificate::from_pem(&config.cert_pem)?;
        let mut generator = OrgGenerator::new(seed, base);
        let org = generator.org(&config.username, config.sessions, config.routing.clone());
        let schema = avro::EventSchema::new(&config.routing)?;
        Ok(Self {
            pubsub: pubsub::Feed::new(schema, config.pubsub_keepalive, &org),
            org: Mutex::new(org),
            generator: Mutex::new(generator),
            certificate,
            tokens: Mutex::new(auth::Tokens::default()),
            usage: Mutex::new(usage::Usage::new(config.limits.clone())),
            locators: Mutex::new(query::Locators::default()),
            faults: Mutex::new(Faults::default()),
            config,
        })
    }

    /// Changes the org through `f`, then wakes the Pub/Sub streams if it recorded a change:
    /// the one way the running simulator changes its org.
    pub fn change_org<R>(&self, f: impl FnOnce(&mut Org, &mut OrgGenerator) -> R) -> R {
        let mut org = crate::lock(&self.org);
        let r = f(&mut org, &mut crate::lock(&self.generator));
        self.pubsub.org_changed(&org);
        r
    }
}
