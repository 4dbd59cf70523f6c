//! Re-reading records from Clio: one `ids[]` call per model and batch, plus one for the clients of
//! matters whose mirrored contact is out of date.

use std::collections::HashSet;

use matterhook_clio::{
    models::{Bill, Contact, Matter},
    ClioError, Fields,
};
use matterhook_domain::{sync_events::Read as ReadKind, Model};
use matterhook_store::{connections, mirror};
use serde_json::Value;

use crate::{
    apply::{self, Applied, Causes, Target},
    fields,
    records::{self, Read},
    SyncError, SyncStage,
};

/// What a re-read returned.
pub(crate) enum Reread {
    Matters {
        matters: Vec<Read<Matter>>,
        clients: Vec<Read<Contact>>,
    },
    Contacts(Vec<Read<Contact>>),
    Bills(Vec<Read<Bill>>),
}

impl Reread {
    /// Whether reading it took a second call for a matter's stale clients.
    pub(crate) fn read_clients(&self) -> bool {
        matches!(self, Reread::Matters { clients, .. } if !clients.is_empty())
    }

    pub(crate) fn ids(&self) -> HashSet<i64> {
        match self {
            Reread::Matters { matters, .. } => matters.iter().map(|r| r.typed.id).collect(),
            Reread::Contacts(c) => c.iter().map(|r| r.typed.id).collect(),
            Reread::Bills(b) => b.iter().map(|r| r.typed.id).collect(),
        }
    }
}

/// The collection path and fields of a model.
pub(crate) fn path_and_fields(model: Model) -> (String, Fields) {
    let fields = match model {
        Model::Matter => fields::matter(),
        Model::Contact => fields::contact(),
        Model::Bill => fields::bill(),
        Model::User => fields::user(),
        Model::CustomField => fields::custom_field(),
    };
    (format!("{}.json", model.collection()), fields)
}

impl SyncStage {
    /// The records asked for that are gone from Clio. An `ids[]` answer leaves out both deleted
    /// records and records this token may not see, and the mirror is shared by every connection
    /// of the firm: absence confirms a `deleted` event, and otherwise only a 404 on the record
    /// itself counts (a 403 leaves the mirror as it is).
    pub(crate) async fn confirm_gone(
        &self,
        target: &Target,
        model: Model,
        reread: &Reread,
        asked: &[i64],
        deleted_events: HashSet<i64>,
    ) -> Result<Vec<i64>, SyncError> {
        let plural = model.collection();
        let returned = reread.ids();
        let mut gone = Vec::new();
        for &id in asked.iter().filter(|id| !returned.contains(id)) {
            if deleted_events.contains(&id) {
                gone.push(id);
                continue;
            }
            let one = self
                .connections()
                .call(target.connection_id, |api| async move {
                    let fields = Fields::new().with(["id"]);
                    api.get::<Value>(
                        &format!("{plural}/{id}.json"),
                        &matterhook_clio::Query::new().fields(&fields),
                    )
                    .await
                })
                .await
                .map_err(SyncError::from);
            match one {
                Err(SyncError::Clio(ClioError::NotFound)) => gone.push(id),
                Err(SyncError::Clio(ClioError::Forbidden { .. })) | Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }

    /// Whose records a connection reads.
    pub(crate) async fn target(&self, connection_id: i64) -> Result<Target, SyncError> {
        let mut conn = self.pool().get().await?;
        let c = connections::get(&mut conn, connection_id)
            .await?
            .ok_or(matterhook_connections::TokenError::NotFound(connection_id))?;
        Ok(Target {
            connection_id,
            account: c.clio_account_id,
            region: c.region,
        })
    }

    /// `GET /{model}s.json?ids[]=...` with every field the product needs.
    async fn get_many(
        &self,
        connection_id: i64,
        model: Model,
        ids: &[i64],
    ) -> Result<Vec<Value>, SyncError> {
        let (path, fields) = path_and_fields(model);
        let ids = ids.to_vec();
        let got = self
            .connections()
            .call(connection_id, |api| {
                let (ids, fields) = (ids.clone(), fields.clone());
                let path = path.clone();
                async move { api.get_many::<Value>(&path, &ids, &fields).await }
            })
            .await?;
        Ok(got)
    }

    /// Re-reads records of one model.
    pub(crate) async fn reread(
        &self,
        target: &Target,
        model: Model,
        ids: &[i64],
    ) -> Result<Reread, SyncError> {
        let raw = self.get_many(target.connection_id, model, ids).await?;
        self.parse_reread(target, model, raw).await
    }

    /// Clio's answer for records of `model`, typed; a matter's client comes along when the
    /// mirror's copy is stale.
    pub(crate) async fn parse_reread(
        &self,
        target: &Target,
        model: Model,
        raw: Vec<Value>,
    ) -> Result<Reread, SyncError> {
        Ok(match model {
            Model::Matter => {
                let matters = records::parse::<Matter>(raw, |m| m.id)?;
                let clients = self.stale_clients(target, &matters).await?;
                Reread::Matters { matters, clients }
            }
            Model::Contact => Reread::Contacts(records::parse(raw, |c: &Contact| c.id)?),
            Model::Bill => Reread::Bills(records::parse(raw, |b: &Bill| b.id)?),
            Model::User | Model::CustomField => return Err(SyncError::NotPerRecord(model)),
        })
    }

    /// The clients of `matters` that the mirror lacks, or holds in another version than the
    /// matter shows: read in full, so a matter's client always has its emails, phones and company.
    pub(crate) async fn stale_clients(
        &self,
        target: &Target,
        matters: &[Read<Matter>],
    ) -> Result<Vec<Read<Contact>>, SyncError> {
        let shown: Vec<(i64, Option<String>)> = matters
            .iter()
            .filter_map(|m| m.typed.client.as_ref())
            .filter(|c| !c.redacted && c.id > 0)
            .map(|c| (c.id, c.etag.clone()))
            .collect();
        if shown.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = shown.iter().map(|(id, _)| *id).collect();
        let held = {
            let mut conn = self.pool().get().await?;
            mirror::contact_etags(&mut conn, target.account, &ids).await?
        };
        let mut stale: Vec<i64> = shown
            .into_iter()
            .filter(|(id, etag)| {
                !held
                    .iter()
                    .any(|(h, held_etag)| h == id && (etag.is_none() || held_etag == etag))
            })
            .map(|(id, _)| id)
            .collect();
        stale.sort_unstable();
        stale.dedup();
        if stale.is_empty() {
            return Ok(Vec::new());
        }
        match self
            .get_many(target.connection_id, Model::Contact, &stale)
            .await
        {
            Ok(raw) => records::parse(raw, |c: &Contact| c.id),
            // A token that may read matters but not contacts: the matter's own client fields
            // (name, primary email and phone) are what the mirror gets.
            Err(SyncError::Clio(ClioError::Forbidden { .. })) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

/// Writes a re-read.
pub(crate) async fn write(
    conn: &mut diesel_async::AsyncPgConnection,
    target: &Target,
    reread: &Reread,
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    Ok(match reread {
        Reread::Matters { matters, clients } => {
            let mut a = apply::contacts(conn, target, clients, kind, &Causes::new()).await?;
            a += apply::matters(conn, target, matters, kind, causes).await?;
            a
        }
        Reread::Contacts(c) => apply::contacts(conn, target, c, kind, causes).await?,
        Reread::Bills(b) => apply::bills(conn, target, b, kind, causes).await?,
    })
}
