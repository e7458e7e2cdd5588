//! Per-application event configuration (ModifyEventConfig), stored as one JSON document per
//! application; an application never configured has no row and gets the defaults.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One application's event configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventConfigRow {
    /// `PULL` or `PUSH`.
    pub mode: String,
    /// v3 callback URL; empty when none.
    pub notification_url: String,
    /// NewFileUpload on.
    pub upload_events: bool,
    /// FileDeleted on.
    pub delete_events: bool,
    /// PersistenceComplete on (stored, never produced).
    pub persistence_events: bool,
    /// Key for `Sign`; empty when none.
    pub sign_key: String,
}

impl Store {
    /// The stored event configuration of an application, if it was ever modified.
    ///
    /// # Errors
    /// Store failure.
    pub async fn event_config(&self, sub_app_id: u64) -> Result<Option<EventConfigRow>> {
        self.tx(move |tx| {
            let raw: Option<String> = tx
                .query_row(
                    "SELECT config FROM event_config WHERE sub_app_id = ?1",
                    params![sub_app_id as i64],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
        })
        .await
    }

    /// Stores an application's event configuration.
    ///
    /// # Errors
    /// Store failure.
    pub async fn put_event_config(&self, sub_app_id: u64, config: EventConfigRow) -> Result<()> {
        let raw = serde_json::to_string(&config)?;
        self.tx(move |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO event_config (sub_app_id, config) VALUES (?1, ?2)",
                params![sub_app_id as i64, raw],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::testing::store;
    use super::*;

    fn config(mode: &str) -> EventConfigRow {
        EventConfigRow {
            mode: mode.into(),
            notification_url: "http://127.0.0.1:9/cb".into(),
            upload_events: true,
            delete_events: false,
            persistence_events: true,
            sign_key: "key".into(),
        }
    }

    /// A configuration reads back as stored, per application, and a new one replaces it.
    #[tokio::test]
    async fn a_configuration_round_trips_per_application() {
        let store = store();
        assert_eq!(store.event_config(3).await.unwrap(), None);
        store.put_event_config(3, config("PUSH")).await.unwrap();
        assert_eq!(store.event_config(3).await.unwrap(), Some(config("PUSH")));
        assert_eq!(store.event_config(0).await.unwrap(), None);
        store.put_event_config(3, config("PULL")).await.unwrap();
        assert_eq!(store.event_config(3).await.unwrap(), Some(config("PULL")));
    }
}
