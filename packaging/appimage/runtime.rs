//! Never compiled: Cargo.toml beside this file only brings the AppImage runtime from
//! crates.io (`cargo fetch`), and a manifest needs a target.
