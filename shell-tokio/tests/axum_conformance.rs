//! The conformance suite through the tower path: the demo application as an
//! axum Router (`nutshell_async::axum_demo`), served with `bind_service`.
//! Every table case must produce the same bytes as the core's own demo, and
//! every scenario (timeouts, large bodies, resets, shutdown) must hold.

use nutshell_server::ServerOptions;
use nutshell_tests::Running;

fn launch(options: ServerOptions, triggered: bool) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let router = nutshell_async::axum_demo::router();
    let server = nutshell_tokio::Server::from_listener_service(listener, router, options)
        .expect("from_listener_service");
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    if triggered {
        signal.trigger();
    }
    Running::spawn("tokio-axum", addr, signal, move || server.run())
}

fn start(options: ServerOptions) -> Running {
    launch(options, false)
}

#[test]
fn shutdown_before_run() {
    nutshell_tests::scenarios::shutdown_before_run(launch);
}

macro_rules! suite {
    ($($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                nutshell_tests::$module::$test(start);
            }
        )*
    };
}

suite!(
    scenarios::routes,
    scenarios::connection,
    scenarios::bodies,
    scenarios::smuggling,
    scenarios::limits,
    scenarios::continue_100,
    scenarios::upload_8mib,
    scenarios::download_64mib,
    scenarios::header_timeout,
    scenarios::idle_timeout,
    scenarios::write_stall,
    scenarios::client_resets,
    scenarios::half_close,
    scenarios::concurrent_clients,
    overload::flood_never_reads,
    overload::pipelined_never_reads_is_closed_by_the_write_stall,
    overload::writer_past_the_limit_reads_its_413,
    scenarios::graceful_shutdown,
    clients::ureq_client,
    clients::hyper_client,
    curl::curl_client,
    curl::curl_upload_past_the_limit,
);
