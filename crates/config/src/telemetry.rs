//! One tracing set-up for every binary.
//!
//! `RUST_LOG` filters (default `info`); `MATTERHOOK_LOG_FORMAT=json` switches to one JSON object per
//! line for log shippers.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("MATTERHOOK_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // A second init (tests that start several binaries' `run` in one process) is harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
