//! How the workspace's programs say what went wrong: in one line, each cause once. Pure text,
//! so the emulator's and the client's binaries share it without depending on each other.

/// An error and its causes in one line, each cause once. Errors here (and many elsewhere)
/// show their source in their own message as well as returning it from `source()`, so joining
/// the chain naively says the cause two or three times; a cause whose text is already there is
/// left out. Line breaks inside a message become spaces.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        let text = err.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = err.source();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}
