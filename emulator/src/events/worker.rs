//! The background task of the event system: finishes task flows whose time has come and
//! pushes due callbacks, with retries, applying the push faults (drop, duplicate, delay,
//! reorder, bad signature) that fire for each try. It wakes on every announcement, every move
//! of the emulator's clock, every finished push try, and when the next retry, hold or task
//! flow falls due on a running clock — and at no other time: an idle emulator sleeps. "Due"
//! is judged against the emulator's clock, so a test that advances it sees the effect at once.
//! Push tries run concurrently, one per endpoint and [`deliver::MAX_PUSHES_IN_FLIGHT`] in all
//! ([`deliver::pushes_to_start`]), so an endpoint that hangs delays only its own callbacks.
//! CommitUpload's early callback goes through the same push path ([`push_early`]).

use crate::events::deliver::{self, Fate};
use crate::events::{self, callback, content};
use crate::faults::{Channel, Effect, Plan};
use crate::state::AppState;
use crate::store::{EventRow, EventState, StoreError, TaskRow};
use crate::task_flows::procedure;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::task::{Id, JoinSet};

/// How long the worker waits before it looks again after a store failure.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// What a round of the worker leaves to do.
enum Round {
    /// A task flow finished: another round may find more.
    Again,
    /// Nothing more now; the emulator time at which something next falls due, if anything.
    Idle(Option<i64>),
}

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    let client = match client(&state) {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the push client; callbacks are disabled");
            return;
        }
    };
    let mut flights = Flights::default();
    let mut changes = state.events().changes(state.clock());
    loop {
        let nap = loop {
            match tick(&state, &client, &mut flights).await {
                Ok(Round::Again) => continue,
                Ok(Round::Idle(next_due_ms)) => {
                    break next_due_ms.and_then(|due| state.clock().real_time_until(due));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "event worker tick failed");
                    break Some(RETRY_AFTER_FAILURE);
                }
            }
        };
        tokio::select! {
            () = changes.next() => {}
            () = async {
                match nap {
                    Some(nap) => tokio::time::sleep(nap).await,
                    None => std::future::pending().await,
                }
            } => {}
            Some(done) = flights.tasks.join_next_with_id() => flights.landed(done),
        }
    }
}

/// The push tries under way: their tasks, and the event and endpoint of each.
#[derive(Default)]
struct Flights {
    tasks: JoinSet<()>,
    under_way: HashMap<Id, (i64, String)>,
}

impl Flights {
    /// The event ids and endpoints of the tries under way.
    fn in_flight(&self) -> Vec<(i64, String)> {
        self.under_way.values().cloned().collect()
    }

    fn launch(
        &mut self,
        id: i64,
        endpoint: String,
        push: impl Future<Output = ()> + Send + 'static,
    ) {
        let task = self.tasks.spawn(push);
        self.under_way.insert(task.id(), (id, endpoint));
    }

    /// A try ended (a store failure inside it was logged there; a panic is logged here).
    fn landed(&mut self, done: Result<(Id, ()), tokio::task::JoinError>) {
        let task = match done {
            Ok((task, ())) => task,
            Err(err) => {
                tracing::error!(error = %err, "a push try failed");
                err.id()
            }
        };
        self.under_way.remove(&task);
    }
}

/// One round: finishes due task flows and starts the due pushes [`deliver::pushes_to_start`]
/// picks. Started pushes wake the worker when they land.
async fn tick(
    state: &AppState,
    client: &reqwest::Client,
    flights: &mut Flights,
) -> Result<Round, StoreError> {
    let now_ms = state.clock().now_ms();
    let mut busy = false;
    let mut next_task_due_ms: Option<i64> = None;
    for task in state.store().open_tasks().await? {
        match task.due_ms {
            Some(due) if due <= now_ms => busy |= finish_task(state, &task).await?,
            Some(due) => next_task_due_ms = Some(next_task_due_ms.map_or(due, |n| n.min(due))),
            None => {}
        }
    }
    let due = state.store().due_pushes(now_ms).await?;
    let mut endpoints: HashMap<u64, String> = HashMap::new();
    let mut candidates = Vec::with_capacity(due.len());
    for event in &due {
        let endpoint = match endpoints.get(&event.sub_app_id) {
            Some(endpoint) => endpoint.clone(),
            None => {
                let config = events::config_for(state, event.sub_app_id).await?;
                let endpoint = deliver::endpoint_of(&config.notification_url);
                endpoints.insert(event.sub_app_id, endpoint.clone());
                endpoint
            }
        };
        candidates.push((event.id, endpoint));
    }
    let start = deliver::pushes_to_start(
        &candidates,
        &flights.in_flight(),
        deliver::MAX_PUSHES_IN_FLIGHT,
    );
    for (event, (_, endpoint)) in due.into_iter().zip(candidates) {
        if !start.contains(&event.id) {
            continue;
        }
        // A held event's fate was decided when it was held; it is now simply delivered.
        let plan = if event.state == EventState::Held {
            Plan::default()
        } else {
            state
                .faults()
                .decide_event(&event.event_type, Channel::Push, Some(event.sub_app_id))
        };
        let id = event.id;
        let (state, client) = (state.clone(), client.clone());
        flights.launch(id, endpoint, async move {
            if let Err(err) = deliver(&state, &client, event, &plan).await {
                tracing::warn!(id, error = %err, "push try failed in the store");
            }
        });
    }
    if busy {
        return Ok(Round::Again);
    }
    // Asked only when the round ends idle: a busy round runs again and asks then.
    let next_push_due_ms = state.store().next_push_due_ms(now_ms).await?;
    Ok(Round::Idle(
        next_push_due_ms.into_iter().chain(next_task_due_ms).min(),
    ))
}

/// Finishes a task flow now and emits its ProcedureStateChanged; `false` if it was already
/// finished.
///
/// # Errors
/// Store failure.
pub async fn finish_task(state: &AppState, task: &TaskRow) -> Result<bool, StoreError> {
    let config = events::config_for(state, task.sub_app_id).await?;
    let delivery = events::delivery_of(&config);
    let now_ms = state.clock().now_ms();
    let now = now_ms.div_euclid(1000);
    let run = task_run(state, task);
    let done = state
        .store()
        .finish_task(task.task_id.clone(), now_ms, move |task, info| {
            Some(crate::store::NewEvent {
                sub_app_id: task.sub_app_id,
                content: content::procedure_state_changed(task, &run, info, now, now),
                delivery,
                created_ms: now_ms,
                held_until_ms: None,
            })
        })
        .await?;
    match done {
        Some((_, ids)) => {
            events::announce_ids(state, "created", &ids.into_iter().collect::<Vec<_>>()).await;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// How a task flow runs as it finishes: the steps its name has now (a registered task flow
/// removed since the upload finishes with no results) and the failure a `fail_task` fault
/// decides for it.
pub fn task_run(state: &AppState, task: &TaskRow) -> procedure::Run {
    let plan = state.faults().fail_task(Some(task.sub_app_id));
    if !plan.fired.is_empty() {
        tracing::info!(task = %task.task_id, faults = %plan.labels().join(","), "task flow fails");
    }
    procedure::Run {
        steps: state.task_flows().resolve(&task.procedure).ok(),
        failure: plan.primary().and_then(procedure::Failure::of),
    }
}

/// CommitUpload's `early_callback`: one push try of the just-committed event `id` (stored
/// held, so the worker leaves it alone), made before the CommitUpload response is sent.
///
/// # Errors
/// Store failure.
pub async fn push_early(state: &AppState, id: i64) -> Result<(), StoreError> {
    let filter = crate::store::EventFilter {
        after_id: Some(id - 1),
        ..Default::default()
    };
    let Some(event) = state
        .store()
        .events(filter)
        .await?
        .into_iter()
        .find(|e| e.id == id)
    else {
        return Ok(());
    };
    match client(state) {
        Ok(client) => deliver(state, &client, event, &Plan::default()).await,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the push client for an early callback");
            Ok(())
        }
    }
}

/// The HTTP client that POSTs callbacks: every request carries the
/// [`callback::CALLBACK_MARKER`] (the admin API refuses it), and redirects are not followed
/// (a 3xx is a failed try), so a callback goes only where its checked URL says.
fn client(state: &AppState) -> reqwest::Result<reqwest::Client> {
    let mut marker = reqwest::header::HeaderMap::new();
    marker.insert(
        callback::CALLBACK_MARKER,
        reqwest::header::HeaderValue::from_static("1"),
    );
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(marker)
        .timeout(state.config().push_timeout)
        .build()
}

/// Delivers a due push event as the fault plan says: held back (`delay`, `reorder`), lost
/// (`drop`: state `dropped`, never sent), or pushed (see [`push`]).
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    mut event: EventRow,
    plan: &Plan,
) -> Result<(), StoreError> {
    if !plan.fired.is_empty() {
        tracing::info!(id = event.id, faults = %plan.labels().join(","), "push faults");
    }
    let now_ms = state.clock().now_ms();
    match deliver::fate(plan, now_ms) {
        Fate::Hold(until) => {
            state.store().hold_event(event.id, until).await?;
            event.state = EventState::Held;
            event.due_ms = until;
            state.events().announce("held", &event);
            Ok(())
        }
        Fate::Drop => {
            let dropped = Sent {
                outcome: Ok(()),
                answer: None,
            };
            record(state, event, dropped, EventState::Dropped, now_ms).await
        }
        Fate::Deliver | Fate::Duplicate(_) => push(state, client, event, plan).await,
    }
}

/// One push try of `event` to its application's callback URL, with the push faults that
/// fired for it: `duplicate` (sent again `copies` times), `bad_signature` (signed with a key
/// the application does not have).
async fn push(
    state: &AppState,
    client: &reqwest::Client,
    event: EventRow,
    plan: &Plan,
) -> Result<(), StoreError> {
    let config = events::config_for(state, event.sub_app_id).await?;
    let url = config.notification_url.clone();
    let now_ms = state.clock().now_ms();
    let primary = plan.primary();
    let sign_key = match primary {
        Some(Effect::BadSignature) => format!("{}-not-the-application-key", config.sign_key),
        _ => config.sign_key.clone(),
    };
    let sent = if url.is_empty() {
        Sent::not_sent("no NotificationUrl is configured".to_owned())
    } else {
        let body = if state.config().events.legacy_urls.contains(&url) {
            serde_json::to_vec(&content::legacy_body(&event.content))
        } else {
            serde_json::to_vec(&content::push_body(
                &event.content,
                &sign_key,
                now_ms.div_euclid(1000),
            ))
        };
        match (body, primary) {
            (Ok(body), Some(Effect::Duplicate { copies })) => {
                let first = send(client, &url, body.clone()).await;
                for _ in 0..*copies {
                    if let Err(err) = send(client, &url, body.clone()).await.outcome {
                        tracing::debug!(id = event.id, error = %err, "duplicate push failed");
                    }
                }
                first
            }
            (Ok(body), _) => send(client, &url, body).await,
            (Err(err), _) => Sent::not_sent(format!("cannot serialise the event: {err}")),
        }
    };
    let tries = event.attempts + 1;
    let (new_state, due_ms) =
        deliver::after_push(&sent.outcome, tries, state.config().push_attempts, now_ms);
    record(state, event, sent, new_state, due_ms).await
}

/// Records a push try's outcome and announces it.
async fn record(
    state: &AppState,
    mut event: EventRow,
    sent: Sent,
    new_state: EventState,
    due_ms: i64,
) -> Result<(), StoreError> {
    let tries = event.attempts + 1;
    let Sent { outcome, answer } = sent;
    let error = outcome.err();
    tracing::debug!(id = event.id, tries, state = new_state.as_str(), "push try");
    state
        .store()
        .record_push(event.id, new_state, due_ms, error.clone())
        .await?;
    event.state = new_state;
    event.due_ms = due_ms;
    event.attempts = tries;
    event.last_error = error;
    let what = match new_state {
        EventState::Delivered => "delivered",
        EventState::Failed => "failed",
        EventState::Dropped => "dropped",
        EventState::Pending | EventState::Inflight | EventState::Confirmed | EventState::Held => {
            "retry"
        }
    };
    match answer {
        Some(a) => state
            .events()
            .announce_push(what, &event, a.status, a.latency_ms),
        None => state.events().announce(what, &event),
    }
    Ok(())
}

/// What one push try came to.
struct Sent {
    /// Delivered (or dropped on purpose), or why not.
    outcome: Result<(), String>,
    /// The callback's answer, when a request was sent.
    answer: Option<Answer>,
}

/// How a callback answered one try, for the delivery history people read.
struct Answer {
    /// HTTP status; `None` when the connection failed or timed out.
    status: Option<u16>,
    /// Wall time the try took.
    latency_ms: u64,
}

impl Sent {
    fn not_sent(why: String) -> Self {
        Self {
            outcome: Err(why),
            answer: None,
        }
    }
}

async fn send(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Sent {
    let started = std::time::Instant::now();
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (outcome, status) = match response {
        Err(e) => (Err(format!("callback failed: {e}")), None),
        Ok(resp) if resp.status().is_success() => (Ok(()), Some(resp.status().as_u16())),
        Ok(resp) => {
            let status = resp.status().as_u16();
            (
                Err(format!("callback answered HTTP {status}")),
                Some(status),
            )
        }
    };
    Sent {
        outcome,
        answer: Some(Answer { status, latency_ms }),
    }
}
