package main

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sluice-dev/sluice/ingest"
)

// newProgress draws a bar per phase on a terminal, and otherwise logs one
// line when a phase starts and one when it ends.
func newProgress(g *globals, w io.Writer, log *slog.Logger) ingest.Progress {
	if g.interactive() {
		return &barProgress{w: w}
	}
	if g.quiet {
		return &logProgress{log: slog.New(slog.DiscardHandler)}
	}
	return &logProgress{log: log}
}

type barProgress struct {
	w     io.Writer
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	phase string
	bytes int64
}

func (p *barProgress) Start(phase string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.bytes = phase, 0
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(phase), progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("pkg"), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

func (p *barProgress) Add(n int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	if bytes > 0 {
		p.bytes += bytes
		p.bar.Describe(p.phase + " " + humanBytes(p.bytes))
	}
	_ = p.bar.Add(n)
}

func (p *barProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

type logProgress struct {
	log   *slog.Logger
	mu    sync.Mutex
	phase string
	items int
	bytes int64
	start time.Time
}

func (p *logProgress) Start(phase string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.items, p.bytes, p.start = phase, 0, 0, time.Now()
	if total >= 0 {
		p.log.Info(phase+" started", "items", total)
	} else {
		p.log.Info(phase + " started")
	}
}

func (p *logProgress) Add(n int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items += n
	p.bytes += bytes
}

func (p *logProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	attrs := []any{"items", p.items}
	if p.bytes > 0 {
		attrs = append(attrs, "bytes", p.bytes)
	}
	attrs = append(attrs, "duration", time.Since(p.start).Round(time.Millisecond))
	p.log.Info(p.phase+" finished", attrs...)
}
