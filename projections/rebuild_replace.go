package projections

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// replace closes the store's file, renames the file at path over it and
// opens that instead, with ids, the idIndex of its links, for
// Rebuild.Finish.
func (s *Store) replace(path string, ids *idIndex) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.isClosed() {
		_ = os.Remove(path)
		return ErrClosed
	}
	if ck := s.ckpt.Load(); ck != 0 {
		_ = os.Remove(path)
		return fmt.Errorf("projections: rebuild: the read model was applied to meanwhile (checkpoint %d)", ck)
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("projections: rebuild: close: %w", err)
	}
	renameErr := os.Rename(path, s.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(s.path))
	}
	if renameErr != nil {
		ids = nil // whichever file is there now: index it
	}
	ns, err := open(s.path, s.opts, ids)
	if err == nil && s.opts.SyncOnBootChange {
		if boot := bootID(); boot != "" {
			if _, err = ns.markOpen(boot); err != nil {
				_ = ns.db.Close()
			}
		}
	}
	if err != nil {
		// The store is unusable: make it say so.
		s.mu.Lock()
		if !s.closed {
			s.closed = true
			close(s.changed)
		}
		s.mu.Unlock()
		return fmt.Errorf("projections: rebuild: reopen: %w", errors.Join(renameErr, err))
	}
	s.db, s.bootGuard, s.ids = ns.db, ns.bootGuard, ns.ids
	s.files.reset()
	if renameErr != nil {
		return fmt.Errorf("projections: rebuild: %w", renameErr)
	}
	s.finish(applyResult{last: ns.ckpt.Load()}, nil)
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
