package supervisor

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/exekra/hub/libs/config"
)

// fakeServiceVar makes the test binary act as a service (see fakeService).
const fakeServiceVar = "SUPERVISOR_TEST_FAKE_SERVICE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServiceVar) == "1" {
		if err := fakeService(os.Args); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeService stands in for exekra-<name> --home DIR: it records its pid and
// the URLs the supervisor handed it in var/fake-<name>.env, serves /livez and
// /readyz on its metrics port, and exits 0 on SIGTERM.
func fakeService(args []string) error {
	name := strings.TrimPrefix(filepath.Base(args[0]), "exekra-")
	if len(args) != 3 || args[1] != "--home" {
		return fmt.Errorf("want --home DIR, got %q", args[1:])
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	cfg, err := config.Load(args[2], os.Environ())
	if err != nil {
		return err
	}
	var lines []string
	for _, key := range []string{"nats.url", "redis.url", "database.url"} {
		lines = append(lines, config.EnvName(key)+"="+os.Getenv(config.EnvName(key)))
	}
	lines = append(lines, fmt.Sprintf("PID=%d", os.Getpid()))
	envFile := filepath.Join(cfg.Home, "var", "fake-"+name+".env")
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	_, addr := cfg.MetricsListen(name)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ready"}`)) })
	go http.Serve(ln, mux)
	fmt.Println(name, "serving")
	<-stop
	return nil
}
