package harbor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Severities are the values Harbor accepts for a project's severity
// setting, lowest first.
var Severities = []string{"none", "low", "medium", "high", "critical"}

// ProjectSettings are the project settings Sluice manages. Harbor stores
// each as a string in the project's metadata; the comments give the key.
type ProjectSettings struct {
	Public bool // metadata "public": anonymous pulls allowed
	// PreventVulnerable ("prevent_vul") blocks pulls of artifacts whose scan
	// found a vulnerability at Severity ("severity") or above.
	PreventVulnerable bool
	Severity          string
	// CosignRequired ("enable_content_trust_cosign") blocks pulls of
	// artifacts without a cosign signature.
	CosignRequired bool
	AutoScan       bool // "auto_scan": scan each artifact when it is pushed
}

// Validate reports settings that Harbor would reject or that contradict
// each other.
func (s ProjectSettings) Validate() error {
	if s.Severity != "" && !slices.Contains(Severities, s.Severity) {
		return fmt.Errorf("invalid severity %q: want one of %v", s.Severity, Severities)
	}
	if s.PreventVulnerable && s.Severity == "" {
		return errors.New("vulnerability prevention needs a severity: set one of " +
			fmt.Sprint(Severities))
	}
	return nil
}

// metadata returns the settings as Harbor's ProjectMetadata, omitting an
// empty severity so Harbor keeps its own.
func (s ProjectSettings) metadata() projectMetadata {
	m := projectMetadata{
		Public:            strconv.FormatBool(s.Public),
		PreventVul:        strconv.FormatBool(s.PreventVulnerable),
		ContentTrustCosig: strconv.FormatBool(s.CosignRequired),
		AutoScan:          strconv.FormatBool(s.AutoScan),
	}
	if s.Severity != "" {
		m.Severity = s.Severity
	}
	return m
}

// Project is the part of a Harbor project that Sluice reads and sets.
type Project struct {
	ID       int64
	Name     string
	Settings ProjectSettings
	// RetentionID is the ID of the project's tag retention policy, 0 when it
	// has none.
	RetentionID int64
}

// Change is one setting an Ensure call changed, for a plan or apply view.
type Change struct {
	Field string // e.g. "public", "robot permissions"
	From  string // empty when the resource was created
	To    string
}

func (c Change) String() string {
	if c.From == "" {
		return fmt.Sprintf("%s: set to %s", c.Field, c.To)
	}
	return fmt.Sprintf("%s: %s -> %s", c.Field, c.From, c.To)
}

// ProjectResult is the outcome of EnsureProject.
type ProjectResult struct {
	Project Project
	Created bool
	Changes []Change // empty when the project already matched
}

// projectMetadata is Harbor's ProjectMetadata definition, restricted to the
// keys Sluice reads or writes. Every value is a string.
type projectMetadata struct {
	Public            string `json:"public,omitempty"`
	ContentTrustCosig string `json:"enable_content_trust_cosign,omitempty"`
	PreventVul        string `json:"prevent_vul,omitempty"`
	Severity          string `json:"severity,omitempty"`
	AutoScan          string `json:"auto_scan,omitempty"`
	RetentionID       string `json:"retention_id,omitempty"`
}

// projectReq is Harbor's ProjectReq definition.
type projectReq struct {
	ProjectName string          `json:"project_name,omitempty"`
	Metadata    projectMetadata `json:"metadata"`
}

// projectJSON is Harbor's Project definition, the fields Sluice reads.
type projectJSON struct {
	ProjectID int64           `json:"project_id"`
	Name      string          `json:"name"`
	Metadata  projectMetadata `json:"metadata"`
}

func (p projectJSON) project() Project {
	m := p.Metadata
	out := Project{ID: p.ProjectID, Name: p.Name, Settings: ProjectSettings{
		Public:            m.Public == "true",
		PreventVulnerable: m.PreventVul == "true",
		Severity:          m.Severity,
		CosignRequired:    m.ContentTrustCosig == "true",
		AutoScan:          m.AutoScan == "true",
	}}
	out.RetentionID, _ = strconv.ParseInt(m.RetentionID, 10, 64)
	return out
}

// ProjectExists reports whether a project of that name exists, with
// HEAD /projects?project_name=.
func (c *Client) ProjectExists(ctx context.Context, name string) (bool, error) {
	_, err := c.do(ctx, call{op: "check project exists", project: name, need: "to read projects",
		method: http.MethodHead, path: "/projects", query: url.Values{"project_name": {name}}})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Project returns the project of that name. A missing project is an error
// matching ErrNotFound.
func (c *Client) Project(ctx context.Context, name string) (Project, error) {
	var p projectJSON
	_, err := c.decode(ctx, call{op: "read project", project: name, need: "to read the project",
		method: http.MethodGet, path: "/projects/" + pathEscape(name, false),
		header: http.Header{"X-Is-Resource-Name": {"true"}}}, &p)
	if err != nil {
		return Project{}, err
	}
	return p.project(), nil
}

// EnsureProject creates the project with the settings when it is missing,
// and otherwise updates the settings that differ. It returns what it
// changed; a second call with the same settings changes nothing.
func (c *Client) EnsureProject(ctx context.Context, name string, want ProjectSettings) (ProjectResult, error) {
	if err := want.Validate(); err != nil {
		return ProjectResult{}, fmt.Errorf("harbor: project %q: %w", name, err)
	}
	exists, err := c.ProjectExists(ctx, name)
	if err != nil {
		return ProjectResult{}, err
	}
	if !exists {
		created, err := c.createProject(ctx, name, want)
		if err == nil || !errors.Is(err, ErrConflict) {
			return created, err
		}
		// Another client, or an earlier attempt of this request that
		// failed after Harbor committed it, created the project first:
		// fall through and reconcile its settings.
	}
	have, err := c.Project(ctx, name)
	if err != nil {
		return ProjectResult{}, err
	}
	changes := settingsDiff(have.Settings, want)
	if len(changes) == 0 {
		return ProjectResult{Project: have}, nil
	}
	_, err = c.do(ctx, call{op: "update project settings", project: name,
		need:   "to update the project (project admin or system admin)",
		method: http.MethodPut, path: "/projects/" + pathEscape(name, false),
		header: http.Header{"X-Is-Resource-Name": {"true"}},
		body:   projectReq{Metadata: want.metadata()}})
	if err != nil {
		return ProjectResult{}, err
	}
	updated, err := c.Project(ctx, name)
	if err != nil {
		return ProjectResult{}, err
	}
	if rest := settingsDiff(updated.Settings, want); len(rest) > 0 {
		return ProjectResult{}, fmt.Errorf("harbor: project %q: settings still differ after update: %v",
			name, rest)
	}
	return ProjectResult{Project: updated, Changes: changes}, nil
}

func (c *Client) createProject(ctx context.Context, name string, want ProjectSettings) (ProjectResult, error) {
	_, err := c.do(ctx, call{op: "create project", project: name,
		need:   "to create projects (system admin, or a system-level robot with project create)",
		method: http.MethodPost, path: "/projects",
		body: projectReq{ProjectName: name, Metadata: want.metadata()}})
	if err != nil {
		return ProjectResult{}, err
	}
	p, err := c.Project(ctx, name)
	if err != nil {
		return ProjectResult{}, err
	}
	return ProjectResult{Project: p, Created: true, Changes: createdProject(name, want)}, nil
}

// settingsDiff lists the settings in want that differ from have. An empty
// wanted severity means "leave Harbor's value".
func settingsDiff(have, want ProjectSettings) []Change {
	var out []Change
	add := func(field, from, to string) {
		if from != to {
			out = append(out, Change{Field: field, From: from, To: to})
		}
	}
	b := strconv.FormatBool
	add("public", b(have.Public), b(want.Public))
	add("prevent_vul", b(have.PreventVulnerable), b(want.PreventVulnerable))
	if want.Severity != "" {
		add("severity", have.Severity, want.Severity)
	}
	add("enable_content_trust_cosign", b(have.CosignRequired), b(want.CosignRequired))
	add("auto_scan", b(have.AutoScan), b(want.AutoScan))
	return out
}
