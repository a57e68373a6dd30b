// Command serveload measures the API of sluice serve under concurrent
// clients on loopback. It syncs the example manifest from the recorded
// npm registry into a fresh data directory, starts the server in this
// process on 127.0.0.1, and runs a fixed number of clients for a fixed
// time, each sending a mix of read requests with an OIDC token (verified
// against a JWKS file) or a static API token. It prints throughput,
// latency percentiles and the error count, and exits 1 on any error.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/server"
)

const (
	issuer      = "https://idp.bench.internal/realms/bank"
	audience    = "sluice"
	staticToken = "bench-agent-token"
	adminToken  = "bench-admin-token"
)

func main() {
	clients := flag.Int("clients", 64, "concurrent API clients")
	duration := flag.Duration("duration", 20*time.Second, "how long the clients send requests")
	work := flag.String("work", "bench/.work/serveload", "folder for the data directory; emptied first")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the load phase to this file")
	flag.Parse()
	cpuProfile = *profile
	if err := run(*clients, *duration, *work); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

// cpuProfile is the -cpuprofile file.
var cpuProfile string

func run(clients int, duration time.Duration, work string) error {
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	upstream, stopUpstream, err := serveRecorded()
	if err != nil {
		return err
	}
	defer stopUpstream()
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS("examples")); err != nil {
		return fmt.Errorf("copy examples (run from the repository root): %w", err)
	}
	key, jwks, err := writeJWKS(work)
	if err != nil {
		return err
	}
	cfg, err := writeConfig(work, upstream, jwks)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, func(addr string) { addrc <- addr }) }()
	var base string
	select {
	case base = <-addrc:
	case err := <-errc:
		return err
	}
	oidcToken, err := sign(key)
	if err != nil {
		return err
	}
	if err := seed(base); err != nil {
		return err
	}
	loadavg, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("server %s, %d clients for %s, %d CPUs, load average before: %s", base, clients, duration,
		runtime.NumCPU(), loadavg)
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res := load(base, []string{oidcToken, staticToken}, clients, duration)
	pprof.StopCPUProfile()
	res.print(duration)
	cancel()
	<-errc
	if res.errors > 0 {
		return fmt.Errorf("%d requests failed; first: %v", res.errors, res.firstErr)
	}
	return nil
}

// writeConfig writes the server configuration and loads it the way
// sluice serve does. The auditor token and the OIDC auditor send the load;
// the admin token seeds the store.
func writeConfig(work, upstream, jwks string) (*server.Config, error) {
	doc := map[string]any{"listen": "127.0.0.1:0", "dataDir": filepath.Join(work, "data"),
		"manifests": []string{filepath.Join(work, "examples", "manifests")},
		"policy":    filepath.Join(work, "examples", "policies", "bank.yaml"),
		"npm":       map[string]any{"upstream": upstream},
		"oidc": map[string]any{"issuer": issuer, "audience": audience, "jwksFile": jwks,
			"roleMap": map[string]string{"auditors": "auditor"}},
		"tokens": []map[string]any{
			{"name": "bench-agent", "sha256": hash(staticToken), "roles": []string{"auditor"}},
			{"name": "bench-admin", "sha256": hash(adminToken), "roles": []string{"admin"}}}}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	// JSON is YAML, so the server's YAML loader reads it.
	path := filepath.Join(work, "serve.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	return server.LoadConfig(path)
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// seed syncs the example manifest through the API and waits for the run.
func seed(base string) error {
	var run server.Run
	if err := call(base, "POST", "/api/v1/runs", adminToken, `{"manifests":["backstage-tools"]}`, &run); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for run.Status == server.RunQueued || run.Status == server.RunRunning {
		if time.Now().After(deadline) {
			return fmt.Errorf("seed run %s still %s", run.ID, run.Status)
		}
		time.Sleep(200 * time.Millisecond)
		if err := call(base, "GET", "/api/v1/runs/"+run.ID, adminToken, "", &run); err != nil {
			return err
		}
	}
	if run.Status != server.RunSucceeded {
		return fmt.Errorf("seed run %s: %s", run.Status, run.Error)
	}
	fmt.Printf("seeded: %d artifacts resolved by run %s\n", run.Summary.Resolved, run.ID)
	return nil
}

func writeJWKS(work string) (*rsa.PrivateKey, string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "bench", Algorithm: "RS256", Use: "sig"}}}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(work, "jwks.json")
	return key, path, os.WriteFile(path, data, 0o644)
}

func sign(key *rsa.PrivateKey) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "bench"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	payload, err := json.Marshal(map[string]any{"iss": issuer, "aud": audience, "sub": "bench",
		"preferred_username": "bench-auditor", "groups": []string{"auditors"}, "iat": now.Unix(),
		"exp": now.Add(2 * time.Hour).Unix()})
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// paths is the request mix each client cycles through.
var paths = []string{
	"/api/v1/artifacts?limit=50",
	"/api/v1/approval-requests?status=pending",
	"/api/v1/runs",
	"/api/v1/artifacts/npm%2Flodash@4.17.20",
	"/api/v1/approval-requests/npm%2Flodash@4.17.20",
	"/api/v1/manifests",
	"/api/v1/whoami",
}

type result struct {
	mu        sync.Mutex
	latencies []time.Duration
	byPath    map[string][]time.Duration
	errors    int
	firstErr  error
}

func load(base string, tokens []string, clients int, duration time.Duration) *result {
	res := &result{byPath: map[string][]time.Duration{}}
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			byPath := map[string][]time.Duration{}
			for i := c; time.Now().Before(deadline); i++ {
				path := paths[i%len(paths)]
				start := time.Now()
				err := get(client, base+path, tokens[c%len(tokens)])
				d := time.Since(start)
				local = append(local, d)
				byPath[path] = append(byPath[path], d)
				if err != nil {
					res.mu.Lock()
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
					res.mu.Unlock()
				}
			}
			res.mu.Lock()
			res.latencies = append(res.latencies, local...)
			for p, ds := range byPath {
				res.byPath[p] = append(res.byPath[p], ds...)
			}
			res.mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

func get(client *http.Client, url, token string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func (r *result) print(duration time.Duration) {
	fmt.Printf("requests %d, errors %d, %.0f requests/s\n", len(r.latencies), r.errors,
		float64(len(r.latencies))/duration.Seconds())
	fmt.Println("| requests | p50 | p90 | p99 | max | path |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | --- |")
	printRow("all", r.latencies)
	for _, p := range paths {
		printRow(p, r.byPath[p])
	}
}

// printRow prints one table row of latency percentiles.
func printRow(name string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(10 * time.Microsecond)
	}
	fmt.Printf("| %d | %s | %s | %s | %s | %s |\n", len(ds), pct(0.50), pct(0.90), pct(0.99), pct(1), name)
}

func call(base, method, path, token, body string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return json.Unmarshal(data, out)
}

// serveRecorded serves the tests' recorded npm registry on loopback.
func serveRecorded() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: npmfixture.NewHandler(npmfixture.Recorded()), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}
