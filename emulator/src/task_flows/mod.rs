//! Task flows: what ApplyUpload's `Procedure` names ("a task flow template name",
//! `ApplyUploadRequest.Procedure` in the SDK models), and the registry every request consults.
//!
//! A name resolves to its steps when it is one of
//! - the presets every account has, or a `QCVB_…(…)` argument form ([`builtin`]);
//! - a task flow a user registered, as the console or CreateProcedureTemplate would: from a
//!   file at start-up (`--task-flows FILE`, [`TaskFlowFile`]), over the admin API
//!   (`/_emulator/task-flows`), with [`crate::EmulatorBuilder::task_flow`], or in process with
//!   [`TaskFlows::register`].
//!
//! A [`TaskFlow`] is written as CreateProcedureTemplate takes it: `Name` and `MediaProcessTask`
//! (`TranscodeTaskSet`, `SampleSnapshotTaskSet`, `ImageSpriteTaskSet`,
//! `CoverBySnapshotTaskSet`, `AdaptiveDynamicStreamingTaskSet`). Registered task flows are kept
//! for the whole emulator (not per SubAppId) and a reset goes back to the start-up ones.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vod_emulator::task_flows::{MediaProcessTaskInput, TaskFlow, TranscodeTaskInput};
//! let flow = TaskFlow::new(
//!     "MyFlow",
//!     MediaProcessTaskInput {
//!         transcode_task_set: vec![TranscodeTaskInput {
//!             definition: 100030,
//!             watermark_set: vec![],
//!         }],
//!         ..Default::default()
//!     },
//! );
//! let emu = vod_emulator::Emulator::builder().task_flow(flow).start().await?;
//! // ApplyUpload(Procedure = "MyFlow") now runs one transcode.
//! # Ok(()) }
//! ```

pub mod builtin;
pub mod procedure;

pub use vod_protocol::wire::procedure::{
    AdaptiveDynamicStreamingTaskInput, CoverBySnapshotTaskInput, ImageSpriteTaskInput,
    MediaProcessTaskInput, PositionType, SampleSnapshotTaskInput, TranscodeTaskInput,
    WatermarkInput,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Longest task flow name (CreateProcedureTemplate: "up to 20 characters").
pub const MAX_NAME_CHARS: usize = 20;

/// A task flow a user registers: its name and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskFlow {
    /// What ApplyUpload's `Procedure` calls it (1 to 20 characters, case-sensitive).
    pub name: String,
    /// A note for people reading a listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Its steps.
    pub media_process_task: MediaProcessTaskInput,
}

impl TaskFlow {
    /// A task flow called `name` running `steps`.
    pub fn new(name: impl Into<String>, steps: MediaProcessTaskInput) -> Self {
        Self {
            name: name.into(),
            comment: None,
            media_process_task: steps,
        }
    }

    /// Checks what CreateProcedureTemplate would refuse, and names the emulator reserves.
    ///
    /// # Errors
    /// An empty, too long, preset or reserved name; no step; a template id that is not
    /// positive; a cover position outside the video.
    pub fn validate(&self) -> Result<(), TaskFlowError> {
        let name = &self.name;
        let invalid = |why: &'static str| TaskFlowError::InvalidName {
            name: name.clone(),
            why,
        };
        if name.trim().is_empty() || name.trim() != name {
            return Err(invalid("it is empty or starts or ends with a space"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("it is longer than 20 characters"));
        }
        if name.starts_with(builtin::FORM_PREFIX) {
            return Err(invalid("`QCVB_` names the built-in argument forms"));
        }
        if builtin::PRESETS.contains(&name.as_str()) {
            return Err(TaskFlowError::Preset(name.clone()));
        }
        let steps = &self.media_process_task;
        if steps.is_empty() {
            return Err(TaskFlowError::NoTask(name.clone()));
        }
        let watermarks = steps
            .transcode_task_set
            .iter()
            .flat_map(|t| &t.watermark_set)
            .chain(
                steps
                    .cover_by_snapshot_task_set
                    .iter()
                    .flat_map(|t| &t.watermark_set),
            )
            .chain(
                steps
                    .adaptive_dynamic_streaming_task_set
                    .iter()
                    .flat_map(|t| &t.watermark_set),
            )
            .map(|w| w.definition);
        let definitions = steps
            .transcode_task_set
            .iter()
            .map(|t| t.definition)
            .chain(steps.sample_snapshot_task_set.iter().map(|t| t.definition))
            .chain(steps.image_sprite_task_set.iter().map(|t| t.definition))
            .chain(
                steps
                    .cover_by_snapshot_task_set
                    .iter()
                    .map(|t| t.definition),
            )
            .chain(
                steps
                    .adaptive_dynamic_streaming_task_set
                    .iter()
                    .map(|t| t.definition),
            )
            .chain(watermarks);
        if let Some(definition) = definitions.into_iter().find(|d| *d <= 0) {
            return Err(TaskFlowError::Definition {
                name: name.clone(),
                definition,
            });
        }
        for cover in &steps.cover_by_snapshot_task_set {
            let limit = match cover.position_type {
                PositionType::Time => f64::MAX,
                PositionType::Percent => 100.0,
            };
            if !(0.0..=limit).contains(&cover.position_value) {
                return Err(TaskFlowError::Position {
                    name: name.clone(),
                    value: cover.position_value,
                });
            }
        }
        Ok(())
    }
}

/// Why a task flow was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskFlowError {
    /// The name cannot be registered.
    #[error("the task flow name `{name}` is invalid: {why}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// The name is a preset's, which cannot be replaced or removed.
    #[error("`{0}` is a preset task flow: it cannot be replaced or removed")]
    Preset(String),
    /// The task flow runs no step.
    #[error("the task flow `{0}` has no task: give at least one step in MediaProcessTask")]
    NoTask(String),
    /// A template id is not positive.
    #[error("the task flow `{name}` names the template {definition}: ids are positive")]
    Definition {
        /// The task flow.
        name: String,
        /// The id.
        definition: i64,
    },
    /// A cover position is negative, or a percentage over 100.
    #[error("the task flow `{name}` takes its cover at {value}: outside the video")]
    Position {
        /// The task flow.
        name: String,
        /// The position.
        value: f64,
    },
}

/// Why a Procedure names no task flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcedureError {
    /// Neither a preset, a registered task flow nor an argument form.
    #[error("the task flow `{0}` does not exist")]
    UnknownName(String),
    /// An argument form whose arguments do not follow the grammar.
    #[error("the arguments of `{0}` are invalid: {1}")]
    BadArguments(String, &'static str),
}

/// Whether a task flow comes with every account or was registered (`ProcedureTemplate.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// A preset.
    Preset,
    /// Registered by the user.
    Custom,
}

/// A task flow as the registry lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    /// The task flow.
    #[serde(flatten)]
    pub task_flow: TaskFlow,
    /// Preset or registered.
    #[serde(rename = "Type")]
    pub kind: Kind,
}

/// Task flows read from a file: TOML (`[[TaskFlows]]` tables) or JSON (`{"TaskFlows": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFlowFile {
    /// The task flows.
    #[serde(rename = "TaskFlows")]
    pub task_flows: Vec<TaskFlow>,
}

/// Why a task flow file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TaskFlowFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold task flows.
    #[error("{path} does not hold task flows: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
}

impl TaskFlowFile {
    /// Reads a file; `.json` files are JSON, anything else TOML.
    ///
    /// # Errors
    /// The file cannot be read or parsed. The task flows are validated when registered.
    pub fn from_file(path: &Path) -> Result<Self, TaskFlowFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TaskFlowFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|message| TaskFlowFileError::Parse {
            path: shown,
            message,
        })
    }
}

/// The task flows of an admin API body: one task flow, or `{"TaskFlows": [...]}`.
///
/// # Errors
/// The body is neither; the message says what the parser found.
pub fn from_json(value: serde_json::Value) -> Result<Vec<TaskFlow>, String> {
    if value.get("TaskFlows").is_some() {
        serde_json::from_value::<TaskFlowFile>(value)
            .map(|f| f.task_flows)
            .map_err(|e| format!("not a task flow list: {e}"))
    } else {
        serde_json::from_value::<TaskFlow>(value)
            .map(|f| vec![f])
            .map_err(|e| format!("not a task flow: {e}"))
    }
}

/// Cheap-to-clone handle to an emulator's task flows.
#[derive(Debug, Clone)]
pub struct TaskFlows {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    startup: BTreeMap<String, TaskFlow>,
    // A std mutex: lookups are short and never cross an `.await`.
    custom: Mutex<BTreeMap<String, TaskFlow>>,
}

/// Validates task flows and keys them by name (later ones replace earlier ones).
fn keyed(flows: Vec<TaskFlow>) -> Result<BTreeMap<String, TaskFlow>, TaskFlowError> {
    let mut map = BTreeMap::new();
    for flow in flows {
        flow.validate()?;
        map.insert(flow.name.clone(), flow);
    }
    Ok(map)
}

impl TaskFlows {
    /// The presets plus `startup`, the task flows a reset comes back to.
    ///
    /// # Errors
    /// One of them is invalid.
    pub fn new(startup: Vec<TaskFlow>) -> Result<Self, TaskFlowError> {
        let startup = keyed(startup)?;
        Ok(Self {
            inner: Arc::new(Shared {
                custom: Mutex::new(startup.clone()),
                startup,
            }),
        })
    }

    fn custom(&self) -> MutexGuard<'_, BTreeMap<String, TaskFlow>> {
        self.inner
            .custom
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers task flows, all or none; one with the name of a registered one replaces it
    /// (as ResetProcedureTemplate does). Returns their names.
    ///
    /// # Errors
    /// One of them is invalid; nothing is registered.
    pub fn register(&self, flows: Vec<TaskFlow>) -> Result<Vec<String>, TaskFlowError> {
        let names = flows.iter().map(|f| f.name.clone()).collect();
        let flows = keyed(flows)?;
        self.custom().extend(flows);
        Ok(names)
    }

    /// Removes a registered task flow; whether it was registered.
    ///
    /// # Errors
    /// `name` is a preset's.
    pub fn remove(&self, name: &str) -> Result<bool, TaskFlowError> {
        if builtin::PRESETS.contains(&name) {
            return Err(TaskFlowError::Preset(name.to_owned()));
        }
        Ok(self.custom().remove(name).is_some())
    }

    /// The presets, then the registered task flows by name.
    pub fn list(&self) -> Vec<Listed> {
        let presets = builtin::PRESETS.iter().filter_map(|name| {
            builtin::preset(name).map(|steps| Listed {
                task_flow: TaskFlow::new(*name, steps),
                kind: Kind::Preset,
            })
        });
        let custom: Vec<Listed> = self
            .custom()
            .values()
            .map(|f| Listed {
                task_flow: f.clone(),
                kind: Kind::Custom,
            })
            .collect();
        presets.chain(custom).collect()
    }

    /// The steps a `Procedure` value stands for.
    ///
    /// # Errors
    /// It names no task flow, or is an argument form with bad arguments.
    pub fn resolve(&self, procedure: &str) -> Result<MediaProcessTaskInput, ProcedureError> {
        let name = procedure.trim();
        builtin::resolve(name).unwrap_or_else(|| {
            self.custom()
                .get(name)
                .map(|f| f.media_process_task.clone())
                .ok_or_else(|| ProcedureError::UnknownName(name.to_owned()))
        })
    }

    /// Back to the start-up task flows.
    pub fn reset(&self) {
        *self.custom() = self.inner.startup.clone();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sprite(name: &str, definition: i64) -> TaskFlow {
        TaskFlow::new(
            name,
            MediaProcessTaskInput {
                image_sprite_task_set: vec![ImageSpriteTaskInput { definition }],
                ..Default::default()
            },
        )
    }

    #[test]
    fn names_resolve_to_presets_forms_and_registered_flows() {
        let flows = TaskFlows::new(vec![sprite("Start", 1)]).unwrap();
        assert!(flows.resolve("LongVideoPreset").is_ok());
        assert!(flows.resolve(" QCVB_SimpleProcessFile(1) ").is_ok());
        assert!(matches!(
            flows.resolve("QCVB_SimpleProcessFile(9)"),
            Err(ProcedureError::BadArguments(..))
        ));
        assert_eq!(
            flows.resolve("Start").unwrap().image_sprite_task_set[0].definition,
            1
        );
        assert_eq!(
            flows.resolve("Later"),
            Err(ProcedureError::UnknownName("Later".into()))
        );
        assert_eq!(flows.register(vec![sprite("Later", 2)]).unwrap(), ["Later"]);
        assert!(flows.resolve("Later").is_ok());
        flows.register(vec![sprite("Start", 3)]).unwrap();
        assert_eq!(
            flows.resolve("Start").unwrap().image_sprite_task_set[0].definition,
            3
        );
        flows.reset();
        assert!(flows.resolve("Later").is_err());
        assert_eq!(
            flows.resolve("Start").unwrap().image_sprite_task_set[0].definition,
            1
        );
        let kinds: Vec<(String, Kind)> = flows
            .list()
            .into_iter()
            .map(|l| (l.task_flow.name, l.kind))
            .collect();
        assert_eq!(kinds.len(), builtin::PRESETS.len() + 1);
        assert_eq!(kinds.last(), Some(&("Start".to_owned(), Kind::Custom)));
    }

    #[test]
    fn registration_is_all_or_none_and_presets_stay() {
        let flows = TaskFlows::new(Vec::new()).unwrap();
        let err = flows
            .register(vec![sprite("Fine", 1), sprite("Broken", 0)])
            .unwrap_err();
        assert!(matches!(
            err,
            TaskFlowError::Definition { definition: 0, .. }
        ));
        assert!(flows.resolve("Fine").is_err());
        assert_eq!(
            flows.register(vec![sprite("LongVideoPreset", 1)]),
            Err(TaskFlowError::Preset("LongVideoPreset".into()))
        );
        assert!(flows.remove("MultiDRMPreset").is_err());
        assert_eq!(flows.remove("Nothing"), Ok(false));
    }

    #[test]
    fn invalid_task_flows_are_refused() {
        let bad = |flow: TaskFlow| flow.validate().is_err();
        assert!(bad(sprite("", 1)));
        assert!(bad(sprite(" padded", 1)));
        assert!(bad(sprite("a-name-of-21-letters!", 1)));
        assert!(!bad(sprite("二十个字以内的任务流名", 1)));
        assert!(bad(sprite("QCVB_Mine", 1)));
        assert!(bad(TaskFlow::new(
            "Empty",
            MediaProcessTaskInput::default()
        )));
        let cover = |position_type, position_value| {
            TaskFlow::new(
                "Cover",
                MediaProcessTaskInput {
                    cover_by_snapshot_task_set: vec![CoverBySnapshotTaskInput {
                        definition: 10,
                        position_type,
                        position_value,
                        watermark_set: Vec::new(),
                    }],
                    ..Default::default()
                },
            )
        };
        assert!(!bad(cover(PositionType::Percent, 50.0)));
        assert!(bad(cover(PositionType::Percent, 101.0)));
        assert!(bad(cover(PositionType::Time, -1.0)));
        assert!(!bad(cover(PositionType::Time, 3600.0)));
    }

    #[test]
    fn files_read_as_toml_and_json_alike() {
        let toml_text = r#"
            [[TaskFlows]]
            Name = "Mine"
            Comment = "two steps"
            [TaskFlows.MediaProcessTask]
            TranscodeTaskSet = [{ Definition = 100030 }]
            CoverBySnapshotTaskSet = [
                { Definition = 10, PositionType = "Percent", PositionValue = 50.0 },
            ]
        "#;
        let json = r#"{"TaskFlows": [{"Name": "Mine", "Comment": "two steps",
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}],
            "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Percent",
            "PositionValue": 50}]}}]}"#;
        let a: TaskFlowFile = toml::from_str(toml_text).unwrap();
        let b: TaskFlowFile = serde_json::from_str(json).unwrap();
        assert_eq!(a, b);
        assert!(serde_json::from_str::<TaskFlowFile>(r#"{"TaskFlows": [{"Nmae": "x"}]}"#).is_err());
    }
}
