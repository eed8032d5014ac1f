//! The demo app as each async shell's users would write it: `GET
//! /wait/{ms}` awaits the runtime's timer instead of blocking a worker
//! thread; every other route is the synchronous [`DemoApp`] unchanged.

use std::future::Future;
use std::time::Duration;

use nutshell_core::service::{AsyncHandler, Request, Response};
use nutshell_demo::{requested_wait, DemoApp};

/// For the tokio shell: waits with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioDemo;

impl AsyncHandler for TokioDemo {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        answer_after(request, tokio::time::sleep)
    }
}

/// For the smol shell: waits with an `async_io::Timer`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SmolDemo;

impl AsyncHandler for SmolDemo {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        answer_after(request, |wait| async move {
            async_io::Timer::after(wait).await;
        })
    }
}

/// Awaits `timer` for the wait the request asks for (if any), then answers
/// as the demo app does.
async fn answer_after<T, F>(request: Request, timer: T) -> Response
where
    T: FnOnce(Duration) -> F,
    F: Future<Output = ()>,
{
    if let Some(wait) = requested_wait(&request) {
        timer(wait).await;
    }
    DemoApp.answer(&request)
}
