//! What the tests that run the real `screenhook serve` binary share.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::Child,
    sync::mpsc,
    time::Duration,
};

/// The sandbox API key a fresh server prints once on its first start. Keeps reading the
/// child's stdout afterwards, so the pipe never fills.
pub async fn printed_api_key(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(key) = line.split_whitespace().find(|w| w.starts_with("sk_")) {
                let _ = tx.send(key.to_owned());
            }
        }
    });
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .expect("the reader thread")
        .expect("the server prints the sandbox API key on first start (if it exited, its stderr is above)")
}

/// A port nothing listens on right now (the OS's pick, released at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("its address").port()
}
