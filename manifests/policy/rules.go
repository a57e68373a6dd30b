package policy

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
)

// conditionNames lists the fields of a rule's when, in documentation order.
var conditionNames = []string{
	"ecosystem", "source", "dataClass", "name",
	"severity", "fixAvailable", "kev", "epssAtLeast", "cvssAtLeast",
	"license", "licenseIDs",
	"installScripts", "nativeBuild", "dependencyConfusion", "upstreamSignature",
	"releasedWithin", "recentRelease", "scanned",
}

func (d *decoder) rules(n *yaml.Node) ([]Rule, []tierRef) {
	items, ok := d.Sequence(n, "rules")
	if !ok {
		return nil, nil
	}
	var rules []Rule
	var refs []tierRef
	first := map[string]int{} // rule name -> line of the first rule with it
	for i, item := range items {
		field := fmt.Sprintf("rules[%d]", i)
		f, ok := d.Mapping(item, field, "name", "when", "then")
		if !ok {
			continue
		}
		r := Rule{Pos: d.pos(item)}
		if v, ok := d.Required(f, item, field, "name", "name the rule; verdicts list it"); ok {
			if r.Name, ok = d.String(v.Value, field+".name"); ok &&
				d.checkName(v.Value, field+".name", r.Name) {
				if line, dup := first[r.Name]; dup {
					d.Errorf(v.Value, field+".name", "rule name %s is used on line %d already: "+
						"give each rule its own name", r.Name, line)
				}
				first[r.Name] = v.Value.Line
			}
		}
		if v, ok := d.Required(f, item, field, "when", "give the conditions, such as "+
			"{installScripts: true}"); ok {
			d.conditions(v, field+".when", &r.When)
		}
		if v, ok := d.Required(f, item, field, "then", "name a tier or blocked"); ok {
			if s, ok := d.oneOf(v.Value, field+".then", tierNames(true)); ok {
				r.Then = Tier(s)
				refs = append(refs, tierRef{v.Value, field + ".then", r.Then})
			}
		}
		rules = append(rules, r)
	}
	return rules, refs
}

func (d *decoder) conditions(v yamlnode.Member, field string, c *Conditions) {
	f, ok := d.Mapping(v.Value, field, conditionNames...)
	if !ok {
		return
	}
	if len(yamlnode.Resolve(v.Value).Content) == 0 {
		d.Errorf(v.Key, field, "no conditions: a rule that always fires belongs in default")
		return
	}

	list := func(key string, allowed []string) StringList {
		if m, ok := f.Get(key); ok {
			return d.stringList(m.Value, field+"."+key, allowed, false)
		}
		return nil
	}
	patterns := func(key string) StringList {
		if m, ok := f.Get(key); ok {
			return d.stringList(m.Value, field+"."+key, nil, true)
		}
		return nil
	}
	flag := func(key string) *bool {
		if m, ok := f.Get(key); ok {
			if b, ok := d.Boolean(m.Value, field+"."+key); ok {
				return &b
			}
		}
		return nil
	}
	score := func(key string, hi float64) *float64 {
		if m, ok := f.Get(key); ok {
			if x, ok := d.number(m.Value, field+"."+key, 0, hi); ok {
				return &x
			}
		}
		return nil
	}

	c.Ecosystem = list("ecosystem", nil)
	c.Source = list("source", Sources)
	c.DataClass = list("dataClass", nil)
	c.Name = patterns("name")
	if m, ok := f.Get("severity"); ok {
		c.Severity, _ = d.oneOf(m.Value, field+".severity", Severities)
	}

	c.FixAvailable = flag("fixAvailable")
	c.KEV = flag("kev")
	c.EPSSAtLeast = score("epssAtLeast", 1)
	c.CVSSAtLeast = score("cvssAtLeast", 10)

	c.License = list("license", LicenseStatuses)
	c.LicenseIDs = patterns("licenseIDs")
	c.InstallScripts = flag("installScripts")
	c.NativeBuild = flag("nativeBuild")
	c.DependencyConfusion = flag("dependencyConfusion")
	c.UpstreamSignature = list("upstreamSignature", SignatureProblems)
	if m, ok := f.Get("releasedWithin"); ok {
		c.ReleasedWithin, _ = d.duration(m.Value, field+".releasedWithin")
	}
	c.RecentRelease = flag("recentRelease")
	c.Scanned = flag("scanned")
}
