//! The one HTTP client that talks to Partner Center.
//!
//! It sends exactly the headers Partner Center documents and nothing of the caller's beyond the correlation ID
//! and locale, and it returns the answer as bytes: the per-call path never re-serialises a body it does not
//! have to change.

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use bytes::Bytes;
use uuid::Uuid;

use crate::domain::ContinuationToken;
use crate::error::AppError;
use crate::tokens::AccessToken;

static MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
static MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
static MS_CONTRACT_VERSION: HeaderName = HeaderName::from_static("ms-contract-version");
static MS_CONTINUATION_TOKEN: HeaderName = HeaderName::from_static("ms-continuationtoken");
static X_LOCALE: HeaderName = HeaderName::from_static("x-locale");

/// What a call carries from the caller: set at the edge, read here.
pub struct CallContext {
    pub correlation_id: Uuid,
    pub locale: Option<HeaderValue>,
}

pub struct UpstreamRequest<'a> {
    pub method: Method,
    /// Starts with `/v1/`; built only from validated newtypes.
    pub path_and_query: String,
    pub continuation: Option<&'a ContinuationToken>,
    pub json_body: Option<Bytes>,
}

impl UpstreamRequest<'_> {
    pub fn get(path_and_query: String) -> Self {
        Self {
            method: Method::GET,
            path_and_query,
            continuation: None,
            json_body: None,
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub retry_after: Option<HeaderValue>,
    pub body: Bytes,
}

pub struct PartnerCenter {
    http: reqwest::Client,
    /// Base URL with no trailing slash.
    base: String,
}

impl PartnerCenter {
    pub fn new(http: reqwest::Client, base: String) -> Self {
        Self { http, base }
    }

    pub async fn send(
        &self,
        token: &AccessToken,
        ctx: &CallContext,
        request: UpstreamRequest<'_>,
    ) -> Result<Reply, AppError> {
        let url = format!("{}{}", self.base, request.path_and_query);
        let mut bearer =
            HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                AppError::BadGateway(
                    "token authority issued a token that is not a valid header value".into(),
                )
            })?;
        bearer.set_sensitive(true);
        let mut builder = self
            .http
            .request(request.method, url)
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .header(&MS_REQUEST_ID, uuid_header(Uuid::new_v4()))
            .header(&MS_CORRELATION_ID, uuid_header(ctx.correlation_id))
            .header(&MS_CONTRACT_VERSION, HeaderValue::from_static("v1"));
        if let Some(locale) = &ctx.locale {
            builder = builder.header(&X_LOCALE, locale.clone());
        }
        if let Some(token) = request.continuation {
            builder = builder.header(&MS_CONTINUATION_TOKEN, token.as_str());
        }
        if let Some(body) = request.json_body {
            builder = builder
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .body(body);
        }
        let response = builder.send().await.map_err(classify)?;
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let body = response.bytes().await.map_err(classify)?;
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

fn uuid_header(id: Uuid) -> HeaderValue {
    let mut buf = Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .expect("a GUID is a valid header value")
}

fn classify(e: reqwest::Error) -> AppError {
    if e.is_timeout() {
        AppError::GatewayTimeout(e.to_string())
    } else {
        AppError::BadGateway(e.to_string())
    }
}
