//! matterhook's workers. Each is a [`Handler`](matterhook_bus::Handler) here and a thin binary in
//! `src/bin/`, consuming its own queue and scaled on its own.

pub mod crm;
pub mod journal;
mod main_loop;
pub mod review;
pub mod scheduler;
pub mod sync;
pub mod watches;
pub mod writeback;

pub use main_loop::{
    run_worker, run_worker_alongside, stopped, Stopping, WorkerArgs, CONSUMER_POOL,
};
