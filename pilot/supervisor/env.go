package supervisor

import (
	"sort"
	"strings"
)

// serviceEnv is the environment of a service: the supervisor's own, with
// overrides (EXEKRA_NATS_URL, EXEKRA_REDIS_URL, EXEKRA_DATABASE_URL) replacing
// any variable of the same name.
func serviceEnv(environ []string, overrides map[string]string) []string {
	out := make([]string, 0, len(environ)+len(overrides))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, replaced := overrides[name]; !replaced {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, name+"="+overrides[name])
	}
	return out
}
