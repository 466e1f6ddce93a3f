//! An in-memory store for unit tests of the core.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Key, Store, StoreError, Write};

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<Key, Vec<u8>>>,
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Vec<(Key, Vec<u8>)>, StoreError> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        Ok(records
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        for write in writes {
            match write {
                Write::Put(key, value) => {
                    records.insert(key.clone(), value.clone());
                }
                Write::Delete(key) => {
                    records.remove(key);
                }
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Kind;

    #[test]
    fn put_and_delete() {
        let store = MemoryStore::default();
        let key = Key::new(Kind::Sandbox, "s");
        store
            .commit(&[Write::Put(key.clone(), vec![1])])
            .expect("put");
        assert_eq!(store.load().expect("load").len(), 1);
        store.commit(&[Write::Delete(key)]).expect("delete");
        assert!(store.load().expect("load").is_empty());
    }
}
