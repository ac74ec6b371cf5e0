package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ClosedLoop has clients goroutines call call back to back for duration
// and measures every call that ended in time; Throughput(Result) is what
// the clients achieved. Run it once briefly first to warm up (TLS
// handshakes, pools): the connections stay in the callers' clients.
func ClosedLoop(ctx context.Context, op string, clients int, duration time.Duration, call func(ctx context.Context, client int) error) Result {
	from := time.Now()
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			var mine []time.Duration
			failed := 0
			for ctx.Err() == nil {
				start := time.Now()
				err := call(ctx, i)
				if ctx.Err() != nil {
					continue // cut short by the end: not a measurement
				}
				if err != nil {
					failed++
				} else {
					mine = append(mine, time.Since(start))
				}
			}
			mu.Lock()
			lat, errors = append(lat, mine...), errors+failed
			mu.Unlock()
		})
	}
	wg.Wait()
	return summarize(op, lat, errors, time.Since(from))
}

// Throughput is the successful requests per second of a result.
func Throughput(r Result) float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Duration.Seconds()
}

// Get sends GET url (with a bearer token unless empty) and drains the
// answer; anything but 200 is an error.
func Get(ctx context.Context, client *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}
