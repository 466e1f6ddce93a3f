//! cnm.v1.SandboxService: what cnmd knows about sandboxes.

use std::sync::Arc;

use ::pb::v1 as pb;
use pb::sandbox_service_server::SandboxService;
use tonic::{Request, Response, Status};

use super::convert;
use crate::core::Core;

pub struct SandboxApi {
    core: Arc<Core>,
}

impl SandboxApi {
    pub fn new(core: Arc<Core>) -> Self {
        SandboxApi { core }
    }
}

#[tonic::async_trait]
impl SandboxService for SandboxApi {
    async fn list_sandboxes(
        &self,
        _request: Request<pb::ListSandboxesRequest>,
    ) -> Result<Response<pb::ListSandboxesResponse>, Status> {
        let sandboxes = self
            .core
            .list_sandboxes()
            .iter()
            .map(convert::sandbox)
            .collect();
        Ok(Response::new(pb::ListSandboxesResponse { sandboxes }))
    }

    async fn inspect_sandbox(
        &self,
        request: Request<pb::InspectSandboxRequest>,
    ) -> Result<Response<pb::Sandbox>, Status> {
        let selector = convert::sandbox_selector(request.into_inner().sandbox.as_ref())?;
        let view = self.core.inspect_sandbox(&selector)?;
        Ok(Response::new(convert::sandbox(&view)))
    }
}
