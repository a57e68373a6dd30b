package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/sluice-dev/sluice/mirrors/clientconfig"
	"github.com/sluice-dev/sluice/mirrors/harbor"
	"github.com/sluice-dev/sluice/mirrors/provision/backstage"
)

// Paths of the Backstage files in the output folder.
const (
	BackstageAppConfig = "backstage/app-config.sluice.yaml"
	BackstageCatalog   = "backstage/catalog-mirrored.yaml"
)

// Options are the connections and inputs a plan or apply needs beyond
// the declaration.
type Options struct {
	// Harbor is the client for the declaration's Harbor; required when
	// the declaration has a harbor section.
	Harbor *harbor.Client
	// Records are the mirrored artifacts for the Backstage catalog; nil
	// writes no catalog file.
	Records []backstage.Record
	// Getenv reads passwords; os.Getenv when nil.
	Getenv func(string) string
}

// run is one plan or apply.
type run struct {
	d     *Declaration
	opts  Options
	dir   string
	apply bool
	last  applied
	// credentials are the robot credential files, filled by the robot
	// steps.
	credentials []File
	plan        Plan
}

// Diff lists the changes Apply would make, changing nothing.
func Diff(ctx context.Context, d *Declaration, opts Options) (*Plan, error) {
	return execute(ctx, d, opts, false)
}

// Apply makes the changes and returns them. It stops at the first error,
// with the changes made so far recorded.
func Apply(ctx context.Context, d *Declaration, opts Options) (*Plan, error) {
	return execute(ctx, d, opts, true)
}

func execute(ctx context.Context, d *Declaration, opts Options, apply bool) (*Plan, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if d.Harbor != nil && opts.Harbor == nil {
		return nil, errors.New("provision: the declaration has a harbor section but no Harbor client was given")
	}
	r := &run{d: d, opts: opts, dir: d.OutputDir(), apply: apply}
	var err error
	if r.last, err = loadApplied(r.dir); err != nil {
		return nil, err
	}
	err = r.execute(ctx)
	if apply {
		if saveErr := r.last.save(r.dir); saveErr != nil {
			err = errors.Join(err, saveErr)
		}
	}
	return &r.plan, err
}

func (r *run) execute(ctx context.Context) error {
	var techdocs string
	if h := r.d.Harbor; h != nil {
		for _, p := range h.Projects {
			for _, step := range r.harborSteps(p) {
				if err := r.harborStep(ctx, step); err != nil {
					return err
				}
			}
		}
		if b := r.d.Backstage; b != nil && b.TechDocsImage != nil {
			digest, err := r.techdocsDigest(ctx)
			if err != nil {
				return err
			}
			img := b.TechDocsImage
			techdocs = registryHost(h.Registry) + "/" + img.Project + "/" + img.Repository + "@" + digest
		}
	}
	files, err := r.files(techdocs)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := r.fileStep(f); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) harborStep(ctx context.Context, s harborStep) error {
	declared := fingerprintOf(s.want)
	call := s.plan
	if r.apply {
		call = s.apply
	}
	changes, err := call(ctx)
	for _, c := range changes {
		action := Create
		if c.From != "" {
			action = r.last.classify(s.target, declared)
		}
		r.plan.Changes = append(r.plan.Changes, Change{Target: s.target, Action: action, Field: c.Field,
			From: c.From, To: c.To})
	}
	if err != nil {
		return fmt.Errorf("provision %s: %w", s.target, err)
	}
	if r.apply {
		r.last[s.target] = declared
	}
	return nil
}

func (r *run) fileStep(f File) error {
	change, err := planFile(r.dir, f, r.last)
	if err != nil {
		return err
	}
	if change != nil {
		r.plan.Changes = append(r.plan.Changes, *change)
	}
	if !r.apply {
		return nil
	}
	if change != nil {
		if err := writeFile(r.dir, f); err != nil {
			return err
		}
	}
	r.last[fileTarget(f)] = fingerprint(f.Data)
	return nil
}

// files renders every generated file, in the order they are written.
func (r *run) files(techdocsImage string) ([]File, error) {
	var files []File
	if r.d.NPM != nil {
		v, err := verdaccioFiles(r.d, r.dir, r.opts.Getenv)
		if err != nil {
			return nil, err
		}
		files = append(files, v...)
	}
	clients, err := r.clientFiles()
	if err != nil {
		return nil, err
	}
	files = append(files, clients...)
	files = append(files, r.credentials...)
	if b := r.d.Backstage; b != nil {
		cfg := backstage.AppConfig{TechDocsImage: techdocsImage, AssetsURL: b.AssetsURL}
		for _, in := range b.Integrations {
			cfg.Integrations = append(cfg.Integrations, backstage.Integration{Type: in.Type, Host: in.Host})
		}
		if r.opts.Records != nil {
			cfg.CatalogFile = path.Base(BackstageCatalog)
			catalog, err := backstage.Catalog(r.opts.Records, b.System)
			if err != nil {
				return nil, err
			}
			files = append(files, File{Path: BackstageCatalog, Data: catalog})
		}
		files = append(files, File{Path: BackstageAppConfig, Data: cfg.Render()})
	}
	return files, nil
}

// clientFiles renders the client configuration with the clientconfig
// generators, under clients/.
func (r *run) clientFiles() ([]File, error) {
	var e clientconfig.Endpoints
	if n := r.d.NPM; n != nil {
		e.NPM, e.TokenEnv, e.CAFile = n.URL, n.TokenEnv, n.CAFile
	}
	if h := r.d.Harbor; h != nil {
		for _, p := range h.Projects {
			if p.Upstream != "" {
				e.Upstreams = append(e.Upstreams, clientconfig.Upstream{Host: p.Upstream, Project: p.Name})
			}
		}
		if len(e.Upstreams) > 0 {
			e.OCI = h.Registry
		}
	}
	if e.NPM == "" && e.OCI == "" {
		return nil, nil
	}
	generated, err := clientconfig.Generate(e)
	if err != nil {
		return nil, fmt.Errorf("%s: client configuration: %w", r.d.File, err)
	}
	files := make([]File, 0, len(generated))
	for _, g := range generated {
		files = append(files, File{Path: path.Join("clients", g.Path), Data: g.Data})
	}
	return files, nil
}
