//! The object stores a scheduler or executor reads tables through: `file://` paths on
//! its own disk, and every `s3://` bucket opened on first use from the standard `AWS_*`
//! variables (credentials, region, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), exactly as
//! pitwall opens a location without storage options (`pitwall_core::Location`). A
//! client registers its stores by URL; a cluster process cannot know the buckets in
//! advance, so it opens them when a plan names them.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use pitwall_core::Location;
use url::Url;

/// [`DefaultObjectStoreRegistry`] (local files, and whatever is registered), opening an
/// `s3://` bucket it does not hold yet from the environment.
#[derive(Debug, Default)]
pub struct EnvironmentStores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for EnvironmentStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        match self.known.get_store(url) {
            Ok(store) => Ok(store),
            Err(_) if matches!(url.scheme(), "s3" | "s3a") => {
                let bucket = format!("{}://{}/", url.scheme(), url.host_str().unwrap_or_default());
                let opened = Location::parse(&bucket, std::path::Path::new("/"))
                    .and_then(|location| location.open())
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                // Two tasks may open the bucket at once: either store serves.
                self.known.register_store(&opened.base_url, opened.store.clone());
                Ok(opened.store)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_bucket_opens_on_first_use_and_is_kept() {
        let stores = EnvironmentStores::default();
        let url = Url::parse("s3://pitwall-test-bucket/warehouse/marts/x.parquet").unwrap();
        let first = stores.get_store(&url).unwrap();
        let again = stores.get_store(&Url::parse("s3://pitwall-test-bucket/other").unwrap()).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the bucket's store is opened once");
    }

    #[test]
    fn local_files_resolve_and_unknown_schemes_are_refused() {
        let stores = EnvironmentStores::default();
        assert!(stores.get_store(&Url::parse("file:///tmp/x.parquet").unwrap()).is_ok());
        assert!(stores.get_store(&Url::parse("gs://bucket/x").unwrap()).is_err());
    }
}
