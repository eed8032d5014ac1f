//! The conformance suite, once per shell. Each shell gets a module with one
//! test per case group; the groups live in `nutshell_tests`.

/// Stamps the suite out for one shell crate.
macro_rules! conformance_suite {
    ($name:ident, $krate:ident) => {
        mod $name {
            use nutshell_core::service::demo::DemoApp;
            use nutshell_core::service::ServerOptions;
            use nutshell_tests::Running;

            /// Starts the shell on 127.0.0.1:0 with the demo app; with
            /// `triggered`, the shutdown is triggered before `run()`.
            fn launch(options: ServerOptions, triggered: bool) -> Running {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let server = $krate::Server::from_listener(listener, DemoApp, options)
                    .expect("from_listener");
                let addr = server.local_addr();
                let signal = server.shutdown_signal();
                if triggered {
                    signal.trigger();
                }
                Running::spawn(stringify!($name), addr, signal, move || server.run())
            }

            fn start(options: ServerOptions) -> Running {
                launch(options, false)
            }

            #[test]
            fn shutdown_before_run() {
                nutshell_tests::scenarios::shutdown_before_run(launch);
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
                nutshell_tests::$module::$test(start);
            }
        )*
    };
}

conformance_suite!(tokio, nutshell_tokio);
conformance_suite!(smol, nutshell_smol);
conformance_suite!(blocking, nutshell_blocking);
conformance_suite!(mio, nutshell_mio);
