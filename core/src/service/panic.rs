//! What every shell answers when the application panics or fails: the
//! response that ends the connection, and the panic's message for the log.

use std::any::Any;

use http::{header, HeaderValue, StatusCode};

use crate::ResponseHead;

/// The head answering a request whose handler panicked or failed: 500, and
/// `Connection: close`, since the application's state for this connection
/// can no longer be trusted.
pub fn failure_head() -> ResponseHead {
    ResponseHead::new(StatusCode::INTERNAL_SERVER_ERROR)
        .header(header::CONNECTION, HeaderValue::from_static("close"))
        .header(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))
}

/// The body sent with [`failure_head`].
pub const FAILURE_BODY: &str = "internal server error\n";

/// The message a panic carried (`panic!("...")` gives a `&str` or a
/// `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(a panic without a message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_both_panic_kinds() {
        let text = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*text), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("{}", 42)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "42");
        assert_eq!(failure_head().status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
