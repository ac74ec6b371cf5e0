package supervisor

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/exekra/hub/pilot/programs"
)

// Services are the back-end services in start order; they stop in reverse.
var Services = []string{"identity", "licensing", "runners", "audit", "gateway"}

// service is one back-end service to run.
type service struct {
	name        string
	binary      string // absolute path of exekra-<name> (exekra-<name>.exe on Windows)
	metricsKey  string
	metricsAddr string
}

// findServices locates every service binary in binDir.
func findServices(cfg *config.Config, binDir string) ([]service, error) {
	var out []service
	for _, name := range Services {
		bin, ok := programs.InDir(binDir, "exekra-"+name)
		if !ok {
			return nil, fmt.Errorf("%s not found in %s: build the binaries (make build) or set supervisor.bin_dir (EXEKRA_SUPERVISOR_BIN_DIR)",
				filepath.Base(bin), binDir)
		}
		key, addr := cfg.MetricsListen(name)
		out = append(out, service{name: name, binary: bin, metricsKey: key, metricsAddr: addr})
	}
	return out, nil
}

// binDir is supervisor.bin_dir, or the directory of the running executable.
func binDir(cfg *config.Config, executable func() (string, error)) (string, error) {
	if cfg.Supervisor.BinDir != "" {
		return cfg.Path(cfg.Supervisor.BinDir), nil
	}
	exe, err := executable()
	if err != nil {
		return "", fmt.Errorf("locate exekra-hub to find the service binaries beside it (or set supervisor.bin_dir): %w", err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe), nil
}

// livezProbe checks a service's /livez on its metrics port: the process
// runs. Start-up waits for it; a later exit is a restart.
func livezProbe(metricsAddr string) (Probe, error) { return metricsProbe(metricsAddr, "/livez") }

// readyzProbe checks a service's /readyz, which answers 200 only while the
// service is wired and its NATS, PostgreSQL and Redis answer.
func readyzProbe(metricsAddr string) (Probe, error) { return metricsProbe(metricsAddr, "/readyz") }

func metricsProbe(metricsAddr, path string) (Probe, error) {
	addr, err := listenaddr.DialAddr(metricsAddr)
	if err != nil {
		return nil, err
	}
	client := &http.Client{}
	url := "http://" + addr + path
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}, nil
}
