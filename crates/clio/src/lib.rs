//! Client for the Clio Manage API v4, as `../shared/clio-api.md` describes it.
//!
//! - [`Endpoints`] and [`Region`]: Clio's four regional hosts, or one base URL (the simulator).
//! - [`ClioClient`]: one per process; holds the HTTP pool and the per-token [`pacing`] state.
//!   [`ClioClient::api`] binds it to one access token and region, giving an [`Api`] with typed calls.
//! - [`Fields`]: the `fields=` selector, one level of nesting as Clio allows.
//! - [`models`]: lenient serde types for the resources matterhook reads and writes.
//! - [`oauth`]: authorization-code and refresh grants, and revocation.
//! - [`verify_signature`]: the `X-Hook-Signature` check for webhook deliveries.
//!
//! Every failure is a [`ClioError`] classified by what the caller should do about it.

mod api;
mod endpoints;
mod error;
mod fields;
pub mod models;
mod nul;
pub mod oauth;
pub mod pacing;
mod query;
pub mod selectors;
mod signature;
mod transport;

pub use api::Api;
pub use endpoints::{Endpoints, Region, UnknownRegion};
pub use error::ClioError;
pub use fields::Fields;
pub use nul::without_nul;
pub use query::Query;
pub use signature::verify_signature;
pub use transport::{CallObserver, ClientConfig, ClioClient, Conditional};

/// The API minor version we pin with `X-API-VERSION` on every call.
pub const API_VERSION: &str = "4.0.10";

/// Clio's largest page for most index endpoints (and for `ids[]` batches).
pub const MAX_PAGE_SIZE: usize = 200;
