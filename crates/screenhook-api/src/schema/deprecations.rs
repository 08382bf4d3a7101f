//! `extensions.deprecations`: an answer that ran a deprecated operation says so itself, so a
//! client that never reads the schema still learns what to use instead.
//!
//! The notice is the operation's own `@deprecated(reason:)` read from the schema, so the SDL
//! and the answers cannot disagree. Only root fields (operations) are reported; a deprecated
//! field deeper in a selection is marked in the SDL alone.
//!
//! ```json
//! "extensions": {"deprecations": [{"operation": "certificationRequest",
//!   "path": ["certificationRequest"], "reason": "Certify GraphQL … Use companyTestSession(id) …"}]}
//! ```

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Name, OutputType, Response, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextResolve, ResolveInfo},
    indexmap::IndexMap,
    registry::{Deprecation, Registry},
};

/// The names of the deprecated root fields (operations), of queries and mutations alike: a
/// document whose operation selects none of them gets no notice.
pub(crate) fn deprecated_operations() -> HashSet<String> {
    let mut registry = Registry::default();
    let roots = [
        <super::QueryRoot as OutputType>::create_type_info(&mut registry),
        <super::MutationRoot as OutputType>::create_type_info(&mut registry),
    ];
    // Each root registers as its non-null type (`Query!`).
    let types = roots.iter().filter_map(|root| registry.types.get(root.trim_end_matches('!')));
    let fields = types.filter_map(|ty| ty.fields()).flatten();
    fields
        .filter(|(_, field)| matches!(field.deprecation, Deprecation::Deprecated { .. }))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The schema extension; one collector per request.
pub struct Deprecations;

impl ExtensionFactory for Deprecations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Collector::default())
    }
}

#[derive(Default)]
struct Collector(Mutex<Vec<Value>>);

#[async_graphql::async_trait::async_trait]
impl Extension for Collector {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let notices = std::mem::take(&mut *self.0.lock().expect("not poisoned"));
        if !notices.is_empty() {
            response.extensions.insert("deprecations".to_owned(), Value::List(notices));
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_none() {
            let field = ctx.schema_env.registry.types.get(info.parent_type).and_then(|t| t.field_by_name(info.name));
            if let Some(Deprecation::Deprecated { reason }) = field.map(|f| &f.deprecation) {
                let mut notice = IndexMap::new();
                notice.insert(Name::new("operation"), Value::from(info.name));
                notice.insert(Name::new("path"), Value::List(vec![Value::from(info.alias.unwrap_or(info.name))]));
                notice.insert(Name::new("reason"), reason.clone().map(Value::from).unwrap_or(Value::Null));
                self.0.lock().expect("not poisoned").push(Value::Object(notice));
            }
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certify_operations_are_the_deprecated_ones() {
        let deprecated = deprecated_operations();
        assert!(deprecated.contains("certificationRequest"), "{deprecated:?}");
        assert!(!deprecated.contains("createCompanyTestSession"), "{deprecated:?}");
        assert!(!deprecated.contains("companyTestSession"), "{deprecated:?}");
    }
}
