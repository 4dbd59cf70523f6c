//! One tracing set-up for every binary.
//!
//! `RUST_LOG` filters (default `info`; lapin's echo of returned messages is kept to errors unless
//! `RUST_LOG` names lapin); `MATTERHOOK_LOG_FORMAT=json` switches to one JSON object per
//! line for log shippers.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    // Our publisher reports an unroutable message itself (`PublishError::Unroutable`, or the outbox
    // relay's "no consumer"); lapin's own warning would repeat it with the whole message body.
    const QUIET: &str = "lapin::returned_messages=error";
    let wanted = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let spec = if wanted.contains("lapin") {
        wanted
    } else {
        format!("{wanted},{QUIET}")
    };
    let filter =
        EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(format!("info,{QUIET}")));
    let json = std::env::var("MATTERHOOK_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // A second init (tests that start several binaries' `run` in one process) is harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
