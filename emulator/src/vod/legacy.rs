//! API 3.0 calls in the legacy form (docs/protocol/vod-api.md §1.4): every parameter in an
//! `application/x-www-form-urlencoded` body (POST) or the query (GET), signed with `HmacSHA1`/`HmacSHA256`
//! ([`vod_protocol::sign::legacy`]).
//!
//! tencentcloud-sdk-nodejs 3.x, which vod-node-sdk's `VodUploadClient` uses, sends every call
//! this way. The form is verified, then turned into the JSON object a TC3 call would carry
//! (`FileIds.0=…` → `{"FileIds": […]}`), so both forms share one decoder per action.

use std::collections::BTreeMap;

use http::request::Parts;
use serde_json::Value;
use vod_protocol::sign::legacy::{self, Method};

use super::{auth, missing, Call};
use crate::error::{VodCode, VodError};
use crate::state::AppState;

/// Parameters every legacy call may carry besides the action's own.
const COMMON: [&str; 11] = [
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "SignatureMethod",
    "Signature",
    "Token",
    "Language",
    "RequestClient",
];

/// Deepest flattened key accepted (`A.0.B` has three levels). The API's deepest parameters
/// have a handful; the limit keeps the tree built from a key, and everything that walks or
/// drops it, from recursing as deep as a 10 MB key would make it.
const MAX_KEY_DEPTH: usize = 32;

/// Request fields of integer type in the actions the emulator serves (SubAppId everywhere,
/// ApplyUpload's ClassId); the form carries every value as a string.
const INTEGER_FIELDS: [&str; 2] = ["SubAppId", "ClassId"];

/// Whether a POST body is the form (by its content type).
pub fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// A form-encoded call: its raw parameters (what the signature covers) and the call they make.
#[derive(Debug)]
pub struct Form {
    pairs: Vec<(String, String)>,
    /// The action, version and the JSON object a TC3 call would send.
    pub call: Call,
}

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a form-encoded call (nothing verified yet). A parameter given twice is
/// `InvalidParameter`, common ones included: the signature may cover both values, but which
/// one the call means is ambiguous (the action's own parameters are checked again as JSON).
pub fn parse(body: &[u8]) -> Result<Form, VodError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(VodError::new(
            VodCode::InvalidParameter,
            format!("the parameter `{}` is given more than once", twice[0]),
        ));
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_owned())
    };
    let action = get("Action").ok_or_else(|| missing("Action"))?;
    let version = get("Version").ok_or_else(|| missing("Version"))?;
    let own = pairs
        .iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let params = to_json(own)?.to_string().into_bytes();
    Ok(Form {
        pairs,
        call: Call {
            action,
            version,
            params,
        },
    })
}

/// The JSON parameters of a TC3 GET call, flattened into its query as in the form
/// (`FileIds.0=…`).
pub fn query_params(query: &str) -> Result<Vec<u8>, VodError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let json = to_json(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(json.to_string().into_bytes())
}

/// Checks the form's signature, timestamp and SecretId.
pub fn verify(state: &AppState, parts: &Parts, form: &Form) -> Result<(), VodError> {
    let method = match form.get("SignatureMethod") {
        None => Method::HmacSha1,
        Some(name) => Method::parse(name).ok_or_else(|| {
            VodError::new(
                VodCode::InvalidAuthorization,
                format!("unsupported SignatureMethod `{name}`; use HmacSHA1 or HmacSHA256"),
            )
        })?,
    };
    let given = form.get("Signature").ok_or_else(|| missing("Signature"))?;
    let timestamp = form
        .get("Timestamp")
        .ok_or_else(|| missing("Timestamp"))?
        .parse::<i64>()
        .map_err(|_| {
            VodError::new(
                VodCode::InvalidParameter,
                "`Timestamp` must be Unix seconds",
            )
        })?;
    auth::check_timestamp(state, "Timestamp", timestamp)?;
    auth::check_secret_id(state, form.get("SecretId").unwrap_or_default())?;
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let pairs = || form.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    // Like COS, accept the host with or without its port: SDKs sign the endpoint's name.
    let matches = [host, crate::router::strip_port(host)].iter().any(|host| {
        let s = legacy::string_to_sign(parts.method.as_str(), host, parts.uri.path(), pairs());
        legacy::signature(method, &state.config().secret_key, &s) == given
    });
    if !matches {
        return Err(VodError::new(
            VodCode::SignatureFailure,
            "the signature does not match; check the SecretKey and that the signed Host and parameters are sent unchanged",
        ));
    }
    Ok(())
}

/// A parameter tree being rebuilt from flattened keys.
enum Node {
    Leaf(Value),
    Branch(BTreeMap<String, Node>),
}

/// `A.0.B=x` pairs → `{"A": [{"B": "x"}]}`; integer fields become numbers.
fn to_json<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Value, VodError> {
    let conflict = |key: &str| {
        VodError::new(
            VodCode::InvalidParameter,
            format!("the parameter `{key}` is given more than once or conflicts with another"),
        )
    };
    let mut root = BTreeMap::new();
    for (key, value) in pairs {
        if key.split('.').nth(MAX_KEY_DEPTH).is_some() {
            let name = key.split('.').next().unwrap_or_default();
            return Err(VodError::new(
                VodCode::InvalidParameter,
                format!("the parameter `{name}…` is nested deeper than {MAX_KEY_DEPTH} levels"),
            ));
        }
        let segments: Vec<&str> = key.split('.').collect();
        let field = segments
            .iter()
            .rev()
            .find(|s| s.parse::<usize>().is_err())
            .copied()
            .unwrap_or_default();
        let leaf = match value.parse::<i64>() {
            Ok(n) if INTEGER_FIELDS.contains(&field) => Value::from(n),
            _ => Value::from(value),
        };
        let (last, parents) = segments.split_last().ok_or_else(|| conflict(key))?;
        let mut map = &mut root;
        for segment in parents {
            let node = map
                .entry((*segment).to_owned())
                .or_insert_with(|| Node::Branch(BTreeMap::new()));
            map = match node {
                Node::Branch(children) => children,
                Node::Leaf(_) => return Err(conflict(key)),
            };
        }
        if map.insert((*last).to_owned(), Node::Leaf(leaf)).is_some() {
            return Err(conflict(key));
        }
    }
    branch_to_json(root)
}

/// A branch whose keys are all indices becomes an array (indices 0..n, none missing).
fn branch_to_json(children: BTreeMap<String, Node>) -> Result<Value, VodError> {
    let is_array = !children.is_empty() && children.keys().all(|k| k.parse::<usize>().is_ok());
    if is_array {
        let mut items = BTreeMap::new();
        for (key, node) in children {
            let index = key.parse::<usize>().map_err(|_| gap())?;
            if items.insert(index, node).is_some() {
                return Err(gap());
            }
        }
        if items.keys().enumerate().any(|(pos, index)| pos != *index) {
            return Err(gap());
        }
        return items
            .into_values()
            .map(node_to_json)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    children
        .into_iter()
        .map(|(key, node)| node_to_json(node).map(|value| (key, value)))
        .collect::<Result<serde_json::Map<_, _>, _>>()
        .map(Value::Object)
}

fn node_to_json(node: Node) -> Result<Value, VodError> {
    match node {
        Node::Leaf(value) => Ok(value),
        Node::Branch(children) => branch_to_json(children),
    }
}

fn gap() -> VodError {
    VodError::new(
        VodCode::InvalidParameter,
        "array parameters must be numbered from 0 without gaps",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flattened_keys_become_nested_json_with_integer_fields_as_numbers() {
        let json = to_json(
            [
                ("MediaType", "mp4"),
                ("SubAppId", "1500000001"),
                ("SourceContext", "42"),
                ("FileIds.0", "111"),
                ("FileIds.1", "222"),
                ("Filters.0", "basicInfo"),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "MediaType": "mp4",
                "SubAppId": 1500000001,
                "SourceContext": "42",
                "FileIds": ["111", "222"],
                "Filters": ["basicInfo"],
            })
        );
    }

    /// A repeated parameter, common or the action's own, is refused before anything else.
    #[test]
    fn repeated_parameters_are_refused() {
        for body in [
            "Action=A&Version=2018-07-17&Action=B",
            "Action=A&Version=2018-07-17&SecretId=x&SecretId=y",
            "Action=A&Version=2018-07-17&FileIds.0=1&FileIds.0=2",
        ] {
            assert_eq!(
                parse(body.as_bytes()).map(drop).map_err(|e| e.code),
                Err(VodCode::InvalidParameter),
                "{body}"
            );
        }
        assert!(parse(b"Action=A&Version=2018-07-17&FileIds.0=1").is_ok());
    }

    /// Keys may nest 32 levels deep, not more (a deeper one would build a tree whose walk and
    /// drop recurse that deep).
    #[test]
    fn keys_nest_at_most_thirty_two_levels() {
        let key = |depth: usize| format!("A{}", ".0".repeat(depth - 1));
        assert!(to_json([(key(32).as_str(), "1")].into_iter()).is_ok());
        assert_eq!(
            to_json([(key(33).as_str(), "1")].into_iter()).map_err(|e| e.code),
            Err(VodCode::InvalidParameter)
        );
        assert!(to_json([(key(100_000).as_str(), "1")].into_iter()).is_err());
    }

    #[test]
    fn conflicts_and_gaps_are_refused() {
        assert!(to_json([("A", "1"), ("A.0", "2")].into_iter()).is_err());
        assert!(to_json([("A.0", "1"), ("A", "2")].into_iter()).is_err());
        assert!(to_json([("A.0", "1"), ("A.2", "2")].into_iter()).is_err());
        assert!(to_json([("A", "1"), ("A", "2")].into_iter()).is_err());
    }
}
