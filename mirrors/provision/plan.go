package provision

import (
	"fmt"
	"io"
	"strings"
)

// Action is the kind of a change.
type Action string

// Actions of a plan.
const (
	// Create makes a target that does not exist yet.
	Create Action = "create"
	// Update brings a target in line with a changed declaration.
	Update Action = "update"
	// Drift undoes a change made on the internal side by hand: the
	// declaration is as it was at the last apply, the target is not.
	Drift Action = "drift"
)

// Change is one difference between the declaration and the internal side.
type Change struct {
	// Target names what changes, such as "harbor project payments" or
	// "file clients/.npmrc".
	Target string
	Action Action
	Field  string
	// From is the current value, empty for a created target.
	From string
	To   string
}

// Plan is the list of changes, in the order Apply makes them.
type Plan struct {
	Changes []Change
}

// Empty reports whether the internal side matches the declaration.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Write prints the plan grouped by target, one change a line, and nothing
// when the plan is empty.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	target := ""
	for _, c := range p.Changes {
		if c.Target != target {
			target = c.Target
			fmt.Fprintf(&b, "%s\n", target)
		}
		fmt.Fprintf(&b, "  %-6s %s", c.Action, c.Field)
		switch {
		case c.From == "" && c.To == "":
		case c.From == "":
			fmt.Fprintf(&b, ": %s", c.To)
		default:
			fmt.Fprintf(&b, ": %s -> %s", c.From, c.To)
		}
		b.WriteString("\n")
	}
	if len(p.Changes) > 0 {
		fmt.Fprintf(&b, "%s\n", p.summary())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// summary counts the changes by action.
func (p *Plan) summary() string {
	n := map[Action]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return fmt.Sprintf("%d to create, %d to update, %d drifted", n[Create], n[Update], n[Drift])
}
