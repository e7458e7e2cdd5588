//! Results and errors for people (one line each) and scripts (`--json`), and the exit codes.

use std::process::ExitCode;
use vod_client::Error;

/// Prints a successful result.
pub fn success(json: bool, value: &serde_json::Value, human: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{human}");
    }
}

/// Prints an error in one line (plus a hint for common causes) and picks the exit code.
pub fn failure(json: bool, err: &anyhow::Error) -> ExitCode {
    let client = err.downcast_ref::<Error>();
    let code = if err.downcast_ref::<crate::plan::Usage>().is_some() {
        2
    } else if err.downcast_ref::<crate::Interrupted>().is_some() {
        130
    } else {
        match client {
            Some(
                Error::Api { .. }
                | Error::Cos { .. }
                | Error::Status { .. }
                | Error::Protocol { .. },
            ) => 3,
            Some(Error::Transport { .. }) => 4,
            Some(Error::Integrity { .. }) => 5,
            Some(Error::File { .. } | Error::Invalid(_)) | None => 1,
        }
    };
    let hint = client.and_then(hint);
    let message = vod_client::error::one_line(err.as_ref());
    if json {
        let mut error = serde_json::json!({
            "Message": message,
            "Code": client.and_then(Error::code),
            "RequestId": client.and_then(Error::request_id),
        });
        if let Some(hint) = hint {
            error["Hint"] = hint.into();
        }
        println!("{}", serde_json::json!({ "Error": error }));
    } else {
        eprintln!("vod-upload: {message}");
        if let Some(hint) = hint {
            eprintln!("  hint: {hint}");
        }
    }
    ExitCode::from(code)
}

fn hint(err: &Error) -> Option<&'static str> {
    match err.code()? {
        "AuthFailure.SecretIdNotFound" => {
            Some("the SecretId is unknown: check TENCENTCLOUD_SECRET_ID / --secret-id")
        }
        "AuthFailure.SignatureFailure" => {
            Some("the signature does not match: check TENCENTCLOUD_SECRET_KEY / --secret-key")
        }
        "AuthFailure.SignatureExpire" => Some(
            "the request timestamp is too far from the server's clock: check this machine's time",
        ),
        "InvalidParameterValue.VodSessionKey" => {
            Some("the upload session expired or was already committed: upload again")
        }
        "InvalidParameterValue.StorageRegion" => {
            Some("the storage region is not available to this account")
        }
        "ExpiredToken" => Some("the upload's temporary credentials expired: upload again"),
        _ => None,
    }
}
