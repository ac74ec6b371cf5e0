package supervisor

import (
	"fmt"
	"runtime"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/exekra/hub/pilot/pgcluster"
	"github.com/exekra/hub/pilot/programs"
)

// plan is what a start needs, all found before anything starts.
type plan struct {
	redisServer string              // "" when redis.url names an external Redis
	postgres    *pgcluster.Programs // nil when every service has a connection string
	services    []service
	bindings    []listenaddr.Binding
}

// preflight finds every program and binary, then checks every port.
func preflight(cfg *config.Config, environ []string, executable func() (string, error)) (*plan, error) {
	pathList := programs.PathList(environ)
	p := &plan{}
	if cfg.Redis.URL == "" {
		bin, err := programs.Find(cfg.Redis.ServerPath, pathList)
		if err != nil {
			return nil, fmt.Errorf("redis.server_path %q not found: install Redis (apt-get install redis-server), "+
				"set redis.server_path (EXEKRA_REDIS_SERVER_PATH) to the program, or set redis.url (EXEKRA_REDIS_URL) to an existing Redis",
				cfg.Redis.ServerPath)
		}
		p.redisServer = bin
	}
	if needsPrivateDatabase(cfg) {
		if err := pgcluster.CheckOS(runtime.GOOS); err != nil {
			return nil, err
		}
		progs, err := pgcluster.FindPrograms(pathList, pgcluster.DebianRoot)
		if err != nil {
			return nil, err
		}
		p.postgres = &progs
	}
	dir, err := binDir(cfg, executable)
	if err != nil {
		return nil, err
	}
	if p.services, err = findServices(cfg, dir); err != nil {
		return nil, err
	}
	p.bindings = bindings(cfg, p)
	if err := listenaddr.CheckFree(p.bindings); err != nil {
		return nil, err
	}
	return p, nil
}

// needsPrivateDatabase reports whether a service would be left without a
// connection string: database.url is empty and not every service has its own.
func needsPrivateDatabase(cfg *config.Config) bool {
	for _, name := range Services {
		if name != "gateway" && cfg.DatabaseURL(name) == "" {
			return true
		}
	}
	return false
}

// bindings lists every address the supervisor and its children will listen on.
func bindings(cfg *config.Config, p *plan) []listenaddr.Binding {
	b := []listenaddr.Binding{{Key: "supervisor.metrics_listen", Addr: cfg.Supervisor.MetricsListen}}
	if cfg.NATS.URL == "" {
		b = append(b, listenaddr.Binding{Key: "nats.listen", Addr: cfg.NATS.Listen})
	}
	if p.redisServer != "" {
		b = append(b, listenaddr.Binding{Key: "redis.listen", Addr: cfg.Redis.Listen})
	}
	if p.postgres != nil {
		b = append(b, listenaddr.Binding{Key: "database.private_listen", Addr: cfg.Database.PrivateListen})
	}
	b = append(b, listenaddr.Binding{Key: "gateway.listen", Addr: cfg.Gateway.Listen})
	for _, s := range p.services {
		b = append(b, listenaddr.Binding{Key: s.metricsKey, Addr: s.metricsAddr})
	}
	return b
}
