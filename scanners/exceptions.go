package scanners

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ExceptionsKind is the kind of a Sluice exceptions file.
const ExceptionsKind = "Exceptions"

// Justifications are OpenVEX's reasons for a not_affected status.
var Justifications = []string{
	"component_not_present",
	"vulnerable_code_not_present",
	"vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary",
	"inline_mitigations_already_exist",
}

// Exception marks a vulnerability as not affecting a package, with the
// vocabulary of OpenVEX's not_affected statements, until it expires.
type Exception struct {
	// ID names the exception in findings and reports (default: the file
	// and line it was read from).
	ID string `yaml:"id"`
	// Vulnerability is a vulnerability ID or one of its aliases.
	Vulnerability string `yaml:"vulnerability"`
	// Package limits the exception to one package name; Versions, when
	// set, to some of its versions.
	Package  string   `yaml:"package"`
	Versions []string `yaml:"versions"`
	// Status must be "not_affected".
	Status        string `yaml:"status"`
	Justification string `yaml:"justification"`
	// Impact is the reason the code is not affected, in the owner's words.
	Impact string `yaml:"impact"`
	// Owner is the person or team answerable for the exception.
	Owner string `yaml:"owner"`
	// Expires is the first day (UTC) on which the exception no longer
	// applies.
	Expires string `yaml:"expires"`

	expires time.Time
}

// Exceptions are the exceptions of one or more files.
type Exceptions struct {
	List []*Exception
}

type exceptionsFile struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Exceptions []*Exception `yaml:"exceptions"`
}

// LoadExceptions reads exception files (YAML, kind Exceptions) and checks
// every entry: an exception needs a vulnerability, status not_affected, an
// OpenVEX justification, an owner and an expiry date.
func LoadExceptions(paths ...string) (*Exceptions, error) {
	out := &Exceptions{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read exceptions: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", path, err)
		}
		var f exceptionsFile
		if err := doc.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if f.Kind != ExceptionsKind {
			return nil, fmt.Errorf("%s: kind is %q, expected %q", path, f.Kind, ExceptionsKind)
		}
		lines := exceptionLines(&doc)
		for i, e := range f.Exceptions {
			where := fmt.Sprintf("%s:%d", path, lines[i])
			if err := e.validate(); err != nil {
				return nil, fmt.Errorf("%s: exception %d: %w", where, i+1, err)
			}
			if e.ID == "" {
				e.ID = where
			}
			out.List = append(out.List, e)
		}
	}
	return out, nil
}

// exceptionLines returns the line of each item of the exceptions list.
func exceptionLines(doc *yaml.Node) []int {
	var lines []int
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "exceptions" {
			for _, item := range top.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
		}
	}
	return lines
}

func (e *Exception) validate() error {
	var missing []string
	for name, v := range map[string]string{"vulnerability": e.Vulnerability, "justification": e.Justification,
		"owner": e.Owner, "expires": e.Expires} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if e.Status != "not_affected" {
		return fmt.Errorf("status is %q: only not_affected is supported", e.Status)
	}
	if !slices.Contains(Justifications, e.Justification) {
		return fmt.Errorf("justification %q is not an OpenVEX justification: use one of %s", e.Justification,
			strings.Join(Justifications, ", "))
	}
	t, err := time.Parse(time.DateOnly, e.Expires)
	if err != nil {
		return fmt.Errorf("expires %q is not a date (YYYY-MM-DD)", e.Expires)
	}
	e.expires = t
	return nil
}

// Active reports whether the exception still applies at now.
func (e *Exception) Active(now time.Time) bool { return now.Before(e.expires) }

func (e *Exception) covers(f *Finding) bool {
	if f.Kind != KindVulnerability {
		return false
	}
	if !strings.EqualFold(e.Vulnerability, f.ID) && !slices.ContainsFunc(f.Aliases, func(a string) bool {
		return strings.EqualFold(a, e.Vulnerability)
	}) {
		return false
	}
	if e.Package != "" && e.Package != f.Package {
		return false
	}
	return len(e.Versions) == 0 || slices.Contains(e.Versions, f.PackageVersion)
}

// Apply marks the findings that an active exception covers as suppressed.
// It returns the IDs of expired exceptions that would have covered a
// finding that no other exception covers, for reports to list.
func (x *Exceptions) Apply(findings []Finding, now time.Time) (expired []string) {
	if x == nil {
		return nil
	}
	for i := range findings {
		f := &findings[i]
		var lapsed []string
		for _, e := range x.List {
			if !e.covers(f) {
				continue
			}
			if !e.Active(now) {
				lapsed = append(lapsed, e.ID)
				continue
			}
			f.Suppressed, f.SuppressedBy, f.Justification = true, e.ID, e.Justification
			break
		}
		if f.Suppressed {
			continue
		}
		for _, id := range lapsed {
			if !slices.Contains(expired, id) {
				expired = append(expired, id)
			}
		}
	}
	return expired
}
