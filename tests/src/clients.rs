//! Real, independent HTTP clients against each shell: ureq and hyper's
//! client (curl has its own module, [`curl`](crate::curl)).

use std::io::Read;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use nutshell_core::Bytes;

use crate::server::{options, test_config, Start};
use crate::wire::HELLO;

/// ureq 2: GET /, POST /echo, GET /chunked/100000, all through one agent
/// (which keeps the connection alive between them).
pub fn ureq_client(start: Start) {
    let server = start(options(test_config()));
    let base = format!("http://{}", server.addr());
    let agent = ureq::AgentBuilder::new()
        .timeout(crate::wire::IO_TIMEOUT)
        .build();
    for _ in 0..3 {
        let response = agent.get(&format!("{base}/")).call().expect("GET /");
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(response.into_string().unwrap(), "Hello, World!");

        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
        let response = agent
            .post(&format!("{base}/echo"))
            .send_bytes(&body)
            .expect("POST /echo");
        assert_eq!(response.status(), 200);
        let mut echoed = Vec::new();
        response.into_reader().read_to_end(&mut echoed).unwrap();
        assert!(echoed == body, "echo differs");

        let response = agent
            .get(&format!("{base}/chunked/100000"))
            .call()
            .expect("GET /chunked/100000");
        assert_eq!(response.header("transfer-encoding"), Some("chunked"));
        let mut body = Vec::new();
        response.into_reader().read_to_end(&mut body).unwrap();
        assert_eq!(body.len(), 100_000);
        assert!(body.iter().all(|b| *b == b'x'));

        let error = agent.get(&format!("{base}/nope")).call().unwrap_err();
        assert!(matches!(error, ureq::Error::Status(404, _)), "{error}");
    }
}

/// hyper 1's client on a tokio current-thread runtime: every request on
/// one connection (so keep-alive reuse is certain): GET /, POST /echo,
/// GET /chunked/100000, HEAD /.
pub fn hyper_client(start: Start) {
    let server = start(options(test_config()));
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
            .await
            .expect("handshake");
        let driver = tokio::spawn(connection);
        let request = |method: &str, path: &str, body: Bytes| {
            Request::builder()
                .method(method)
                .uri(path)
                .header("host", addr.to_string())
                .body(Full::new(body))
                .unwrap()
        };
        for round in 0..3 {
            let response = sender
                .send_request(request("GET", "/", Bytes::new()))
                .await
                .expect("GET /");
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], HELLO);

            let upload = Bytes::from(vec![round as u8; 300_000]);
            sender.ready().await.expect("connection kept alive");
            let response = sender
                .send_request(request("POST", "/echo", upload.clone()))
                .await
                .expect("POST /echo");
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(body == upload, "echo differs");

            sender.ready().await.expect("connection kept alive");
            let response = sender
                .send_request(request("GET", "/chunked/100000", Bytes::new()))
                .await
                .expect("GET /chunked/100000");
            assert_eq!(response.headers()["transfer-encoding"], "chunked");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body.len(), 100_000);

            sender.ready().await.expect("connection kept alive");
            let response = sender
                .send_request(request("HEAD", "/", Bytes::new()))
                .await
                .expect("HEAD /");
            assert_eq!(response.headers()["content-length"], "13");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(body.is_empty());
            sender.ready().await.expect("connection kept alive");
        }
        drop(sender);
        driver
            .await
            .expect("driver")
            .expect("connection ended cleanly");
    });
}
