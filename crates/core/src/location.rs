//! [`Location`]: where pitwall reads or writes bytes (sources, warehouse, model stage,
//! artifacts, exports): a local folder or an object-store URL. It is parsed once, where
//! the text enters (the project file, a command-line option), and every byte then goes
//! through object_store, so a local folder and a URL take the same path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use url::Url;

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An absolute, normalized local path (`file://` URLs become this too).
    Local(PathBuf),
    /// Any other object-store URL (`s3://bucket/prefix/`, `memory://`, ...), with the
    /// options its store is opened with (a target's `[targets.<name>.storage]`).
    Url(Url, StoreOptions),
}

/// Options for opening an object store, beyond what the standard variables say
/// (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...): any of
/// object_store's S3 and client keys (`aws_region`, `aws_endpoint`, `timeout`, ...), plus
/// pitwall's `max_retries` and `retry_timeout`. Values win over the variables.
///
/// Values may be secrets, so `Debug` shows only the keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreOptions(Arc<BTreeMap<String, String>>);

/// pitwall's own retry keys; every other key is object_store's.
const MAX_RETRIES: &str = "max_retries";
const RETRY_TIMEOUT: &str = "retry_timeout";

impl StoreOptions {
    pub fn new(options: BTreeMap<String, String>) -> StoreOptions {
        StoreOptions(Arc::new(options))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks every key and value without opening anything, so a typo is reported where
    /// the options are written (`what` names that place), not at first use.
    pub fn validate(&self, what: &str) -> Result<()> {
        let check = Url::parse("s3://check/").expect("a valid URL");
        s3_builder(&check, self).map(drop).map_err(|e| Error::config(what, e.to_string()))
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Location {
    /// Parses what a user wrote: a URL when it has a scheme (`scheme://...`), otherwise a
    /// local path, a relative one taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Location> {
        if text.contains("://") {
            let url = Url::parse(text).map_err(|e| Error::config(text, format!("not a valid URL: {e}")))?;
            if url.scheme() == "file" {
                let path = url.to_file_path().map_err(|()| Error::config(text, "not a local file URL"))?;
                return Ok(Location::Local(normalize(&path)));
            }
            return Ok(Location::Url(url, StoreOptions::default()));
        }
        Ok(Location::local(base.join(text)))
    }

    /// This location with the store options `options` (a local path has none).
    pub fn with_options(self, options: &StoreOptions) -> Location {
        match self {
            Location::Url(url, _) => Location::Url(url, options.clone()),
            local => local,
        }
    }

    /// A local path; relative ones are taken from the current folder.
    pub fn local(path: impl AsRef<Path>) -> Location {
        let path = path.as_ref();
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
        };
        Location::Local(normalize(&absolute))
    }

    /// `self/part`, `part` being `/`-separated.
    pub fn join(&self, part: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(normalize(&p.join(part))),
            Location::Url(u, options) => {
                let mut url = u.clone();
                let base = u.path().trim_end_matches('/');
                url.set_path(&format!("{base}/{}", part.trim_start_matches('/')));
                Location::Url(url, options.clone())
            }
        }
    }

    /// Opens the store behind this location. A local folder is created if missing, since
    /// object_store's local store writes only inside existing folders. An `s3://` URL is
    /// opened with the standard AWS variables and this location's options; with no
    /// credentials anywhere, requests go unsigned, as for a public bucket.
    pub fn open(&self) -> Result<Store> {
        let (store, root, url): (Arc<dyn ObjectStore>, _, _) = match self {
            Location::Local(path) => {
                std::fs::create_dir_all(path)
                    .map_err(|e| Error::config(self.to_string(), format!("cannot create the folder: {e}")))?;
                let url =
                    Url::from_directory_path(path).map_err(|()| Error::config(self.to_string(), "not a local path"))?;
                let (store, root) = object_store::parse_url(&url).map_err(|e| self.open_error(e))?;
                (Arc::from(store), root, url)
            }
            Location::Url(url, options) if matches!(url.scheme(), "s3" | "s3a") => {
                let builder = s3_builder(url, options).map_err(|e| Error::config(self.to_string(), e.to_string()))?;
                let store = builder.build().map_err(|e| self.open_error(e))?;
                let root = object_store::path::Path::from_url_path(url.path()).map_err(|e| self.open_error(e))?;
                (Arc::new(store), root, url.clone())
            }
            Location::Url(url, _) => {
                let (store, root) = object_store::parse_url(url).map_err(|e| self.open_error(e))?;
                (Arc::from(store), root, url.clone())
            }
        };
        let base_url = Url::parse(&format!("{}://{}/", url.scheme(), url.host_str().unwrap_or("")))
            .map_err(|e| Error::config(self.to_string(), e.to_string()))?;
        Ok(Store { store, base_url, root, location: self.clone() })
    }

    fn open_error(&self, e: impl fmt::Display) -> Error {
        Error::config(
            self.to_string(),
            format!("cannot open this location: {e} (supported: local folders, file:// and s3:// URLs)"),
        )
    }

    /// Writes one file at `self/name`. The local store stages the bytes and renames them
    /// into place, so readers never see half a file.
    pub async fn write(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        let store = self.open()?;
        store.store.put(&store.child(name), PutPayload::from(bytes)).await?;
        Ok(())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Url(u, _) => write!(f, "{u}"),
        }
    }
}

/// An opened [`Location`]: the object store, the URL DataFusion registers it under, and
/// the location's root path inside it.
#[derive(Clone, Debug)]
pub struct Store {
    pub store: Arc<dyn ObjectStore>,
    pub base_url: Url,
    pub root: object_store::path::Path,
    pub location: Location,
}

impl Store {
    /// The path of `part` (`/`-separated) under the root.
    pub fn child(&self, part: &str) -> object_store::path::Path {
        part.split('/').filter(|p| !p.is_empty()).fold(self.root.clone(), |p, seg| p.join(seg))
    }

    /// The URL of `path`, as DataFusion reads it.
    pub fn url_of(&self, path: &object_store::path::Path) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// `location/part`, for messages.
    pub fn display(&self, part: &str) -> String {
        self.location.join(part).to_string()
    }
}

/// Why store options (a target's `[targets.<name>.storage]`, or the `AWS_MAX_ATTEMPTS`
/// variable) cannot open a store: each is the user's setting at fault, named with its value.
#[derive(Debug, thiserror::Error)]
enum StoreOptionError {
    /// The environment's `AWS_MAX_ATTEMPTS` is not a whole number.
    #[error("AWS_MAX_ATTEMPTS = '{0}' is not a number")]
    MaxAttempts(String),
    #[error("{key} = '{0}' is not a number", key = MAX_RETRIES)]
    MaxRetries(String),
    #[error("{key} = '{0}' is not a duration (e.g. 30s, 2min)", key = RETRY_TIMEOUT)]
    RetryTimeout(String),
    /// A key neither object_store's S3 or client keys nor pitwall's own.
    #[error(
        "unknown storage option `{0}` (an S3 key such as aws_region or aws_endpoint, a client key such as timeout, or max_retries, retry_timeout)"
    )]
    UnknownKey(String),
}

/// An S3 store's builder: the standard `AWS_*` variables, then `options`, then the
/// bucket from `url`. Retries with exponential backoff cover throttling, 5xx answers and
/// timeouts (object_store's retry loop); `AWS_MAX_ATTEMPTS` (the AWS SDKs' variable) or
/// `max_retries` bound them. Without credentials the requests are unsigned.
fn s3_builder(url: &Url, options: &StoreOptions) -> std::result::Result<AmazonS3Builder, StoreOptionError> {
    configure_s3(AmazonS3Builder::from_env(), url, options)
}

/// [`s3_builder`] on a given starting builder (tests start from an empty one rather
/// than this process's environment).
fn configure_s3(
    builder: AmazonS3Builder,
    url: &Url,
    options: &StoreOptions,
) -> std::result::Result<AmazonS3Builder, StoreOptionError> {
    let mut builder = builder.with_url(url.as_str());
    let mut retry =
        RetryConfig { backoff: BackoffConfig::default(), max_retries: 10, retry_timeout: Duration::from_secs(180) };
    if let Ok(attempts) = std::env::var("AWS_MAX_ATTEMPTS") {
        let attempts: usize = attempts.trim().parse().map_err(|_| StoreOptionError::MaxAttempts(attempts.clone()))?;
        retry.max_retries = attempts.saturating_sub(1);
    }
    for (key, value) in options.0.iter() {
        match key.as_str() {
            MAX_RETRIES => {
                retry.max_retries = value.parse().map_err(|_| StoreOptionError::MaxRetries(value.clone()))?;
            }
            RETRY_TIMEOUT => {
                retry.retry_timeout =
                    humantime_seconds(value).ok_or_else(|| StoreOptionError::RetryTimeout(value.clone()))?;
            }
            _ => {
                let config_key: AmazonS3ConfigKey =
                    key.to_ascii_lowercase().parse().map_err(|_| StoreOptionError::UnknownKey(key.clone()))?;
                builder = builder.with_config(config_key, value);
            }
        }
    }
    let has_credentials = [
        AmazonS3ConfigKey::AccessKeyId,
        AmazonS3ConfigKey::WebIdentityTokenFile,
        AmazonS3ConfigKey::ContainerCredentialsRelativeUri,
        AmazonS3ConfigKey::ContainerCredentialsFullUri,
    ]
    .iter()
    .any(|key| builder.get_config_value(key).is_some_and(|v| !v.is_empty()));
    if !has_credentials {
        builder = builder.with_skip_signature(true);
    }
    Ok(builder.with_retry(retry))
}

/// A duration as `30s`, `500ms`, `2min` or bare seconds.
fn humantime_seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// Resolves `.` and `..` without touching the file system (object store paths allow neither).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_base_and_urls_keep_their_scheme() {
        let base = Path::new("/project");
        assert_eq!(Location::parse("data/f1", base).unwrap(), Location::Local("/project/data/f1".into()));
        assert_eq!(Location::parse("../shared/x", base).unwrap(), Location::Local("/shared/x".into()));
        assert_eq!(Location::parse("/abs", base).unwrap(), Location::Local("/abs".into()));
        assert_eq!(Location::parse("file:///tmp/a/../b", base).unwrap(), Location::Local("/tmp/b".into()));
        let s3 = Location::parse("s3://bucket/prefix/", base).unwrap();
        assert_eq!(s3.to_string(), "s3://bucket/prefix/");
        assert_eq!(s3.join("races.csv").to_string(), "s3://bucket/prefix/races.csv");
    }

    fn options(pairs: &[(&str, &str)]) -> StoreOptions {
        StoreOptions::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn configured(pairs: &[(&str, &str)]) -> std::result::Result<AmazonS3Builder, StoreOptionError> {
        configure_s3(AmazonS3Builder::new(), &Url::parse("s3://bucket/prefix/").unwrap(), &options(pairs))
    }

    #[test]
    fn without_credentials_s3_requests_go_unsigned_and_with_them_signed() {
        let unsigned = configured(&[]).unwrap();
        assert_eq!(unsigned.get_config_value(&AmazonS3ConfigKey::SkipSignature).as_deref(), Some("true"));
        let signed = configured(&[("aws_access_key_id", "AKIA"), ("aws_secret_access_key", "s")]).unwrap();
        assert_eq!(signed.get_config_value(&AmazonS3ConfigKey::SkipSignature).as_deref(), Some("false"));
    }

    #[test]
    fn store_options_are_checked_and_never_shown() {
        let region = configured(&[("aws_region", "eu-west-1"), ("timeout", "5s"), ("max_retries", "2")]).unwrap();
        assert_eq!(region.get_config_value(&AmazonS3ConfigKey::Region).as_deref(), Some("eu-west-1"));
        let error = |pairs: &[(&str, &str)]| configured(pairs).unwrap_err().to_string();
        assert!(error(&[("aws_regoin", "x")]).contains("unknown storage option `aws_regoin`"));
        assert!(error(&[("max_retries", "many")]).contains("max_retries = 'many'"));
        assert!(error(&[("retry_timeout", "soon")]).contains("not a duration"));
        let secret = options(&[("aws_secret_access_key", "hunter2")]);
        assert_eq!(format!("{secret:?}"), "{\"aws_secret_access_key\"}");
        let location = Location::parse("s3://b/p/", Path::new("/")).unwrap().with_options(&secret);
        assert!(!format!("{location:?} {location}").contains("hunter2"));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(humantime_seconds("30s"), Some(Duration::from_secs(30)));
        assert_eq!(humantime_seconds("2min"), Some(Duration::from_secs(120)));
        assert_eq!(humantime_seconds("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(humantime_seconds("7"), Some(Duration::from_secs(7)));
        assert_eq!(humantime_seconds("soon"), None);
    }

    #[tokio::test]
    async fn a_written_file_lands_under_the_location_in_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::local(dir.path().join("new/folder"));
        location.write("sub/a.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("new/folder/sub/a.json")).unwrap(), b"{}");
    }
}
