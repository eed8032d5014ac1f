//! The `nutshell` binary (being written).

fn main() {
    eprintln!("nutshell: the serve, load and compare commands are being written");
    std::process::exit(2);
}
