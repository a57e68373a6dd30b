package harbor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Access is one permission of a robot account: an action on a resource
// kind of its project, as Harbor's RBAC names them.
type Access struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

func (a Access) String() string { return a.Resource + ":" + a.Action }

// PushAccess lets a robot push and pull images and read artifacts, which
// is what a publisher needs: a registry push also pulls to check blobs.
var PushAccess = []Access{
	{Resource: "repository", Action: "push"},
	{Resource: "repository", Action: "pull"},
	{Resource: "artifact", Action: "read"},
}

// PullAccess lets a robot pull images and read artifacts, for builds.
var PullAccess = []Access{
	{Resource: "repository", Action: "pull"},
	{Resource: "artifact", Action: "read"},
}

// RobotSpec is the robot account an EnsureRobot call wants.
type RobotSpec struct {
	Project string
	// Name is the short name, such as "sluice-push". Harbor stores a
	// project robot as <prefix><project>+<name>, with the prefix "robot$"
	// unless the administrator changed it.
	Name        string
	Description string
	Access      []Access
	// DurationDays is how long the secret stays valid. With 0 or -1 it
	// never expires.
	DurationDays int64
}

// PushRobot returns the spec of the robot account Sluice publishes with.
func PushRobot(project string) RobotSpec {
	return RobotSpec{Project: project, Name: "sluice-push",
		Description: "Sluice publishes approved images with this account", Access: PushAccess}
}

// PullRobot returns the spec of the read-only robot account for builds.
func PullRobot(project string) RobotSpec {
	return RobotSpec{Project: project, Name: "sluice-pull",
		Description: "Builds pull approved images with this account", Access: PullAccess}
}

// Robot is a project robot account as Harbor returns it.
type Robot struct {
	ID          int64
	Name        string // full name, such as robot$project+sluice-push
	Description string
	Project     string
	Access      []Access
	Disabled    bool
	ExpiresAt   int64 // Unix seconds, -1 for never
}

// RobotResult is the outcome of EnsureRobot.
type RobotResult struct {
	Robot   Robot
	Created bool
	// Secret is the robot's password. Harbor returns it only when it
	// creates the robot or refreshes its secret, so the caller must store
	// it now. It is empty when the robot already existed.
	Secret  string
	Changes []Change
}

// robotPermission is Harbor's RobotPermission definition.
type robotPermission struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Access    []Access `json:"access"`
}

// robotJSON is Harbor's Robot definition, also sent whole on update.
type robotJSON struct {
	ID          int64             `json:"id,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Level       string            `json:"level"`
	Duration    *int64            `json:"duration,omitempty"`
	Disable     bool              `json:"disable"`
	ExpiresAt   int64             `json:"expires_at,omitempty"`
	Permissions []robotPermission `json:"permissions"`
}

// robotCreate is Harbor's RobotCreate definition.
type robotCreate struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Level       string            `json:"level"`
	Disable     bool              `json:"disable"`
	Duration    int64             `json:"duration"`
	Permissions []robotPermission `json:"permissions"`
}

// robotCreated is Harbor's RobotCreated definition.
type robotCreated struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

func (r robotJSON) robot() Robot {
	out := Robot{ID: r.ID, Name: r.Name, Description: r.Description, Disabled: r.Disable,
		ExpiresAt: r.ExpiresAt}
	for _, p := range r.Permissions {
		if p.Kind == "project" {
			out.Project = p.Namespace
		}
		for _, a := range p.Access {
			out.Access = append(out.Access, Access{Resource: a.Resource, Action: a.Action})
		}
	}
	return out
}

// robotNamed reports whether full is the Harbor name of the robot short in
// project, whatever robot name prefix Harbor is configured with. It is
// only sure for robots listed by project ID: "bot-a+r" would also match
// short name "r" in project "a" with prefix "bot-".
func robotNamed(full, project, short string) bool {
	rest, ok := strings.CutSuffix(full, project+"+"+short)
	return ok && !strings.Contains(rest, "+")
}

// Robots lists the robot accounts of a project.
func (c *Client) Robots(ctx context.Context, project string) ([]Robot, error) {
	p, err := c.Project(ctx, project)
	if err != nil {
		return nil, err
	}
	return c.projectRobots(ctx, p)
}

func (c *Client) projectRobots(ctx context.Context, p Project) ([]Robot, error) {
	raw, err := list[robotJSON](ctx, c, call{op: "list robot accounts", project: p.Name,
		need:   "to list robot accounts (project admin or system admin)",
		method: http.MethodGet, path: "/robots",
		query: url.Values{"q": {"Level=project,ProjectID=" + strconv.FormatInt(p.ID, 10)}}})
	if err != nil {
		return nil, err
	}
	out := make([]Robot, 0, len(raw))
	for _, r := range raw {
		out = append(out, r.robot())
	}
	return out, nil
}

// EnsureRobot creates the project robot account when it is missing, and
// otherwise corrects its permissions, description and disabled state when
// they differ. The secret is in the result only when the robot was
// created: to get a new secret for an existing robot, call
// RefreshRobotSecret.
func (c *Client) EnsureRobot(ctx context.Context, spec RobotSpec) (RobotResult, error) {
	if spec.Project == "" || spec.Name == "" || len(spec.Access) == 0 {
		return RobotResult{}, fmt.Errorf("harbor: robot spec %+v: project, name and access are required", spec)
	}
	p, err := c.Project(ctx, spec.Project)
	if err != nil {
		return RobotResult{}, err
	}
	existing, err := c.projectRobots(ctx, p)
	if err != nil {
		return RobotResult{}, err
	}
	for _, r := range existing {
		if robotNamed(r.Name, spec.Project, spec.Name) {
			return c.updateRobot(ctx, r, spec)
		}
	}
	duration := spec.DurationDays
	if duration == 0 {
		duration = -1
	}
	var created robotCreated
	resp, err := c.decode(ctx, call{op: fmt.Sprintf("create robot account %q", spec.Name),
		project: spec.Project, need: "to create robot accounts (project admin or system admin)",
		method: http.MethodPost, path: "/robots", body: robotCreate{
			Name: spec.Name, Description: spec.Description, Level: "project", Duration: duration,
			Permissions: []robotPermission{{Kind: "project", Namespace: spec.Project, Access: spec.Access}},
		}}, &created)
	if errors.Is(err, ErrConflict) {
		return RobotResult{}, fmt.Errorf("%w; the robot account was missing when listed, so another "+
			"client created it or Harbor committed an attempt whose response was lost, and its secret "+
			"is unknown: call EnsureRobot again, then RefreshRobotSecret", err)
	}
	if err != nil {
		return RobotResult{}, err
	}
	if created.ID == 0 {
		if created.ID, err = resp.location(); err != nil {
			return RobotResult{}, fmt.Errorf("harbor: create robot account %q: %w", spec.Name, err)
		}
	}
	changes := []Change{{Field: "robot account", To: created.Name},
		{Field: "robot permissions", To: accessString(spec.Access)}}
	return RobotResult{Created: true, Secret: created.Secret, Changes: changes, Robot: Robot{
		ID: created.ID, Name: created.Name, Description: spec.Description, Project: spec.Project,
		Access: slices.Clone(spec.Access), ExpiresAt: -1,
	}}, nil
}

// updateRobot corrects an existing robot to match spec, with
// PUT /robots/{id}, which takes the whole Robot with its full name.
func (c *Client) updateRobot(ctx context.Context, have Robot, spec RobotSpec) (RobotResult, error) {
	var changes []Change
	if !sameAccess(have.Access, spec.Access) {
		changes = append(changes, Change{Field: "robot permissions", From: accessString(have.Access),
			To: accessString(spec.Access)})
	}
	if have.Description != spec.Description {
		changes = append(changes, Change{Field: "robot description", From: have.Description,
			To: spec.Description})
	}
	if have.Disabled {
		changes = append(changes, Change{Field: "robot disabled", From: "true", To: "false"})
	}
	if len(changes) == 0 {
		return RobotResult{Robot: have}, nil
	}
	op := fmt.Sprintf("update robot account %q", spec.Name)
	id := strconv.FormatInt(have.ID, 10)
	var current robotJSON
	_, err := c.decode(ctx, call{op: op, project: spec.Project, need: "to read robot accounts",
		method: http.MethodGet, path: "/robots/" + id}, &current)
	if err != nil {
		return RobotResult{}, err
	}
	current.Description = spec.Description
	current.Disable = false
	current.Permissions = []robotPermission{{Kind: "project", Namespace: spec.Project, Access: spec.Access}}
	_, err = c.do(ctx, call{op: op, project: spec.Project,
		need:   "to update robot accounts (project admin or system admin)",
		method: http.MethodPut, path: "/robots/" + id, body: current})
	if err != nil {
		return RobotResult{}, err
	}
	updated := current.robot()
	return RobotResult{Robot: updated, Changes: changes}, nil
}

// RefreshRobotSecret makes Harbor generate a new secret for the robot
// account and returns it. The old secret stops working at once.
func (c *Client) RefreshRobotSecret(ctx context.Context, robot Robot) (string, error) {
	var sec struct {
		Secret string `json:"secret"`
	}
	_, err := c.decode(ctx, call{op: fmt.Sprintf("refresh secret of robot account %q", robot.Name),
		project: robot.Project, need: "to update robot accounts (project admin or system admin)",
		method: http.MethodPatch, path: "/robots/" + strconv.FormatInt(robot.ID, 10),
		body: struct {
			Secret string `json:"secret,omitempty"`
		}{}}, &sec)
	if err != nil {
		return "", err
	}
	if sec.Secret == "" {
		return "", fmt.Errorf("harbor: refresh secret of robot account %q: Harbor returned no secret", robot.Name)
	}
	return sec.Secret, nil
}

func sameAccess(a, b []Access) bool {
	return accessString(a) == accessString(b)
}

// accessString returns the accesses sorted and comma-separated, so two
// lists compare equal whatever their order.
func accessString(list []Access) string {
	s := make([]string, 0, len(list))
	for _, a := range list {
		s = append(s, a.String())
	}
	slices.Sort(s)
	s = slices.Compact(s)
	return strings.Join(s, ",")
}
