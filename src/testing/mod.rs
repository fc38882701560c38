//! Test fixtures, behind the `testing` feature: a throwaway PKI ([`TestPki`]) with ready
//! client and server TLS configurations (degu's `TempPKI`), and a server on a loopback port
//! ([`TempServer`], degu's `TempServer`).
//!
//! For your tests, not for production: enable the feature in your dev-dependencies only.
//!
//! ```toml
//! [dev-dependencies]
//! pollhttp = { version = "0.1", features = ["testing"] }
//! ```

mod pki;
mod server;

pub use pki::{PkiFiles, TestPki};
pub use server::TempServer;
