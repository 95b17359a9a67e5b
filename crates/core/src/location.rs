//! [`Location`]: where pitwall reads or writes bytes (sources, warehouse, model stage,
//! artifacts, exports): a local folder or an object-store URL. It is parsed once, where
//! the text enters (the project file, a command-line option), and every byte then goes
//! through object_store, so a local folder and a URL take the same path.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An absolute, normalized local path (`file://` URLs become this too).
    Local(PathBuf),
    /// Any other object-store URL (`s3://bucket/prefix/`, `memory://`, ...).
    Url(Url),
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
            return Ok(Location::Url(url));
        }
        Ok(Location::local(base.join(text)))
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
            Location::Url(u) => {
                let mut url = u.clone();
                let base = u.path().trim_end_matches('/');
                url.set_path(&format!("{base}/{}", part.trim_start_matches('/')));
                Location::Url(url)
            }
        }
    }

    /// Opens the store behind this location. A local folder is created if missing, since
    /// object_store's local store writes only inside existing folders.
    pub fn open(&self) -> Result<Store> {
        let url = match self {
            Location::Local(path) => {
                std::fs::create_dir_all(path)
                    .map_err(|e| Error::config(self.to_string(), format!("cannot create the folder: {e}")))?;
                Url::from_directory_path(path).map_err(|()| Error::config(self.to_string(), "not a local path"))?
            }
            Location::Url(url) => url.clone(),
        };
        let (store, root) = object_store::parse_url(&url).map_err(|e| {
            Error::config(
                self.to_string(),
                format!("cannot open this location: {e} (supported here: local folders and file:// URLs)"),
            )
        })?;
        let base_url = Url::parse(&format!("{}://{}/", url.scheme(), url.host_str().unwrap_or("")))
            .map_err(|e| Error::config(self.to_string(), e.to_string()))?;
        Ok(Store { store: Arc::from(store), base_url, root, location: self.clone() })
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
            Location::Url(u) => write!(f, "{u}"),
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

    #[tokio::test]
    async fn a_written_file_lands_under_the_location_in_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::local(dir.path().join("new/folder"));
        location.write("sub/a.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("new/folder/sub/a.json")).unwrap(), b"{}");
    }
}
