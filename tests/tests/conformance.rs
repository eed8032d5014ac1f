//! The conformance suite, once per shell. Each shell gets a module with one
//! test per case group; the groups live in `nutshell_tests`. A shell is
//! started through the `Shell` trait (`nutshell_tests::server::start`), so
//! all the macro varies is the server type.

use nutshell_core::service::SyncHandler;
use nutshell_demo::DemoApp;

/// Stamps the suite out for one shell's server type (serving the demo app).
macro_rules! conformance_suite {
    ($name:ident, $server:ty) => {
        mod $name {
            use super::*;
            use nutshell_tests::server::{launch, start};

            type Server = $server;

            #[test]
            fn shutdown_before_run() {
                nutshell_tests::scenarios::shutdown_before_run(launch::<Server>);
            }

            #[test]
            fn bind_reports_errors() {
                nutshell_tests::scenarios::bind_reports_errors::<Server>();
            }

            conformance_suite!(@tests
                scenarios::routes, scenarios::connection, scenarios::bodies, scenarios::smuggling,
                scenarios::limits, scenarios::continue_100, scenarios::upload_8mib,
                scenarios::download_64mib, scenarios::header_timeout,
                scenarios::idle_timeout, scenarios::write_stall,
                scenarios::client_resets, scenarios::half_close,
                scenarios::concurrent_clients, scenarios::graceful_shutdown,
                overload::flood_never_reads, clients::ureq_client,
                clients::hyper_client, curl::curl_client,
                overload::pipelined_never_reads_is_closed_by_the_write_stall,
                overload::writer_past_the_limit_reads_its_413,
                curl::curl_upload_past_the_limit
            );
        }
    };
    (@tests $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                nutshell_tests::$module::$test(start::<Server>);
            }
        )*
    };
}

conformance_suite!(tokio, nutshell_tokio::Server<SyncHandler<DemoApp>>);
conformance_suite!(smol, nutshell_smol::Server<SyncHandler<DemoApp>>);
conformance_suite!(blocking, nutshell_blocking::Server<DemoApp>);
conformance_suite!(mio, nutshell_mio::Server<DemoApp>);
