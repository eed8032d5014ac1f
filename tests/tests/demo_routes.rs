//! The demo app's routes for handlers that wait and compute (`/wait/{ms}`,
//! `/cpu/{us}`) on every shell, and the mio shell's handler pool. Behaviour
//! only: nothing here asserts how long anything took.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nutshell_core::http::StatusCode;
use nutshell_core::service::demo::DemoApp;
use nutshell_core::service::{Handler, Request, Response, ServerOptions};
use nutshell_core::ResponseHead;
use nutshell_tests::server::{options, test_config, SHUTDOWN_BOUND};
use nutshell_tests::Running;

/// Long enough that only a hung server trips it.
const READ_BOUND: Duration = Duration::from_secs(30);

/// A connection with a line reader over it.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_BOUND)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, method: &str, path: &str) {
        let request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write the request");
    }

    /// Reads one response with a `Content-Length` body: status and body.
    fn receive(&mut self) -> (u16, String) {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("field line");
            let field = line.trim_end();
            if field.is_empty() {
                break;
            }
            if let Some((name, value)) = field.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("content-length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8(body).expect("text body"))
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        self.send("GET", path);
        self.receive()
    }
}

/// Stamps the route tests out for one shell crate.
macro_rules! route_tests {
    ($name:ident, $krate:ident) => {
        mod $name {
            use super::*;

            fn start(handler: impl Handler, options: ServerOptions) -> Running {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let server =
                    $krate::Server::from_listener(listener, handler, options).expect("serve");
                let (addr, signal) = (server.local_addr(), server.shutdown_signal());
                Running::spawn(stringify!($name), addr, signal, move || server.run())
            }

            #[test]
            fn wait_route() {
                let server = start(DemoApp, options(test_config()));
                wait_route_answers(server.addr());
                server.stop();
            }

            #[test]
            fn cpu_route() {
                let server = start(DemoApp, options(test_config()));
                cpu_route_answers(server.addr());
                server.stop();
            }

            #[test]
            fn waiting_requests_on_many_connections() {
                let server = start(DemoApp, options(test_config()));
                many_waits_all_answered(server.addr());
                server.stop();
            }
        }
    };
}

route_tests!(tokio, nutshell_tokio);
route_tests!(smol, nutshell_smol);
route_tests!(blocking, nutshell_blocking);
route_tests!(mio, nutshell_mio);
route_tests!(mio_pool, nutshell_mio_with_pool);

/// The mio shell with a handler pool, under the macro's name scheme.
mod nutshell_mio_with_pool {
    use nutshell_core::service::{Handler, ServerOptions};
    pub(crate) use nutshell_mio::Server as MioServer;

    /// `nutshell_mio::Server` with `handler_threads` set to 4.
    pub(crate) struct Server;

    impl Server {
        pub(crate) fn from_listener<H: Handler>(
            listener: std::net::TcpListener,
            handler: H,
            options: ServerOptions,
        ) -> std::io::Result<MioServer<H>> {
            MioServer::from_listener(listener, handler, options.handler_threads(4))
        }
    }
}

fn wait_route_answers(addr: SocketAddr) {
    let mut client = Client::connect(addr);
    assert_eq!(client.get("/wait/5"), (200, "waited 5 ms\n".to_string()));
    assert_eq!(client.get("/wait/0"), (200, "waited 0 ms\n".to_string()));
    assert_eq!(client.get("/wait/soon").0, 404);
    // Longer than the route allows.
    assert_eq!(client.get("/wait/60001").0, 404);
    client.send("POST", "/wait/1");
    assert_eq!(client.receive().0, 405);
    // The connection is still good after all of those.
    assert_eq!(client.get("/").1, "Hello, World!");
}

fn cpu_route_answers(addr: SocketAddr) {
    let mut client = Client::connect(addr);
    let (status, body) = client.get("/cpu/20");
    assert_eq!(status, 200);
    let digest = body
        .strip_prefix("computed 20 us: ")
        .unwrap_or_else(|| panic!("unexpected body {body:?}"));
    assert_eq!(digest.trim_end().len(), 16, "a 64-bit digest in hex");
    // The same work gives the same digest.
    assert_eq!(client.get("/cpu/20").1, body);
    assert_eq!(client.get("/cpu/1000001").0, 404);
}

/// More waiting requests at once than a pool of four has threads.
fn many_waits_all_answered(addr: SocketAddr) {
    let mut clients: Vec<Client> = (0..12).map(|_| Client::connect(addr)).collect();
    for client in &mut clients {
        client.send("GET", "/wait/20");
    }
    for client in &mut clients {
        assert_eq!(client.receive(), (200, "waited 20 ms\n".to_string()));
    }
}

/// A gate a handler blocks on until the test opens it; the test can wait
/// for a handler to have reached it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    entered: bool,
    open: bool,
}

impl Gate {
    fn wait(&self) {
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        state.entered = true;
        changed.notify_all();
        while !state.open {
            state = changed.wait(state).unwrap();
        }
    }

    fn wait_entered(&self) {
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        while !state.entered {
            state = changed.wait(state).unwrap();
        }
    }

    fn open(&self) {
        let (state, changed) = &*self.0;
        state.lock().unwrap().open = true;
        changed.notify_all();
    }
}

/// `/block` blocks until the gate opens, `/panic` panics; the rest is the
/// demo app.
fn gated_app(gate: Gate) -> impl Handler {
    move |request: Request| -> Response {
        match request.head.path() {
            "/block" => {
                gate.wait();
                Response::full(ResponseHead::new(StatusCode::OK), "unblocked")
            }
            "/panic" => panic!("a handler that panics"),
            _ => DemoApp.handle(request),
        }
    }
}

fn start_mio(handler: impl Handler, options: ServerOptions) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = nutshell_mio::Server::from_listener(listener, handler, options).expect("serve");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    Running::spawn("mio-pool", addr, signal, move || server.run())
}

/// With the pool, a handler that blocks does not stall another connection
/// on the same loop: the second connection is answered while the first
/// handler is still blocked, which only the gate can end. (Without the
/// pool, the one loop would be stuck in the first handler and the second
/// read would time out.)
#[test]
fn mio_pool_blocked_handler_does_not_stall_the_loop() {
    let gate = Gate::default();
    let options = options(test_config()).threads(1).handler_threads(2);
    let server = start_mio(gated_app(gate.clone()), options);
    let mut blocked = Client::connect(server.addr());
    blocked.send("GET", "/block");
    let mut other = Client::connect(server.addr());
    assert_eq!(other.get("/").1, "Hello, World!");
    assert_eq!(other.get("/wait/1").1, "waited 1 ms\n");
    gate.open();
    assert_eq!(blocked.receive(), (200, "unblocked".to_string()));
    server.stop();
}

/// Pipelined requests through the pool come back in order.
#[test]
fn mio_pool_keeps_pipelined_order() {
    let options = options(test_config()).threads(1).handler_threads(4);
    let server = start_mio(DemoApp, options);
    let mut client = Client::connect(server.addr());
    let pipelined = "GET /wait/30 HTTP/1.1\r\nHost: t\r\n\r\n\
                     GET /wait/1 HTTP/1.1\r\nHost: t\r\n\r\n\
                     GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    client
        .reader
        .get_mut()
        .write_all(pipelined.as_bytes())
        .unwrap();
    assert_eq!(client.receive().1, "waited 30 ms\n");
    assert_eq!(client.receive().1, "waited 1 ms\n");
    assert_eq!(client.receive().1, "Hello, World!");
    server.stop();
}

/// A handler that panics on the pool costs its request a 500; the worker
/// and the connection carry on.
#[test]
fn mio_pool_survives_a_panicking_handler() {
    let options = options(test_config()).threads(1).handler_threads(1);
    let server = start_mio(gated_app(Gate::default()), options);
    let mut client = Client::connect(server.addr());
    assert_eq!(client.get("/panic").0, 500);
    // The 500 closes its connection, as on every shell (`Connection:
    // close`); the single worker is still there for the next one.
    let mut client = Client::connect(server.addr());
    assert_eq!(client.get("/wait/1").1, "waited 1 ms\n");
    server.stop();
}

/// A graceful shutdown waits for a response the pool is computing, and
/// sends it.
#[test]
fn mio_pool_shutdown_finishes_requests_in_flight() {
    let gate = Gate::default();
    let options = options(test_config()).threads(1).handler_threads(1);
    let mut server = start_mio(gated_app(gate.clone()), options);
    let mut blocked = Client::connect(server.addr());
    blocked.send("GET", "/block");
    gate.wait_entered();
    server.signal().trigger();
    gate.open();
    assert_eq!(blocked.receive(), (200, "unblocked".to_string()));
    let outcome = server.wait(SHUTDOWN_BOUND);
    assert!(
        matches!(outcome, Ok(Ok(()))),
        "run() ended with {outcome:?}"
    );
}
