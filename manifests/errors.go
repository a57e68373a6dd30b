package manifests

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a manifest file. Parse, Load and LoadAll return
// all problems of a run as errors.Join of *Error values, so callers can list
// them with errors.As or by unwrapping the joined error.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	// Field is the path of the offending field, such as
	// spec.npm.packages[2].version; empty for problems of the whole file.
	Field   string
	Message string
	// Err is the underlying error, such as a file system error, or nil.
	Err error
}

// Unwrap returns the underlying error, so errors.Is(err, fs.ErrNotExist)
// works for manifests that could not be read.
func (e *Error) Unwrap() error { return e.Err }

// Error formats the problem as file:line:column: field: message, leaving
// out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteString(":")
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// problems collects the errors found in one or more files.
type problems []*Error

func (p *problems) add(pos Position, field, format string, args ...any) {
	*p = append(*p, &Error{
		File:    pos.File,
		Line:    pos.Line,
		Column:  pos.Column,
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	})
}

// join sorts the problems by file and position and joins them into one
// error, or returns nil when there are none.
func (p problems) join() error {
	if len(p) == 0 {
		return nil
	}
	sorted := slices.Clone(p)
	slices.SortStableFunc(sorted, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
	errs := make([]error, len(sorted))
	for i, e := range sorted {
		errs[i] = e
	}
	return errors.Join(errs...)
}
