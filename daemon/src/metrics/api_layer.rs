//! A tower layer on the gRPC server that times every call by method.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http;
use tonic::codegen::Service;

use super::METRICS;

/// gRPC's UNIMPLEMENTED: an unknown method, recorded as "unknown" so
/// made-up paths do not become labels.
const UNIMPLEMENTED: &str = "12";

/// The layer to add to the API server.
pub fn api_layer<S>() -> impl tower::Layer<S, Service = ApiMetrics<S>> + Clone {
    tower::layer::layer_fn(|inner| ApiMetrics { inner })
}

#[derive(Debug, Clone)]
pub struct ApiMetrics<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for ApiMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            // Errors come "trailers-only": grpc-status is in the headers.
            // A stream's final status is in trailers, after this point.
            let status = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|s| s.to_str().ok())
                    .unwrap_or("0"),
                Err(_) => "13",
            };
            let method = if status == UNIMPLEMENTED {
                "unknown"
            } else {
                method.as_str()
            };
            METRICS.api_call(method, started.elapsed(), status != "0");
            result
        })
    }
}
