package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StateFile is the file in the output folder where Apply records, per
// target, a fingerprint of the declared state it applied.
const StateFile = ".sluice-provision.json"

// applied maps each target to the fingerprint of what was applied to it.
type applied map[string]string

func fingerprint(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// fingerprintOf fingerprints a declared value by its JSON encoding.
func fingerprintOf(v any) string {
	data, _ := json.Marshal(v)
	return fingerprint(data)
}

func loadApplied(dir string) (applied, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return applied{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read provision state: %w", err)
	}
	a := applied{}
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("read provision state %s: %w: delete the file to plan from scratch",
			filepath.Join(dir, StateFile), err)
	}
	return a, nil
}

func (a applied) save(dir string) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write provision state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write provision state: %w", err)
	}
	return nil
}

// classify returns Drift when the declared fingerprint is the one
// applied last time: the declaration did not change, so a difference was
// made on the internal side. Otherwise it returns Update.
func (a applied) classify(target, declared string) Action {
	if a[target] == declared {
		return Drift
	}
	return Update
}
