//! cnm.v1.ContainerService: the bundled runtime's containers. Lifecycle
//! calls run on the blocking pool; the streams of attach, logs and exec
//! are in `container_io.rs`.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use ::pb::v1 as pb;
use cnm_runtime::attach::Frame;
use cnm_runtime::logs::Stream;
use cnm_runtime::{ExecSpec, RuntimeError};
use pb::container_service_server::ContainerService;
use pb::output_chunk::Kind as ChunkKind;
use tonic::{Code, Request, Response, Status, Streaming};

use super::container_io::{
    dimension, pump, send, spawn_session, spawn_stream, Chunks, ExecSink, ShimSink,
};
use super::convert;
use super::limits::MAX_STOP_TIMEOUT_SECS;
use crate::containers::{ContainerError, ContainerRecord, Containers, NetworkMode, RunRequest};
use crate::core::SandboxView;
use crate::model::unix_nanos_of;

/// `cnm stop` without `-t`.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ContainerApi {
    containers: Arc<Containers>,
}

impl ContainerApi {
    pub fn new(containers: Arc<Containers>) -> Self {
        ContainerApi { containers }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Arc<Containers>) -> Result<T, ContainerError> + Send + 'static,
    ) -> Result<T, Status> {
        let containers = self.containers.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| work(containers)))
            .await
            .map_err(ContainerError::from)
            .and_then(|r| r)
            .map_err(Status::from)
    }
}

impl From<ContainerError> for Status {
    fn from(err: ContainerError) -> Status {
        if let ContainerError::Core(core) = err {
            return Status::from(core);
        }
        let code = match &err {
            ContainerError::NotFound(_) => Code::NotFound,
            ContainerError::AlreadyExists(_) => Code::AlreadyExists,
            ContainerError::InvalidArgument(_) => Code::InvalidArgument,
            ContainerError::FailedPrecondition(_) => Code::FailedPrecondition,
            ContainerError::Runtime(RuntimeError::Spec(_)) => Code::InvalidArgument,
            ContainerError::Runtime(
                RuntimeError::NotRunning { .. } | RuntimeError::StillRunning { .. },
            ) => Code::FailedPrecondition,
            _ => Code::Internal,
        };
        let message = err.full_message();
        if code == Code::Internal {
            tracing::error!(error = %message, "container request failed");
        }
        Status::new(code, message)
    }
}

#[tonic::async_trait]
impl ContainerService for ContainerApi {
    type AttachContainerStream = Chunks;
    type ContainerLogsStream = Chunks;
    type ExecContainerStream = Chunks;

    async fn run_container(
        &self,
        request: Request<pb::RunContainerRequest>,
    ) -> Result<Response<pb::RunContainerResponse>, Status> {
        let req = run_request(request.into_inner());
        let record = self.blocking(move |c| c.run(req)).await?;
        Ok(Response::new(pb::RunContainerResponse {
            id: record.id,
            name: record.name,
        }))
    }

    async fn attach_container(
        &self,
        request: Request<Streaming<pb::AttachInput>>,
    ) -> Result<Response<Chunks>, Status> {
        use pb::attach_input::Kind;
        let mut input = request.into_inner();
        let start = match input.message().await?.and_then(|m| m.kind) {
            Some(Kind::Start(start)) => start,
            _ => return Err(first_request_error("attach", "AttachStart")),
        };
        let key = start.container;
        let mut stream = self
            .blocking(move |c| Ok(c.runtime_container(&key)?.1.attach(true)?))
            .await?;
        // No writer when the shim is gone: the stream replays the log only.
        let sink = ShimSink {
            writer: stream.writer().ok(),
            stdin: start.stdin,
        };
        let to_input = |m: pb::AttachInput| match m.kind {
            Some(Kind::Input(input)) => Some(input),
            _ => None,
        };
        Ok(Response::new(spawn_session(
            input,
            to_input,
            sink,
            move |tx| loop {
                let chunk = match stream.read_frame() {
                    Ok(Some(Frame::Stdout(b))) => ChunkKind::Stdout(b),
                    Ok(Some(Frame::Stderr(b))) => ChunkKind::Stderr(b),
                    Ok(Some(Frame::Exit { code, oom_killed })) => {
                        ChunkKind::Exit(pb::ExitInfo { code, oom_killed })
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => return,
                    Err(err) => {
                        let _ = tx.blocking_send(Err(Status::from(ContainerError::from(err))));
                        return;
                    }
                };
                if !send(&tx, chunk) {
                    return;
                }
            },
        )))
    }

    async fn list_containers(
        &self,
        request: Request<pb::ListContainersRequest>,
    ) -> Result<Response<pb::ListContainersResponse>, Status> {
        let all = request.into_inner().all;
        let listed = self.blocking(move |c| Ok(c.list(all))).await?;
        let containers = listed
            .iter()
            .map(|(r, v)| container(r, v.as_ref()))
            .collect();
        Ok(Response::new(pb::ListContainersResponse { containers }))
    }

    async fn inspect_container(
        &self,
        request: Request<pb::ContainerRef>,
    ) -> Result<Response<pb::Container>, Status> {
        let key = request.into_inner().container;
        let (record, view) = self.blocking(move |c| c.inspect(&key)).await?;
        Ok(Response::new(container(&record, view.as_ref())))
    }

    async fn stop_container(
        &self,
        request: Request<pb::StopContainerRequest>,
    ) -> Result<Response<pb::Container>, Status> {
        let req = request.into_inner();
        if req.timeout > MAX_STOP_TIMEOUT_SECS {
            return Err(Status::invalid_argument(format!(
                "stop timeout {}s is too long: at most {MAX_STOP_TIMEOUT_SECS}s",
                req.timeout
            )));
        }
        let timeout = u64::try_from(req.timeout)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let record = self
            .blocking(move |c| c.stop(&req.container, timeout))
            .await?;
        Ok(Response::new(container(&record, None)))
    }

    async fn start_container(
        &self,
        request: Request<pb::ContainerRef>,
    ) -> Result<Response<pb::Container>, Status> {
        let key = request.into_inner().container;
        let (record, view) = self
            .blocking(move |c| {
                let record = c.start(&key)?;
                c.inspect(&record.id)
            })
            .await?;
        Ok(Response::new(container(&record, view.as_ref())))
    }

    async fn remove_container(
        &self,
        request: Request<pb::RemoveContainerRequest>,
    ) -> Result<Response<pb::RemoveContainerResponse>, Status> {
        let req = request.into_inner();
        if req.when_exited {
            let key = req.container.clone();
            self.blocking(move |c| c.remove_when_exited(&key)).await?;
            return Ok(Response::new(pb::RemoveContainerResponse {
                id: req.container,
            }));
        }
        let id = self
            .blocking(move |c| c.remove(&req.container, req.force))
            .await?;
        Ok(Response::new(pb::RemoveContainerResponse { id }))
    }

    async fn container_logs(
        &self,
        request: Request<pb::ContainerLogsRequest>,
    ) -> Result<Response<Chunks>, Status> {
        let req = request.into_inner();
        let reader = self
            .blocking(move |c| Ok(c.runtime_container(&req.container)?.1.logs(req.follow)?))
            .await?;
        Ok(Response::new(spawn_stream(move |tx| {
            for entry in reader {
                let chunk = match entry {
                    Ok(e) if e.stream == Stream::Stderr => ChunkKind::Stderr(e.log.into_bytes()),
                    Ok(e) => ChunkKind::Stdout(e.log.into_bytes()),
                    Err(err) => {
                        let _ = tx.blocking_send(Err(Status::internal(format!(
                            "reading the container's log: {err}"
                        ))));
                        return;
                    }
                };
                if !send(&tx, chunk) {
                    return;
                }
            }
        })))
    }

    async fn exec_container(
        &self,
        request: Request<Streaming<pb::ExecInput>>,
    ) -> Result<Response<Chunks>, Status> {
        use pb::exec_input::Kind;
        let mut input = request.into_inner();
        let req = match input.message().await?.and_then(|m| m.kind) {
            Some(Kind::Start(req)) => req,
            _ => return Err(first_request_error("exec", "ExecContainerRequest")),
        };
        let (tty, interactive) = (req.tty, req.interactive);
        let spec = ExecSpec {
            args: req.args,
            env: req.env,
            cwd: (!req.workdir.is_empty()).then_some(req.workdir),
            tty,
            tty_size: req
                .tty_size
                .filter(|s| s.rows > 0 && s.cols > 0)
                .map(|s| (dimension(s.rows), dimension(s.cols))),
            ..Default::default()
        };
        let key = req.container;
        let mut child = self
            .blocking(move |c| {
                let mut command = c.exec_command(&key, &spec)?;
                // With a tty the helper's stdin carries frames (resizes
                // too), so it is open even without -i.
                let stdin = if tty || interactive {
                    Stdio::piped()
                } else {
                    Stdio::null()
                };
                command
                    .stdin(stdin)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                command
                    .spawn()
                    .map_err(ContainerError::io(format!("run cnm-shim exec in {key}")))
            })
            .await?;
        let sink = match child.stdin.take() {
            Some(pipe) if tty => ExecSink::Framed {
                pipe,
                stdin: interactive,
            },
            pipe => ExecSink::Raw(pipe),
        };
        let to_input = |m: pb::ExecInput| match m.kind {
            Some(Kind::Input(input)) => Some(input),
            _ => None,
        };
        Ok(Response::new(spawn_session(
            input,
            to_input,
            sink,
            move |tx| {
                let stdout = child.stdout.take();
                let stderr = child.stderr.take();
                let err_tx = tx.clone();
                let err_pump = std::thread::spawn(move || pump(stderr, &err_tx, ChunkKind::Stderr));
                pump(stdout, &tx, ChunkKind::Stdout);
                let _ = err_pump.join();
                let code = match child.wait() {
                    Ok(status) => exit_code(status),
                    Err(_) => 126,
                };
                send(
                    &tx,
                    ChunkKind::Exit(pb::ExitInfo {
                        code,
                        oom_killed: false,
                    }),
                );
            },
        )))
    }
}

/// A stream whose first request was not the one that says what to do.
fn first_request_error(call: &str, expected: &str) -> Status {
    Status::invalid_argument(format!(
        "the first request of an {call} stream must be {expected}"
    ))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(126)
}

fn run_request(r: pb::RunContainerRequest) -> RunRequest {
    RunRequest {
        name: r.name,
        rootfs: r.rootfs,
        args: r.args,
        env: r.env,
        workdir: r.workdir,
        hostname: r.hostname,
        networks: r.networks,
        publish: r.publish,
        ip: r.ip,
        aliases: r.aliases,
        memory: r.memory,
        cpus: r.cpus,
        pids_limit: r.pids_limit,
        cap_add: r.cap_add,
        cap_drop: r.cap_drop,
        volumes: r.volumes,
        auto_remove: r.auto_remove,
        tty: r.tty,
        interactive: r.interactive,
    }
}

fn nanos(rfc3339: Option<&str>) -> i64 {
    rfc3339
        .and_then(unix_nanos_of)
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or(0)
}

/// The API's view of a container.
fn container(r: &ContainerRecord, view: Option<&SandboxView>) -> pb::Container {
    let c = &r.config;
    let (network_mode, networks, publish) = match &c.network {
        NetworkMode::Host => ("host".to_string(), Vec::new(), Vec::new()),
        NetworkMode::None => ("none".to_string(), Vec::new(), Vec::new()),
        NetworkMode::Networks(list) => (
            "bridge".to_string(),
            list.iter().map(|a| a.network.clone()).collect(),
            list.iter().flat_map(|a| a.publish.clone()).collect(),
        ),
    };
    let endpoints: Vec<pb::Endpoint> = view
        .map(|v| {
            v.endpoints
                .iter()
                .map(|(e, n)| convert::endpoint(e, n))
                .collect()
        })
        .unwrap_or_default();
    let network_mode = match endpoints.first() {
        Some(ep) if network_mode == "bridge" => ep.network_name.clone(),
        _ => network_mode,
    };
    pb::Container {
        id: r.id.clone(),
        name: r.name.clone(),
        rootfs: c.rootfs.display().to_string(),
        args: c.args.clone(),
        created: r.created.clone(),
        started_at: r.started_at.clone().unwrap_or_default(),
        finished_at: r.finished_at.clone().unwrap_or_default(),
        created_unix_nano: nanos(Some(&r.created)),
        started_unix_nano: nanos(r.started_at.as_deref()),
        finished_unix_nano: nanos(r.finished_at.as_deref()),
        status: r.state.as_str().to_string(),
        pid: r.pid,
        exit_code: r.exit_code,
        oom_killed: r.oom_killed,
        hostname: c.hostname.clone(),
        env: c.env.clone(),
        workdir: c.workdir.clone().unwrap_or_default(),
        memory: c.limits.memory.map_or(0, |m| m.bytes() as i64),
        nano_cpus: c.limits.cpus.map_or(0, |n| n.nano_cpus() as i64),
        pids_limit: c.limits.pids.map_or(0, |p| i64::from(p.get())),
        cap_add: c.cap_add.clone(),
        cap_drop: c.cap_drop.clone(),
        binds: c.volumes.clone(),
        network_mode,
        publish,
        auto_remove: c.auto_remove,
        endpoints,
        networks,
        tty: c.tty,
        interactive: c.interactive,
    }
}
