package techdocs

import (
	"fmt"
	"io"
	"strings"
)

// Write prints the report: a summary line, then each reference that
// could not be localized with the reason.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "localized %d references, removed %d resource hints, rewrote %d files\n",
		len(r.Localized), len(r.Removed), len(r.Changed))
	problems := sortedProblems(r.Unresolved)
	if len(problems) > 0 {
		fmt.Fprintf(&b, "%d references not localized:\n", len(problems))
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "  %s: %s: %s\n", p.File, p.URL, p.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
