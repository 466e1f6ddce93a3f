//! `Container::logs`: the json-file records, optionally followed until the
//! container exits (`cnm logs -f`).

use super::Container;
use crate::error::RuntimeError;
use crate::logs::LogReader;

impl Container {
    /// Reads the log from the start. With `follow` the reader blocks for
    /// new records until the container exited and the log is drained.
    pub fn logs(&self, follow: bool) -> Result<LogReader, RuntimeError> {
        let path = self.log_path();
        let reader =
            LogReader::open(&path).map_err(|source| RuntimeError::ReadState { path, source })?;
        Ok(if follow {
            reader.following(self.layout.exit_record(), Some(self.start.shim))
        } else {
            reader
        })
    }
}
