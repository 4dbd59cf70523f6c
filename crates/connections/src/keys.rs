//! Re-sealing every stored secret under the current encryption key: the middle step of a key
//! rotation (`matterhook keys rotate`; the runbook has the whole procedure). Binaries run with
//! the new key as `MATTERHOOK_ENCRYPTION_KEY` and the old one in
//! `MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS`, so both open; this rewrites what the old one sealed, and
//! once it reports nothing left under a previous key, the old key can go.
//!
//! Each value is replaced only if it is unchanged since it was read (a token refresh meanwhile
//! wrote a fresh one, already under the new key), so a rotation running beside live traffic never
//! puts back an old token. Running it again is harmless.

use matterhook_crypto::Cipher;
use matterhook_store::{connections as conns, subscriptions as subs, PgPool};
use serde::Serialize;

use crate::ConnectionError;

/// Rows read per query.
const PAGE: i64 = 500;

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResealReport {
    /// Secrets re-sealed under the current key.
    pub resealed: usize,
    /// Secrets already under the current key.
    pub current: usize,
    /// Secrets another process kept changing while being re-sealed (each is tried again, up to
    /// [`PASSES`] passes): those still changing after the last pass. A binary still sealing
    /// under an older key does this; when it is not 0, run again once every binary has the new
    /// key.
    pub raced: usize,
    /// Secrets no configured key opens, by where they are (`connections.access_token:7`):
    /// left as they were. Their connections need a new connect; their subscriptions a recreate.
    pub unopenable: Vec<String>,
}

enum Resealed {
    Current,
    New(Vec<u8>),
    Unopenable,
}

fn reseal(cipher: &Cipher, sealed: &[u8], context: &str) -> Resealed {
    if cipher.is_current(sealed, context) {
        return Resealed::Current;
    }
    match cipher.open(sealed, context) {
        Ok(secret) => Resealed::New(cipher.seal(&secret, context)),
        Err(_) => Resealed::Unopenable,
    }
}

/// Passes over everything at most: a value changed by someone else mid-pass is read again.
pub const PASSES: usize = 3;

/// Re-seals every connection token and webhook secret that a previous key sealed. A value another
/// process changed meanwhile is read again on a further pass (one written under the new key is
/// then current; one written under an old key is re-sealed).
pub async fn reseal_all(pool: &PgPool, cipher: &Cipher) -> Result<ResealReport, ConnectionError> {
    let mut total = ResealReport::default();
    for pass in 1..=PASSES {
        let report = reseal_pass(pool, cipher).await?;
        total.resealed += report.resealed;
        total.raced = report.raced;
        total.unopenable = report.unopenable;
        if pass == 1 {
            total.current = report.current;
        }
        if report.raced == 0 {
            break;
        }
    }
    tracing::info!(
        resealed = total.resealed,
        current = total.current,
        raced = total.raced,
        unopenable = total.unopenable.len(),
        "stored secrets re-sealed under the current key"
    );
    Ok(total)
}

async fn reseal_pass(pool: &PgPool, cipher: &Cipher) -> Result<ResealReport, ConnectionError> {
    let mut report = ResealReport::default();
    let mut conn = pool.get().await?;
    let mut after = 0;
    loop {
        let page = conns::sealed_tokens(&mut conn, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in page {
            let mut new = row.clone();
            let mut changed = false;
            for (column, value, context) in [
                (
                    "access_token",
                    &mut new.access,
                    conns::access_context(row.id),
                ),
                (
                    "refresh_token",
                    &mut new.refresh,
                    conns::refresh_context(row.id),
                ),
            ] {
                let Some(sealed) = value.as_deref() else {
                    continue;
                };
                match reseal(cipher, sealed, &context) {
                    Resealed::Current => report.current += 1,
                    Resealed::New(fresh) => {
                        *value = Some(fresh);
                        changed = true;
                    }
                    Resealed::Unopenable => report
                        .unopenable
                        .push(format!("connections.{column}:{}", row.id)),
                }
            }
            if !changed {
                continue;
            }
            let n = usize::from(row.access != new.access) + usize::from(row.refresh != new.refresh);
            if conns::reseal_tokens(&mut conn, &row, &new).await? {
                report.resealed += n;
            } else {
                report.raced += n;
            }
        }
    }
    let mut after = 0;
    loop {
        let page = subs::sealed_secrets(&mut conn, after, PAGE).await?;
        let Some(&(last, _)) = page.last() else { break };
        after = last;
        for (id, sealed) in page {
            match reseal(cipher, &sealed, &subs::secret_context(id)) {
                Resealed::Current => report.current += 1,
                Resealed::New(fresh) => {
                    if subs::reseal_secret(&mut conn, id, &sealed, &fresh).await? {
                        report.resealed += 1;
                    } else {
                        report.raced += 1;
                    }
                }
                Resealed::Unopenable => report
                    .unopenable
                    .push(format!("webhook_subscriptions.secret:{id}")),
            }
        }
    }
    Ok(report)
}
