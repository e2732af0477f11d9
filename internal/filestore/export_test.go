package filestore

// Scans returns how many range reads have had to scan for their first
// chunk.
func (s *Store) Scans() uint64 { return s.scans.Load() }

// ReadAheads returns how many reads have read ahead.
func (s *Store) ReadAheads() uint64 { return s.aheads.Load() }

// Idle reports whether no reader is reading ahead and the whole
// read-ahead budget is back.
func (s *Store) Idle() bool {
	return s.readers.Load() == 0 && s.budget.Load() == int64(s.cfg.ReadAheadTotal)
}
