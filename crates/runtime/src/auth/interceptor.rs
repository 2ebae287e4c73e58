use std::sync::Arc;

use tonic::{Request, Status, service::Interceptor};

use super::{Caller, JwtKeys};

/// Verifies `authorization: Bearer <JWT>` on every call of a service and stores the [`Caller`].
/// Attached per service, so it runs on the in-process path and over the network alike.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    keys: Arc<JwtKeys>,
}

impl AuthInterceptor {
    pub fn new(keys: Arc<JwtKeys>) -> Self {
        Self { keys }
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("missing credentials: send the header `authorization: Bearer <JWT>`")
        })?;
        let value = header
            .to_str()
            .map_err(|_| Status::unauthenticated("the authorization header is not readable text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Status::unauthenticated("the authorization header must be `Bearer <JWT>`"))?;
        let caller = self.keys.verify(token.trim()).map_err(Status::unauthenticated)?;
        tracing::Span::current().record("caller", caller.subject.as_str());
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The verified caller of a request that passed [`AuthInterceptor`].
pub fn caller_of<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("the call was not authenticated"))
}
