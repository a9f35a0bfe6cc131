use super::{FileStamp, RunContext, Strategy, StrategyState};
use crate::engine::{ReadRequest, ReadSpec, ReadStats};
use crate::landing::ListedFile;
use crate::scenario::{FileIdentity, StrategyKind};

/// Lists the landing directory and reads the files it has not processed yet. What counts as
/// processed is the identity knob: by name, a file rewritten in place is never read again (its
/// updates are lost); by name, size and modification stamp, the rewrite is a new file. Deletes
/// never land, so no identity sees them.
pub struct FileListing {
    pub identity: FileIdentity,
}

impl FileListing {
    fn processed(&self, state: &StrategyState, file: &ListedFile) -> bool {
        match (self.identity, state.files.get(&file.name)) {
            (_, None) => false,
            (FileIdentity::Name, Some(_)) => true,
            (FileIdentity::NameSizeMtime, Some(stamp)) => *stamp == FileStamp::of(file),
        }
    }

    fn unprocessed<'a>(
        &'a self,
        state: &'a StrategyState,
        run: &'a RunContext,
    ) -> impl Iterator<Item = &'a ListedFile> + 'a {
        run.landed.iter().filter(|f| !self.processed(state, f))
    }
}

impl Strategy for FileListing {
    fn kind(&self) -> StrategyKind {
        StrategyKind::FileListing
    }

    fn plan(&self, state: &StrategyState, run: &RunContext) -> ReadRequest {
        ReadRequest {
            spec: ReadSpec::Files(
                self.unprocessed(state, run)
                    .map(|f| f.name.clone())
                    .collect(),
            ),
            want_maxima: true,
        }
    }

    fn advance(&self, state: &StrategyState, _read: &ReadStats, run: &RunContext) -> StrategyState {
        let mut next = state.clone();
        for file in self.unprocessed(state, run) {
            next.files.insert(file.name.clone(), FileStamp::of(file));
        }
        next
    }
}
