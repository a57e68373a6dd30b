// Command sluice is the air-gap artifact ingestion gateway: it brings npm
// packages named in Git-reviewed manifests across the boundary, verified,
// recorded and published to internal mirrors.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes. Scripts and CI gates branch on them.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitOffenders = 3
)

// offendersError marks a failure that lists offending entries (pinning,
// verification), which exits with exitOffenders.
type offendersError struct{ msg string }

func (e *offendersError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCommand()
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "sluice:", err)
	var oe *offendersError
	var ue *usageError
	switch {
	case errors.As(err, &oe):
		os.Exit(exitOffenders)
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"):
		os.Exit(exitUsage)
	}
	os.Exit(exitFailure)
}
