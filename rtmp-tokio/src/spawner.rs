//! [`Spawner`]: where connection tasks run — on the runtime that runs the server, or
//! on dedicated single-threaded workers ([`ServerConfig::workers`]).
//!
//! Workers are the nginx model: each is a thread with its own current-thread Tokio
//! runtime (its own reactor and timers), and accepted sockets are dealt to them in
//! turn. A connection then never moves between threads, and a publisher's wakeups of
//! players on its own worker cost no cross-thread scheduling.
//!
//! [`ServerConfig::workers`]: crate::ServerConfig::workers

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// How long connections get to close after shutdown before they are aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A connection's task, handed to a worker.
type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs connection tasks and, at shutdown, waits for them.
pub(crate) enum Spawner {
    /// Tasks on the runtime running the server.
    Here(JoinSet<()>),
    /// Tasks on dedicated workers, dealt in turn.
    Workers {
        /// Each worker's inbox (its queue is bounded by the connection limit: every
        /// job holds a connection permit).
        inboxes: Vec<mpsc::UnboundedSender<Job>>,
        /// Completes when the worker has finished its tasks.
        done: Vec<oneshot::Receiver<()>>,
        next: usize,
    },
}

impl Spawner {
    /// Tasks here with `workers` 0, else on that many new worker threads.
    pub(crate) fn new(workers: usize) -> io::Result<Spawner> {
        if workers == 0 {
            return Ok(Spawner::Here(JoinSet::new()));
        }
        let (mut inboxes, mut done) = (Vec::new(), Vec::new());
        for index in 0..workers {
            let (inbox, finished) = start_worker(index)?;
            inboxes.push(inbox);
            done.push(finished);
        }
        Ok(Spawner::Workers {
            inboxes,
            done,
            next: 0,
        })
    }

    /// Serves `stream` with the task `serve` makes of it, on the next worker. A socket
    /// moves to a worker as a std socket and joins the worker's reactor there.
    pub(crate) fn spawn<F, Fut>(&mut self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self {
            Spawner::Here(tasks) => {
                tasks.spawn(serve(stream));
            }
            Spawner::Workers { inboxes, next, .. } => {
                let moved = match stream.into_std() {
                    Ok(moved) => moved,
                    Err(e) => return tracing::warn!(error = %e, "socket not handed to a worker"),
                };
                let job = Box::pin(async move {
                    match TcpStream::from_std(moved) {
                        Ok(stream) => serve(stream).await,
                        Err(e) => tracing::warn!(error = %e, "worker could not take a socket"),
                    }
                });
                // A worker ends only when its inbox closes, so the send cannot fail
                // while the spawner lives; a lost job would only drop its socket.
                let _ = inboxes[*next].send(job);
                *next = (*next + 1) % inboxes.len();
            }
        }
    }

    /// Reaps finished tasks; never completes when workers run them (they reap their own).
    pub(crate) async fn reap(&mut self) {
        match self {
            Spawner::Here(tasks) if !tasks.is_empty() => {
                tasks.join_next().await;
            }
            _ => std::future::pending().await,
        }
    }

    /// Waits (a few seconds at most) for every task to finish, then aborts the rest.
    /// Call after the connections were told to stop.
    pub(crate) async fn finish(self) {
        match self {
            Spawner::Here(mut tasks) => drain(&mut tasks).await,
            Spawner::Workers { inboxes, done, .. } => {
                drop(inboxes);
                for finished in done {
                    let _ = finished.await;
                }
            }
        }
    }
}

/// Starts worker `index`: a thread running a current-thread runtime that spawns the
/// jobs from its inbox until the inbox closes, then drains them.
fn start_worker(index: usize) -> io::Result<(mpsc::UnboundedSender<Job>, oneshot::Receiver<()>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (inbox, mut jobs) = mpsc::unbounded_channel::<Job>();
    let (finished, done) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("rtmp-worker-{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = JoinSet::new();
                loop {
                    tokio::select! {
                        job = jobs.recv() => match job {
                            Some(job) => drop(tasks.spawn(job)),
                            None => break,
                        },
                        Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                    }
                }
                drain(&mut tasks).await;
            });
            let _ = finished.send(());
        })?;
    Ok((inbox, done))
}

/// Waits up to [`SHUTDOWN_GRACE`] for `tasks`, then aborts what is left.
async fn drain(tasks: &mut JoinSet<()>) {
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = tasks.len(),
            "sessions still open after shutdown grace: aborted"
        );
        tasks.shutdown().await;
    }
}
