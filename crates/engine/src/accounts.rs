//! Connecting, checking, changing and disconnecting accounts, for every host: the vendor
//! of each account decides how (one arm per vendor).

use crate::error::{EngineError, Result};
use baton_core::model::SourceKind;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::AccountRecord;
use baton_core::{Sensitive, Store};

use baton_core::model::Unsent;
pub use baton_zendesk::accounts::{NewCredentials, SuncoKey};

/// A new account, as its vendor describes one.
pub enum NewAccount {
    Zendesk(baton_zendesk::accounts::NewAccount),
    Salesforce(NewSalesforceAccount),
}

/// A Salesforce org, signed in to with the OAuth 2.0 JWT bearer flow: the connected app's
/// consumer key, the user Baton signs in as, and the private key whose certificate was
/// uploaded to the app.
pub struct NewSalesforceAccount {
    /// A short name; the My Domain's, or the username's domain's, when `None`.
    pub name: Option<String>,
    /// `https://login.salesforce.com`, `https://test.salesforce.com`, or the org's My Domain.
    pub login_url: String,
    pub username: String,
    /// The connected app's consumer key (its client id).
    pub consumer_key: String,
    /// The RSA private key, PEM; goes straight to the keychain.
    pub private_key: Sensitive<String>,
    /// Where the Pub/Sub API is, when not Salesforce's own endpoint (the simulator's).
    pub pubsub_url: Option<String>,
}

/// Who a Salesforce sign-in belongs to: what adding or testing an account shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesforceUser {
    pub username: String,
    pub user_id: String,
    /// The queues the user is a member of, `(id, name)`, by name.
    pub queues: Vec<(String, String)>,
}

impl SalesforceUser {
    /// "alex@acme.test, in the queues Billing and Tier 1".
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.queues.iter().map(|(_, n)| n.as_str()).collect();
        match names.as_slice() {
            [] => format!("{}, in no queue", self.username),
            [one] => format!("{}, in the queue {one}", self.username),
            [first @ .., last] => format!(
                "{}, in the queues {} and {last}",
                self.username,
                first.join(", ")
            ),
        }
    }
}

/// Checks the credentials with the vendor before keeping anything, then keeps the secrets
/// in `secrets` and the account in `store`. Returns it and who the credentials belong to.
pub async fn add(
    store: &Store,
    secrets: &dyn SecretStore,
    new: NewAccount,
) -> Result<(AccountRecord, String)> {
    match new {
        NewAccount::Zendesk(new) => Ok(baton_zendesk::accounts::add(store, secrets, new).await?),
        NewAccount::Salesforce(new) => {
            let (record, who) = add_salesforce(store, secrets, new).await?;
            Ok((record, who.describe()))
        }
    }
}

/// Signs in to the org with the key before keeping anything (`baton_salesforce::check`),
/// then keeps the key in `secrets` and the account in `store`. Returns the account and
/// who signed in, with their queues.
pub async fn add_salesforce(
    store: &Store,
    secrets: &dyn SecretStore,
    new: NewSalesforceAccount,
) -> Result<(AccountRecord, SalesforceUser)> {
    let login = salesforce_login_url(&new.login_url)?;
    let username = new.username.trim().to_string();
    if username.is_empty() {
        return Err(EngineError::invalid(
            "a username is required: the Salesforce user Baton signs in as",
        ));
    }
    let consumer_key = new.consumer_key.trim().to_string();
    if consumer_key.is_empty() {
        return Err(EngineError::invalid(
            "a consumer key is required: copy it from the connected app's consumer details",
        ));
    }
    check_private_key(new.private_key.expose())?;
    let name = match new
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
    {
        Some(n) => n,
        None => salesforce_name(&login, &username),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(EngineError::invalid(format!(
            "{name:?}: a name is letters, digits, - and _"
        )));
    }
    if store.account(&name).await.is_ok() {
        return Err(EngineError::invalid(format!(
            "an account named {name:?} already exists; pick another name"
        )));
    }
    let mut record = baton_salesforce::record(
        &name,
        login.as_str(),
        &username,
        &consumer_key,
        baton_salesforce::AuthFlow::JwtBearer,
    );
    if let Some(url) = new.pubsub_url.filter(|u| !u.trim().is_empty()) {
        let mut settings = baton_salesforce::settings(&record)?;
        settings.pubsub_url = Some(baton_salesforce::feed::check_pubsub_url(&url)?);
        record.settings = serde_json::to_value(settings).expect("settings serialize");
    }
    record.created_at = chrono::Utc::now().timestamp_millis();
    // The key stays in memory until the org has accepted it.
    let trial = MemorySecrets::default();
    trial.put(&record.secret_ref, &new.private_key)?;
    let who = salesforce_user(&record, &trial).await?;
    record.me_id = Some(who.user_id.clone());
    secrets.put(&record.secret_ref, &new.private_key)?;
    if let Err(e) = store.add_account(&record).await {
        forget_salesforce(&record, secrets);
        return Err(e.into());
    }
    Ok((record, who))
}

/// `login.salesforce.com` or a full URL, reduced to its origin. A Lightning address
/// (`acme.lightning.force.com`, what the browser shows) becomes the org's My Domain.
fn salesforce_login_url(raw: &str) -> Result<url::Url> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| EngineError::invalid(format!("the login URL {raw:?} is not a URL: {e}")))?;
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return Err(EngineError::invalid(format!(
            "the login URL {raw:?} names no host: use https://login.salesforce.com, \
             https://test.salesforce.com or the org's My Domain"
        )));
    };
    let host = match host.strip_suffix(".lightning.force.com") {
        Some(domain) => format!("{domain}.my.salesforce.com"),
        None => host,
    };
    let origin = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    url::Url::parse(&origin)
        .map_err(|e| EngineError::invalid(format!("the login URL {raw:?} is not a URL: {e}")))
}

/// A name for an account: the My Domain (`acme` of `acme.my.salesforce.com`), else the
/// username's domain (`acme` of `alex@acme.com`).
fn salesforce_name(login: &url::Url, username: &str) -> String {
    let host = login.host_str().unwrap_or_default();
    let from = match host.strip_suffix(".my.salesforce.com") {
        Some(domain) => domain,
        None => username
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default(),
    };
    match from.split('.').next().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => "salesforce".into(),
    }
}

/// Says what is wrong with a file that is not an unencrypted private key, before the
/// org is asked (its refusal would only say the signature did not verify).
fn check_private_key(pem: &str) -> Result<()> {
    if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(EngineError::invalid(
            "the private key is encrypted: Baton needs it unencrypted (it keeps it in the \
             keychain). Decrypt it with `openssl pkey -in KEY.pem -out plain.pem` and give that",
        ));
    }
    if !pem.contains("PRIVATE KEY-----") {
        let what = if pem.contains("CERTIFICATE-----") {
            "a certificate, not a private key: give the private key whose certificate was \
             uploaded to the connected app"
        } else {
            "no PEM private key (a file beginning -----BEGIN PRIVATE KEY----- or \
             -----BEGIN RSA PRIVATE KEY-----)"
        };
        return Err(EngineError::invalid(format!("the key file holds {what}")));
    }
    Ok(())
}

/// Signs in with the account's stored key and says who it belongs to, with the names of
/// their queues (one query more; the ids stand in when it fails).
async fn salesforce_user(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
) -> Result<SalesforceUser> {
    let who = baton_salesforce::check(account, secrets).await?;
    let queues = match queue_names(account, secrets, &who.group_ids).await {
        Ok(named) => named,
        Err(e) => {
            tracing::warn!(account = %account.id, error = %e, "the queues' names could not be read");
            who.group_ids
                .iter()
                .map(|g| (g.clone(), g.clone()))
                .collect()
        }
    };
    Ok(SalesforceUser {
        username: account.login.clone().unwrap_or_default(),
        user_id: who.me_id,
        queues,
    })
}

/// The queues among `group_ids`, `(id, name)` by name: one SOQL query.
async fn queue_names(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
    group_ids: &[String],
) -> Result<Vec<(String, String)>> {
    let ids: Vec<String> = group_ids
        .iter()
        .filter(|g| baton_salesforce::auth::is_record_id(g))
        .take(500)
        .map(|g| format!("'{g}'"))
        .collect();
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let client = baton_salesforce::client(account, secrets, None)?;
    let soql = format!(
        "SELECT Id, Name FROM Group WHERE Type = 'Queue' AND Id IN ({})",
        ids.join(", ")
    );
    let page = client.query(&soql).await?;
    let mut named: Vec<(String, String)> = page
        .records
        .iter()
        .filter_map(|r| {
            let id = r["Id"].as_str()?.to_string();
            let name = r["Name"].as_str().unwrap_or(&id).to_string();
            Some((id, name))
        })
        .collect();
    named.sort_by_key(|a| a.1.to_lowercase());
    Ok(named)
}

fn forget_salesforce(account: &AccountRecord, secrets: &dyn SecretStore) {
    for entry in [
        account.secret_ref.clone(),
        baton_salesforce::client_secret_ref(&account.secret_ref),
    ] {
        if let Err(e) = secrets.delete(&entry) {
            tracing::warn!(account = %account.id, error = %e, "a keychain entry could not be deleted");
        }
    }
}

/// Who the stored credentials belong to, according to the vendor.
pub async fn test(store: &Store, secrets: &dyn SecretStore, id: &str) -> Result<String> {
    let account = store.account(id).await?;
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::test(&account, secrets).await?),
        SourceKind::Salesforce => Ok(salesforce_user(&account, secrets).await?.describe()),
    }
}

/// New credentials in place, checked first; the cache, outbox and edits stay.
pub async fn update(
    store: &Store,
    secrets: &dyn SecretStore,
    id: &str,
    new: NewCredentials,
) -> Result<(AccountRecord, String)> {
    let account = store.account(id).await?;
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::update(store, secrets, id, new).await?),
        SourceKind::Salesforce => Err(EngineError::invalid(format!(
            "{id}: a Salesforce account's key cannot be changed in place yet: remove the \
             account and add it again with the new key"
        ))),
    }
}

/// Disconnects; refuses, saying what would be lost, while the account has unsent replies
/// or saved edits, unless `force` (the rep was told and said yes).
pub async fn remove(store: &Store, secrets: &dyn SecretStore, id: &str, force: bool) -> Result<()> {
    let account = store.account(id).await?;
    if !force {
        let unsent = store.unsent(id).await?;
        if !unsent.is_empty() {
            return Err(EngineError::invalid(format!(
                "{id} has {}: removing it deletes them. Send or cancel them first, or remove anyway",
                describe_unsent(&unsent)
            )));
        }
    }
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::remove(store, secrets, id).await?),
        SourceKind::Salesforce => {
            store.remove_account(id).await?;
            forget_salesforce(&account, secrets);
            Ok(())
        }
    }
}

/// "2 unsent replies and 1 saved edit": what removing an account would lose.
pub fn describe_unsent(unsent: &Unsent) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![];
    if !unsent.replies.is_empty() {
        parts.push(count(
            unsent.replies.len(),
            "unsent reply",
            "unsent replies",
        ));
    }
    if !unsent.edits.is_empty() {
        parts.push(count(unsent.edits.len(), "saved edit", "saved edits"));
    }
    parts.join(" and ")
}

/// Who may write drafts and handoff summaries on a Zendesk account (`set` changes it).
pub async fn ai_authors(
    store: &Store,
    id: &str,
    set: Option<baton_zendesk::mapping::AiAuthors>,
) -> Result<baton_zendesk::mapping::AiAuthors> {
    Ok(baton_zendesk::accounts::ai_authors(store, id, set).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::secrets::MemorySecrets;
    use baton_core::Sensitive;

    #[tokio::test]
    async fn removing_an_account_with_unsent_replies_asks_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let account = baton_zendesk::accounts::record("acme", "https://acme.zendesk.com", None);
        store.add_account(&account).await.unwrap();
        let secrets = MemorySecrets::default();
        secrets
            .put(&account.secret_ref, &Sensitive::new("t".into()))
            .unwrap();
        let reply = baton_core::outbox::Reply {
            body: "Hi Maria".into(),
            public: true,
            author_id: None,
            updated_stamp: None,
        };
        store
            .enqueue_reply("acme", "7", None, "k1", &reply, None, 1)
            .await
            .unwrap();
        let err = remove(&store, &secrets, "acme", false).await.unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidInput);
        assert!(err.message.contains("1 unsent reply"), "{err}");
        assert_eq!(store.accounts().await.unwrap().len(), 1, "nothing removed");
        assert!(secrets.get(&account.secret_ref).is_ok());

        remove(&store, &secrets, "acme", true).await.unwrap();
        assert!(store.accounts().await.unwrap().is_empty());
        assert!(
            secrets.get(&account.secret_ref).is_err(),
            "its secret is gone too"
        );
    }

    fn new_salesforce(url: &str, username: &str, key: &str) -> NewSalesforceAccount {
        NewSalesforceAccount {
            name: Some("acme-sf".into()),
            login_url: url.into(),
            username: username.into(),
            consumer_key: "baton-demo-client".into(),
            private_key: Sensitive::new(key.into()),
            pubsub_url: None,
        }
    }

    #[tokio::test]
    async fn a_salesforce_org_is_signed_in_to_before_anything_is_kept() {
        use baton_sim::salesforce::{SfConfig, SfLimits, DEMO_CERT_PEM, DEMO_KEY_PEM};
        let sim = baton_sim::Sim::start(baton_sim::SimConfig {
            tickets: 1,
            salesforce: SfConfig {
                sessions: 5,
                limits: SfLimits::unlimited(),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let secrets = MemorySecrets::default();
        let nothing_kept = |store: &Store, secrets: &MemorySecrets| {
            let (store, kept) = (store.clone(), secrets.get("salesforce:acme-sf").is_ok());
            async move { store.accounts().await.unwrap().is_empty() && !kept }
        };

        // A refused user: the crate's sentence, kind auth, nothing kept.
        let err = add_salesforce(
            &store,
            &secrets,
            new_salesforce(&sim.url(), "someone@acme.test", DEMO_KEY_PEM),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Auth, "{err}");
        assert!(
            err.message.contains("not approved for someone@acme.test"),
            "{err}"
        );
        assert!(nothing_kept(&store, &secrets).await);
        // The certificate instead of the key: said before the org is asked.
        let err = add_salesforce(
            &store,
            &secrets,
            new_salesforce(&sim.url(), "alex@acme.test", DEMO_CERT_PEM),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidInput);
        assert!(
            err.message.contains("a certificate, not a private key"),
            "{err}"
        );
        assert!(nothing_kept(&store, &secrets).await);

        let (record, who) = add_salesforce(
            &store,
            &secrets,
            new_salesforce(
                &format!("{}/some/path", sim.url()),
                "alex@acme.test",
                DEMO_KEY_PEM,
            ),
        )
        .await
        .unwrap();
        let (me, queues) = sim.org(|o| {
            let qs: Vec<String> = o.queues_of(&o.me);
            let names = qs
                .iter()
                .filter_map(|q| o.record(q).and_then(|r| r.text("Name")).map(str::to_string))
                .collect::<Vec<_>>();
            (o.me.clone(), names)
        });
        assert_eq!(record.base_url, sim.url(), "the origin only");
        assert_eq!(record.me_id.as_deref(), Some(me.as_str()));
        assert_eq!(who.user_id, me);
        let mut names: Vec<String> = who.queues.iter().map(|(_, n)| n.clone()).collect();
        let mut truth = queues.clone();
        names.sort();
        truth.sort();
        assert_eq!(names, truth);
        assert!(!truth.is_empty(), "the demo user works queues");
        assert_eq!(
            secrets.get(&record.secret_ref).unwrap().expose(),
            DEMO_KEY_PEM
        );
        assert!(test(&store, &secrets, "acme-sf")
            .await
            .unwrap()
            .starts_with("alex@acme.test, in the queue"));
        let err = add_salesforce(
            &store,
            &secrets,
            new_salesforce(&sim.url(), "alex@acme.test", DEMO_KEY_PEM),
        )
        .await
        .unwrap_err();
        assert!(err.message.contains("already exists"), "{err}");

        // It syncs and refuses replies through the engine's arms.
        let sync = crate::vendor::AccountSync::for_account(&store, &record, &secrets, 0).unwrap();
        assert_eq!(sync.poll_every(), crate::vendor::SALESFORCE_POLL_EVERY);
        assert_eq!(sync.base_url(), sim.url());
        assert!(sync.conversation_for_messaging("x").is_none());
        sync.run_once(&baton_core::CancellationToken::new())
            .await
            .unwrap();
        assert!(sync.requests() > 0);
        assert!(store
            .cursor("acme-sf", &sync.stream_name())
            .await
            .unwrap()
            .is_some());

        remove(&store, &secrets, "acme-sf", false).await.unwrap();
        assert!(nothing_kept(&store, &secrets).await);
    }

    #[test]
    fn a_salesforce_login_url_is_its_origin() {
        for (raw, want) in [
            ("login.salesforce.com", "https://login.salesforce.com/"),
            (
                "https://acme.lightning.force.com/lightning/page/home",
                "https://acme.my.salesforce.com/",
            ),
            (
                "https://acme--uat.sandbox.lightning.force.com",
                "https://acme--uat.sandbox.my.salesforce.com/",
            ),
            ("http://127.0.0.1:8089/", "http://127.0.0.1:8089/"),
        ] {
            assert_eq!(salesforce_login_url(raw).unwrap().as_str(), want, "{raw}");
        }
        let name =
            |url: &str, user: &str| salesforce_name(&salesforce_login_url(url).unwrap(), user);
        assert_eq!(name("https://acme.my.salesforce.com", "a@b.com"), "acme");
        assert_eq!(
            name("https://login.salesforce.com", "alex@acme.com.uat"),
            "acme"
        );
        assert_eq!(name("https://test.salesforce.com", "nobody"), "salesforce");
    }

    #[test]
    fn what_would_be_lost_reads_naturally() {
        let text = |state: &str| baton_core::model::UnsentText {
            external_id: "7".into(),
            state: state.into(),
            text: "t".into(),
        };
        let unsent = |replies: usize, edits: usize| Unsent {
            replies: vec![text("queued"); replies],
            edits: vec![text("edit"); edits],
        };
        assert_eq!(describe_unsent(&unsent(1, 0)), "1 unsent reply");
        assert_eq!(
            describe_unsent(&unsent(2, 1)),
            "2 unsent replies and 1 saved edit"
        );
        assert_eq!(describe_unsent(&unsent(0, 3)), "3 saved edits");
    }
}
