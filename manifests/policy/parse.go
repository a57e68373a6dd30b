package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/manifests"
	"github.com/sluice-dev/sluice/manifests/internal/yamlnode"
)

// dnsLabel matches policy, role and rule names: a DNS label (RFC 1123).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Load reads, parses and validates the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &manifests.Error{File: path, Message: fmt.Sprintf("cannot read policy: %v",
			unwrapPath(err)), Err: err}
	}
	return Parse(path, data)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Parse parses and validates the policy in data. file names the source in
// error messages. All problems are returned at once as errors.Join of
// *manifests.Error.
func Parse(file string, data []byte) (*Policy, error) {
	d := newDecoder(file)
	root, ok := d.document(data)
	if !ok {
		return nil, d.join()
	}
	sum := sha256.Sum256(data)
	p := &Policy{Path: file, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	d.policy(root, p)
	if err := d.join(); err != nil {
		return nil, err
	}
	return p, nil
}

// tierRef is a place where the file names a tier, kept to report tiers
// that are used but not defined.
type tierRef struct {
	node  *yaml.Node
	field string
	tier  Tier
}

func (d *decoder) policy(root *yaml.Node, p *Policy) {
	f, ok := d.Mapping(root, "", "apiVersion", "kind", "metadata", "tiers", "roles",
		"licenses", "rules", "default")
	if !ok {
		return
	}
	if v, ok := d.Required(f, root, "", "apiVersion", "set it to "+APIVersionV1); ok {
		if p.APIVersion, ok = d.String(v.Value, "apiVersion"); ok && p.APIVersion != APIVersionV1 {
			d.Errorf(v.Value, "apiVersion", "unsupported version %q: supported versions are %s",
				p.APIVersion, APIVersionV1)
		}
	}
	if v, ok := d.Required(f, root, "", "kind", "set it to "+KindRiskPolicy); ok {
		if p.Kind, ok = d.String(v.Value, "kind"); ok && p.Kind != KindRiskPolicy {
			d.Errorf(v.Value, "kind", "unsupported kind %q: expected %s", p.Kind, KindRiskPolicy)
		}
	}
	if v, ok := d.Required(f, root, "", "metadata", "add metadata.name"); ok {
		d.metadata(v, &p.Metadata)
	}

	// Roles are read first because the tiers' approver steps name them.
	if v, ok := f.Get("roles"); ok {
		p.Roles = d.roles(v.Value)
	}
	var refs []tierRef
	if v, ok := d.Required(f, root, "", "tiers", "define low, medium and high"); ok {
		d.tiers(v.Value, p)
	}
	if v, ok := f.Get("licenses"); ok {
		d.licenses(v.Value, &p.Licenses)
	}
	if v, ok := f.Get("rules"); ok {
		p.Rules, refs = d.rules(v.Value)
	}

	if v, ok := d.Required(f, root, "", "default", "name the tier of an artifact no rule "+
		"matches, such as low"); ok {
		if s, ok := d.oneOf(v.Value, "default", tierNames(false)); ok {
			p.Default = Tier(s)
			refs = append(refs, tierRef{v.Value, "default", p.Default})
		}
	}

	if _, ok := f.Get("tiers"); ok {
		for _, r := range refs {
			if r.tier != TierBlocked && p.Tiers.Spec(r.tier) == nil {
				d.Errorf(r.node, r.field, "tier %s is not defined under tiers: define it or "+
					"name another tier", r.tier)
			}
		}
	}
}

// tierNames returns the tier names, with blocked when withBlocked is set.
func tierNames(withBlocked bool) []string {
	out := []string{string(TierLow), string(TierMedium), string(TierHigh)}
	if withBlocked {
		out = append(out, string(TierBlocked))
	}
	return out
}

func (d *decoder) metadata(v yamlnode.Member, md *Metadata) {
	f, ok := d.Mapping(v.Value, "metadata", "name")
	if !ok {
		return
	}
	name, ok := d.Required(f, v.Key, "metadata", "name", "name the policy")
	if !ok {
		return
	}
	if md.Name, ok = d.String(name.Value, "metadata.name"); ok {
		d.checkName(name.Value, "metadata.name", md.Name)
	}
}

// checkName reports a name that is not a DNS label of at most 63 characters.
func (d *decoder) checkName(n *yaml.Node, field, name string) bool {
	switch {
	case name == "":
		d.Errorf(n, field, "empty name")
	case len(name) > 63:
		d.Errorf(n, field, "name %q is %d characters long: use at most 63", name, len(name))
	case !dnsLabel.MatchString(name):
		d.Errorf(n, field, "invalid name %q: use lowercase letters, digits and '-', "+
			"starting and ending with a letter or digit", name)
	default:
		return true
	}
	return false
}

func (d *decoder) roles(n *yaml.Node) map[string][]string {
	f, ok := d.Mapping(n, "roles")
	if !ok {
		return nil
	}
	roles := make(map[string][]string, len(f))
	for _, role := range f.Keys() {
		m := f[role]
		field := "roles." + role
		if !d.checkName(m.Key, field, role) {
			continue
		}
		items, ok := d.Sequence(m.Value, field)
		if !ok {
			continue
		}
		if len(items) == 0 {
			d.Errorf(m.Value, field, "no members: list the identities that hold the role")
			continue
		}
		var ids []string
		for i, item := range items {
			itemField := fmt.Sprintf("%s[%d]", field, i)
			id, ok := d.String(item, itemField)
			switch {
			case !ok:
			case strings.TrimSpace(id) == "":
				d.Errorf(item, itemField, "must not be blank")
			case slices.Contains(ids, id):
				d.Errorf(item, itemField, "%s is listed twice: remove one", id)
			default:
				ids = append(ids, id)
			}
		}
		roles[role] = ids
	}
	return roles
}

func (d *decoder) tiers(n *yaml.Node, p *Policy) {
	f, ok := d.Mapping(n, "tiers", tierNames(false)...)
	if !ok {
		return
	}
	if len(f) == 0 {
		d.Errorf(n, "tiers", "no tiers: define low, medium and high")
	}
	for _, name := range tierNames(false) {
		if v, ok := f.Get(name); ok {
			spec := d.tierSpec(v.Value, "tiers."+name, p.Roles)
			switch Tier(name) {
			case TierLow:
				p.Tiers.Low = spec
			case TierMedium:
				p.Tiers.Medium = spec
			case TierHigh:
				p.Tiers.High = spec
			}
		}
	}
}

func (d *decoder) tierSpec(n *yaml.Node, field string, roles map[string][]string) *TierSpec {
	spec := &TierSpec{}
	f, ok := d.Mapping(n, field, "approval", "approvers", "expiresAfter")
	if !ok {
		return spec
	}
	approval, hasApproval := f.Get("approval")
	approvers, hasApprovers := f.Get("approvers")
	switch {
	case hasApproval && hasApprovers:
		d.Errorf(approvers.Key, field, "approval and approvers are both set: use approval: "+
			"auto for approval by the policy, or approvers for a chain of people")
	case !hasApproval && !hasApprovers:
		d.Errorf(n, field, "neither approval nor approvers is set: use approval: auto or "+
			"list approvers")
	case hasApproval:
		spec.Approval, _ = d.oneOf(approval.Value, field+".approval", []string{ApprovalAuto})
	default:
		spec.Approvers = d.approvers(approvers.Value, field+".approvers", roles)
	}
	if v, ok := f.Get("expiresAfter"); ok {
		if hasApproval {
			d.Errorf(v.Key, field+".expiresAfter", "applies only to approvers: an automatic "+
				"approval does not wait")
		} else {
			spec.ExpiresAfter, _ = d.duration(v.Value, field+".expiresAfter")
		}
	}
	return spec
}

func (d *decoder) approvers(n *yaml.Node, field string, roles map[string][]string) []Approver {
	items, ok := d.Sequence(n, field)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.Errorf(n, field, "empty list: list at least one approver or use approval: auto")
		return nil
	}
	var out []Approver
	seen := map[string]bool{}
	for i, item := range items {
		itemField := fmt.Sprintf("%s[%d]", field, i)
		f, ok := d.Mapping(item, itemField, "role", "count", "after")
		if !ok {
			continue
		}
		a := Approver{Count: 1}
		if v, ok := d.Required(f, item, itemField, "role", "name a role listed under roles"); ok {
			a.Role, ok = d.String(v.Value, itemField+".role")
			switch {
			case !ok:
			case seen[a.Role]:
				d.Errorf(v.Value, itemField+".role", "role %s has a step already: raise that "+
					"step's count instead", a.Role)
			case roles[a.Role] == nil:
				d.Errorf(v.Value, itemField+".role", "role %q is not listed under roles: add it "+
					"with its members", a.Role)
			}
		}
		if v, ok := f.Get("count"); ok {
			if a.Count, ok = d.Integer(v.Value, itemField+".count"); ok {
				if members := len(roles[a.Role]); a.Count < 1 {
					d.Errorf(v.Value, itemField+".count", "must be at least 1, not %d", a.Count)
				} else if members > 0 && a.Count > members {
					d.Errorf(v.Value, itemField+".count", "%d approvals needed but role %s has "+
						"%d members: the chain could never complete", a.Count, a.Role, members)
				}
			}
		}
		if v, ok := f.Get("after"); ok {
			if a.After, ok = d.String(v.Value, itemField+".after"); ok && !seen[a.After] {
				d.Errorf(v.Value, itemField+".after", "no earlier step of this tier has role %q: "+
					"after must name the role of a step listed before this one", a.After)
			}
		}
		seen[a.Role] = true
		out = append(out, a)
	}
	return out
}

func (d *decoder) licenses(n *yaml.Node, l *Licenses) {
	f, ok := d.Mapping(n, "licenses", "allow", "deny")
	if !ok {
		return
	}
	where := map[string]string{}
	for _, key := range []string{"allow", "deny"} {
		v, ok := f.Get(key)
		if !ok {
			continue
		}
		items, ok := d.Sequence(v.Value, "licenses."+key)
		if !ok {
			continue
		}
		var list []string
		for i, item := range items {
			field := fmt.Sprintf("licenses.%s[%d]", key, i)
			id, ok := d.String(item, field)
			if !ok {
				continue
			}
			if !d.checkPattern(item, field, id) {
				continue
			}
			if other, dup := where[id]; dup {
				d.Errorf(item, field, "%s is listed under licenses.%s already: keep one", id, other)
				continue
			}
			where[id] = key
			list = append(list, id)
		}
		if key == "allow" {
			l.Allow = list
		} else {
			l.Deny = list
		}
	}
}

// checkPattern reports a blank value or an invalid path.Match pattern.
func (d *decoder) checkPattern(n *yaml.Node, field, pattern string) bool {
	if strings.TrimSpace(pattern) == "" {
		d.Errorf(n, field, "must not be blank")
		return false
	}
	if _, err := path.Match(pattern, ""); err != nil {
		d.Errorf(n, field, "invalid pattern %q: %v", pattern, err)
		return false
	}
	return true
}
