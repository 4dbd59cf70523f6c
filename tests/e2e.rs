//! Every end-to-end test but the broker restart, in one binary.
//!
//! One binary links the workspace once instead of once per file: a dozen test binaries of a few
//! hundred megabytes each filled CI's disk. Each module is one area; they share nothing but the
//! support library, and each test makes its own database, queues and simulator.

mod admin_api;
mod caller;
mod clio_client;
mod clio_oauth;
mod clio_webhooks;
mod connections;
mod console;
mod crm;
mod ingest;
mod referrals;
mod referrals_api;
mod review;
mod store;
mod subscriptions;
mod sync;
mod sync_failures;
mod sync_sweeps;
mod watches;
mod writeback;
