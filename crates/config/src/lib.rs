//! Configuration shared by matterhook's binaries.
//!
//! Every setting is a command-line flag that falls back to an environment variable and then to a
//! default that works on a developer's machine. Binaries `#[command(flatten)]` the groups they need;
//! library crates never read the environment themselves, so tests build these structs directly.
//!
//! | variable | default | group |
//! |---|---|---|
//! | `DATABASE_URL` | [`DEFAULT_DATABASE_URL`] | [`DatabaseArgs`] |
//! | `AMQP_URL` | [`DEFAULT_AMQP_URL`] | [`AmqpArgs`] |
//! | `CLIO_BASE_URL` | [`DEFAULT_CLIO_BASE_URL`] (the simulator) | [`ClioArgs`] |
//! | `CLIO_CLIENT_ID` / `CLIO_CLIENT_SECRET` | the simulator's demo app | [`ClioArgs`] |
//! | `MATTERHOOK_PUBLIC_URL` | [`DEFAULT_PUBLIC_URL`] | [`PublicArgs`] |
//! | `MATTERHOOK_ENCRYPTION_KEY` | a development key, refused for a public URL | [`PublicArgs`] |
//! | `MATTERHOOK_RECEIVER_ADDR` / `MATTERHOOK_API_ADDR` / `CLIO_SIM_ADDR` | 127.0.0.1:8080 / 8081 / 7700 | listeners |
//! | `MATTERHOOK_HEALTH_ADDR` | [`DEFAULT_HEALTH_ADDR`] (any free port) | [`HealthListenArgs`] (workers, scheduler) |
//! | `MATTERHOOK_LOG_FORMAT`, `RUST_LOG` | `text`, `info` | [`telemetry`] |

mod args;
mod encryption_key;
pub mod shutdown;
pub mod telemetry;

pub use args::*;
pub use encryption_key::{EncryptionKey, EncryptionKeyError, DEV_ENCRYPTION_KEY};
