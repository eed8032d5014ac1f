//! The demo app's routes for handlers that wait and compute (`/wait/{ms}`,
//! `/cpu/{us}`) on every shell, and the mio shell's handler pool. Behaviour
//! only: nothing here asserts how long anything took.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nutshell_core::http::StatusCode;
use nutshell_core::service::{Handler, Request, Response, SyncHandler};
use nutshell_core::ResponseHead;
use nutshell_demo::DemoApp;
use nutshell_server::ServerOptions;
use nutshell_tests::server::{launch, launch_app, options, test_config, SHUTDOWN_BOUND};
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

/// Stamps the route tests out for one shell's server type; `$tune` adjusts
/// the options (the mio shell's handler pool).
macro_rules! route_tests {
    ($name:ident, $server:ty) => {
        route_tests!($name, $server, |options| options);
    };
    ($name:ident, $server:ty, $tune:expr) => {
        mod $name {
            use super::*;

            fn start() -> Running {
                let tune: fn(ServerOptions) -> ServerOptions = $tune;
                launch::<$server>(tune(options(test_config())), false)
            }

            #[test]
            fn wait_route() {
                let server = start();
                wait_route_answers(server.addr());
                server.stop();
            }

            #[test]
            fn cpu_route() {
                let server = start();
                cpu_route_answers(server.addr());
                server.stop();
            }

            #[test]
            fn waiting_requests_on_many_connections() {
                let server = start();
                many_waits_all_answered(server.addr());
                server.stop();
            }
        }
    };
}

route_tests!(tokio, nutshell_tokio::Server<SyncHandler<DemoApp>>);
route_tests!(smol, nutshell_smol::Server<SyncHandler<DemoApp>>);
route_tests!(blocking, nutshell_blocking::Server<DemoApp>);
route_tests!(mio, nutshell_mio::Server<DemoApp>);
route_tests!(mio_pool, nutshell_mio::Server<DemoApp>, |options| options
    .handler_threads(4));

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

fn start_mio<H: Handler>(handler: H, options: ServerOptions) -> Running {
    launch_app::<nutshell_mio::Server<H>, H>(handler, options, false)
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

/// A synchronous handler that panics on `/panic` and is the demo app
/// otherwise, as a nameable type for the server types below.
type Panicky = fn(Request) -> Response;

fn panicky(request: Request) -> Response {
    match request.head.path() {
        "/panic" => panic!("a handler that panics"),
        _ => DemoApp.handle(request),
    }
}

/// Stamps out, for one shell's server type serving [`Panicky`]: a panic
/// in a synchronous handler costs its request a 500 and its connection
/// (`Connection: close`), and the server serves the next connection.
macro_rules! panic_tests {
    ($name:ident, $server:ty) => {
        #[test]
        fn $name() {
            let handler: Panicky = panicky;
            let server = launch_app::<$server, Panicky>(handler, options(test_config()), false);
            let mut client = Client::connect(server.addr());
            client.send("GET", "/panic");
            assert_eq!(
                client.receive(),
                (500, "internal server error\n".to_string())
            );
            let mut rest = Vec::new();
            let closed = client.reader.read_to_end(&mut rest);
            assert!(
                closed.is_ok() && rest.is_empty(),
                "after the 500: {closed:?}, {rest:?}"
            );
            assert_eq!(Client::connect(server.addr()).get("/").1, "Hello, World!");
            server.stop();
        }
    };
}

panic_tests!(
    tokio_sync_handler_panic,
    nutshell_tokio::Server<SyncHandler<Panicky>>
);
panic_tests!(
    smol_sync_handler_panic,
    nutshell_smol::Server<SyncHandler<Panicky>>
);
panic_tests!(blocking_handler_panic, nutshell_blocking::Server<Panicky>);
panic_tests!(mio_handler_panic, nutshell_mio::Server<Panicky>);
