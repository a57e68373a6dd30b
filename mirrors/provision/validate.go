package provision

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/sluice-dev/sluice/mirrors/harbor"
)

var (
	nameRule    = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	accountRule = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)
	envRule     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	scopeRule   = regexp.MustCompile(`^@[a-z0-9][a-z0-9._~-]*$`)
	// verdaccioGroups are the groups Verdaccio gives accounts itself.
	verdaccioGroups = []string{"$all", "$authenticated", "$anonymous"}
)

// problems collects every problem of a declaration with its line.
type problems struct {
	d    *Declaration
	errs []error
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s: %s", p.d.File, p.d.Line(path), path,
		fmt.Sprintf(format, args...)))
}

// validate checks the declaration and returns every problem found.
func (d *Declaration) validate() error {
	p := &problems{d: d}
	if d.APIVersion != APIVersion {
		p.add("apiVersion", "got %q, want %s", d.APIVersion, APIVersion)
	}
	if d.Kind != Kind {
		p.add("kind", "got %q, want %s", d.Kind, Kind)
	}
	classes := map[string]bool{}
	for i, c := range d.DataClasses {
		path := fmt.Sprintf("dataClasses[%d]", i)
		checkName(p, path+".name", c.Name, classes)
		if c.Severity != "" && !slices.Contains(harbor.Severities, c.Severity) {
			p.add(path+".severity", "invalid severity %q: use one of %v", c.Severity, harbor.Severities)
		}
	}
	teams := map[string]bool{}
	for i, t := range d.Teams {
		path := fmt.Sprintf("teams[%d]", i)
		checkName(p, path+".name", t.Name, teams)
		if t.Owner == "" {
			p.add(path+".owner", "missing owner: give the Backstage group, such as group:default/%s", t.Name)
		}
		if t.Scope != "" && !scopeRule.MatchString(t.Scope) {
			p.add(path+".scope", "invalid npm scope %q: write it as @name in lowercase", t.Scope)
		}
		for j, r := range t.Readers {
			checkAccountRef(p, fmt.Sprintf("%s.readers[%d]", path, j), r)
		}
	}
	if d.NPM != nil {
		d.validateNPM(p)
	}
	if d.Harbor != nil {
		d.validateHarbor(p, teams, classes)
	}
	if d.Backstage != nil && d.Backstage.TechDocsImage != nil {
		img := d.Backstage.TechDocsImage
		if img.Project == "" || img.Repository == "" || img.Tag == "" {
			p.add("backstage.techdocsImage", "give project, repository and tag of the image in Harbor")
		}
		if d.Harbor == nil {
			p.add("backstage.techdocsImage", "needs the harbor section, which the digest is read from")
		}
	}
	return errors.Join(p.errs...)
}

func checkName(p *problems, path, name string, seen map[string]bool) {
	switch {
	case name == "":
		p.add(path, "missing name")
	case !nameRule.MatchString(name):
		p.add(path, "invalid name %q: use lowercase letters, digits and . _ -", name)
	case seen[name]:
		p.add(path, "%q is declared twice", name)
	}
	seen[name] = true
}

func checkAccountRef(p *problems, path, name string) {
	if !slices.Contains(verdaccioGroups, name) && !accountRule.MatchString(name) {
		p.add(path, "invalid account %q: use an account name or one of %v", name, verdaccioGroups)
	}
}

func (d *Declaration) validateNPM(p *problems) {
	n := d.NPM
	if n.URL == "" {
		p.add("npm.url", "missing URL of the internal npm registry")
	}
	if n.TokenEnv != "" && !envRule.MatchString(n.TokenEnv) {
		p.add("npm.tokenEnv", "invalid variable name %q", n.TokenEnv)
	}
	v := n.Verdaccio
	if v.Storage == "" {
		p.add("npm.verdaccio.storage", "missing storage folder of Verdaccio")
	}
	if v.Listen == "" {
		p.add("npm.verdaccio.listen", "missing listen address, such as 0.0.0.0:4873")
	}
	accounts := map[string]bool{}
	for i, a := range v.Accounts {
		path := fmt.Sprintf("npm.verdaccio.accounts[%d]", i)
		if !accountRule.MatchString(a.Name) || accounts[a.Name] {
			p.add(path+".name", "invalid or repeated account name %q", a.Name)
		}
		accounts[a.Name] = true
		if !envRule.MatchString(a.PasswordEnv) {
			p.add(path+".passwordEnv", "give the variable that holds the password of %q", a.Name)
		}
	}
	if v.Publisher == "" {
		p.add("npm.verdaccio.publisher", "missing publish account: name the account Sluice publishes with")
	} else if !accounts[v.Publisher] {
		p.add("npm.verdaccio.publisher", "account %q is not under npm.verdaccio.accounts: add it there",
			v.Publisher)
	}
	for i, r := range v.Readers {
		checkAccountRef(p, fmt.Sprintf("npm.verdaccio.readers[%d]", i), r)
	}
}

func (d *Declaration) validateHarbor(p *problems, teams, classes map[string]bool) {
	h := d.Harbor
	if h.URL == "" {
		p.add("harbor.url", "missing URL of the Harbor API, such as https://harbor.internal")
	}
	if h.Registry == "" {
		p.add("harbor.registry", "missing registry host that clients pull from, such as harbor.internal")
	}
	for _, env := range []struct{ path, value string }{
		{"harbor.usernameEnv", h.UsernameEnv}, {"harbor.passwordEnv", h.PasswordEnv}} {
		if !envRule.MatchString(env.value) {
			p.add(env.path, "give the variable that holds the Harbor credential")
		}
	}
	projects := map[string]bool{}
	for i, pr := range h.Projects {
		path := fmt.Sprintf("harbor.projects[%d]", i)
		checkName(p, path+".name", pr.Name, projects)
		if !teams[pr.Team] {
			p.add(path+".team", "unknown team %q: declare it under teams", pr.Team)
		}
		if !classes[pr.DataClass] {
			p.add(path+".dataClass", "unknown data class %q: declare it under dataClasses", pr.DataClass)
		}
		if pr.Retention != nil && pr.Retention.KeepLast < 1 {
			p.add(path+".retention.keepLast", "keep at least 1 artifact per repository")
		}
	}
}
