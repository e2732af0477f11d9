package filestore

// Scans returns how many range reads have had to scan for their first
// chunk.
func (s *Store) Scans() uint64 { return s.scans.Load() }
