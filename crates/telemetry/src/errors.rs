//! Errors as logs and records show them: the whole cause chain, on one line.
//!
//! Library errors keep their causes as `#[source]`; their own message names only their layer
//! ("database pool", "publishing"). Whoever handles an error for good (the consumer runtime
//! deciding a message's fate, an HTTP edge answering 500, a binary's `main`) writes the chain
//! once with [`Chain`], so no layer in between turns a cause into a string.

use std::error::Error;

/// Displays an error and each of its sources: `outer: inner: innermost`.
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// The chain as a string, for a record that outlives the error (a dead letter's `error`).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    Chain(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn every_cause_is_shown_once_in_order() {
        let e = Outer(Inner(std::io::Error::other("disk")));
        assert_eq!(chain(&e), "outer: inner: disk");
    }
}
