package ingest

// Progress receives a run's progress. The CLI draws bars on a terminal and
// prints log lines otherwise.
type Progress interface {
	// Start begins a phase ("resolve", "fetch", "publish"); total is -1
	// when unknown.
	Start(phase string, total int)
	// Add reports n more items done and bytes more transferred.
	Add(n int, bytes int64)
	// Done ends the current phase.
	Done()
}

type nopProgress struct{}

func (nopProgress) Start(string, int) {}
func (nopProgress) Add(int, int64)    {}
func (nopProgress) Done()             {}
