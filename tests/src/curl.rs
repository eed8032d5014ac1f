//! curl against each shell: plain requests, and uploads past the body
//! limit that must end in curl reporting the 413 (not a reset).
//!
//! The curl tests need `curl` on the `PATH` and fail without it (`.ci/run`
//! installs it); `NUTSHELL_SKIP_CURL=1` skips them, saying so loudly.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::server::{options, test_config, Start};

/// Whether the curl tests run: curl must be installed unless
/// `NUTSHELL_SKIP_CURL=1` says to skip them (a missing curl is a failure,
/// not a silent pass).
fn curl_wanted() -> bool {
    if std::env::var("NUTSHELL_SKIP_CURL").is_ok_and(|v| v == "1") {
        eprintln!("!!!!!!!! NUTSHELL_SKIP_CURL=1: the curl tests are SKIPPED, not passed !!!!!!!!");
        return false;
    }
    let found = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "curl is not installed: install it (.ci/run does), or set NUTSHELL_SKIP_CURL=1 to skip"
    );
    true
}

/// curl: GET / and HEAD /.
pub fn curl_client(start: Start) {
    if !curl_wanted() {
        return;
    }
    let server = start(options(test_config()));
    let url = format!("http://{}/", server.addr());
    let get = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "30", &url])
        .output()
        .unwrap();
    assert!(
        get.status.success(),
        "curl GET: {}",
        String::from_utf8_lossy(&get.stderr)
    );
    let text = String::from_utf8_lossy(&get.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello, World!"), "{text}");

    let head = Command::new("curl")
        .args(["-sS", "-I", "--max-time", "30", &url])
        .output()
        .unwrap();
    assert!(
        head.status.success(),
        "curl HEAD: {}",
        String::from_utf8_lossy(&head.stderr)
    );
    let text = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(text.contains("content-length: 13\r\n"), "{text}");
}

/// 100 MB (decimal), far past the 1 MiB limit the upload tests configure.
const UPLOAD: u64 = 100_000_000;

/// curl uploads 100 MB to a server whose body limit is 1 MiB and reports
/// HTTP 413 (exit status 0), not "connection reset": once with a declared
/// length (a sparse temporary file, so no disk is used) and once chunked
/// from a pipe fed on the fly. `Expect: 100-continue` is turned off, so
/// curl really sends the body rather than waiting for the verdict.
pub fn curl_upload_past_the_limit(start: Start) {
    if !curl_wanted() {
        return;
    }
    let mut config = test_config();
    config.limits.max_body = 1 << 20;
    let server = start(options(config));
    let url = format!("http://{}/echo", server.addr());

    let path = std::env::temp_dir().join(format!(
        "nutshell-upload-{}-{}",
        std::process::id(),
        server.addr().port()
    ));
    let file = std::fs::File::create(&path).expect("a temporary file");
    file.set_len(UPLOAD).expect("a sparse 100 MB file");
    drop(file);
    let declared = Command::new("curl")
        .args(curl_upload_args(&url))
        .arg("--data-binary")
        .arg(format!("@{}", path.display()))
        .output();
    let _ = std::fs::remove_file(&path);
    check_413("declared length", declared.expect("run curl"));

    let mut piped = Command::new("curl")
        .args(curl_upload_args(&url))
        .args(["-T", "-", "-X", "POST"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run curl");
    let mut stdin = piped.stdin.take().expect("curl's stdin");
    let feeder = std::thread::spawn(move || {
        let block = vec![b'p'; 64 * 1024];
        let mut fed = 0u64;
        // Stops when curl closes its end (it has its answer) or at 100 MB.
        while fed < UPLOAD && stdin.write_all(&block).is_ok() {
            fed += block.len() as u64;
        }
        fed
    });
    let output = piped.wait_with_output().expect("wait for curl");
    feeder.join().expect("the feeder");
    check_413("chunked from a pipe", output);
}

/// curl's options for an upload test: quiet, no 100-continue, bounded in
/// time, printing only the status code.
fn curl_upload_args(url: &str) -> Vec<String> {
    [
        "-sS",
        "--max-time",
        "60",
        "-H",
        "Expect:",
        "-H",
        "Content-Type: application/octet-stream",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
    ]
    .map(String::from)
    .to_vec()
}

fn check_413(what: &str, output: std::process::Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let status = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && status == "413",
        "curl, {what}: exit {:?}, status {status:?}, stderr {stderr:?}",
        output.status.code()
    );
}
