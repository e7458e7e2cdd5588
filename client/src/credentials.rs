//! API credentials: from arguments, the standard environment variables, or a profile file.
//!
//! The environment variables and the profile file are the ones the official Tencent Cloud SDKs
//! read (`TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY` / `TENCENTCLOUD_SESSION_TOKEN`;
//! `~/.tencentcloud/credentials`, an INI file with `secret_id`, `secret_key` and optional `token`
//! per `[profile]`), so one setup serves both.

use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// A SecretId / SecretKey pair, with a session token for temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// SecretId.
    pub secret_id: String,
    /// SecretKey.
    pub secret_key: String,
    /// Session token of temporary credentials.
    pub token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"***")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
        }
    }

    /// From `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and optionally
    /// `TENCENTCLOUD_SESSION_TOKEN`; `None` unless both keys are set.
    pub fn from_env() -> Option<Self> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Some(Self {
            secret_id: var("TENCENTCLOUD_SECRET_ID")?,
            secret_key: var("TENCENTCLOUD_SECRET_KEY")?,
            token: var("TENCENTCLOUD_SESSION_TOKEN"),
        })
    }

    /// The default profile file: `$TENCENTCLOUD_CREDENTIALS_FILE`, else
    /// `~/.tencentcloud/credentials`.
    pub fn default_profile_file() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("TENCENTCLOUD_CREDENTIALS_FILE") {
            return Some(PathBuf::from(p));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".tencentcloud/credentials"))
    }

    /// Reads `profile` from an INI credentials file.
    ///
    /// # Errors
    /// The file cannot be read, or has no such profile with both keys.
    pub fn from_profile_file(path: &Path, profile: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
        parse_profile(&text, profile).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no profile [{profile}] with secret_id and secret_key",
                path.display()
            ))
        })
    }
}

fn parse_profile(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_section = false;
    let (mut id, mut key, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == profile;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim() {
                "secret_id" => id = Some(v),
                "secret_key" => key = Some(v),
                "token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials {
        secret_id: id?,
        secret_key: key?,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_by_section() {
        let text = "[default]\nsecret_id = A\nsecret_key = B\n\n[ci]\n# comment\nsecret_id=C\nsecret_key=D\ntoken=T\n";
        assert_eq!(
            parse_profile(text, "default"),
            Some(Credentials::new("A", "B"))
        );
        let ci = parse_profile(text, "ci");
        assert_eq!(ci.as_ref().map(|c| c.token.as_deref()), Some(Some("T")));
        assert_eq!(parse_profile(text, "missing"), None);
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?}", Credentials::new("id", "very-secret"));
        assert!(!shown.contains("very-secret"));
    }
}
