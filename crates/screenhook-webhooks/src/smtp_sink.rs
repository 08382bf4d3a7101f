//! A tiny SMTP server for tests (feature `test-support`).
//!
//! It listens on `127.0.0.1:0`, speaks just enough SMTP for a real client
//! (EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-stuffing, RSET, NOOP,
//! QUIT) and keeps every message. Tests wait for messages with
//! [`SmtpSink::wait_for`], which is woken by each stored message — no sleeps
//! and no external process (mailpit and friends are not installable here).
//! It accepts everything and offers no TLS or AUTH: never expose it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address, without angle brackets.
    pub from: String,
    /// The `RCPT TO` addresses, in order.
    pub recipients: Vec<String>,
    /// The DATA section with dot-stuffing undone and the final `.` removed.
    pub data: String,
}

type Store = Arc<Mutex<Vec<ReceivedMail>>>;

/// A running sink; it stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    messages: Store,
    count: watch::Receiver<usize>,
    accept_loop: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let messages = Store::default();
        let (counter, count) = watch::channel(0);
        let counter = Arc::new(counter);
        let store = Arc::clone(&messages);
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, counter) = (Arc::clone(&store), Arc::clone(&counter));
                // A client that misbehaves only ends its own session.
                tokio::spawn(async move { session(stream, store, counter).await.ok() });
            }
        });
        Ok(Self { addr, messages, count, accept_loop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `count` messages arrived, then returns them all.
    /// Wrap it in a timeout in tests.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let mut seen = self.count.clone();
        // The sender lives in the accept loop; if that ended, return what
        // there is rather than waiting forever.
        seen.wait_for(|received| *received >= count).await.ok();
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// The address inside `<…>` of `MAIL FROM:<a> …` / `RCPT TO:<a>`.
fn angle_address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

async fn session(stream: TcpStream, store: Store, counter: Arc<watch::Sender<usize>>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 screenhook-sink ESMTP\r\n").await?;
    let mut from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => "250 screenhook-sink",
            "MAIL" => {
                from = Some(angle_address(&command));
                recipients.clear();
                "250 OK"
            }
            "RCPT" if from.is_some() => {
                recipients.push(angle_address(&command));
                "250 OK"
            }
            "DATA" if !recipients.is_empty() => {
                write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                let data = read_data(&mut reader).await?;
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                };
                let mut messages = store.lock().unwrap_or_else(PoisonError::into_inner);
                messages.push(mail);
                counter.send_replace(messages.len());
                "250 OK queued"
            }
            "RCPT" | "DATA" => "503 bad sequence of commands",
            "RSET" => {
                from = None;
                recipients.clear();
                "250 OK"
            }
            "NOOP" => "250 OK",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 command not implemented",
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// Reads DATA lines up to the lone `.`, undoing dot-stuffing.
async fn read_data(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> io::Result<String> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
    // The CRLF before the terminating dot belongs to the protocol.
    if data.ends_with(b"\r\n") {
        data.truncate(data.len() - 2);
    }
    Ok(String::from_utf8_lossy(&data).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        line
    }

    #[tokio::test]
    async fn speaks_the_basic_conversation() {
        let sink = SmtpSink::start().await.unwrap();
        let (read, mut write) = TcpStream::connect(sink.addr()).await.unwrap().into_split();
        let mut reader = BufReader::new(read);
        assert!(reply(&mut reader).await.starts_with("220 "));
        let mut say = async |line: &str, expect: &str| {
            write.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
            let answer = reply(&mut reader).await;
            assert!(answer.starts_with(expect), "{line} -> {answer}");
        };
        say("HELO client", "250").await;
        say("RCPT TO:<early@example.com>", "503").await;
        say("MAIL FROM:<a@example.com>", "250").await;
        say("RCPT TO:<dropped@example.com>", "250").await;
        say("RSET", "250").await;
        say("NOOP", "250").await;
        say("MAIL FROM:<a@example.com> BODY=8BITMIME", "250").await;
        say("RCPT TO:<b@example.com>", "250").await;
        say("DATA", "354").await;
        say("Subject: hi\r\n\r\n..leading dot\r\nend\r\n.", "250").await;
        say("VRFY b", "502").await;
        say("QUIT", "221").await;

        let received = tokio::time::timeout(Duration::from_secs(10), sink.wait_for(1)).await.unwrap();
        assert_eq!(
            received,
            [ReceivedMail {
                from: "a@example.com".into(),
                recipients: vec!["b@example.com".into()],
                data: "Subject: hi\r\n\r\n.leading dot\r\nend".into(),
            }]
        );
    }
}
