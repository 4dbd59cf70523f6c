//! What matching and drafts know of a matter and its client, from the mirror.

use diesel_async::AsyncPgConnection;
use matterhook_domain::referrals::matching::Client;
use matterhook_store::mirror::{self, MatterRow};

/// A mirrored matter and the facts of its client.
pub(crate) struct MatterFacts {
    pub matter: MatterRow,
    pub client: Client,
    pub client_name: Option<String>,
}

/// The matter and its client as the mirror holds them; `None` when the matter is not mirrored
/// or deleted.
pub(crate) async fn facts(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter_id: i64,
) -> diesel::QueryResult<Option<MatterFacts>> {
    let Some(matter) = mirror::matter(conn, account, matter_id).await? else {
        return Ok(None);
    };
    if matter.deleted_at.is_some() {
        return Ok(None);
    }
    let contact = match matter.client_id {
        Some(id) => mirror::contact(conn, account, id).await?,
        None => None,
    };
    let mut emails: Vec<String> = matter.client_email.iter().cloned().collect();
    if let Some(c) = &contact {
        emails.extend(mirror::contact_emails(conn, account, c.clio_id).await?);
    }
    let company_client = contact.as_ref().and_then(|c| c.kind.as_deref()) == Some("Company");
    let full = contact
        .as_ref()
        .and_then(|c| c.name.clone())
        .or_else(|| matter.client_name.clone());
    let company = if company_client {
        full.clone()
    } else {
        contact.as_ref().and_then(|c| c.company_name.clone())
    };
    let client = Client::new(
        emails,
        contact.as_ref().and_then(|c| c.first_name.as_deref()),
        contact.as_ref().and_then(|c| c.last_name.as_deref()),
        full.as_deref(),
        company.as_deref(),
    );
    Ok(Some(MatterFacts {
        matter,
        client,
        client_name: full,
    }))
}
