package npmclient

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// tripwire is the proxy npm is given: a loopback listener that reads each
// request's target and closes the connection without a response. Nothing
// it receives is forwarded. It closes rather than returning 403, because
// npm 11.19.1 given a 403 response to CONNECT hung until killed instead of
// failing.
type tripwire struct {
	listener net.Listener
	wg       sync.WaitGroup

	mu      sync.Mutex
	targets map[string]bool
}

func newTripwire() (*tripwire, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the blocking proxy on 127.0.0.1: %w", err)
	}
	tw := &tripwire{listener: listener, targets: map[string]bool{}}
	tw.wg.Add(1)
	go tw.serve()
	return tw, nil
}

func (tw *tripwire) addr() string { return tw.listener.Addr().String() }

func (tw *tripwire) serve() {
	defer tw.wg.Done()
	for {
		conn, err := tw.listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		tw.wg.Add(1)
		go func() {
			defer tw.wg.Done()
			tw.reject(conn)
		}()
	}
}

// reject records the host of a CONNECT or absolute-URL request and closes
// the connection, which npm reports as a failed fetch. A connection that
// sends no request within 5 s is recorded as "unknown".
func (tw *tripwire) reject(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	target := "unknown"
	if req, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
		target = req.Host
		if target == "" {
			target = req.URL.Host
		}
	}
	tw.mu.Lock()
	tw.targets[target] = true
	tw.mu.Unlock()
}

// hosts returns the sorted targets of every rejected request.
func (tw *tripwire) hosts() []string {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	hosts := make([]string, 0, len(tw.targets))
	for host := range tw.targets {
		hosts = append(hosts, host)
	}
	sort.Strings(hosts)
	return hosts
}

func (tw *tripwire) close() {
	_ = tw.listener.Close()
	tw.wg.Wait()
}
