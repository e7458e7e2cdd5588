//! What the suite runs against: the in-process emulator (default), any endpoint speaking the
//! protocol (another emulator or mock, by URL), or the real cloud.
//!
//! Only the in-process emulator has an admin side (its clock, its fault rules); properties that
//! need it are skipped elsewhere and the report says so.

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
    emulator: Option<Emulator>,
    created: std::sync::Mutex<Vec<String>>,
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
            emulator: Some(emu),
            created: Default::default(),
        })
    }

    /// Targets an endpoint by URL.
    pub fn endpoint(url: &str, credentials: Credentials, region: &str) -> Self {
        Self {
            kind: TargetKind::Endpoint,
            vod_endpoint: url.to_owned(),
            cos_endpoint: CosEndpoint::PathStyle(url.to_owned()),
            credentials,
            region: region.to_owned(),
            http: reqwest::Client::new(),
            emulator: None,
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
            emulator: None,
            created: Default::default(),
        }
    }

    /// The VOD API endpoint.
    pub fn vod_endpoint(&self) -> &str {
        &self.vod_endpoint
    }

    /// Remembers a FileId the suite created, for [`Target::delete_created`].
    pub fn created(&self, file_id: &str) {
        if let Ok(mut ids) = self.created.lock() {
            ids.push(file_id.to_owned());
        }
    }

    /// The FileIds created so far.
    pub fn created_ids(&self) -> Vec<String> {
        self.created
            .lock()
            .map(|ids| ids.clone())
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
                .map(|id| (id, "invalid endpoint".to_owned()))
                .collect();
        };
        let mut failed = Vec::new();
        for id in ids {
            let req = vod_client::wire::media::DeleteMediaRequest {
                file_id: Some(id.clone()),
                ..Default::default()
            };
            if let Err(e) = vod.delete_media(&req).await {
                failed.push((id, e.to_string()));
            }
        }
        failed
    }

    /// Which kind of target this is.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The in-process emulator, when that is the target.
    pub fn admin(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
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
