//! publish / unpublish: two map elements per mapping (address map and port
//! map, same key), all in one netlink transaction; no process is spawned.

use super::{delete_elements, requests, Inner};
use crate::error::FirewallError;
use crate::model::{validate_all, PortMapping, ValidMapping};
use crate::netlink::{push_mapping, ElementOp, SetElements};

impl Inner {
    pub(super) fn publish(&mut self, mappings: &[PortMapping]) -> Result<(), FirewallError> {
        let valid = validate_all(mappings)?;
        if let Some(taken) = valid.iter().find(|m| self.published.contains_key(&m.key)) {
            return Err(FirewallError::AlreadyPublished {
                mapping: taken.display.clone(),
            });
        }
        let Some(first) = valid.first() else {
            return Ok(());
        };
        let failed = |source| FirewallError::Publish {
            count: valid.len(),
            first: first.display.clone(),
            source,
        };
        let batch = requests(&elements(&valid), ElementOp::Add).map_err(failed)?;
        match self.socket.transact(batch) {
            // Someone else put the key there: the kernel is the authority.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && valid.len() == 1 => {
                return Err(FirewallError::AlreadyPublished {
                    mapping: first.display.clone(),
                })
            }
            other => other.map_err(failed)?,
        }
        self.published.extend(valid.into_iter().map(|m| (m.key, m)));
        Ok(())
    }

    /// Mappings that are not published are skipped: teardown is idempotent.
    pub(super) fn unpublish(&mut self, mappings: &[PortMapping]) -> Result<(), FirewallError> {
        let mut valid: Vec<ValidMapping> = Vec::with_capacity(mappings.len());
        for m in mappings {
            let v = m.validate()?;
            if !valid.iter().any(|seen| seen.key == v.key) {
                valid.push(v);
            }
        }
        let Some(first) = valid.first() else {
            return Ok(());
        };
        delete_elements(&mut self.socket, &elements(&valid)).map_err(|source| {
            FirewallError::Unpublish {
                count: valid.len(),
                first: first.display.clone(),
                source,
            }
        })?;
        for m in &valid {
            self.published.remove(&m.key);
        }
        Ok(())
    }
}

fn elements(valid: &[ValidMapping]) -> Vec<SetElements> {
    let mut sets = Vec::new();
    for m in valid {
        push_mapping(&mut sets, m);
    }
    sets
}
