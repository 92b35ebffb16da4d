//! Secrets live in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows); SQLite only holds the entry's name.

use crate::error::{Error, Result};
use crate::sensitive::Sensitive;
use std::collections::HashMap;
use std::sync::Mutex;

pub trait SecretStore: Send + Sync {
    fn put(&self, key: &str, secret: &Sensitive<String>) -> Result<()>;
    fn get(&self, key: &str) -> Result<Sensitive<String>>;
    fn delete(&self, key: &str) -> Result<()>;
}

/// The OS keychain, under one service name.
pub struct Keychain {
    service: String,
}

impl Keychain {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, key).map_err(keychain_error)
    }
}

// keyring's errors name the entry, never the secret; keep only their text.
fn keychain_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoEntry => Error::Keychain("no secret stored for this account".into()),
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            Error::Keychain(format!(
                "the OS keychain is not available ({inner}); on Linux a Secret Service such as GNOME Keyring must be running and unlocked"
            ))
        }
        other => Error::Keychain(other.to_string()),
    }
}

impl SecretStore for Keychain {
    fn put(&self, key: &str, secret: &Sensitive<String>) -> Result<()> {
        self.entry(key)?
            .set_password(secret.expose())
            .map_err(keychain_error)
    }

    fn get(&self, key: &str) -> Result<Sensitive<String>> {
        self.entry(key)?
            .get_password()
            .map(Sensitive::new)
            .map_err(keychain_error)
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Secrets held only in this process: the embedded simulator's demo credentials.
#[derive(Default)]
pub struct MemorySecrets(Mutex<HashMap<String, Sensitive<String>>>);

impl SecretStore for MemorySecrets {
    fn put(&self, key: &str, secret: &Sensitive<String>) -> Result<()> {
        self.0
            .lock()
            .expect("secrets lock")
            .insert(key.to_string(), secret.clone());
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Sensitive<String>> {
        self.0
            .lock()
            .expect("secrets lock")
            .get(key)
            .cloned()
            .ok_or_else(|| Error::Keychain("no secret stored for this account".into()))
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.0.lock().expect("secrets lock").remove(key);
        Ok(())
    }
}
