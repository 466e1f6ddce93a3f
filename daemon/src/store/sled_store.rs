//! The sled engine. sled 0.34 only makes writes durable on `flush`, so
//! every commit is one atomic batch followed by a flush (DESIGN.md).

use std::path::Path;

use super::{Key, Store, StoreError, Write};

pub struct SledStore {
    db: sled::Db,
    path: String,
}

impl SledStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        let db = sled::Config::new()
            .path(path)
            // Our records are small and few; a small cache keeps cnmd's
            // memory footprint low (the default is 1 GiB).
            .cache_capacity(8 * 1024 * 1024)
            .open()
            .map_err(|source| StoreError::Open {
                path: display.clone(),
                source,
            })?;
        Ok(SledStore { db, path: display })
    }
}

impl Store for SledStore {
    fn load(&self) -> Result<Vec<(Key, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iter() {
            let (raw_key, value) = item.map_err(StoreError::Read)?;
            let key = Key::decode(&raw_key)
                .ok_or_else(|| StoreError::BadKey(String::from_utf8_lossy(&raw_key).into()))?;
            out.push((key, value.to_vec()));
        }
        Ok(out)
    }

    fn commit(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for write in writes {
            match write {
                Write::Put(key, value) => batch.insert(key.encode().as_bytes(), value.as_slice()),
                Write::Delete(key) => batch.remove(key.encode().as_bytes()),
            }
        }
        self.db.apply_batch(batch).map_err(StoreError::Write)?;
        self.db.flush().map_err(StoreError::Write)?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("sled at {}", self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Kind;

    #[test]
    fn commit_is_visible_after_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        {
            let store = SledStore::open(&path).expect("open");
            store
                .commit(&[
                    Write::Put(Key::new(Kind::Network, "n1"), b"one".to_vec()),
                    Write::Put(Key::new(Kind::Endpoint, "e1"), b"two".to_vec()),
                ])
                .expect("commit");
            store
                .commit(&[Write::Delete(Key::new(Kind::Endpoint, "e1"))])
                .expect("commit");
        }
        // sled's background flusher drops its file lock a moment after the
        // Db is dropped; a new process (a restarted cnmd) never sees this.
        let store = (0..100)
            .find_map(|_| {
                SledStore::open(&path)
                    .inspect_err(|_| std::thread::sleep(std::time::Duration::from_millis(20)))
                    .ok()
            })
            .expect("reopen");
        assert_eq!(
            store.load().expect("load"),
            vec![(Key::new(Kind::Network, "n1"), b"one".to_vec())]
        );
    }
}
