package harborpub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"

	"github.com/sluice-dev/sluice/mirrors/harbor"
)

// robotCredential is a robot account's full name and secret.
type robotCredential struct {
	Username, Secret string
}

// readCredential returns the secret stored for username and registry in
// a docker config.json, or "" when the file is missing or holds another
// account.
func readCredential(path, registry, username string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read robot credentials %s: %w", path, err)
	}
	defer f.Close()
	cf := configfile.New(path)
	if err := cf.LoadFromReader(f); err != nil {
		return "", fmt.Errorf("read robot credentials %s: %w; delete the file so Sluice refreshes "+
			"the robot's secret and writes it again", path, err)
	}
	if a, ok := cf.AuthConfigs[registry]; ok && a.Username == username {
		return a.Password, nil
	}
	return "", nil
}

// writeCredential writes a docker config.json that holds one robot
// account for registry, readable by its owner only, in a folder only the
// owner can enter. Docker, crane, skopeo and containerd's clients read it
// with DOCKER_CONFIG set to the folder.
func writeCredential(path, registry string, c robotCredential) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write robot credentials %s: %w", path, err)
	}
	cf := configfile.New(path)
	cf.AuthConfigs[registry] = types.AuthConfig{Username: c.Username, Password: c.Secret}
	// Save writes a temporary file with mode 0600 and renames it, but
	// copies the mode of a file it replaces, hence the chmod.
	if err := cf.Save(); err != nil {
		return fmt.Errorf("write robot credentials %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("write robot credentials %s: %w", path, err)
	}
	return nil
}

// ensureRobot creates or corrects a robot account and returns its
// credential, kept in the docker config.json at path. Harbor returns a
// secret only when it creates a robot or refreshes its secret, so the
// secret of an existing robot comes from the file. When the file is
// missing or holds another account, or rejected is set because Harbor
// refused the stored secret, the secret is refreshed and the file
// rewritten. fresh reports that the file was written.
func (p *Publisher) ensureRobot(ctx context.Context, spec harbor.RobotSpec, path string,
	rejected bool) (c robotCredential, fresh bool, err error) {
	res, err := p.admin.EnsureRobot(ctx, spec)
	if err != nil {
		return robotCredential{}, false, fmt.Errorf("harbor project %q: robot account %s: %w",
			p.cfg.Project, spec.Name, err)
	}
	for _, ch := range res.Changes {
		p.log.Info("harbor robot account changed", "project", p.cfg.Project, "robot", res.Robot.Name,
			"change", ch.String())
	}
	c = robotCredential{Username: res.Robot.Name, Secret: res.Secret}
	if c.Secret == "" && !rejected {
		if c.Secret, err = readCredential(path, p.registry, c.Username); err != nil {
			return robotCredential{}, false, err
		}
		if c.Secret != "" {
			return c, false, nil
		}
	}
	if c.Secret == "" {
		if c.Secret, err = p.admin.RefreshRobotSecret(ctx, res.Robot); err != nil {
			return robotCredential{}, false, fmt.Errorf("harbor project %q: refresh the secret of "+
				"robot account %s, which %s does not hold: %w", p.cfg.Project, c.Username, path, err)
		}
		p.log.Info("harbor robot secret refreshed", "project", p.cfg.Project, "robot", c.Username,
			"reason", refreshReason(rejected))
	}
	if err := writeCredential(path, p.registry, c); err != nil {
		return robotCredential{}, false, err
	}
	return c, true, nil
}

func refreshReason(rejected bool) string {
	if rejected {
		return "Harbor rejected the stored secret"
	}
	return "no stored secret"
}
