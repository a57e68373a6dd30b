//go:build !linux

package blobs

import "os"

// syncFS syncs each pending blob where syncfs(2) is not available.
func syncFS(_ string, pending []pendingBlob) error {
	for _, p := range pending {
		f, err := os.OpenFile(p.tmp, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// syncDirs syncs each folder that received a blob.
func syncDirs(_ string, dirs []string) error {
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}
