//! A wrapper for secrets: it prints as `<redacted>` everywhere (Debug, Display,
//! serde), so a token cannot reach a log line, an error text or the webview by accident.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The one way to read the secret; grep for `expose` to audit every use.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Serializes as the redaction marker: a secret never leaves the process through serde.
impl<T> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Reads the plain value: secrets come in (the settings form, a config) and stay wrapped.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-7f3a9c-SECRET";

    #[derive(Debug, serde::Serialize)]
    struct Holder {
        token: Sensitive<String>,
    }

    #[test]
    fn no_formatting_path_prints_the_secret() {
        let h = Holder {
            token: Sensitive::new(CANARY.to_string()),
        };
        let debug = format!("{h:?} {:#?} {}", h, h.token);
        let json = serde_json::to_string(&h).unwrap();
        assert!(!debug.contains(CANARY), "{debug}");
        assert!(!json.contains(CANARY), "{json}");
        assert!(debug.contains("<redacted>"));
        assert_eq!(h.token.expose(), CANARY);
    }

    #[test]
    fn a_secret_read_from_json_stays_wrapped() {
        let token: Sensitive<String> = serde_json::from_str(&format!("{CANARY:?}")).unwrap();
        assert_eq!(token.expose(), CANARY);
        assert_eq!(format!("{token:?}"), "<redacted>");
    }
}
