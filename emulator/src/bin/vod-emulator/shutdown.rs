//! Stopping on SIGINT / SIGTERM: gracefully on the first signal, at once on the second.

use std::process::ExitCode;
use vod_emulator::Emulator;

/// SIGINT / SIGTERM, listened for from the moment it is created: the handlers are installed
/// before the ready line is printed, so a signal sent right after it is not lost to the
/// default action (which would kill the process without a clean shutdown).
pub(crate) struct Shutdown {
    #[cfg(unix)]
    pub(crate) signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    pub(crate) async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = self.signals.as_mut() {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Stops the emulator gracefully (in-flight requests get a short drain), or at once on a
/// second signal; answers `code`, or 130 when stopped at once.
pub(crate) async fn stop(emu: Emulator, shutdown: &mut Shutdown, code: ExitCode) -> ExitCode {
    eprintln!("vod-emulator: shutting down (Ctrl-C again to stop at once)");
    tokio::select! {
        () = emu.shutdown() => code,
        () = shutdown.wait() => {
            eprintln!("vod-emulator: stopped without waiting for in-flight requests");
            ExitCode::from(130)
        }
    }
}
