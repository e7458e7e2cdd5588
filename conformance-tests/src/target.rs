//! What the suite runs against: the in-process emulator (default), any endpoint speaking the
//! protocol (another emulator or mock, by URL), or the real cloud.
//!
//! An emulator has an admin side (its clock): in process, or over its `/_emulator/` API when a
//! URL target answers there. Properties that need it are skipped elsewhere and the report says
//! so.

use vod_client::wire::vod::ApplyUploadResponse;
use vod_client::{CosClient, CosEndpoint, Credentials, UploadOptions, Uploader, VodClient};
use vod_emulator::Emulator;

/// Which kind of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The emulator, started in-process by the suite.
    Emulator,
    /// An endpoint given by URL (VOD API there, COS path style there).
    Endpoint,
    /// The real Tencent Cloud.
    Cloud,
}

impl TargetKind {
    /// The name used for the divergence list and in reports.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Emulator => "emulator",
            TargetKind::Endpoint => "endpoint",
            TargetKind::Cloud => "cloud",
        }
    }
}

/// A target and the clients that reach it.
#[derive(Debug)]
pub struct Target {
    kind: TargetKind,
    vod_endpoint: String,
    cos_endpoint: CosEndpoint,
    credentials: Credentials,
    region: String,
    http: reqwest::Client,
    admin: Option<Admin>,
    created: std::sync::Mutex<Vec<Created>>,
}

impl Target {
    /// Starts an in-process emulator on port 0 and targets it.
    ///
    /// # Errors
    /// The emulator cannot start.
    pub async fn emulator() -> anyhow::Result<Self> {
        Self::with_emulator(Self::emulator_builder().start().await?)
    }

    /// The builder of the suite's in-process emulator, for callers that add to it (faults).
    pub fn emulator_builder() -> vod_emulator::EmulatorBuilder {
        // An empty PullEvents answers after the pull wait; the suite proves queues empty often,
        // so it uses a short one (the real service's 5 s is a property of time, not protocol).
        Emulator::builder().pull_wait(std::time::Duration::from_millis(20))
    }

    /// Targets an already started in-process emulator (a test may have configured it).
    ///
    /// # Errors
    /// Never, today; kept fallible like the other constructors.
    pub fn with_emulator(emu: Emulator) -> anyhow::Result<Self> {
        let c = emu.config();
        Ok(Self {
            kind: TargetKind::Emulator,
            vod_endpoint: emu.endpoint(),
            cos_endpoint: CosEndpoint::PathStyle(emu.endpoint()),
            credentials: Credentials::new(c.secret_id.clone(), c.secret_key.clone()),
            region: c.region.clone(),
            http: reqwest::Client::new(),
            admin: Some(Admin::InProcess(Box::new(emu))),
            created: Default::default(),
        })
    }

    /// Targets an endpoint by URL; when its `/_emulator/` API answers (with `admin_token`,
    /// if given), the properties that need an emulator's admin side run too.
    pub async fn endpoint(
        url: &str,
        credentials: Credentials,
        region: &str,
        admin_token: Option<String>,
    ) -> Self {
        let http = reqwest::Client::new();
        let admin = Admin::probe(url, admin_token, &http).await;
        Self {
            admin,
            ..Self::url(url, credentials, region, http)
        }
    }

    fn url(url: &str, credentials: Credentials, region: &str, http: reqwest::Client) -> Self {
        Self {
            kind: TargetKind::Endpoint,
            vod_endpoint: url.to_owned(),
            cos_endpoint: CosEndpoint::PathStyle(url.to_owned()),
            credentials,
            region: region.to_owned(),
            http,
            admin: None,
            created: Default::default(),
        }
    }

    /// Targets the real cloud.
    pub fn cloud(credentials: Credentials, region: &str) -> Self {
        Self {
            kind: TargetKind::Cloud,
            vod_endpoint: vod_client::vod::DEFAULT_ENDPOINT.to_owned(),
            cos_endpoint: CosEndpoint::Cloud,
            credentials,
            region: region.to_owned(),
            http: reqwest::Client::new(),
            admin: None,
            created: Default::default(),
        }
    }

    /// The VOD API endpoint.
    pub fn vod_endpoint(&self) -> &str {
        &self.vod_endpoint
    }

    /// Remembers a FileId the suite created in the primary application, for
    /// [`Target::delete_created`].
    pub fn created(&self, file_id: &str) {
        self.created_in(file_id, None);
    }

    /// Remembers a FileId the suite created in application `sub_app_id`.
    pub fn created_in(&self, file_id: &str, sub_app_id: Option<u64>) {
        if let Ok(mut ids) = self.created.lock() {
            ids.push(Created {
                file_id: file_id.to_owned(),
                sub_app_id,
            });
        }
    }

    /// The FileIds created so far in the primary application.
    pub fn created_ids(&self) -> Vec<String> {
        self.created
            .lock()
            .map(|ids| {
                ids.iter()
                    .filter(|c| c.sub_app_id.is_none())
                    .map(|c| c.file_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Deletes every media the suite created (DeleteMedia), returning the ones that could not
    /// be deleted. Nothing to do on the in-process emulator, which is thrown away.
    pub async fn delete_created(&self) -> Vec<(String, String)> {
        let ids = self
            .created
            .lock()
            .map(|mut ids| std::mem::take(&mut *ids))
            .unwrap_or_default();
        if self.kind == TargetKind::Emulator {
            return Vec::new();
        }
        let Ok(vod) = self.vod() else {
            return ids
                .into_iter()
                .map(|c| (c.file_id, "invalid endpoint".to_owned()))
                .collect();
        };
        let mut failed = Vec::new();
        for created in ids {
            let req = vod_client::wire::media::DeleteMediaRequest {
                file_id: Some(created.file_id.clone()),
                sub_app_id: created.sub_app_id,
                ..Default::default()
            };
            if let Err(e) = vod.delete_media(&req).await {
                failed.push((created.file_id, e.to_string()));
            }
        }
        failed
    }

    /// Which kind of target this is.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The emulator's admin side, when the target has one.
    pub fn admin(&self) -> Option<&Admin> {
        self.admin.as_ref()
    }

    /// Shared HTTP client (one connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The account's own credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A VOD API client.
    ///
    /// # Errors
    /// The endpoint URL is invalid.
    pub fn vod(&self) -> vod_client::Result<VodClient> {
        VodClient::new(
            self.http.clone(),
            &self.vod_endpoint,
            self.credentials.clone(),
            self.region.clone(),
        )
    }

    /// An uploader with these options.
    ///
    /// # Errors
    /// The endpoint URL is invalid.
    pub fn uploader(&self, options: UploadOptions) -> vod_client::Result<Uploader> {
        Ok(
            Uploader::new(self.vod()?, self.http.clone(), self.cos_endpoint.clone())
                .with_options(options),
        )
    }

    /// A COS client acting with the account's own credentials on `bucket` (reads, which
    /// temporary credentials may not do).
    pub fn owner_cos(&self, bucket: &str, region: &str) -> CosClient {
        CosClient::new(
            self.http.clone(),
            self.cos_endpoint.clone(),
            bucket,
            region,
            self.credentials.clone(),
        )
    }

    /// A COS client acting with an upload session's temporary credentials.
    ///
    /// # Errors
    /// The session has no TempCertificate.
    pub fn session_cos(&self, session: &ApplyUploadResponse) -> vod_client::Result<CosClient> {
        CosClient::for_session(self.http.clone(), self.cos_endpoint.clone(), session)
    }
}

/// A media the suite created, and the application it is in.
#[derive(Debug, Clone)]
struct Created {
    file_id: String,
    sub_app_id: Option<u64>,
}

/// The admin side of an emulator: the in-process handle, or its HTTP admin API.
#[derive(Debug)]
pub enum Admin {
    /// The emulator started by the suite.
    InProcess(Box<Emulator>),
    /// An emulator reached by URL whose `/_emulator/` API answered.
    Remote {
        /// `<url>/_emulator`.
        base: String,
        /// Bearer token for an emulator started with `--admin-token`.
        token: Option<String>,
        /// Shared client.
        http: reqwest::Client,
        /// Its session lifetime, as its health answer says.
        session_ttl_secs: i64,
    },
}

impl Admin {
    /// The admin side of the emulator at `url`, if its health endpoint answers.
    async fn probe(url: &str, token: Option<String>, http: &reqwest::Client) -> Option<Self> {
        let base = format!("{}/_emulator", url.trim_end_matches('/'));
        let mut request = http.get(format!("{base}/health"));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.ok()?.error_for_status().ok()?;
        let health: serde_json::Value = serde_json::from_slice(&answer.bytes().await.ok()?).ok()?;
        (health["status"] == "ok").then(|| Admin::Remote {
            base,
            token,
            http: http.clone(),
            session_ttl_secs: health["sessionTtlSecs"]
                .as_i64()
                .unwrap_or(DEFAULT_SESSION_TTL_SECS),
        })
    }

    /// Moves the emulator's clock by `ms` (negative: back).
    ///
    /// # Errors
    /// The admin API refused or could not be reached.
    pub async fn advance_ms(&self, ms: i64) -> Result<(), String> {
        match self {
            Admin::InProcess(emu) => {
                emu.clock().advance_ms(ms);
                Ok(())
            }
            Admin::Remote {
                base, token, http, ..
            } => {
                let mut request = http
                    .post(format!("{base}/clock"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::json!({ "advance_ms": ms }).to_string());
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                request
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map(drop)
                    .map_err(|e| format!("POST {base}/clock: {e}"))
            }
        }
    }

    /// How long the emulator's upload sessions (and their credentials) live.
    pub fn session_ttl_secs(&self) -> i64 {
        match self {
            Admin::InProcess(emu) => i64::try_from(emu.config().session_ttl.as_secs())
                .unwrap_or(DEFAULT_SESSION_TTL_SECS),
            Admin::Remote {
                session_ttl_secs, ..
            } => *session_ttl_secs,
        }
    }
}

/// The emulator's default session lifetime, for one whose health answer does not say.
const DEFAULT_SESSION_TTL_SECS: i64 = 3600;
