//! Test support shared by every crate of the workspace: one generator of deterministic bytes,
//! one reader of a spawned emulator's ready line, and the benches' reader of CPU time
//! ([`cpu`]). It depends on nothing, so the
//! protocol, the emulator, the client and the conformance suite can all dev-depend on it
//! without forming a cycle.

pub mod cpu;

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::Duration;

/// `len` deterministic pseudo-random bytes for `seed` (xorshift64 over a mixed seed): the
/// same bytes for the same arguments on every machine, different from seed to seed and from
/// position to position, so a misplaced or swapped piece shows.
pub fn bytes<L: TryInto<usize>>(len: L, seed: u64) -> Vec<u8> {
    let len: usize = len
        .try_into()
        .unwrap_or_else(|_| panic!("a length that fits in memory"));
    let mut x = (seed ^ 0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What `vod-emulator` prints first on stdout once it listens.
pub const READY_PREFIX: &str = "vod-emulator ready on ";

/// The endpoint of a `vod-emulator ready on URL` line, if it is one.
pub fn ready_endpoint(line: &str) -> Option<&str> {
    line.trim().strip_prefix(READY_PREFIX)
}

/// Reads the first line of a spawned emulator's stdout and returns its endpoint; fails with
/// what was read when the line is not the ready line or does not come within `patience`.
///
/// # Errors
/// No ready line in time, or another line first.
pub fn wait_ready(
    stdout: impl Read + Send + 'static,
    patience: Duration,
) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        // The receiver may have given up; nothing to do then.
        let _ = tx.send(read);
    });
    let line = rx
        .recv_timeout(patience)
        .map_err(|_| format!("no ready line within {patience:?}"))?
        .map_err(|e| format!("reading the ready line: {e}"))?;
    ready_endpoint(&line)
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected first line {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_deterministic_and_vary_by_seed_and_position() {
        assert_eq!(bytes(64, 7), bytes(64, 7));
        assert_ne!(bytes(64, 7), bytes(64, 8));
        assert_eq!(bytes(10, 3), bytes(20, 3)[..10]);
        let b = bytes(4096, 1);
        let distinct = b.iter().collect::<std::collections::HashSet<_>>().len();
        assert!(distinct > 200, "{distinct} distinct byte values");
        assert!(bytes(0, 1).is_empty());
    }

    #[test]
    fn the_ready_line_gives_the_endpoint() {
        let endpoint = wait_ready(
            &b"vod-emulator ready on http://127.0.0.1:9\n"[..],
            Duration::from_secs(5),
        );
        assert_eq!(endpoint.as_deref(), Ok("http://127.0.0.1:9"));
        let other = wait_ready(&b"error: port in use\n"[..], Duration::from_secs(5));
        assert!(other.is_err_and(|e| e.contains("port in use")));
    }
}
