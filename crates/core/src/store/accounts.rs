use super::{Change, Store};
use crate::error::{Error, Result};
use crate::model::{Millis, SourceKind, Unsent, UnsentText};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    ApiToken,
    Oauth,
}

impl AuthKind {
    fn as_str(self) -> &'static str {
        match self {
            AuthKind::ApiToken => "api_token",
            AuthKind::Oauth => "oauth",
        }
    }
}

/// A connected vendor account. Holds a keychain reference, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub kind: SourceKind,
    pub base_url: String,
    pub login: Option<String>,
    pub auth_kind: AuthKind,
    pub secret_ref: String,
    /// Vendor options (JSON object), e.g. Sunshine Conversations app id and field mapping.
    pub settings: serde_json::Value,
    pub me_id: Option<String>,
    pub created_at: Millis,
}

#[cfg(test)]
impl AccountRecord {
    /// An account for core's own tests to hang rows on. A vendor's real defaults (its
    /// keychain name, its settings) are the vendor crate's, e.g.
    /// `baton_zendesk::accounts::record`.
    pub(crate) fn for_test(id: &str, base_url: &str, login: Option<&str>) -> Self {
        Self {
            id: id.to_string(),
            kind: SourceKind::Zendesk,
            base_url: base_url.to_string(),
            login: login.map(str::to_string),
            auth_kind: AuthKind::ApiToken,
            secret_ref: format!("test:{id}"),
            settings: serde_json::json!({}),
            me_id: None,
            created_at: 0,
        }
    }
}

fn from_row(r: &SqliteRow) -> Result<AccountRecord> {
    let kind: String = r.get("kind");
    let auth: String = r.get("auth_kind");
    let settings: String = r.get("settings");
    Ok(AccountRecord {
        id: r.get("id"),
        kind: SourceKind::parse(&kind)
            .ok_or_else(|| Error::Invalid(format!("unknown account kind {kind:?}")))?,
        base_url: r.get("base_url"),
        login: r.get("login"),
        auth_kind: match auth.as_str() {
            "oauth" => AuthKind::Oauth,
            _ => AuthKind::ApiToken,
        },
        secret_ref: r.get("secret_ref"),
        settings: serde_json::from_str(&settings)
            .map_err(|e| Error::Invalid(format!("account settings: {e}")))?,
        me_id: r.get("me_id"),
        created_at: r.get("created_at"),
    })
}

impl Store {
    pub async fn add_account(&self, a: &AccountRecord) -> Result<()> {
        if a.id.trim().is_empty() {
            return Err(Error::Invalid("an account needs a name".into()));
        }
        let res = sqlx::query(
            "INSERT INTO accounts (id, kind, base_url, login, auth_kind, secret_ref, settings, me_id, created_at)
             VALUES (?,?,?,?,?,?,?,?,?)",
        )
        .bind(&a.id)
        .bind(a.kind.as_str())
        .bind(&a.base_url)
        .bind(&a.login)
        .bind(a.auth_kind.as_str())
        .bind(&a.secret_ref)
        .bind(a.settings.to_string())
        .bind(&a.me_id)
        .bind(a.created_at)
        .execute(self.pool())
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::Invalid(
                format!("an account named {:?} already exists", a.id),
            )),
            other => {
                other?;
                self.announce(Change::Accounts);
                Ok(())
            }
        }
    }

    pub async fn accounts(&self) -> Result<Vec<AccountRecord>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn account(&self, id: &str) -> Result<AccountRecord> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("no account named {id:?}")))?;
        from_row(&row)
    }

    /// Replaces what a credentials change touches (the login, the auth kind, the
    /// settings, who the rep is), keeping the cache, the outbox and the saved edits.
    pub async fn update_account(&self, a: &AccountRecord) -> Result<()> {
        let done = sqlx::query(
            "UPDATE accounts SET login = ?, auth_kind = ?, settings = ?, me_id = ? WHERE id = ?",
        )
        .bind(&a.login)
        .bind(a.auth_kind.as_str())
        .bind(a.settings.to_string())
        .bind(&a.me_id)
        .bind(&a.id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("no account named {:?}", a.id)));
        }
        self.announce(Change::Accounts);
        Ok(())
    }

    /// What removing the account would lose that exists nowhere else: replies not
    /// delivered yet and texts a rep was editing, oldest first.
    pub async fn unsent(&self, id: &str) -> Result<Unsent> {
        let replies = sqlx::query(
            "SELECT COALESCE(o.external_id, c.external_id, '') AS external_id, o.state,
                    COALESCE(json_extract(o.payload, '$.body'), '') AS text
             FROM outbox o LEFT JOIN conversations c ON c.id = o.conversation_id
             WHERE o.account_id = ? AND o.state IN ('queued', 'sending', 'failed', 'conflict')
             ORDER BY o.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let edits = sqlx::query(
            "SELECT c.external_id, 'edit' AS state, e.text
             FROM draft_edits e
             JOIN assist_drafts d ON d.id = e.draft_id
             JOIN conversations c ON c.id = d.conversation_id
             WHERE c.account_id = ?
             ORDER BY e.updated_at, e.draft_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let text = |r: &SqliteRow| UnsentText {
            external_id: r.get("external_id"),
            state: r.get("state"),
            text: r.get("text"),
        };
        Ok(Unsent {
            replies: replies.iter().map(text).collect(),
            edits: edits.iter().map(text).collect(),
        })
    }

    /// Removes the account and everything cached for it, unsent replies and saved edits
    /// included: callers ask first (see `unsent`).
    pub async fn remove_account(&self, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("no account named {id:?}")));
        }
        self.announce(Change::Accounts);
        Ok(())
    }

    /// Who the rep is at the vendor, and their groups: what "mine" and "my groups" mean.
    pub async fn set_identity(&self, id: &str, me_id: &str, group_ids: &[String]) -> Result<()> {
        sqlx::query("UPDATE accounts SET me_id = ?, me_group_ids = ? WHERE id = ?")
            .bind(me_id)
            .bind(serde_json::to_string(group_ids).expect("strings serialize"))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
