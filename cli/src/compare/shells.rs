//! The servers `compare` runs: the four shells, the mio shell with a
//! handler pool (`mio+poolN`), the hyper baseline, the I/O floor, and one
//! axum Router on the tokio shell and on hyper (`axum-nutshell`,
//! `axum-hyper`).

use super::workload::Workload;

/// The servers of a default run, in order. The axum rows are asked for
/// with `--shells`: two more servers would make the default run (about
/// five minutes on two cores) a third longer.
pub(crate) const DEFAULT: &str = "mio,mio+pool64,tokio,smol,blocking,hyper,floor";

/// One server to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellSpec {
    /// As given and shown: `mio`, `mio+pool64`, `floor`.
    pub(crate) name: String,
    /// The `serve --shell` value.
    pub(crate) serve: &'static str,
    /// `serve --handler-threads` (mio only).
    pub(crate) handler_threads: usize,
}

impl ShellSpec {
    pub(crate) fn parse(name: &str) -> Result<ShellSpec, String> {
        let unknown = || {
            format!(
                "unknown shell {name:?}; known: mio, mio+poolN (N handler threads), tokio, smol, \
                 blocking, hyper, axum-nutshell, axum-hyper, floor"
            )
        };
        let (serve, handler_threads) = match name {
            "mio" => ("mio", 0),
            "tokio" => ("tokio", 0),
            "smol" => ("smol", 0),
            "blocking" => ("blocking", 0),
            "hyper" => ("hyper", 0),
            "axum-nutshell" => ("axum-nutshell", 0),
            "axum-hyper" => ("axum-hyper", 0),
            "floor" => ("floor", 0),
            _ => {
                let n = name
                    .strip_prefix("mio+pool")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(unknown)?;
                ("mio", n)
            }
        };
        Ok(ShellSpec {
            name: name.to_string(),
            serve,
            handler_threads,
        })
    }

    /// Whether this server takes part in `workload`: the floor answers
    /// every head with `Hello, World!`, so only `GET /` means anything.
    pub(crate) fn runs(&self, workload: Workload) -> bool {
        !self.is_floor() || matches!(workload, Workload::Get(_) | Workload::Pipelined)
    }

    pub(crate) fn is_floor(&self) -> bool {
        self.serve == "floor"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shell_names() {
        assert_eq!(ShellSpec::parse("mio+pool64").unwrap().handler_threads, 64);
        assert_eq!(ShellSpec::parse("tokio").unwrap().serve, "tokio");
        assert!(ShellSpec::parse("mio+pool0").is_err());
        assert!(ShellSpec::parse("nginx").is_err());
        assert_eq!(ShellSpec::parse("axum-hyper").unwrap().serve, "axum-hyper");
        assert_eq!(
            ShellSpec::parse("axum-nutshell").unwrap().serve,
            "axum-nutshell"
        );
        let floor = ShellSpec::parse("floor").unwrap();
        assert!(floor.runs(Workload::Pipelined) && !floor.runs(Workload::Echo));
    }
}
