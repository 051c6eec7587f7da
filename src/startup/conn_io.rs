//! A client connection's bytes, with what hyper does not bound bounded here.
//!
//! - **Write timeout.** hyper has none: a client that never reads its answers would keep its connection, and the
//!   answers buffered for it, forever. A write (or flush, or TLS close) that makes no progress for
//!   `server.write_timeout_ms` fails here, which ends the connection and frees its buffers. Any progress restarts
//!   the clock, so a slow reader is served; one that stops reading is not held.
//! - **hyper's own refusals.** A request hyper cannot parse (a bad request line or header, a head over
//!   `server.max_header_bytes`, a target over 64 KiB) is refused by hyper itself, before any service runs, with
//!   400, 431 or 414 and an empty body. hyper offers no hook for that answer, so it is recognised here as it is
//!   written and replaced with the gateway's JSON error (`AppError`'s shape, with a fresh correlation ID).
//! - **Silence.** Whether the client has sent anything yet ([`Silence`]): the accept loop closes a connection
//!   that has not, to seat a new one when every seat is taken, and the check here makes sure that a connection
//!   it closes has not started a request in the meantime.
//!
//! Why the replacement cannot touch an answer of the gateway's own: hyper's refusal is a status line with only
//! `content-length: 0`, `date` and perhaps `connection`, handed over as one write (or the first buffer of a
//! vectored write) that holds nothing else; every answer of the router carries `x-ms-correlation-id` (the
//! correlation layer is outside everything else), so no head of the gateway's own matches. A refusal queued
//! behind answers the client has not read yet shares a buffer with them: it is left as hyper wrote it, empty.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use uuid::Uuid;

use crate::correlation::{MS_CORRELATION_ID, X_MS_CORRELATION_ID};
use crate::error::AppError;

/// The limits named in hyper's refusals, as the JSON error states them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub write_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_uri_bytes: usize,
}

/// Whether a connection has sent its first byte, and whether the accept loop has closed it before it did.
/// Either happens once, whichever comes first, so a connection taken away has delivered no byte to hyper: no
/// request of it is started, none is cut off mid-answer.
#[derive(Debug, Default)]
pub struct Silence(AtomicU8);

const SILENT: u8 = 0;
const HEARD: u8 = 1;
const TAKEN: u8 = 2;

impl Silence {
    /// Closes the connection for the accept loop if it has sent nothing yet; false once it has.
    pub fn take(&self) -> bool {
        self.0
            .compare_exchange(SILENT, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the connection may still be taken.
    pub fn is_silent(&self) -> bool {
        self.0.load(Ordering::Acquire) == SILENT
    }

    /// Marks the connection heard; false if it was taken first.
    fn heard(&self) -> bool {
        match self
            .0
            .compare_exchange(SILENT, HEARD, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == HEARD,
        }
    }
}

pub struct Budgeted<T> {
    inner: T,
    limits: Limits,
    silence: Arc<Silence>,
    /// Running while a write is stuck; reused from one stall to the next.
    stall: Option<Pin<Box<Sleep>>>,
    stalled: bool,
    /// The JSON answer that replaces hyper's empty one, still to be written.
    refusal: Option<Bytes>,
}

impl<T> Budgeted<T> {
    pub fn new(inner: T, limits: Limits, silence: Arc<Silence>) -> Self {
        Self {
            inner,
            limits,
            silence,
            stall: None,
            stalled: false,
            refusal: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> Budgeted<T> {
    /// `polled`, unless it has been pending for longer than the write timeout.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.stalled = false;
            return polled;
        }
        let deadline = tokio::time::Instant::now() + self.limits.write_timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.stalled {
            stall.as_mut().reset(deadline);
            self.stalled = true;
        }
        ready!(stall.as_mut().poll(cx));
        self.stalled = false;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read none of its answer within server.write_timeout_ms",
        )))
    }

    /// Writes what remains of a replaced refusal.
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(left) = self.refusal.as_ref().filter(|left| !left.is_empty()) {
            let left = left.clone();
            let polled = Pin::new(&mut self.inner).poll_write(cx, &left);
            let written = ready!(self.watch(cx, polled))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if let Some(refusal) = self.refusal.as_mut() {
                refusal.advance(written);
            }
        }
        self.refusal = None;
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` in place of writing it when it is hyper's refusal.
    fn replaced(&mut self, buf: &[u8]) -> bool {
        match json_refusal(buf, &self.limits) {
            Some(answer) => {
                self.refusal = Some(answer);
                true
            }
            None => false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Budgeted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before && !this.silence.heard() {
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to seat a newer connection before it sent anything",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Budgeted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        if this.replaced(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && this.replaced(first)
        {
            return Poll::Ready(Ok(first.len()));
        }
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_refusal(cx))?;
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

/// The gateway's JSON answer in place of `buf`, when `buf` is exactly one of hyper's body-less refusals.
fn json_refusal(buf: &[u8], limits: &Limits) -> Option<Bytes> {
    // A refusal is a status line and three short headers; an answer's head is longer, and rarely starts a write.
    if buf.len() > 256 || !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let mut headers = [httparse::EMPTY_HEADER; 4];
    let mut head = httparse::Response::new(&mut headers);
    match head.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len == buf.len() => {}
        _ => return None,
    }
    let error = match head.code? {
        400 => AppError::MalformedRequest,
        414 => AppError::UriTooLong {
            limit: limits.max_uri_bytes,
        },
        431 => AppError::HeadersTooLarge {
            limit: limits.max_header_bytes,
        },
        _ => return None,
    };
    let mut date = None;
    let mut empty = false;
    for header in head.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") && header.value == b"0" {
            empty = true;
        } else if header.name.eq_ignore_ascii_case("date") {
            date = Some(header.value);
        } else if !header.name.eq_ignore_ascii_case("connection") {
            return None;
        }
    }
    if !empty {
        return None;
    }
    let correlation_id = Uuid::new_v4();
    let (status, body) = error.json_below_router(correlation_id);
    tracing::debug!(status = status.as_u16(), %correlation_id, "request refused by the HTTP parser");
    Some(Bytes::from(http_answer(
        head.version.unwrap_or(1),
        status,
        date,
        correlation_id,
        &body,
    )))
}

fn http_answer(
    minor_version: u8,
    status: StatusCode,
    date: Option<&[u8]>,
    correlation_id: Uuid,
    body: &[u8],
) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.{minor_version} {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n{X_MS_CORRELATION_ID}: {correlation_id}\r\n{MS_CORRELATION_ID}: {correlation_id}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
    )
    .into_bytes();
    if let Some(date) = date {
        answer.extend_from_slice(b"date: ");
        answer.extend_from_slice(date);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(body);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        write_timeout: Duration::from_secs(1),
        max_header_bytes: 32768,
        max_uri_bytes: 16384,
    };

    #[test]
    fn only_hypers_bodiless_refusals_are_replaced() {
        let refusal =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 11:17:38 GMT\r\n\r\n";
        let answer = json_refusal(refusal, &LIMITS).expect("replaced");
        let text = String::from_utf8(answer.to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(
            text.contains("date: Tue, 01 Dec 2026 11:17:38 GMT\r\n"),
            "{text}"
        );
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["statusCode"], 431);
        assert_eq!(body["code"], "HeadersTooLarge");

        for kept in [
            // The router's answers carry the correlation ID.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-ms-correlation-id: x\r\n\r\n"[..],
            // Anything after the head is not hyper's refusal.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"{\"items\": []}",
        ] {
            assert!(json_refusal(kept, &LIMITS).is_none(), "{kept:?}");
        }
    }
}
