//! Client core and server core, joined by the fake link: any request the
//! client sends arrives at the server as the same request, and any response
//! the server sends arrives at the client as the same response, whatever
//! the link cuts the bytes into and however time passes in between.

mod common;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use nutshell_core::client::ClientRequest;
use nutshell_core::testing::{ClientRecord, Pair, Record};
use nutshell_core::{Config, Event, ResponseHead, ServerConnection};
use proptest::prelude::*;

/// A message's own fields and body, as generated.
#[derive(Debug, Clone)]
struct Message {
    fields: Vec<(String, String)>,
    /// Body pieces; `None` framing means Content-Length.
    pieces: Vec<Vec<u8>>,
    chunked: bool,
    trailers: Vec<(String, String)>,
}

impl Message {
    fn body(&self) -> Vec<u8> {
        self.pieces.concat()
    }
}

fn field_name() -> impl Strategy<Value = String> {
    // Not a framing or connection field: those are the cores' to write.
    "x-[a-z0-9]{1,12}"
}

fn field_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,30}[!-~])?"
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::collection::vec((field_name(), field_value()), 0..6),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 0..5),
        any::<bool>(),
        prop::collection::vec((field_name(), field_value()), 0..3),
    )
        .prop_map(|(fields, pieces, chunked, trailers)| {
            let trailers = if chunked { trailers } else { Vec::new() };
            Message {
                fields,
                pieces,
                chunked,
                trailers,
            }
        })
}

fn trailer_map(trailers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in trailers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// The fields a record shows, without the ones a core adds.
fn own_fields(fields: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "host" | "date" | "content-length" | "transfer-encoding"
            )
        })
        .map(|(name, value)| (name.clone(), String::from_utf8(value.clone()).unwrap()))
        .collect()
}

fn as_records(trailers: &[(String, String)]) -> Vec<(String, Vec<u8>)> {
    // HeaderMap groups values by name; compare in that order.
    trailer_map(trailers)
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

proptest! {
    // Failures are kept in the crate's `proptest-regressions/` (the default
    // looks for a `lib.rs` beside the test and finds none).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/roundtrip.txt"),
        )),
        ..ProptestConfig::with_cases(128)
    })]

    #[test]
    fn messages_cross_the_link_unchanged(
        method in prop::sample::select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH]),
        path in "(/[a-zA-Z0-9._~-]{0,8}){1,3}(\\?[a-z0-9=&]{0,12})?",
        request in message(),
        status in prop::sample::select(vec![200u16, 201, 202, 204, 304, 400, 404, 500, 503]),
        response in message(),
        cuts in prop::collection::vec(1usize..64, 0..8),
        pauses in prop::collection::vec(0u64..5_000, 0..4),
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let bodiless = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        let reply = response.clone();
        let app = move |conn: &mut ServerConnection, event: &Event| {
            if !matches!(event, Event::RequestEnd) {
                return;
            }
            let mut head = ResponseHead::new(status);
            for (name, value) in &reply.fields {
                head.push_header(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
            }
            if bodiless {
                conn.respond(head, Bytes::new()).unwrap();
                return;
            }
            if !reply.chunked {
                head = head.content_length(reply.body().len() as u64);
            }
            conn.send_response(head).unwrap();
            for piece in &reply.pieces {
                conn.send_body(Bytes::from(piece.clone())).unwrap();
            }
            conn.send_trailers(&trailer_map(&reply.trailers)).unwrap();
        };
        let mut pair = Pair::new(Config::default(), common::origin(), app);
        pair.cuts = cuts;

        let mut sent = ClientRequest::new(method.clone(), path.clone())
            .header(http::header::HOST, HeaderValue::from_static("example.test"));
        for (name, value) in &request.fields {
            sent = sent.header(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        sent = if request.chunked { sent.chunked() } else { sent.content_length(request.body().len() as u64) };
        pair.client.send_request(sent).unwrap();
        for (i, piece) in request.pieces.iter().enumerate() {
            pair.client.send_body(Bytes::from(piece.clone())).unwrap();
            if let Some(pause) = pauses.get(i) {
                pair.advance(Duration::from_millis(*pause));
            }
        }
        pair.client.send_trailers(&trailer_map(&request.trailers)).unwrap();
        pair.settle();

        // The server saw the request as sent.
        let server = pair.server.records();
        let Record::Request { method: got_method, target, headers } = &server[0] else {
            panic!("no request: {server:?}");
        };
        prop_assert_eq!(got_method, method.as_str());
        prop_assert_eq!(target, &path);
        prop_assert_eq!(own_fields(headers), request.fields.clone());
        let mut rest = &server[1..];
        if !request.body().is_empty() {
            prop_assert_eq!(&rest[0], &Record::Body(request.body()));
            rest = &rest[1..];
        }
        if !request.trailers.is_empty() {
            prop_assert_eq!(&rest[0], &Record::Trailers(as_records(&request.trailers)));
            rest = &rest[1..];
        }
        prop_assert_eq!(&rest[0], &Record::RequestEnd);

        // The client saw the response as sent.
        let client = pair.client_records();
        let ClientRecord::Response(got_status, fields) = &client[0] else {
            panic!("no response: {client:?}");
        };
        prop_assert_eq!(*got_status, status.as_u16());
        prop_assert_eq!(own_fields(fields), response.fields.clone());
        let mut rest = &client[1..];
        if !bodiless && !response.body().is_empty() {
            prop_assert_eq!(&rest[0], &ClientRecord::Body(response.body()));
            rest = &rest[1..];
        }
        if !bodiless && response.chunked && !response.trailers.is_empty() {
            prop_assert_eq!(&rest[0], &ClientRecord::Trailers(as_records(&response.trailers)));
            rest = &rest[1..];
        }
        prop_assert_eq!(&rest[0], &ClientRecord::ResponseEnd);
        prop_assert!(pair.client.can_send());
    }
}
