//! The referral-tracking product's rules.
//!
//! - [`keys`]: the normalised forms matching compares (email, name, company, name tokens).
//! - [`matching`]: a newly opened matter against a user's unlinked received referrals: link when
//!   the client's email matches exactly one, suggest when names or companies match, otherwise
//!   nothing. The system never guesses.
//! - [`status`]: what a linked matter's status means for its referral.
//! - [`drafts`]: the thank-you draft to the referring partner when a bill is paid.

pub mod drafts;
pub mod keys;
pub mod matching;
pub mod status;
