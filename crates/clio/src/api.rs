//! [`Api`]: the REST calls of one access token in one region.

use futures::{stream, Stream, TryStreamExt};
use reqwest::{header, Method, StatusCode};
use secrecy::SecretString;
use serde::{de::DeserializeOwned, Serialize};
use url::Url;

mod registrations;

use crate::{
    models::{
        Bill, Communication, Contact, CustomField, Envelope, ListEnvelope, Matter,
        NewCommunication, NewNote, Note, PhoneNumber, User, WhoAmI,
    },
    ClioClient, ClioError, Conditional, Fields, Query, MAX_PAGE_SIZE,
};

/// The REST API as one access token sees it. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    client: ClioClient,
    base: Url,
    token: SecretString,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Api {
    pub(crate) fn new(client: ClioClient, base: Url, token: SecretString) -> Self {
        Self {
            client,
            base,
            token,
        }
    }

    /// `path` joined under `/api/v4/`. A path that would leave it (a full URL, `..` however
    /// spelt) is refused, judged on the URL as joined: the bearer token goes wherever the request
    /// goes.
    fn url(&self, path: &str, query: &Query) -> Result<Url, ClioError> {
        let refuse = || ClioError::unexpected(format!("refusing a path outside the API: {path:?}"));
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClioError::unexpected_because(format!("bad path {path:?}"), e))?;
        if url.origin() != self.base.origin() || !url.path().starts_with(self.base.path()) {
            return Err(refuse());
        }
        if !query.pairs().is_empty() {
            url.query_pairs_mut().extend_pairs(query.pairs());
        }
        Ok(url)
    }

    async fn body<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClioError> {
        let bytes = response.bytes().await.map_err(ClioError::Network)?;
        serde_json::from_slice(&crate::without_nul(&bytes))
            .map_err(|e| ClioError::unexpected_because("cannot read Clio's answer", e))
    }

    /// `GET path` and unwrap `{"data": T}`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<T, ClioError> {
        let request = self.client.request(Method::GET, self.url(path, query)?);
        let response = self.client.send(&self.token, request).await?;
        Ok(Self::body::<Envelope<T>>(response).await?.data)
    }

    /// `GET path` with `If-None-Match`, so an unchanged record costs no body.
    pub async fn get_if_changed<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        etag: Option<&str>,
    ) -> Result<Conditional<T>, ClioError> {
        let mut request = self.client.request(Method::GET, self.url(path, query)?);
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let response = self.client.send(&self.token, request).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Conditional::NotModified);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let value = Self::body::<Envelope<T>>(response).await?.data;
        Ok(Conditional::Modified { value, etag })
    }

    /// `POST path` with `{"data": body}`, unwrapping the answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        body: &B,
    ) -> Result<T, ClioError> {
        let request = self
            .client
            .request(Method::POST, self.url(path, query)?)
            .json(&Envelope { data: body });
        let response = self.client.send(&self.token, request).await?;
        Ok(Self::body::<Envelope<T>>(response).await?.data)
    }

    /// `PATCH path` with `{"data": body}`; with `if_match`, Clio answers 412 if the record changed.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        body: &B,
        if_match: Option<&str>,
    ) -> Result<T, ClioError> {
        let mut request = self
            .client
            .request(Method::PATCH, self.url(path, query)?)
            .json(&Envelope { data: body });
        if let Some(etag) = if_match {
            request = request.header(header::IF_MATCH, etag);
        }
        let response = self.client.send(&self.token, request).await?;
        Ok(Self::body::<Envelope<T>>(response).await?.data)
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<(), ClioError> {
        let request = self
            .client
            .request(Method::DELETE, self.url(path, &Query::new())?);
        self.client.send(&self.token, request).await.map(drop)
    }

    /// Every page of an index, following `meta.paging.next` (cursor paging, ordered by id, so it is
    /// not capped at 10,000 records). Pages are fetched one after another as the stream is read.
    pub fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: Query,
    ) -> impl Stream<Item = Result<Vec<T>, ClioError>> + Send + 'static {
        let query = if query.has("limit") {
            query
        } else {
            query.limit(MAX_PAGE_SIZE)
        };
        let query = if query.has("order") {
            query
        } else {
            query.param("order", "id(asc)")
        };
        let first = self.url(path, &query);
        let api = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let api = api.clone();
            async move {
                let Some(url) = next else { return Ok(None) };
                let request = api.client.request(Method::GET, url?);
                let response = api.client.send(&api.token, request).await?;
                let page: ListEnvelope<T> = Self::body(response).await?;
                let next = page.meta.paging.next.map(|n| api.same_origin(&n));
                Ok(Some((page.data, next)))
            }
        })
    }

    /// One page of an index: the first (with `query`; cursor paging by id unless the query says
    /// otherwise) when `next` is `None`, else the page Clio's `meta.paging.next` named. Returns the
    /// records and the next page's link, `None` after the last. For a caller that keeps its place
    /// across restarts (a sweep), where [`Api::pages`] would start over.
    pub async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        next: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), ClioError> {
        let url = match next {
            Some(link) => self.same_origin(link)?,
            None => {
                let mut query = query.clone();
                if !query.has("limit") {
                    query = query.limit(MAX_PAGE_SIZE);
                }
                if !query.has("order") {
                    query = query.param("order", "id(asc)");
                }
                self.url(path, &query)?
            }
        };
        let request = self.client.request(Method::GET, url);
        let response = self.client.send(&self.token, request).await?;
        let page: ListEnvelope<T> = Self::body(response).await?;
        Ok((page.data, page.meta.paging.next))
    }

    /// Every record of an index, page after page.
    pub fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: Query,
    ) -> impl Stream<Item = Result<T, ClioError>> + Send + 'static {
        self.pages(path, query)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// The records with these ids, `ids[]` batched 200 to a call. Ids Clio does not return (deleted,
    /// or not visible to this token) are simply absent from the answer.
    pub async fn get_many<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        ids: &[i64],
        fields: &Fields,
    ) -> Result<Vec<T>, ClioError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_PAGE_SIZE) {
            let query = Query::new().fields(fields).ids(chunk);
            let mut pages = std::pin::pin!(self.pages::<T>(path, query));
            while let Some(page) = pages.try_next().await? {
                out.extend(page);
            }
        }
        Ok(out)
    }

    /// A paging link is followed only to Clio's own origin: the bearer token goes with it.
    fn same_origin(&self, next: &str) -> Result<Url, ClioError> {
        let url =
            Url::parse(next).map_err(|e| ClioError::unexpected_because("bad paging link", e))?;
        if url.origin() != self.base.origin() {
            return Err(ClioError::unexpected(format!(
                "paging link leaves Clio: {}",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

/// Typed calls for the records matterhook reads and writes (what our app registers in Clio, its
/// webhooks and custom actions, is in `registrations`).
impl Api {
    /// The token's user and account.
    pub async fn who_am_i(&self) -> Result<WhoAmI, ClioError> {
        let fields = Fields::new()
            .with(["id", "name", "email", "time_zone"])
            .nested("account", ["id", "name"]);
        self.get("users/who_am_i.json", &Query::new().fields(&fields))
            .await
    }

    /// Every user of the firm.
    pub fn users(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<User, ClioError>> + Send + 'static {
        self.list("users.json", query)
    }

    /// Contacts matching `query` (`query`, `updated_since`, `ids[]`, `client_only`, ...).
    pub fn contacts(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Contact, ClioError>> + Send + 'static {
        self.list("contacts.json", query)
    }

    /// One contact.
    pub async fn contact(&self, id: i64, fields: &Fields) -> Result<Contact, ClioError> {
        self.get(&format!("contacts/{id}.json"), &Query::new().fields(fields))
            .await
    }

    /// A contact's phone numbers.
    pub fn contact_phone_numbers(
        &self,
        contact_id: i64,
    ) -> impl Stream<Item = Result<PhoneNumber, ClioError>> + Send + 'static {
        let fields = Fields::new().with(["id", "name", "number", "primary"]);
        self.list(
            &format!("contacts/{contact_id}/phone_numbers.json"),
            Query::new().fields(&fields),
        )
    }

    /// Matters matching `query` (`client_id`, `status`, `updated_since`, `ids[]`, ...).
    pub fn matters(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Matter, ClioError>> + Send + 'static {
        self.list("matters.json", query)
    }

    /// One matter.
    pub async fn matter(&self, id: i64, fields: &Fields) -> Result<Matter, ClioError> {
        self.get(&format!("matters/{id}.json"), &Query::new().fields(fields))
            .await
    }

    /// Bills matching `query`.
    pub fn bills(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Bill, ClioError>> + Send + 'static {
        self.list("bills.json", query)
    }

    /// Custom field definitions for `Matter` or `Contact`.
    pub fn custom_fields(
        &self,
        parent_type: &str,
    ) -> impl Stream<Item = Result<CustomField, ClioError>> + Send + 'static {
        let fields = Fields::selector(crate::selectors::CUSTOM_FIELD);
        self.list(
            "custom_fields.json",
            Query::new()
                .fields(&fields)
                .param("parent_type", parent_type),
        )
    }

    /// Notes of one type (`Contact` or `Matter`; Clio requires it).
    pub fn notes(
        &self,
        kind: &str,
        query: Query,
    ) -> impl Stream<Item = Result<Note, ClioError>> + Send + 'static {
        self.list("notes.json", query.param("type", kind))
    }

    /// Creates a note.
    pub async fn create_note(&self, note: &NewNote) -> Result<Note, ClioError> {
        let fields = Fields::new().with(["id", "etag", "type", "subject", "detail", "date"]);
        self.post("notes.json", &Query::new().fields(&fields), note)
            .await
    }

    /// Communications matching `query`.
    pub fn communications(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Communication, ClioError>> + Send + 'static {
        self.list("communications.json", query)
    }

    /// The contact's notes created since `at` (id and detail): where the marker of a write whose
    /// answer was lost is looked for.
    pub async fn contact_notes_since(
        &self,
        contact_id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Note>, ClioError> {
        let query = Query::new()
            .fields(&Fields::new().with(["id", "detail"]))
            .param("contact_id", contact_id.to_string())
            .param(
                "created_since",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .limit(200);
        futures::TryStreamExt::try_collect(self.notes("Contact", query)).await
    }

    /// The contact's communications created since `at` (id and body), as
    /// [`Api::contact_notes_since`].
    pub async fn contact_communications_since(
        &self,
        contact_id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Communication>, ClioError> {
        let query = Query::new()
            .fields(&Fields::new().with(["id", "body"]))
            .param("contact_id", contact_id.to_string())
            .param(
                "created_since",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .limit(200);
        futures::TryStreamExt::try_collect(self.communications(query)).await
    }

    /// Logs a communication.
    pub async fn create_communication(
        &self,
        communication: &NewCommunication,
    ) -> Result<Communication, ClioError> {
        let fields = Fields::new().with(["id", "etag", "type", "subject", "received_at"]);
        self.post(
            "communications.json",
            &Query::new().fields(&fields),
            communication,
        )
        .await
    }
}
