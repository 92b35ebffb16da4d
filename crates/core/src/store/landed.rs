//! Migrations that were edited after they landed. A migration is never edited once it
//! has shipped (a test pins every checksum), but migration 4 was: two `assist_drafts`
//! columns were added to its file after databases had run its first version. sqlx
//! refuses such a database (the recorded checksum differs from the file's), so before
//! migrating, a database that ran the first version gets what the edit added and the
//! current checksum, in one transaction.

use crate::error::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::{SqliteConnection, SqlitePool};

/// A landed migration's first version, and what its later edit added.
struct Edited {
    version: i64,
    /// SHA-384 (hex) of the first version's file, as sqlx recorded it.
    first_checksum: &'static str,
    /// `(table, column, declaration)` added by the edit.
    columns: &'static [(&'static str, &'static str, &'static str)],
}

const EDITED: &[Edited] = &[Edited {
    // 20261122000004_outbox_replies.sql as of commit 2ab2150.
    version: 20261122000004,
    first_checksum: "04e4cea8fc87f3f609c5060e9f610f319260f980d48e7dc9a5ea6b0470558eed8e6028913c7921ac3c0892bd18a9248b",
    columns: &[
        ("assist_drafts", "outcome_reason", "TEXT"),
        ("assist_drafts", "edit_distance", "INTEGER"),
    ],
}];

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum sqlx has recorded for `version`, if the database ran it.
async fn recorded(db: &mut SqliteConnection, version: i64) -> Result<Option<String>> {
    let migrated: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *db)
    .await?;
    if !migrated {
        return Ok(None);
    }
    let checksum: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = ?")
            .bind(version)
            .fetch_optional(&mut *db)
            .await?;
    Ok(checksum.map(|c| hex(&c)))
}

/// Brings a database that ran the first version of an edited migration to what the
/// current file would have made, and records the current checksum, so the migrator
/// accepts it. Does nothing (and takes no write lock) on any other database.
pub(super) async fn repair(pool: &SqlitePool, migrator: &Migrator) -> Result<()> {
    for edited in EDITED {
        let first = Some(edited.first_checksum);
        if recorded(&mut *pool.acquire().await?, edited.version)
            .await?
            .as_deref()
            != first
        {
            continue;
        }
        let current = migrator
            .iter()
            .find(|m| m.version == edited.version)
            .ok_or_else(|| Error::Migration(format!("migration {} is gone", edited.version)))?;
        // IMMEDIATE: another process opening the same file at once waits here, then
        // sees the repair done, instead of both adding the columns.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        if recorded(&mut tx, edited.version).await?.as_deref() != first {
            continue;
        }
        for (table, column, decl) in edited.columns {
            let present: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
                    .bind(table)
                    .bind(column)
                    .fetch_one(&mut *tx)
                    .await?;
            if present == 0 {
                sqlx::query(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE _sqlx_migrations SET checksum = ? WHERE version = ?")
            .bind(current.checksum.as_ref())
            .bind(edited.version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            version = edited.version,
            "brought a database from the first version of an edited migration up to date"
        );
    }
    Ok(())
}
